"""Where a sweep's findings go, and what counts as delivered (governance/report.py ``deliver``, governance/outbox.py,
aws/publisher.py's packing): every destination tried whatever happened to the others, events EventBridge did not
accept kept for the next sweep, a machine's digest recorded only once its outcome was reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from sfn_iam.aws import publisher
from sfn_iam.findings import Finding
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.governance import outbox, report
from sfn_iam.governance.sweep import SweepResult
from tests.fakes import FakeLedger

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:"


def outcome(name: str, *, written: bool = True) -> Outcome:
    return Outcome(Status.WRITTEN if written else Status.UNCHANGED, "enforce", action="sweep",
                   state_machine_arn=SM + name, policy_name=f"sfn-iam.us-east-1.{name}",
                   changes=(Change(ChangeKind.PUT_INLINE, "R", f"sfn-iam.us-east-1.{name}", True),) if written else (),
                   findings=(Finding.of("DYNAMIC_RESOURCE", "x"),))


def result(*names: str) -> SweepResult:
    outcomes = tuple(outcome(n) for n in names)
    return SweepResult("enforce", "123456789012", "us-east-1", outcomes,
                       digests={o.policy_name: f"d-{o.policy_name}" for o in outcomes})


class Publisher:
    """Accepts everything but the events of ``refuse`` (machine names); records what it was given."""

    def __init__(self, *refuse: str, raises: bool = False) -> None:
        self.refuse, self.raises, self.calls = refuse, raises, []  # type: tuple[str, ...], bool, list[Any]

    def __call__(self, events: Sequence[Any]) -> list[tuple[int, str]]:
        self.calls.append(list(events))
        if self.raises:
            raise RuntimeError("EventBridge is down")
        return [(i, "InternalFailure: x") for i, e in enumerate(events)
                if any(e[1].get("stateMachineArn") == SM + r for r in self.refuse)]


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.got = fail, []  # type: bool, list[Any]

    def notify(self, subject: str, message: str) -> None:
        self.got.append(subject)
        if self.fail:
            raise RuntimeError("SNS down")

    def import_findings(self, findings: list[dict[str, Any]]) -> int:
        self.got.append(len(findings))
        if self.fail:
            raise RuntimeError("Security Hub down")
        return len(findings)


def deliver(r: SweepResult, publish: Any, ledger: FakeLedger, **sinks: Any) -> report.Delivery:
    recorded: dict[str, str] = {}
    d = report.deliver(r, publish_many=publish, notifier=sinks.get("notifier"), importer=sinks.get("importer"),
                       partition="aws", now="t", outbox=outbox.Outbox(ledger, "outbox.us-east-1"),
                       record=recorded.update)
    ledger.findings.update(recorded)
    return d


def names(events: Sequence[Any]) -> list[str]:
    return [e[1].get("stateMachineArn", e[0]).rsplit(":", 1)[-1] for e in events]


def test_a_refused_event_skips_nothing_and_is_sent_first_by_the_next_sweep() -> None:
    ledger, sns, hub = FakeLedger(), Sink(), Sink()
    d = deliver(result("a", "b", "c"), Publisher("b"), ledger, notifier=sns, importer=hub)
    assert (d.published, d.pending, d.imported) == (3, 1, 3) and len(d.errors) == 1
    assert d.errors[0].startswith("EventBridge did not accept 1 of 4 event(s) (kept for the next sweep)")
    assert sns.got and hub.got == [3]
    # b's outcome was kept, so its digest is recorded too (the outbox will send it)
    assert set(ledger.findings) == {"sfn-iam.us-east-1.a", "sfn-iam.us-east-1.b", "sfn-iam.us-east-1.c"}
    again = Publisher()
    d = deliver(result("d"), again, ledger)
    assert names(again.calls[0]) == ["b", "d", "Sweep Completed"] and d.errors == () and d.pending == 0
    assert outbox.Outbox(ledger, "outbox.us-east-1").load() == []
    assert ledger.cursors == {}  # nothing left behind


def test_without_an_outbox_a_refused_event_is_not_recorded_as_reported() -> None:
    recorded: dict[str, str] = {}
    d = report.deliver(result("a", "b"), publish_many=Publisher("b"), notifier=None, importer=None, partition="aws",
                       now="t", record=recorded.update)
    assert recorded == {"sfn-iam.us-east-1.a": "d-sfn-iam.us-east-1.a"} and d.pending == 0
    assert "(kept for the next sweep)" not in d.errors[0]


def test_a_publisher_that_raises_loses_nothing_and_other_sinks_still_run() -> None:
    ledger, sns, hub = FakeLedger(), Sink(fail=True), Sink(fail=True)
    d = deliver(result("a"), Publisher(raises=True), ledger, notifier=sns, importer=hub)
    assert (d.published, d.pending, d.imported) == (0, 2, 0)
    assert [e.split(":")[0] for e in d.errors] == ["EventBridge did not accept 2 of 2 event(s) (kept for the next "
                                                   "sweep); first", "SNS", "Security Hub"]
    assert sns.got and hub.got  # both tried
    assert names(outbox.Outbox(ledger, "outbox.us-east-1").load()) == ["a", "Sweep Completed"]


class BrokenLedger(FakeLedger):
    def put_cursor(self, name: str, value: str) -> None:
        raise RuntimeError("DynamoDB down")


def test_an_outbox_that_cannot_be_saved_keeps_the_digest_of_what_was_not_accepted() -> None:
    ledger = BrokenLedger()
    d = deliver(result("a", "b"), Publisher("b"), ledger)
    assert set(ledger.findings) == {"sfn-iam.us-east-1.a"} and d.pending == 0
    assert sum(e.startswith("saving the outbox") for e in d.errors) == 2


def test_the_outbox_round_trips_many_chunks_and_skips_what_is_malformed() -> None:
    ledger = FakeLedger()
    box = outbox.Outbox(ledger, "o")
    events = [("Policy Written", {"n": i, "pad": "x" * 40_000}, [f"arn:{i}"]) for i in range(20)]
    box.load()
    box.save(events)
    assert ledger.cursors["o"] == f"1 {len(outbox._chunks(events))}" and len(outbox._chunks(events)) > 1
    assert all(len(v.encode()) < outbox.CHUNK_BYTES for k, v in ledger.cursors.items() if k != "o")
    assert outbox.Outbox(ledger, "o").load() == events
    box.save(events[:1])  # a new generation, the old one deleted
    assert sorted(ledger.cursors) == ["o", "o.2.0"] and outbox.Outbox(ledger, "o").load() == events[:1]
    ledger.cursors["o.2.0"] = '[["ok", {}, []], ["bad"], 3, ["t", [], []]]'
    assert outbox.Outbox(ledger, "o").load() == [("ok", {}, [])]
    ledger.cursors["o.2.0"] = "not json"
    assert outbox.Outbox(ledger, "o").load() == []
    for pointer in ("x 1", "1", "", "1 2 3"):
        ledger.cursors["o"] = pointer
        assert outbox.Outbox(ledger, "o").load() == []


def test_an_event_too_large_for_one_entry_drops_its_documents_then_findings() -> None:
    big = {"documents": [{"x": "y" * 200_000}], "residualAccess": [{"d": "z" * 100_000}],
           "findings": [{"m": "f" * 1_000}] * 50, "truncated": {"findings": 0, "changes": 0}}
    out = report.bounded(big)
    assert out["documents"] == [] and out["truncated"]["documents"] == 1
    assert out["residualAccess"] == big["residualAccess"]  # enough once the documents are gone
    assert len(report.bounded({**big, "documents": [], "residualAccess": [{"d": "z" * 300_000}]})["findings"]) == 50
    huge = report.bounded({**big, "documents": [], "residualAccess": [], "findings": [{"m": "f" * 9_000}] * 50})
    assert len(huge["findings"]) == report.KEPT_FINDINGS and huge["truncated"]["findings"] == 45
    small = {"documents": [], "findings": []}
    assert report.bounded(small) is small
    assert len(publisher.requests([1])) == 1


@pytest.mark.parametrize(("sizes", "packed"), [
    ([1] * 25, [list(range(10)), list(range(10, 20)), list(range(20, 25))]),
    ([100_000, 100_000, 62_143, 1], [[0, 1, 2], [3]]),  # 262,143 is less than 256 KB, 262,144 is not
    ([100_000, 100_000, 62_144], [[0, 1], [2]]),
    ([300_000, 1], [[0], [1]]),  # alone over the limit: its own request (refused, reported)
    ([], []),
])
def test_requests_respect_the_count_and_the_size(sizes: list[int], packed: list[list[int]]) -> None:
    assert publisher.requests(sizes) == packed


def test_entry_size_counts_as_eventbridge_documents() -> None:
    entry = {"Source": "sfn-iam", "DetailType": "Policy Written", "Detail": '{"é": 1}', "Resources": ["ab", "c"],
             "EventBusName": "a-very-long-bus-name-that-does-not-count"}
    assert publisher.entry_size(entry) == 7 + 14 + 9 + 3
    assert publisher.entry_size({**entry, "Time": "2026-01-01"}) == 7 + 14 + 9 + 3 + 14
    assert publisher.entry_size({"Source": "s", "DetailType": "d"}) == 2


class FlakyLedger(FakeLedger):
    broken = False

    def put_cursor(self, name: str, value: str) -> None:
        if self.broken:
            raise RuntimeError("DynamoDB down")
        super().put_cursor(name, value)


def test_an_outbox_that_cannot_be_saved_after_earlier_events_keeps_the_digest_of_what_was_not_accepted() -> None:
    """The events an earlier sweep left in the outbox go first: the refused ones are found past them."""
    ledger = FlakyLedger()
    deliver(result("x"), Publisher("x"), ledger)  # x refused: kept in the outbox for the next sweep
    ledger.findings.clear()
    ledger.broken = True
    publisher = Publisher("b")
    d = deliver(result("a", "b"), publisher, ledger)
    assert names(publisher.calls[0]) == ["x", "a", "b", "Sweep Completed"]
    assert set(ledger.findings) == {"sfn-iam.us-east-1.a"} and d.pending == 0
