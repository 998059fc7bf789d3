"""Retiring statements record the window of start times that may need them; pruning keeps a statement only while an
execution that started within it (plus the grace) runs, or while the listing cannot rule one out."""

from __future__ import annotations

from typing import Any

from sfn_iam.fixing import retiring
from sfn_iam.fixing.ports import OldExecutions


def _doc(*resources: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [r]}
        for i, r in enumerate(resources)]}


def _resources(doc: dict[str, Any]) -> list[str]:
    return sorted(r for s in doc["Statement"] for r in s["Resource"])


T1, T2 = "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"


def test_statements_carry_their_definition_s_window_and_shared_ones_the_union() -> None:
    first = retiring.document([_doc("a", "shared")], None, T1)
    assert [retiring.window(s) for s in first["Statement"]] == [("", T1), ("", T1)]
    second = retiring.document([_doc("b", "shared")], first, T2, since_from=T1)
    windows = {s["Resource"][0]: retiring.window(s) for s in second["Statement"]}
    assert windows == {"a": ("", T1), "b": (T1, T2), "shared": ("", T2)}
    assert retiring.since_of(second) == T2
    assert second["Statement"][1]["Sid"].startswith("Retiring20261202T100000ZFrom20261201T100000Z")


def test_pruning_keeps_only_what_a_running_execution_started_under_needs() -> None:
    doc = retiring.document([_doc("b", "shared")], retiring.document([_doc("a", "shared")], None, T1), T2,
                            since_from=T1)
    during_second = OldExecutions(True, started=("2026-12-01T12:00:00Z",), complete=True)
    assert _resources(retiring.prune(doc, during_second)) == ["b", "shared"]
    during_first = OldExecutions(True, started=("2026-11-30T12:00:00Z",), complete=True)
    assert _resources(retiring.prune(doc, during_first)) == ["a", "shared"]
    within_grace = OldExecutions(True, started=("2026-12-01T10:00:59Z",), complete=True)
    assert _resources(retiring.prune(doc, within_grace)) == ["a", "b", "shared"]
    after_grace = OldExecutions(True, started=("2026-12-02T10:01:00Z",), complete=True)
    assert retiring.prune(doc, after_grace)["Statement"] == []


def test_what_the_listing_cannot_rule_out_is_kept() -> None:
    doc = retiring.document([_doc("b")], retiring.document([_doc("a")], None, T1), T2, since_from=T1)
    assert retiring.prune(doc, OldExecutions(True, "AccessDenied")) is doc
    partial = OldExecutions(True, started=("2026-12-01T12:00:00Z",), complete=False)  # older pages not read
    assert _resources(retiring.prune(doc, partial)) == ["a", "b"]
    assert _resources(retiring.prune(doc, OldExecutions(True, started=(), complete=False))) == ["a", "b"]
    unstamped = {"Version": "2012-10-17", "Statement": [{"Sid": "Mine", "Effect": "Allow", "Action": "s3:*",
                                                          "Resource": "*"}]}
    assert retiring.window(unstamped["Statement"][0]) is None
    assert retiring.prune(unstamped, OldExecutions(True, started=(), complete=True)) is unstamped
    assert retiring.window({"Sid": "Retiring20261202T100000ZFrom20261341T100000Z"}) is None
