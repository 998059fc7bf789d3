"""The posture report of a sweep, line by line (governance/report.py): what each wildcard is explained by, the
residual roles' order, the Markdown cells and sections, the SNS summary's cut, the Security Hub findings, an event
cut to EventBridge's entry size, and which outcomes are news. Over hand-built results: each test fails if what a
reader (or Security Hub, or EventBridge) gets changed."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.governance import report
from sfn_iam.governance.sweep import SweepError, SweepResult
from sfn_iam.model import Requirement
from tests.fakes import ACCOUNT

REGION = "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/"
NOW = "2026-12-07T00:00:00Z"


def result(*outcomes: Outcome, **kwargs: Any) -> SweepResult:
    return SweepResult("enforce", ACCOUNT, REGION, outcomes, **kwargs)


def residual_entry(role: str, name: str, severity: str, kind: str = "inline") -> dict[str, Any]:
    arn = "" if kind == "inline" else f"arn:aws:iam::aws:policy/{name}"
    return {"kind": kind, "policyName": name, "policyArn": arn, "severity": severity,
            "adminEquivalent": severity == "CRITICAL", "excess": [], "role": role}


# -- wildcards and why ------------------------------------------------------------------------------------------------

def test_every_wildcard_is_explained_by_the_findings_at_its_path_or_by_why_iam_needs_it() -> None:
    at_p = Finding.of("DYNAMIC_RESOURCE", "the topic comes from the input", path="$.States.P")
    elsewhere = Finding.of("DYNAMIC_RESOURCE", "another state's", path="$.States.Other")
    no_path = Finding.of("POLICY_SPLIT", "no state")
    outcome = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m", findings=(at_p, elsewhere, no_path),
                      granted=(Requirement("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:exact", path="$.States.A"),
                               Requirement("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:*", path="$.States.P"),
                               Requirement("s3:GetObject", "arn:aws:s3:::bucket/file-?", path="$.States.Q"),
                               Requirement("Backup:DescribeBackupJob", "*"),  # no path: no finding explains it
                               Requirement("sns:ListTopics", "*", path="$.States.L")))
    assert report.wildcards(outcome) == [
        {"action": "sns:Publish", "resource": f"arn:aws:sns:{REGION}:{ACCOUNT}:*", "path": "$.States.P",
         "why": ["DYNAMIC_RESOURCE: the topic comes from the input"]},
        {"action": "s3:GetObject", "resource": "arn:aws:s3:::bucket/file-?", "path": "$.States.Q",
         "why": ["the narrowest pattern the integration's scoping rules allow "
                 "(docs/adr/0004-optimized-integrations-scoping.md)"]},
        {"action": "Backup:DescribeBackupJob", "resource": "*", "path": "",
         "why": ["the action supports no resource-level permissions: IAM accepts only \"*\""]},
        {"action": "sns:ListTopics", "resource": "*", "path": "$.States.L",
         "why": ["the action takes no resource that the definition could name: IAM accepts only \"*\" for it"]},
    ]


# -- the JSON report --------------------------------------------------------------------------------------------------

def test_the_json_report_carries_every_part_of_the_result() -> None:
    doc_statement = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:::t"}
    machine = Outcome(Status.SKIPPED, "enforce", state_machine_arn=SM + "m", role_arn=ROLE + "r", policy_name="p",
                      placement="inline", reason="ROLE_OUT_OF_SCOPE",
                      changes=(Change(ChangeKind.PUT_INLINE, "r", "p", False),),
                      findings=(Finding.of("ROLE_OUT_OF_SCOPE", "tagged out"),),
                      documents=({"Version": "2012-10-17", "Statement": [doc_statement]},
                                 {"Version": "2012-10-17"}))
    orphan = Outcome(Status.REMOVED, "enforce", role_arn=ROLE + "r", policy_name="gone",
                     changes=(Change(ChangeKind.DELETE_INLINE, "r", "gone", True),),
                     findings=(Finding.of("STATE_MACHINE_GONE", "deleted"),))
    removal = Outcome(Status.REMOVED, "enforce", action="remove-residual", role_arn=ROLE + "r")
    res = result(machine, orphans=(orphan,), errors=(SweepError(SM + "x", "Boom: no"),), residual_removals=(removal,))
    doc = report.to_json(res, NOW)
    assert (doc["reportVersion"], doc["generatedAt"], doc["account"], doc["region"], doc["mode"]) == (
        "1", NOW, ACCOUNT, REGION, "enforce")
    assert doc["totals"] == res.totals()
    assert doc["stateMachines"] == [{
        "stateMachineArn": SM + "m", "roleArn": ROLE + "r", "policyName": "p", "status": "skipped",
        "reason": "ROLE_OUT_OF_SCOPE", "placement": "inline", "granted": [doc_statement], "wildcards": [],
        "findings": [machine.findings[0].to_dict()], "changes": [machine.changes[0].to_dict()]}]
    assert doc["orphanedPolicies"] == [{"policyName": "gone", "roleArn": ROLE + "r", "status": "removed",
                                        "changes": [orphan.changes[0].to_dict()],
                                        "findings": [orphan.findings[0].to_dict()]}]
    assert doc["errors"] == [{"target": SM + "x", "error": "Boom: no"}]
    assert doc["residualRemovals"] == [removal.to_dict()] and doc["residualAccess"] == []


def test_residual_roles_come_most_severe_first_each_with_its_machines_and_worst_policy_first() -> None:
    def machine(name: str, role: str, *entries: dict[str, Any]) -> Outcome:
        return Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + name, role_arn=ROLE + role, residual=entries)

    b_team = residual_entry("b", "team", "MEDIUM")
    b_admin = residual_entry("b", "admin", "CRITICAL", kind="managed")
    b_zeta = residual_entry("b", "zeta", "CRITICAL")
    a_wide = residual_entry("a", "wide", "HIGH")
    c_wide = residual_entry("c", "wide", "HIGH")
    res = result(machine("m2", "b", b_team, b_zeta), machine("m1", "b", b_admin, b_team),
                 machine("m3", "c", c_wide), machine("m4", "a", a_wide), machine("m5", "d"))
    assert report.residual_roles(res) == [
        {"roleArn": ROLE + "b", "severity": "CRITICAL", "stateMachines": [SM + "m1", SM + "m2"],
         "policies": [b_admin, b_zeta, b_team]},  # by severity, then name; each policy once
        {"roleArn": ROLE + "a", "severity": "HIGH", "stateMachines": [SM + "m4"], "policies": [a_wide]},
        {"roleArn": ROLE + "c", "severity": "HIGH", "stateMachines": [SM + "m3"], "policies": [c_wide]},
    ]


# -- Markdown ---------------------------------------------------------------------------------------------------------

def test_the_markdown_report_lists_totals_errors_orphans_and_each_machine_in_full() -> None:
    machine = Outcome(
        Status.PROPOSED, "report", state_machine_arn=SM + "pay", role_arn=ROLE + "r", policy_name="sfn-iam.pay",
        placement="managed", reason="",
        changes=(Change(ChangeKind.PUT_MANAGED, "", "sfn-iam.pay.1", False),
                 Change(ChangeKind.ATTACH, "r", "sfn-iam.pay.1", True)),
        findings=(Finding.of("DYNAMIC_RESOURCE", "from\nthe input | maybe", path="$.States.P"),),
        documents=({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": f"arn:aws:sns:{REGION}:{ACCOUNT}:*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::a/*", "b|c"],
             "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}}]},),
        granted=(Requirement("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:*", path="$.States.P"),
                 Requirement("sns:ListTopics", "*")))
    skipped = Outcome(Status.SKIPPED, "report", state_machine_arn=SM + "quiet", reason="ROLE_OUT_OF_SCOPE")
    orphan = Outcome(Status.PROPOSED, "report", role_arn=ROLE + "old", policy_name="sfn-iam.gone")
    orphan_without_role = Outcome(Status.PROPOSED, "report", policy_name="sfn-iam.nowhere")
    res = SweepResult("report", ACCOUNT, REGION, (machine, skipped), orphans=(orphan, orphan_without_role),
                      errors=(SweepError(SM + "bad|name", "Throttling:\nslow down"),))
    md = report.to_markdown(res, NOW)
    assert md.startswith(f"# sfn-iam posture report: account {ACCOUNT}, {REGION}\n\nGenerated {NOW} in **report** "
                         "mode.\n") and md.endswith("\n") and not md.endswith("\n\n")
    totals = md.split("## Totals\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert totals == ["| | |", "|---|---|", "| state machines | 2 |", "| roles | 0 |", "| proposed | 1 |",
                      "| skipped | 1 |", "| writes | 1 |", "| proposed changes | 1 |", "| drift | 0 |",
                      "| orphaned policies removed / proposed | 0 / 2 |",
                      "| roles with residual access (admin-equivalent) | 0 (0) |", "| residual policies removed | 0 |",
                      "| errors | 1 |", "| findings medium | 1 |"]
    assert f"## Errors\n\n- `{SM}bad\\|name`: Throttling: slow down\n\n" in md
    assert ("## Orphaned policies (their state machine no longer exists)\n\n| policy | role | status |\n|---|---|---|\n"
            "| `sfn-iam.gone` | old | proposed |\n| `sfn-iam.nowhere` | - | proposed |\n\n") in md
    pay = md.split("<summary><b>MEDIUM</b> pay: proposed, 1 findings</summary>\n\n\n", 1)[1].split("</details>")[0]
    assert pay.startswith(f"- ARN: `{SM}pay`\n- role: `{ROLE}r`\n- status: **proposed**\n"
                          "- policy: `sfn-iam.pay` (managed)\n\nGranted:\n\n| actions | resources |\n|---|---|\n"
                          f"| sns:Publish | arn:aws:sns:{REGION}:{ACCOUNT}:* |\n"
                          "| s3:GetObject, s3:PutObject | arn:aws:s3:::a/*, b\\|c (with conditions) |\n\nWildcards:\n\n"
                          f"- `sns:Publish` on `arn:aws:sns:{REGION}:{ACCOUNT}:*` at `$.States.P`: "
                          "DYNAMIC_RESOURCE: from the input \\| maybe\n"
                          "- `sns:ListTopics` on `*`: the action takes no resource that the definition could name: "
                          "IAM accepts only \"*\" for it\n\nFindings:\n\n"
                          "- MEDIUM DYNAMIC_RESOURCE at $.States.P: from the input \\| maybe\n\nChanges:\n\n"
                          "- put-managed `sfn-iam.pay.1` (proposed, not applied)\n- attach `sfn-iam.pay.1` on r\n")
    quiet = md.split("<summary><b>CLEAN</b> quiet: skipped (ROLE_OUT_OF_SCOPE), 0 findings</summary>\n\n\n", 1)[1]
    quiet = quiet.split("</details>")[0]
    assert quiet.startswith(f"- ARN: `{SM}quiet`\n- role: `-`\n- status: **skipped** (ROLE_OUT_OF_SCOPE)\n"
                            "- policy: ``\n")
    assert "Granted:" not in quiet and "Wildcards:" not in quiet and "Findings:" not in quiet
    assert "Changes:" not in quiet


def test_a_markdown_report_without_errors_or_orphans_has_neither_section() -> None:
    md = report.to_markdown(result(Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "m")), NOW)
    assert "## Errors" not in md and "## Orphaned policies" not in md and f"- ARN: `{SM}m`\n" in md


# -- the SNS summary --------------------------------------------------------------------------------------------------

def test_the_summary_lists_the_worst_findings_first_and_cuts_long_lists() -> None:
    def finding(code: str, severity: Severity | None = None) -> Finding:
        return Finding.of(code, "m", severity=severity)

    many = tuple(Outcome(Status.WRITTEN, "enforce", state_machine_arn=f"{SM}m{i:02d}", policy_name=f"p{i}",
                         findings=(finding("WILDCARD_READ"),)) for i in range(52))
    worst = Outcome(Status.WRITTEN, "enforce", policy_name="orphan-like",
                    findings=(finding("MISSING_GRANT"), finding("BLOCKED_ACTION"), finding("DRIFT"),
                              finding("RESIDUAL_ACCESS", Severity.CRITICAL)))
    errors = tuple(SweepError(f"t{i}", f"E{i}") for i in range(25))
    res = SweepResult("enforce", ACCOUNT * 5, REGION, (worst, *many), errors=errors)
    subject, body = report.summary(res)
    expected_subject = f"sfn-iam sweep {ACCOUNT * 5} {REGION}: 0 writes, 1 drift, 25 errors"
    assert len(expected_subject) > 100 and subject == expected_subject[:100]
    lines = body.splitlines()
    assert lines[0] == f"sfn-iam sweep of account {ACCOUNT * 5} in {REGION} (enforce mode)" and lines[1] == ""
    assert lines[2:2 + len(res.totals())] == [f"{k}: {v}" for k, v in res.totals().items()]
    high = lines[lines.index("High and critical findings:") + 1:]
    assert high[:3] == ["- orphan-like: CRITICAL RESIDUAL_ACCESS: m", "- orphan-like: HIGH BLOCKED_ACTION: m",
                        "- orphan-like: HIGH MISSING_GRANT: m"]  # most severe, then by code; no medium one
    assert high[3] == f"- {SM}m00: HIGH WILDCARD_READ: m"
    assert high[50] == f"- ... and {3 + 52 - 50} more (see the report)"
    assert high[51:53] == ["", "Errors:"] and high[53:] == [f"- t{i}: E{i}" for i in range(20)]
    assert body.endswith("- t19: E19\n")


def test_a_summary_with_exactly_fifty_serious_findings_cuts_nothing_and_one_without_any_lists_none() -> None:
    fifty = tuple(Outcome(Status.WRITTEN, "enforce", state_machine_arn=f"{SM}m{i:02d}",
                          findings=(Finding.of("WILDCARD_READ", "m"),)) for i in range(50))
    _, body = report.summary(result(*fifty))
    assert body.count("HIGH WILDCARD_READ") == 50 and "more (see the report)" not in body
    _, quiet = report.summary(result(Outcome(Status.WRITTEN, "enforce", findings=(Finding.of("DRIFT", "m"),))))
    assert "High and critical findings:" not in quiet and "Errors:" not in quiet
    _, few = report.summary(result(*fifty[:3]))
    assert few.count("HIGH WILDCARD_READ") == 3 and "more (see the report)" not in few


# -- Security Hub -----------------------------------------------------------------------------------------------------

def test_security_hub_findings_name_what_they_are_about_and_leave_out_what_is_below_the_threshold() -> None:
    long = "x" * 1100
    machine = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m", role_arn=ROLE + "r",
                      findings=(Finding.of("DYNAMIC_RESOURCE", "topic", path="$.States.P"),
                                Finding.of("BOUNDARY_SET", "info only"),
                                Finding.of("POLICY_OVERFLOW", long)))
    orphan = Outcome(Status.REMOVED, "enforce", policy_name="sfn-iam.gone",
                     findings=(Finding.of("ORPHANED_GRANT", "left", severity=Severity.CRITICAL),))
    removal = Outcome(Status.REMOVED, "enforce", role_arn=ROLE + "r2",
                      findings=(Finding.of("RESIDUAL_REMOVED", "gone"),))
    res = SweepResult("report", ACCOUNT, REGION, (machine,), orphans=(orphan,), residual_removals=(removal,))
    found = report.asff(res, partition="aws-cn", now=NOW)
    assert [f["GeneratorId"] for f in found] == ["sfn-iam/DYNAMIC_RESOURCE", "sfn-iam/POLICY_OVERFLOW",
                                                 "sfn-iam/ORPHANED_GRANT", "sfn-iam/RESIDUAL_REMOVED"]
    dyn, overflow, gone, removed = found
    digest = hashlib.sha256(f"{SM}m|DYNAMIC_RESOURCE|$.States.P|topic".encode()).hexdigest()[:32]
    assert dyn == {
        "SchemaVersion": "2018-10-08", "Id": f"sfn-iam/{REGION}/{digest}",
        "ProductArn": f"arn:aws-cn:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "GeneratorId": "sfn-iam/DYNAMIC_RESOURCE", "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"], "CreatedAt": NOW, "UpdatedAt": NOW,
        "Severity": {"Label": "MEDIUM"}, "Title": "sfn-iam DYNAMIC_RESOURCE", "Description": "topic (at $.States.P)",
        "Resources": [{"Type": "Other", "Id": SM + "m", "Partition": "aws-cn", "Region": REGION},
                      {"Type": "AwsIamRole", "Id": ROLE + "r", "Partition": "aws-cn", "Region": REGION}],
        "ProductFields": {"sfn-iam/code": "DYNAMIC_RESOURCE", "sfn-iam/status": "written", "sfn-iam/mode": "report"},
        "RecordState": "ACTIVE"}
    assert overflow["Description"] == long[:1024] and overflow["Severity"] == {"Label": "LOW"}
    gone_digest = hashlib.sha256(b"sfn-iam.gone|ORPHANED_GRANT||left").hexdigest()[:32]
    assert gone["Id"] == f"sfn-iam/{REGION}/{gone_digest}" and gone["Severity"] == {"Label": "CRITICAL"}
    assert gone["Resources"] == [{"Type": "Other", "Id": "sfn-iam.gone", "Partition": "aws-cn", "Region": REGION}]
    assert removed["Resources"] == [{"Type": "AwsIamRole", "Id": ROLE + "r2", "Partition": "aws-cn",
                                     "Region": REGION}]
    removed_digest = hashlib.sha256(f"{ROLE}r2|RESIDUAL_REMOVED||gone".encode()).hexdigest()[:32]
    assert removed["Id"] == f"sfn-iam/{REGION}/{removed_digest}"
    assert [f["Severity"]["Label"] for f in report.asff(res, partition="aws", now=NOW, min_severity=Severity.INFO)] == [
        "MEDIUM", "INFORMATIONAL", "LOW", "CRITICAL", "MEDIUM"]
    assert [f["Severity"]["Label"] for f in report.asff(res, partition="aws", now=NOW,
                                                         min_severity=Severity.MEDIUM)] == ["MEDIUM", "CRITICAL",
                                                                                            "MEDIUM"]


def test_a_security_hub_title_is_cut_to_256_characters() -> None:
    finding = Finding("X" * 300, Severity.HIGH, "m")  # a code is short; the cut is the field's limit
    [found] = report.asff(result(Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m", findings=(finding,))),
                          partition="aws", now=NOW)
    assert found["Title"] == ("sfn-iam " + "X" * 300)[:256]


# -- events -----------------------------------------------------------------------------------------------------------

def _size(detail: dict[str, Any]) -> int:
    return len(json.dumps(detail, sort_keys=True).encode())


def test_an_event_at_the_entry_size_is_kept_whole_and_one_byte_more_is_cut_documents_first() -> None:
    base = {"status": "written", "documents": [], "residualAccess": [], "findings": [], "truncated": {"findings": 0}}
    pad = report.EVENT_BYTES - _size({**base, "message": ""})
    exact = {**base, "message": "m" * pad}
    assert _size(exact) == report.EVENT_BYTES and report.bounded(exact) is exact
    documents = [{"Statement": ["s" * 100]}]
    over = {**base, "message": "m" * (pad - _size({"d": documents}) + 10), "documents": documents,
            "residualAccess": [{"r": 1}]}
    assert _size(over) > report.EVENT_BYTES
    cut = report.bounded(over)
    assert cut["documents"] == [] and cut["residualAccess"] == [{"r": 1}]  # the documents were enough
    assert cut["truncated"] == {"findings": 0, "documents": 1} and over["documents"] == documents  # not changed
    assert "residualAccess" not in cut["truncated"] and _size(cut) <= report.EVENT_BYTES


def test_an_event_still_too_large_without_documents_drops_residual_entries_then_findings_past_five() -> None:
    findings = [{"code": f"C{i}", "message": "f" * 60_000} for i in range(8)]
    detail = {"status": "written", "documents": [{"d": 1}], "residualAccess": [{"r": 1}, {"r": 2}],
              "findings": findings, "truncated": {"findings": 3}}
    cut = report.bounded(detail)
    assert cut["documents"] == [] and cut["residualAccess"] == []
    assert cut["findings"] == findings[:5]
    assert cut["truncated"] == {"findings": 3 + 3, "documents": 1, "residualAccess": 2}
    assert detail["truncated"] == {"findings": 3}  # the caller's detail is left as it was
    few = report.bounded({"status": "written", "message": "m" * 300_000, "findings": findings[:2]})
    assert few["findings"] == findings[:2] and few["truncated"] == {"findings": 0}


def test_only_news_is_published_and_the_totals_always_are() -> None:
    quiet = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "quiet", policy_name="quiet",
                    findings=(Finding.of("BOUNDARY_SET", "info"),))
    proposed = Outcome(Status.PROPOSED, "report", state_machine_arn=SM + "prop", policy_name="prop",
                       changes=(Change(ChangeKind.PUT_INLINE, "r", "prop", False),))
    low = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "low", policy_name="low",
                  findings=(Finding.of("POLICY_OVERFLOW", "m"),))
    seen = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "seen", policy_name="seen",
                   findings=(Finding.of("DYNAMIC_RESOURCE", "m"),))
    rewritten = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "again", policy_name="again",
                        changes=(Change(ChangeKind.PUT_INLINE, "r", "again", True),))
    res = result(quiet, proposed, low, seen, rewritten, repeated=frozenset({"seen", "again", "quiet"}))
    evs = report.events(res)
    assert [e[1].get("policyName") for e in evs] == ["prop", "low", "again", None]
    assert evs[0] == ("Policy Change Proposed", report.bounded(proposed.to_event()), [SM + "prop"])
    assert evs[-1] == report.summary_event(res) == ("Sweep Completed", {
        "schemaVersion": "1", "action": "sweep", "mode": "enforce", "account": ACCOUNT, "region": REGION,
        "totals": res.totals(), "errors": []}, [])


def _padded(detail: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``detail`` with a message long enough that ``after`` (what the cut leaves) is exactly the entry size."""
    pad = report.EVENT_BYTES - _size({**after, "message": ""})
    return {**detail, "message": "m" * pad}


def test_a_cut_stops_as_soon_as_the_event_fits_exactly() -> None:
    documents = [{"Statement": ["s" * 100]}]
    residual = [{"r": "x" * 100}]
    # without its documents, exactly the entry size: the residual entries stay
    kept = {"status": "written", "residualAccess": residual, "findings": [], "truncated": {"findings": 0}}
    detail = _padded({**kept, "documents": documents}, {**kept, "documents": [],
                                                        "truncated": {"findings": 0, "documents": 1}})
    cut = report.bounded(detail)
    assert _size(cut) == report.EVENT_BYTES
    assert cut["residualAccess"] == residual and cut["truncated"] == {"findings": 0, "documents": 1}
    # without its documents and residual entries, exactly the entry size: every finding stays
    findings = [{"code": f"C{i}"} for i in range(7)]
    kept = {"status": "written", "findings": findings, "truncated": {"findings": 0}}
    detail = _padded({**kept, "documents": documents, "residualAccess": residual},
                     {**kept, "documents": [], "residualAccess": [],
                      "truncated": {"findings": 0, "documents": 1, "residualAccess": 1}})
    cut = report.bounded(detail)
    assert _size(cut) == report.EVENT_BYTES and cut["findings"] == findings
    assert cut["truncated"] == {"findings": 0, "documents": 1, "residualAccess": 1}


def test_a_delivery_with_nothing_delivered_counts_nothing() -> None:
    assert report.Delivery() == report.Delivery(published=0, pending=0, imported=0, errors=())
    assert tuple(report.Delivery()) == (0, 0, 0, ())


def test_fifty_one_serious_findings_show_fifty_and_say_one_more() -> None:
    many = tuple(Outcome(Status.WRITTEN, "enforce", state_machine_arn=f"{SM}m{i:02d}",
                         findings=(Finding.of("WILDCARD_READ", "m"),)) for i in range(51))
    _, body = report.summary(result(*many))
    assert body.count("HIGH WILDCARD_READ") == 50 and "- ... and 1 more (see the report)" in body


def test_a_sweep_invocation_fails_on_a_target_first_then_on_what_was_not_delivered() -> None:
    import pytest

    report.fail_if_incomplete(result(), report.Delivery(1, 0, 0, ()))  # all done, all delivered: no error
    with pytest.raises(report.SweepDeliveryError, match=r"^1 delivery problem\(s\); first: SNS: down$"):
        report.fail_if_incomplete(result(), report.Delivery(1, 0, 0, ("SNS: down",)))
    failed = result(errors=(SweepError("t1", "E1"), SweepError("t2", "E2")))
    with pytest.raises(report.SweepIncompleteError, match=r"^2 target\(s\) failed; first: t1: E1$"):
        report.fail_if_incomplete(failed, report.Delivery(1, 0, 0, ("SNS: down",)))


# -- what a sweep's report says whatever object holds a value, and the exact cuts ------------------------------------

def test_a_wildcard_is_explained_by_a_finding_whose_path_is_an_equal_string_read_elsewhere() -> None:
    # The finding's path and the grant's path come from different places (here: two JSON texts), so they are equal
    # strings that are not the same object.
    finding_path, grant_path = json.loads('"$.States.Publish"'), json.loads('["$.States.Publish"]')[0]
    assert finding_path == grant_path and finding_path is not grant_path
    outcome = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m",
                      findings=(Finding.of("DYNAMIC_RESOURCE", "the topic comes from the input", path=finding_path),),
                      granted=(Requirement("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:*", path=grant_path),))
    assert [w["why"] for w in report.wildcards(outcome)] == [["DYNAMIC_RESOURCE: the topic comes from the input"]]


def test_a_star_resource_computed_at_run_time_is_explained_as_iams_only_choice() -> None:
    star = "?".replace("?", "*")  # CPython shares some one-character strings, not this one
    assert star == "*" and star is not sys.intern("*")
    outcome = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m",
                      granted=(Requirement("sns:ListTopics", star, path="$.States.L"),))
    assert report.wildcards(outcome)[0]["why"] == [
        "the action takes no resource that the definition could name: IAM accepts only \"*\" for it"]


def test_an_outcome_with_only_info_findings_and_no_change_is_not_news() -> None:
    info = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "info", policy_name="info",
                   findings=(Finding.of("BOUNDARY_SET", "info"),))
    assert info.findings[0].severity is Severity.INFO
    low = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=SM + "low", policy_name="low",
                  findings=(Finding.of("BOUNDARY_SET", "info"), Finding.of("POLICY_OVERFLOW", "m")))
    assert [e[1].get("policyName") for e in report.events(result(info, low))] == ["low", None]


def test_the_entry_size_is_250000_bytes_of_detail() -> None:
    # EventBridge's 256 KB per request, less room for the source, the detail-type and the resources.
    base = {"status": "written", "documents": [{"d": 1}], "findings": [], "truncated": {"findings": 0}}
    fits = {**base, "message": "m" * (250_000 - _size({**base, "message": ""}))}
    assert _size(fits) == 250_000 and report.bounded(fits) is fits
    over = {**fits, "message": fits["message"] + "m"}
    assert report.bounded(over)["documents"] == []


def test_a_failed_sweep_names_the_first_delivery_problem_of_several() -> None:
    import pytest

    with pytest.raises(report.SweepDeliveryError, match=r"^2 delivery problem\(s\); first: SNS: down$"):
        report.fail_if_incomplete(result(), report.Delivery(1, 0, 0, ("SNS: down", "Security Hub: down")))


class _Raises:
    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, events: Any) -> None:
        raise RuntimeError(self.message)

    def notify(self, subject: str, message: str) -> None:
        raise RuntimeError(self.message)

    def import_findings(self, findings: Any) -> int:
        raise RuntimeError(self.message)


def test_a_destinations_error_text_is_cut_at_300_characters() -> None:
    long = "".join(f"{i:03d}" for i in range(200))  # 600 characters, each cut distinguishable
    machine = Outcome(Status.WRITTEN, "enforce", state_machine_arn=SM + "m", policy_name="p",
                      changes=(Change(ChangeKind.PUT_INLINE, "r", "p", True),))
    d = report.deliver(result(machine), publish_many=_Raises(long), notifier=_Raises(long),
                       importer=_Raises(long), partition="aws", now=NOW)
    assert d.errors == (f"EventBridge did not accept 2 of 2 event(s); first: RuntimeError: {long[:300]}",
                        f"SNS: RuntimeError: {long[:300]}", f"Security Hub: RuntimeError: {long[:300]}")
    assert (d.published, d.pending, d.imported) == (0, 0, 0)
