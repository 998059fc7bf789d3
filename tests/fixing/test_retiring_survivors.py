"""Retiring policies (fixing/retiring.py) pinned by mutation testing (docs/mutation.md): the edges of its clock-less
times, the Sids it writes, the order of its writes and what a role move leaves, over the in-memory ports."""

from __future__ import annotations

import pytest

from sfn_iam.engine import policy
from sfn_iam.fixing import retiring
from sfn_iam.fixing.ports import OldExecutions
from tests.evaluate import is_allowed
from tests.fakes import FakeLedger
from tests.fixing.test_retiring import ARN, BASE, RETIRING, T1, docs, make, publishes, topic, update


def _roles(book: FakeLedger) -> frozenset[str]:
    entry = book.get(BASE)
    assert entry is not None
    return entry.roles


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),  # the first month, the first day
    ("2026-12-31T23:59:59Z", "2026-12-31T23:59:59Z"),  # the last month, day, hour, minute and second
    ("2026-00-10T10:00:00Z", ""), ("2026-01-00T10:00:00Z", ""), ("2026-01-32T10:00:00Z", ""),
    ("2026-01-10T24:00:00Z", ""), ("2026-01-10T23:60:00Z", ""),
    ("2026-06-30T23:59:60Z", ""),  # a leap second: CloudTrail never writes one
])
def test_timestamp_takes_every_real_time_and_no_other(text: str, expected: str) -> None:
    assert retiring.timestamp(text) == expected


def test_a_retiring_sid_keeps_64_characters_of_the_original_and_numbers_repeats() -> None:
    """The original Sid is kept to 64 characters after the stamp; statements whose Sids would repeat are numbered
    N1, N2, ... in order."""
    def stmt(sid: str, name: str) -> dict[str, object]:
        return {"Sid": sid, "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic(name)]}

    long = "S" + "x" * 70
    doc = retiring.document([policy.document([stmt(long, "a")])], None, T1)
    assert [s["Sid"] for s in doc["Statement"]] == ["Retiring20261129T100000Z" + long[:64]]
    same = retiring.document([policy.document([stmt("Same", n) for n in ("a", "b", "c")])], None, T1)
    assert [s["Sid"] for s in same["Statement"]] == ["Retiring20261129T100000ZSame",
                                                     "Retiring20261129T100000ZSameN1",
                                                     "Retiring20261129T100000ZSameN2"]


def test_the_retiring_policy_goes_first_only_when_the_new_policy_is_no_larger() -> None:
    """Written before the new policy when that one is no larger than the previous one (it still fits), else after."""
    for then, now, first in ((("v1", "v2"), ("v1",), RETIRING),  # smaller: the retiring policy first
                             (("long-name-1",), ("long-name-2",), RETIRING),  # as large
                             (("v1",), ("v2", "v3"), BASE)):  # larger: the new policy first
        fixer, machines, roles, _ = make()
        role = roles.add_role("r")
        machines.add(ARN, publishes(*then), role)
        fixer.fix(ARN, fresh=True)
        machines.running[ARN] = ["2026-11-29T09:00:00Z"]
        written = len(roles.writes)
        assert "RETIRING_KEPT" in update(fixer, machines, role, publishes(*now), T1)
        puts = [name for kind, _, name in roles.writes[written:] if kind == "put-inline"]
        assert puts[0] == first and sorted(puts) == [BASE, RETIRING], (then, now, puts)


def test_a_role_move_keeps_the_previous_grants_on_the_left_role_only_while_an_older_execution_runs() -> None:
    for running, kept in ((["2026-11-29T09:00:00Z"], True), ([], False)):
        fixer, machines, roles, book = make()
        old, new = roles.add_role("r"), roles.add_role("r2")
        machines.add(ARN, publishes("v1"), old)
        fixer.fix(ARN, fresh=True)
        machines.running[ARN] = running
        machines.add(ARN, publishes("v2"), new)  # UpdateStateMachine with a new roleArn
        out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
        entry = book.get(BASE)
        assert entry is not None
        if kept:
            assert set(roles.roles["r"].inline) == {RETIRING} and entry.roles == {"r", "r2"}
            assert is_allowed(docs(roles, "r"), "sns:Publish", topic("v1"), {})
            (note,) = [f.message for f in out.findings if f.code == "RETIRING_KEPT"]
            assert note == ("executions that started before 2026-11-29T10:00:00Z may still run the previous "
                            f"definition: its grants are kept in {RETIRING} on role r, which the machine left, until "
                            f"they end (sns:Publish on {topic('v1')})")
        else:
            assert roles.roles["r"].inline == {} and entry.roles == {"r2"}
        assert set(roles.roles["r2"].inline) == {BASE}
        if kept:  # a later fix while it runs keeps it and the role; once it ended, both go
            fixer.fix(ARN, action="UpdateStateMachine", changed_at="2026-11-29T12:00:00Z")
            assert set(roles.roles["r"].inline) == {RETIRING} and _roles(book) == {"r", "r2"}
            machines.running[ARN] = []
            fixer.fix(ARN)
            assert roles.roles["r"].inline == {} and _roles(book) == {"r2"}


def test_an_express_machine_that_moves_role_leaves_nothing_on_the_old_one() -> None:
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    update(fixer, machines, old, publishes("v1"), "2026-11-29T09:00:00Z", kind="EXPRESS")
    machines.running[ARN] = ["2026-11-29T09:30:00Z"]
    update(fixer, machines, new, publishes("v2"), T1, kind="EXPRESS")
    assert machines.listings == [] and roles.roles["r"].inline == {}
    assert _roles(book) == {"r2"}


def test_the_note_of_an_update_names_the_machines_own_role() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), role)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    (note,) = [f.message for f in out.findings if f.code == "RETIRING_KEPT"]
    assert note.endswith(f"its grants are kept in {RETIRING} on role r until they end (sns:Publish on {topic('v1')})")


def test_an_incomplete_listing_rules_out_the_windows_it_reached_past() -> None:
    """The listing returns the newest executions first: one page that reached back before a window (its oldest start
    is earlier) shows every execution started in it, so a window with none is pruned even when older pages were not
    read; a window before the oldest listed start is kept."""
    def one(name: str) -> dict[str, object]:
        return {"Version": "2012-10-17", "Statement": [
            {"Sid": "S", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [name]}]}

    t0, t1, t2 = "2026-11-30T10:00:00Z", "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"
    doc = retiring.document([one("c")], retiring.document([one("b")], retiring.document([one("a")], None, t0), t1,
                                                            since_from=t0), t2, since_from=t1)
    assert sorted(retiring.window(s) for s in doc["Statement"]) == [("", t0), (t0, t1), (t1, t2)]
    listed = OldExecutions(True, started=("2026-12-01T12:00:00Z", "2026-11-30T09:00:00Z"), complete=False)
    assert sorted(r for s in retiring.prune(doc, listed)["Statement"] for r in s["Resource"]) == ["a", "c"]
