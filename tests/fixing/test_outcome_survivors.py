"""fixing/outcome.py: what an outcome compares equal by, and the published event's bounds (docs/events.md).

Pinned by a mutation run (docs/mutation.md): an outcome is equal and hashed by what happened (the fields before
``documents``), never by the documents, grants and residual entries that came with it; the published detail keeps
the first 50 findings and changes, clips every string to 1 KB, keeps documents and residual entries whole up to
96 KB each and counts what it left out.
"""

from __future__ import annotations

import json
import operator
from typing import Any

import pytest

from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing.outcome import (
    MAX_TEXT,
    PUBLISHED_CHANGES,
    PUBLISHED_DOCUMENT_BYTES,
    PUBLISHED_FINDINGS,
    Change,
    ChangeKind,
    Outcome,
    Status,
)
from sfn_iam.model import Requirement

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
ROLE = "arn:aws:iam::123456789012:role/stepfunctions/r"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}


def outcome(**fields: Any) -> Outcome:
    base: dict[str, Any] = {"status": Status.WRITTEN, "mode": "enforce", "event_id": "e",
                            "action": "UpdateStateMachine", "state_machine_arn": ARN, "role_arn": ROLE,
                            "policy_name": "sfn-iam.us-east-1.Orders",
                            "placement": "inline", "reason": "", "message": "m",
                            "changes": (Change(ChangeKind.PUT_INLINE, "r", "p", True),),
                            "findings": (Finding.of("DYNAMIC_RESOURCE", "f"),), "documents": (DOC,)}
    return Outcome(**{**base, **fields})


def test_the_documents_grants_and_residual_entries_are_not_compared() -> None:
    a = outcome()
    b = outcome(documents=({"Version": "2012-10-17", "Statement": []},),
                granted=(Requirement("sns:Publish", "*"),), residual=({"policyName": "x"},))
    assert a == b and operator.ne(a, b) is False and hash(a) == hash(b)
    assert len({a, b}) == 1


@pytest.mark.parametrize("field, value", [
    ("status", Status.UNCHANGED), ("mode", "report"), ("event_id", "other"), ("action", "DeleteStateMachine"),
    ("state_machine_arn", ARN + "2"), ("role_arn", ROLE + "2"), ("policy_name", "q"), ("placement", "managed"),
    ("reason", "GONE"), ("message", "n"), ("changes", ()), ("findings", ()),
])
def test_every_field_before_the_documents_is_compared(field: str, value: Any) -> None:
    a, b = outcome(), outcome(**{field: value})
    assert a != b and operator.eq(a, b) is False
    assert len({a, b}) == 2


def test_an_outcome_is_not_equal_to_what_is_not_an_outcome() -> None:
    o = outcome()
    assert operator.ne(o, None) is True and operator.eq(o, None) is False
    assert operator.ne(o, "written") is True and operator.eq(o, 3) is False


def test_detail_type_and_metric_per_status() -> None:
    assert outcome().detail_type == "Policy Written" and outcome().metric_name == "PoliciesWritten"
    assert outcome(status=Status.SKIPPED).detail_type == "State Machine Skipped"
    assert outcome(status=Status.IGNORED).metric_name == "EventsIgnored"


def test_writes_count_only_applied_changes() -> None:
    changes = (Change(ChangeKind.PUT_INLINE, "r", "p", True), Change(ChangeKind.DETACH, "r", "q", True),
               Change(ChangeKind.PUT_MANAGED, "", "m", False))
    assert outcome(changes=changes).writes == 2
    assert outcome(changes=()).writes == 0


def test_only_puts_and_attachments_are_writes() -> None:
    assert {k for k in ChangeKind if k.is_write} == {ChangeKind.PUT_INLINE, ChangeKind.PUT_MANAGED, ChangeKind.ATTACH}


def test_finding_counts_and_the_highest_severity() -> None:
    findings = (Finding.of("DYNAMIC_RESOURCE", "a"), Finding.of("DYNAMIC_RESOURCE", "b"),
                Finding.of("BLOCKED_ACTION", "c"), Finding.of("RESIDUAL_ACCESS", "d", severity=Severity.CRITICAL))
    o = outcome(findings=findings)
    assert o.finding_counts() == {"FindingsMedium": 2, "FindingsHigh": 1, "FindingsCritical": 1}
    assert o.max_severity == "CRITICAL"
    assert outcome(findings=findings[:3]).max_severity == "HIGH"
    assert outcome(findings=()).max_severity == "NONE" and outcome(findings=()).finding_counts() == {}
    event = o.to_event()
    assert event["findingCounts"] == {"byCode": {"BLOCKED_ACTION": 1, "DYNAMIC_RESOURCE": 2, "RESIDUAL_ACCESS": 1},
                                      "bySeverity": {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 2}}
    assert event["maxSeverity"] == "CRITICAL"


def test_resources_are_the_machine_and_the_role_when_known() -> None:
    assert outcome().resources() == [ARN, ROLE]
    assert outcome(role_arn="").resources() == [ARN]
    assert outcome(state_machine_arn="", role_arn="").resources() == []


def test_the_detail_is_the_dict_when_nothing_is_bounded() -> None:
    o = outcome(residual=({"policyName": "x"},))
    event = o.to_event()
    full = o.to_dict()
    assert {k: v for k, v in event.items() if k not in ("findingCounts", "truncated")} == full
    assert event["truncated"] == {"findings": 0, "changes": 0}
    assert event["changes"] == [{"kind": "put-inline", "role": "r", "policy": "p", "applied": True}]
    assert event["documents"] == [DOC] and event["residualAccess"] == [{"policyName": "x"}]


@pytest.mark.parametrize("n", [PUBLISHED_FINDINGS - 1, PUBLISHED_FINDINGS, PUBLISHED_FINDINGS + 1,
                               PUBLISHED_FINDINGS + 7])
def test_the_first_fifty_findings_are_published_and_the_rest_counted(n: int) -> None:
    assert PUBLISHED_FINDINGS == 50
    findings = tuple(Finding.of("DYNAMIC_RESOURCE", f"f{i}") for i in range(n))
    event = outcome(findings=findings).to_event()
    assert [f["message"] for f in event["findings"]] == [f"f{i}" for i in range(min(n, 50))]
    assert event["truncated"]["findings"] == max(0, n - 50)
    assert event["findingCounts"]["byCode"] == {"DYNAMIC_RESOURCE": n}
    assert event["truncated"]["changes"] == 0


@pytest.mark.parametrize("n", [PUBLISHED_CHANGES - 1, PUBLISHED_CHANGES, PUBLISHED_CHANGES + 1])
def test_the_first_fifty_changes_are_published_and_the_rest_counted(n: int) -> None:
    assert PUBLISHED_CHANGES == 50
    changes = tuple(Change(ChangeKind.DETACH, "r", f"p{i}", True) for i in range(n))
    event = outcome(changes=changes).to_event()
    assert [c["policy"] for c in event["changes"]] == [f"p{i}" for i in range(min(n, 50))]
    assert event["truncated"]["changes"] == max(0, n - 50)
    assert event["truncated"]["findings"] == 0


@pytest.mark.parametrize("length", [MAX_TEXT - 1, MAX_TEXT, MAX_TEXT + 1, 5000])
def test_every_string_is_clipped_to_one_kilobyte(length: int) -> None:
    assert MAX_TEXT == 1024
    text = "abcdefghij" * 600
    long = text[:length]
    o = outcome(message=long, changes=(Change(ChangeKind.PUT_INLINE, "r", long, True),),
                findings=(Finding.of("DYNAMIC_RESOURCE", long),))
    event = o.to_event()
    expected = long if length <= 1024 else text[:1021] + "..."
    assert event["message"] == expected and len(event["message"]) == min(length, 1024)
    assert event["changes"][0]["policy"] == expected
    assert event["findings"][0]["message"] == expected
    assert o.to_dict()["message"] == long  # the log line keeps it whole


def _document_of(size: int) -> dict[str, Any]:
    """A document whose event list, ``[doc]`` as JSON, is exactly ``size`` characters."""
    return {"Id": "x" * (size - len(json.dumps([{"Id": ""}])))}


@pytest.mark.parametrize("size", [PUBLISHED_DOCUMENT_BYTES - 1, PUBLISHED_DOCUMENT_BYTES,
                                  PUBLISHED_DOCUMENT_BYTES + 1])
def test_documents_and_residual_entries_stay_whole_up_to_96_kb(size: int) -> None:
    assert PUBLISHED_DOCUMENT_BYTES == 96 * 1024
    doc = _document_of(size)
    assert len(json.dumps([doc])) == size
    event = outcome(documents=(doc,), residual=(doc, )).to_event()
    fits = size <= 96 * 1024
    assert event["documents"] == ([doc] if fits else [])
    assert event["residualAccess"] == ([doc] if fits else [])
    assert event["truncated"] == ({"findings": 0, "changes": 0} if fits else
                                  {"findings": 0, "changes": 0, "documents": 1, "residualAccess": 1})


def test_documents_are_counted_when_left_out_and_residual_entries_judged_apart() -> None:
    big = _document_of(60 * 1024)
    event = outcome(documents=(big, big, DOC), residual=({"policyName": "x"},)).to_event()
    assert event["documents"] == [] and event["truncated"]["documents"] == 3
    assert event["residualAccess"] == [{"policyName": "x"}] and "residualAccess" not in event["truncated"]
    assert outcome(documents=(DOC,), residual=(big, big)).to_event()["documents"] == [DOC]
