"""governance/batches.py: what a batch of the sweep state machine returns (bounded), and the sweep's result rebuilt
from the Map Run's result files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.governance import batches
from sfn_iam.governance.sweep import SweepError, SweepResult

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:"
ROLE = "arn:aws:iam::123456789012:role/stepfunctions/r"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}


def outcome(name: str, *, findings: int = 1, doc_bytes: int = 0, role: str = ROLE,
            status: Status = Status.WRITTEN) -> Outcome:
    document = {**DOC, "Id": "x" * doc_bytes} if doc_bytes else DOC
    return Outcome(status, "enforce", action="sweep", state_machine_arn=ARN + name, role_arn=role,
                   policy_name=f"sfn-iam.us-east-1.{name}", placement="inline", message=f"m {name}",
                   changes=(Change(ChangeKind.PUT_INLINE, "r", f"sfn-iam.us-east-1.{name}", True),),
                   findings=tuple(Finding.of("DYNAMIC_RESOURCE", f"finding {i} " + "y" * 200, f"States.S{i}")
                                  for i in range(findings)),
                   documents=(document,), residual=({"kind": "inline", "policyName": "extra", "policyArn": "",
                                                     "severity": "HIGH"},))


def result(*outcomes: Outcome, errors: tuple[SweepError, ...] = (), repeated: frozenset[str] = frozenset()
           ) -> SweepResult:
    return SweepResult("enforce", "123456789012", "us-east-1", outcomes, (), errors, 1, repeated)


def entry(items: list[str], output: Any = None, status: str = "SUCCEEDED", **extra: str) -> dict[str, Any]:
    e: dict[str, Any] = {"Status": status, "Input": json.dumps({"Items": items}), **extra}
    if output is not None:
        e["Output"] = json.dumps(output)
    return e


def test_an_outcome_comes_back_from_its_event_detail() -> None:
    o = outcome("a", findings=2)
    back = batches.outcome_of(json.loads(json.dumps(o.to_event())))
    assert back == o  # status, mode, names, changes, findings (the compared fields)
    assert back.documents == o.documents and back.residual == o.residual
    assert back.findings[0].severity is Severity.MEDIUM and back.changes[0].applied is True


def test_a_small_batch_returns_everything() -> None:
    out = batches.batch_output(result(outcome("a"), outcome("b"), errors=(SweepError(ARN + "c", "Boom: x"),),
                                      repeated=frozenset({"sfn-iam.us-east-1.b"})))
    assert out["version"] == batches.BATCH_VERSION
    assert [o["stateMachineArn"] for o in out["outcomes"]] == [ARN + "a", ARN + "b"]
    assert out["outcomes"][0]["documents"] == [DOC]
    assert out["errors"] == [{"target": ARN + "c", "error": "Boom: x"}]
    assert out["repeated"] == ["sfn-iam.us-east-1.b"]


def test_a_large_batch_drops_documents_first_then_findings_and_says_so() -> None:
    # 30 machines with 9 KB documents: ~270 KB, over Step Functions' 256 KiB
    out = batches.batch_output(result(*(outcome(f"m{i}", findings=3, doc_bytes=9_000) for i in range(30))))
    size = len(json.dumps(out, separators=(",", ":")).encode())
    assert size <= batches.BATCH_OUTPUT_BYTES
    assert all(o["documents"] == [] and o["truncated"]["documents"] == 1 for o in out["outcomes"])
    assert all(len(o["findings"]) == 3 and o["truncated"]["findings"] == 0 for o in out["outcomes"])  # kept
    # many findings too: cut to the first few per machine, counted
    out = batches.batch_output(result(*(outcome(f"m{i}", findings=50) for i in range(30))))
    assert len(json.dumps(out, separators=(",", ":")).encode()) <= batches.BATCH_OUTPUT_BYTES
    assert all(len(o["findings"]) == batches.KEPT_FINDINGS and o["truncated"]["findings"] == 45
               for o in out["outcomes"])
    assert all(o["findingCounts"]["byCode"] == {"DYNAMIC_RESOURCE": 50} for o in out["outcomes"])


def test_just_under_the_budget_nothing_is_dropped() -> None:
    small = result(*(outcome(f"m{i}", doc_bytes=1_000) for i in range(5)))
    out = batches.batch_output(small)
    assert all(o["documents"] and "documents" not in o["truncated"] for o in out["outcomes"])


def test_merge_rebuilds_the_sweep_in_listing_order_with_every_machine_accounted_for() -> None:
    listing = [ARN + n for n in ("a", "b", "c", "d", "e", "f")]
    ok = batches.batch_output(result(outcome("b"), outcome("a"), errors=(SweepError(ARN + "c", "Access: no"),),
                                     repeated=frozenset({"sfn-iam.us-east-1.a"})))
    entries = [
        entry([ARN + "a", ARN + "b", ARN + "c"], ok),
        entry([ARN + "d"], status="FAILED", Error="IamThrottled", Cause="rate exceeded"),
        entry([ARN + "e"], {"unexpected": True}),
    ]
    merged = batches.merge("enforce", "123456789012", "us-east-1", listing, entries)
    r = merged.result
    assert [o.state_machine_arn for o in r.outcomes] == [ARN + "a", ARN + "b"]  # listing order, not batch order
    errors = {e.target: e.error for e in r.errors}
    assert errors[ARN + "c"] == "Access: no"
    assert errors[ARN + "d"] == "batch failed after its retries: IamThrottled: rate exceeded"
    assert errors[ARN + "e"] == "batch returned no sweep result"
    assert errors[ARN + "f"] == batches.NOT_REACHED  # in no result file
    assert r.repeated == frozenset({"sfn-iam.us-east-1.a"}) and r.roles == 1
    assert not merged.complete and merged.truncated_roles == frozenset()


def test_merge_of_a_complete_sweep_and_the_roles_whose_documents_were_dropped() -> None:
    other = ROLE.replace("/r", "/other")
    big = batches.batch_output(result(*(outcome(f"m{i}", findings=3, doc_bytes=9_000) for i in range(30))))
    small = batches.batch_output(result(outcome("z", role=other)))
    listing = [ARN + f"m{i}" for i in range(30)] + [ARN + "z"]
    merged = batches.merge("report", "1", "us-east-1", listing,
                           [entry(listing[:30], big), entry(listing[30:], small)])
    assert merged.complete and len(merged.result.outcomes) == 31 and merged.result.roles == 2
    assert merged.truncated_roles == frozenset({ROLE})
    assert merged.result.mode == "report"


def test_result_files_of_a_manifest() -> None:
    manifest = {"DestinationBucket": "b", "MapRunArn": "arn", "ResultFiles": {
        "SUCCEEDED": [{"Key": "results/x/SUCCEEDED_0.json", "Size": 1}, {"Key": "results/x/SUCCEEDED_1.json"}],
        "FAILED": [{"Key": "results/x/FAILED_0.json", "Size": 1}], "PENDING": []}}
    assert batches.result_files(manifest) == ["results/x/FAILED_0.json", "results/x/SUCCEEDED_0.json",
                                              "results/x/SUCCEEDED_1.json"]
    assert batches.result_files({}) == [] and batches.result_files({"ResultFiles": []}) == []


def _bytes(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":")).encode())


def test_the_budget_is_inclusive_at_each_stage(monkeypatch: Any) -> None:
    machines = result(*(outcome(f"m{i}", findings=8, doc_bytes=2_000) for i in range(4)))
    whole = _bytes(batches.batch_output(machines))
    monkeypatch.setattr(batches, "BATCH_OUTPUT_BYTES", whole)  # exactly at the budget: all kept
    assert all(o["documents"] for o in batches.batch_output(machines)["outcomes"])
    monkeypatch.setattr(batches, "BATCH_OUTPUT_BYTES", whole - 1)  # one byte over: documents go, findings stay
    out = batches.batch_output(machines)
    assert all(not o["documents"] and len(o["findings"]) == 8 for o in out["outcomes"])
    without_documents = _bytes(out)
    monkeypatch.setattr(batches, "BATCH_OUTPUT_BYTES", without_documents)  # at the budget without documents
    assert all(len(o["findings"]) == 8 for o in batches.batch_output(machines)["outcomes"])
    monkeypatch.setattr(batches, "BATCH_OUTPUT_BYTES", without_documents - 1)
    out = batches.batch_output(machines)
    assert all(len(o["findings"]) == batches.KEPT_FINDINGS and o["truncated"]["findings"] == 3
               for o in out["outcomes"])


def test_a_machine_with_few_findings_loses_none_when_others_are_cut(monkeypatch: Any) -> None:
    monkeypatch.setattr(batches, "BATCH_OUTPUT_BYTES", 1)  # every stage runs
    out = batches.batch_output(result(outcome("few", findings=2), outcome("many", findings=9)))
    few, many = out["outcomes"]
    assert len(few["findings"]) == 2 and few["truncated"]["findings"] == 0
    assert len(many["findings"]) == batches.KEPT_FINDINGS and many["truncated"]["findings"] == 4


def test_every_failed_status_is_an_error_and_says_which() -> None:
    listing = [ARN + n for n in ("a", "b", "c", "d")]
    good = batches.batch_output(result(outcome("d")))
    entries = json.loads(json.dumps([  # as read from the result files
        entry([ARN + "a"], status="TIMED_OUT"),  # no Error: the status says what happened
        entry([ARN + "b"], status="ABORTED", Error="States.Aborted", Cause="c" * 400),
        entry([ARN + "c"], None, Output="not json"),
        entry([ARN + "d"], good),  # after an unusable entry: still read
    ]))
    r = batches.merge("enforce", "1", "us-east-1", listing, entries).result
    errors = {e.target: e.error for e in r.errors}
    assert errors[ARN + "a"] == "batch failed after its retries: TIMED_OUT: "
    assert errors[ARN + "b"] == "batch failed after its retries: States.Aborted: " + "c" * 300
    assert errors[ARN + "c"] == "batch returned no sweep result"
    assert [o.state_machine_arn for o in r.outcomes] == [ARN + "d"] and ARN + "d" not in errors


def test_merged_is_a_value() -> None:
    merged = batches.merge("enforce", "1", "us-east-1", [], [])
    assert merged.complete and merged.result.outcomes == ()
    with pytest.raises(AttributeError):
        merged.truncated_roles = frozenset({"x"})  # type: ignore[misc]
    assert not hasattr(merged, "__dict__")
    changed = merged._replace(truncated_roles=frozenset({"x"}))
    assert changed.truncated_roles == {"x"} and merged.truncated_roles == set()


def test_the_listing_is_ordered_by_the_role_the_ledger_names_then_by_arn() -> None:
    roles = {ARN + "a": {"zeta"}, ARN + "b": {"alpha"}, ARN + "c": {"zeta", "beta"}, ARN + "d": set(),
             ARN + "e": {"alpha"}}
    listing = [ARN + n for n in ("e", "d", "c", "b", "a", "f")]  # f: no ledger entry either
    ordered = batches.by_role(listing, lambda a: roles.get(a, ()))
    # alpha: b, e; beta (c's first role); zeta: a; then the machines the ledger does not know, by ARN
    assert ordered == [ARN + "b", ARN + "e", ARN + "c", ARN + "a", ARN + "d", ARN + "f"]
    assert batches.by_role([], lambda a: ()) == []


def test_merge_reports_in_arn_order_whatever_the_listing_order() -> None:
    out = batches.batch_output(result(outcome("b"), outcome("a")))
    merged = batches.merge("enforce", "1", "us-east-1", [ARN + "b", ARN + "a", ARN + "b"], [entry([ARN + "b"], out)])
    assert [o.state_machine_arn for o in merged.result.outcomes] == [ARN + "a", ARN + "b"]


def test_merge_keeps_the_digests_every_batch_returned_and_a_batch_without_any() -> None:
    """The digests of the outcomes that are news: the summary step records them once reported (governance/report.py
    ``deliver``); one lost here is published again by every later sweep."""
    news = {"sfn-iam.us-east-1.a": "d-a", "sfn-iam.us-east-1.b": "d-b"}
    first = result(outcome("a"), outcome("b"))._replace(digests=news)
    second = result(outcome("c"))._replace(digests={"sfn-iam.us-east-1.c": "d-c"})
    quiet = result(outcome("d"))
    out = [batches.batch_output(r) for r in (first, second, quiet)]
    assert out[2]["digests"] == {}
    del out[2]["digests"]  # as an older batch returned it: no digests at all
    entries = [entry([ARN + "a", ARN + "b"], out[0]), entry([ARN + "c"], out[1]), entry([ARN + "d"], out[2])]
    merged = batches.merge("enforce", "123456789012", "us-east-1", [ARN + n for n in "abcd"], entries)
    assert dict(merged.result.digests) == {**news, "sfn-iam.us-east-1.c": "d-c"}
    assert not merged.result.errors and len(merged.result.outcomes) == 4
