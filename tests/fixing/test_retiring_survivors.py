"""Retiring policies (fixing/retiring.py) pinned by mutation testing (docs/mutation.md): the edges of its clock-less
times, the Sids it writes, the order of its writes and what a role move leaves, over the in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sfn_iam.engine import policy
from sfn_iam.fixing import retiring
from sfn_iam.fixing.ports import OldExecutions
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.governance.sweep import Sweeper
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.fixing.test_retiring import (
    ARN,
    BASE,
    RETIRING,
    T1,
    T2,
    docs,
    make,
    publishes,
    topic,
    update,
    updated_while_v1_runs,
)


def _roles(book: FakeLedger) -> frozenset[str]:
    entry = book.get(BASE)
    assert entry is not None
    return entry.roles


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),  # the first month, the first day
    ("2026-12-31T23:59:59Z", "2026-12-31T23:59:59Z"),  # the last month, day, hour, minute and second
    ("2026-00-10T10:00:00Z", ""), ("2026-01-00T10:00:00Z", ""), ("2026-01-32T10:00:00Z", ""),
    ("2026-01-10T24:00:00Z", ""), ("2026-01-10T23:60:00Z", ""), ("2026-01-10T23:61:00Z", ""),
    ("2026-01-10T23:00:61Z", ""), ("2026-01-10T25:00:00Z", ""),
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
            # the older execution never goes without the grants: the retiring policy is written before the
            # machine's policy leaves the role
            on_r = [(kind, name) for kind, r, name in roles.writes if r == "r"]
            assert on_r[-2:] == [("put-inline", RETIRING), ("delete-inline", BASE)]
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


def _updated_while_one_runs(before: list[str], after: list[str], **fix: Any) -> tuple[Any, Any]:
    """A machine on role r publishing to ``before``, fixed, updated to publish to ``after`` while one execution
    runs: the update's outcome and the roles."""
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes(*before), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes(*after), role)
    return fixer.fix(ARN, action="UpdateStateMachine", **fix), roles


def test_the_note_of_an_update_names_the_machines_own_role() -> None:
    out, _ = _updated_while_one_runs(["v1"], ["v2"], changed_at=T1)
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


def test_later_crosses_the_last_day_of_a_400_year_cycle() -> None:
    """29 February 2000 and 2400 end a 400-year cycle of the calendar: the last day of one (days_from_civil's era)."""
    assert retiring.later("2000-02-28T23:59:59Z", 1) == "2000-02-29T00:00:00Z"
    assert retiring.later("2000-02-29T23:59:59Z", 1) == "2000-03-01T00:00:00Z"
    assert retiring.later("2400-02-29T12:00:00Z", 0) == "2400-02-29T12:00:00Z"


def _one(name: str, sid: str = "S", effect: str = "Allow") -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": effect, "Action": ["sqs:SendMessage"], "Resource": [name]}]}


def test_a_statement_in_both_gets_the_union_of_the_two_windows_and_a_deny_is_never_kept() -> None:
    """The previous definition was current from t0 to t2; the policy it replaces kept the same grant for executions
    started from t1 until t3 (a later clock): the merged statement serves both, from t0 until t3. A Deny statement
    of the previous documents is not a grant: it is not kept."""
    t0, t1, t2, t3 = "2026-11-30T10:00:00Z", "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z"
    carried = retiring.document([_one("a")], None, t3, since_from=t1)
    assert [retiring.window(s) for s in carried["Statement"]] == [(t1, t3)]
    merged = retiring.document([_one("a")], carried, t2, since_from=t0)
    assert [retiring.window(s) for s in merged["Statement"]] == [(t0, t3)]
    deny_first = {"Version": "2012-10-17", "Statement": [*_one("b", effect="Deny")["Statement"],
                                                          *_one("a")["Statement"]]}
    denied = retiring.document([deny_first], None, t2)
    assert [s["Resource"] for s in denied["Statement"]] == [["a"]]


def test_pruning_keeps_an_execution_that_started_at_the_window_s_first_second_and_reads_every_statement() -> None:
    t1, t2 = "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"
    doc = retiring.document([_one("b")], retiring.document([_one("a")], None, t1), t2, since_from=t1)
    unstamped = {"Sid": "Mine", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["m"]}
    doc = {**doc, "Statement": [unstamped, *doc["Statement"]]}
    at_start = OldExecutions(True, started=(t1,), complete=True)
    assert [s["Resource"] for s in retiring.prune(doc, at_start)["Statement"]] == [["m"], ["a"], ["b"]]


@pytest.mark.parametrize(("lost", "count"), [(7, " and 2 more"), (5, "")], ids=["seven", "exactly-five"])
def test_a_note_names_five_lost_grants_and_counts_the_others(lost: int, count: str) -> None:
    names = [f"t{i}" for i in range(lost)]
    out, _ = _updated_while_one_runs(names, ["new"], changed_at=T1)
    (note,) = [f.message for f in out.findings if f.code == "RETIRING_KEPT"]
    shown = ", ".join(f"sns:Publish on {topic(n)}" for n in names[:5])
    assert note.endswith(f"until they end ({shown}{count})")


def test_an_express_machine_read_from_json_is_never_listed() -> None:
    """The machine's type as the API returns it (parsed JSON, not the code's own literal)."""
    express = json.loads('"EXPRESS"')
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    update(fixer, machines, role, publishes("v1"), "2026-11-29T09:00:00Z", kind=express)
    machines.running[ARN] = ["2026-11-29T09:30:00Z"]
    update(fixer, machines, role, publishes("v2"), T1, kind=express)
    assert machines.listings == [] and set(roles.roles["r"].inline) == {BASE}


def _v1_and_v2_retiring() -> tuple[RoleFixer, FakeMachines, FakeRoles, str]:
    """As :func:`updated_while_v1_runs`, then updated to ``v3`` at :data:`T2` while that execution and one started
    under ``v2`` (10:30) run: the retiring policy keeps both definitions' grants, each for its own window."""
    fixer, machines, roles, _, role = updated_while_v1_runs()
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T10:30:00Z"]
    update(fixer, machines, role, publishes("v3"), T2)
    return fixer, machines, roles, role


def test_a_fix_without_a_change_narrows_the_retiring_policy_to_the_definitions_still_running() -> None:
    fixer, machines, roles, _ = _v1_and_v2_retiring()
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("v1", "v2", "v3")] == [True, True, True]
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # the execution started under v1 ended
    out = fixer.fix(ARN)
    assert "RETIRING_NARROWED" in [f.code for f in out.findings]
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("v1", "v2", "v3")] == [False, True, True]


def test_a_move_replayed_after_a_stop_between_its_writes_keeps_the_left_role_in_the_ledger() -> None:
    """A run stopped after writing the left role's retiring policy and before deleting the machine's policy there;
    the event is delivered again: the retiring policy is already what it should be, the machine's policy goes, and
    the ledger keeps the role while the older execution runs."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    previous = roles.roles["r"].inline[BASE]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)
    fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    retired = roles.roles["r"].inline[RETIRING]
    roles.roles["r"].inline[BASE] = previous  # as the stopped run left it
    fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    assert roles.roles["r"].inline == {RETIRING: retired} and _roles(book) == {"r", "r2"}


def test_later_agrees_with_the_calendar_around_every_century_s_end_of_february() -> None:
    """Century years are leap years only every 400 years: the days around each 28 February, 1600 to 2400."""
    for year in range(1600, 2500, 100):
        for day in ("02-27", "02-28", "03-01"):
            start = datetime.strptime(f"{year}-{day}T23:59:59Z", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            for step in (1, 86400, -86400):
                expected = (start + timedelta(seconds=step)).strftime("%Y-%m-%dT%H:%M:%SZ")
                assert retiring.later(f"{year}-{day}T23:59:59Z", step) == expected, (year, day, step)


def test_a_move_from_a_role_that_no_longer_holds_the_machines_policy_releases_it() -> None:
    """Nothing of the machine is on the role it left (its policy was removed by hand): nothing retires there, and
    the ledger forgets the role though an older execution runs."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    del roles.roles["r"].inline[BASE]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)
    fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    assert roles.roles["r"].inline == {} and _roles(book) == {"r2"}


def test_a_previous_policy_held_in_managed_overflow_policies_retires_too() -> None:
    """The previous definition's policy went to a managed overflow policy (the role's inline budget was taken): IAM
    holds exactly what the ledger recorded there, so its grants are kept for the older execution."""
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    names = [f"topic-{i:02d}-" + "x" * 40 for i in range(12)]
    big = "arn:aws:s3:::b/" + "k" * (policy.INLINE_LIMIT - 400)  # leaves no inline room for the machine's policy
    roles.roles["r"].inline["hand-written"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": big}]}
    machines.add(ARN, publishes(*names), role)
    assert "POLICY_OVERFLOW" in [f.code for f in fixer.fix(ARN, fresh=True).findings]
    assert roles.roles["r"].attached == [f"{BASE}.1"]
    del roles.roles["r"].inline["hand-written"]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    assert "RETIRING_KEPT" in update(fixer, machines, role, publishes("new"), T1)
    assert set(roles.roles["r"].inline) == {RETIRING}
    retired = [roles.roles["r"].inline[RETIRING]]
    assert all(is_allowed(retired, "sns:Publish", topic(n), {}) for n in names)
    assert not is_allowed(retired, "sns:Publish", topic("new"), {})


def test_a_role_the_machine_left_keeps_only_an_inline_previous_policy() -> None:
    """Retiring.on_left_role: a previous policy in managed overflow policies (account-level objects the machine's
    next policy reuses by name) is not retired on the role the machine left; the role is released."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    big = "arn:aws:s3:::b/" + "k" * (policy.INLINE_LIMIT - 400)  # leaves no inline room for the machine's policy
    roles.roles["r"].inline["hand-written"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": big}]}
    machines.add(ARN, publishes(*[f"topic-{i:02d}-" + "x" * 40 for i in range(12)]), old)
    assert "POLICY_OVERFLOW" in [f.code for f in fixer.fix(ARN, fresh=True).findings]
    del roles.roles["r"].inline["hand-written"]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    assert "RETIRING_KEPT" not in [f.code for f in out.findings]
    assert roles.roles["r"].inline == {} and roles.roles["r"].attached == [] and _roles(book) == {"r2"}


def test_why_the_listing_failed_is_quoted_to_200_characters() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = "E" * 300
    machines.add(ARN, publishes("v2"), role)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    (message,) = [f.message for f in out.findings if f.code == "EXECUTIONS_UNLISTED"]
    quoted = ("ListExecutions failed: " + "E" * 300)[:200]
    assert f"could not be ruled out ({quoted}): the previous grants stay in {RETIRING}" in message


def test_the_sweep_keeps_the_retiring_policy_of_a_role_the_machine_left_while_it_is_needed() -> None:
    """The sweep also reads IAM's listing of who holds the machine's policies: the left role's retiring policy, just
    checked, stays there (and goes once the older execution ended)."""
    fixer, machines, roles, book = make(clock="2026-11-29T12:00:00Z")
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)
    fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    retired = roles.roles["r"].inline[RETIRING]
    sweeper = Sweeper(machines, roles, fixer.settings, "us-east-1", workers=1, ledger=book,
                      clock=lambda: "2026-11-29T12:00:00Z")
    sweeper.run()
    assert roles.roles["r"].inline == {RETIRING: retired} and _roles(book) == {"r", "r2"}
    machines.running[ARN] = []
    sweeper.run()
    assert roles.roles["r"].inline == {} and set(roles.roles["r2"].inline) == {BASE}



def test_a_move_without_a_time_keeps_nothing_on_the_left_role_and_releases_it() -> None:
    """No event time and no clock: nothing can date the older executions, so nothing retires on the role the machine
    left (as on its own role), and the ledger forgets that role though an older execution runs."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)
    out = fixer.fix(ARN, action="UpdateStateMachine")
    assert "RETIRING_KEPT" not in [f.code for f in out.findings]
    assert roles.roles["r"].inline == {} and _roles(book) == {"r2"}
    assert is_allowed(docs(roles, "r2"), "sns:Publish", topic("v2"), {})


def test_a_left_role_whose_retiring_windows_all_passed_is_released_though_an_older_execution_runs_again() -> None:
    """A redriven execution keeps its start time and its definition ("Redriven executions use the same state machine
    definition and execution ARN as the original execution attempt",
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html), so the listing can show a
    running execution that started before every window the left role's retiring policy still keeps (its own window
    was pruned while it was not running): that policy keeps nothing any listed execution needs; it is removed and the
    ledger forgets the role."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, old, publishes("v2"), T1)
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T10:30:00Z"]  # and one started under v2
    machines.add(ARN, publishes("v3"), new)  # the move, while both run
    fixer.fix(ARN, action="UpdateStateMachine", changed_at=T2)
    assert [is_allowed(docs(roles, "r"), "sns:Publish", topic(n), {}) for n in ("v1", "v2")] == [True, True]
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # the one started under v1 ended
    assert "RETIRING_NARROWED" in [f.code for f in fixer.fix(ARN).findings]
    assert [is_allowed(docs(roles, "r"), "sns:Publish", topic(n), {}) for n in ("v1", "v2")] == [False, True]
    assert _roles(book) == {"r", "r2"}
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]  # that one ended; the first is redriven
    out = fixer.fix(ARN)
    assert "RETIRING_REMOVED" in [f.code for f in out.findings]
    assert roles.roles["r"].inline == {} and _roles(book) == {"r2"}
    assert set(roles.roles["r2"].inline) == {BASE}



def _overflowed(count: int) -> tuple[RoleFixer, FakeMachines, FakeRoles, FakeLedger, list[str]]:
    """A machine publishing to ``count`` topics whose policy went to managed overflow policies (a hand-written inline
    policy took the role's inline budget, and is gone since)."""
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    names = [f"topic-{i:03d}-" + "x" * 40 for i in range(count)]
    big = "arn:aws:s3:::b/" + "k" * (policy.INLINE_LIMIT - 400)  # leaves no inline room for the machine's policy
    roles.roles["r"].inline["hand-written"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": big}]}
    machines.add(ARN, publishes(*names), role)
    assert "POLICY_OVERFLOW" in [f.code for f in fixer.fix(ARN, fresh=True).findings]
    del roles.roles["r"].inline["hand-written"]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    return fixer, machines, roles, book, names


def _held(roles: FakeRoles) -> list[dict[str, object]]:
    """Every policy of role r: inline and attached."""
    return [*docs(roles), *(roles.managed[n] for n in roles.roles["r"].attached)]


def test_a_previous_policy_spread_over_more_overflow_policies_than_the_ledger_recorded_retires() -> None:
    """The ledger records the policy as planned for the inline budget (one document of 90 topics); in overflow the
    same grants were split into two managed policies (a statement's resources spread over both): IAM holds exactly
    the previous grants, so they are kept for the older execution, and nothing more."""
    fixer, machines, roles, book, names = _overflowed(90)
    entry = book.get(BASE)
    assert entry is not None and len(entry.documents) == 1
    assert roles.roles["r"].attached == [f"{BASE}.1", f"{BASE}.2"]
    codes = update(fixer, machines, machines.machines[ARN].machine.role_arn, publishes("new"), T1)
    assert "RETIRING_KEPT" in codes and "RETIRING_NOT_PLACED" not in codes
    retired = [roles.roles["r"].inline[RETIRING]]
    assert all(is_allowed(retired, "sns:Publish", topic(n), {}) for n in names)
    assert not is_allowed(retired, "sns:Publish", topic("new"), {})
    assert not is_allowed(retired, "sns:Publish", topic("topic-090-" + "x" * 40), {})
    assert is_allowed(_held(roles), "sns:Publish", topic("new"), {})


@pytest.mark.parametrize("edit", ["second gone", "first wider", "first narrower"])
def test_overflow_policies_that_do_not_hold_exactly_the_previous_grants_keep_nothing(edit: str) -> None:
    """IAM's overflow policies no longer hold what the ledger recorded (the second one deleted, or the first edited
    by hand to grant more or less): nothing is kept (``RETIRING_NOT_PLACED``), never a grant the role did not have."""
    fixer, machines, roles, _, names = _overflowed(90)
    first, second = f"{BASE}.1", f"{BASE}.2"
    only_second = [n for n in names if not is_allowed([roles.managed[first]], "sns:Publish", topic(n), {})]
    assert only_second
    if edit == "second gone":
        roles.roles["r"].attached.remove(second)
        del roles.managed[second]
    else:
        statements = roles.managed[first]["Statement"]
        assert isinstance(statements, list)
        if edit == "first wider":
            statements.append({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic("extra")]})
        else:
            statements[0]["Resource"] = statements[0]["Resource"][1:]
    codes = update(fixer, machines, machines.machines[ARN].machine.role_arn, publishes("new"), T1)
    assert "RETIRING_NOT_PLACED" in codes and "RETIRING_KEPT" not in codes and RETIRING not in roles.roles["r"].inline
    assert not any(is_allowed(_held(roles), "sns:Publish", topic(n), {}) for n in [*names, "extra"])
    assert is_allowed(_held(roles), "sns:Publish", topic("new"), {})



@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_an_inline_policy_equal_to_the_first_of_two_recorded_documents_is_not_the_previous_policy(mode: str) -> None:
    """The ledger recorded two documents (a policy larger than the inline budget); IAM holds the first of them as the
    machine's inline policy and none of its overflow policies (edited by hand): the role does not carry what the
    ledger recorded, so nothing is kept or proposed (report mode does not learn from IAM's size refusal) — never the
    second document's grants, which the role did not have."""
    fixer, machines, roles, book, names = _overflowed(250)
    entry = book.get(BASE)
    assert entry is not None and len(entry.documents) > 1
    only_later = [n for n in names if not is_allowed([entry.documents[0]], "sns:Publish", topic(n), {})]
    assert only_later
    for name in list(roles.roles["r"].attached):
        roles.roles["r"].attached.remove(name)
        del roles.managed[name]
    roles.roles["r"].inline[BASE] = entry.documents[0]
    if mode == "report":
        fixer = RoleFixer(machines, roles, make(mode="report")[0].settings, ledger=book)  # over the same fakes
    machines.add(ARN, publishes("new"), machines.machines[ARN].machine.role_arn)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    codes = [f.code for f in out.findings]
    assert "RETIRING_NOT_PLACED" in codes and "RETIRING_KEPT" not in codes
    assert not [c for c in out.changes if c.policy == RETIRING]
    assert not any(is_allowed(_held(roles), "sns:Publish", topic(n), {}) for n in only_later)


def test_an_update_while_only_a_redriven_older_execution_runs_removes_the_retiring_policy() -> None:
    """A redriven execution keeps its start time (see above): when the only running execution started before every
    window the retiring policy and the previous definition would keep, an update keeps nothing and removes the
    retiring policy it would have replaced."""
    fixer, machines, roles, role = _v1_and_v2_retiring()
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # the one started under v1 ended
    assert "RETIRING_NARROWED" in [f.code for f in fixer.fix(ARN).findings]
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("v1", "v2", "v3")] == [False, True, True]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]  # the one started under v2 ended; the first is redriven
    codes = update(fixer, machines, role, publishes("v4"), "2026-11-29T12:00:00Z")
    assert "RETIRING_REMOVED" in codes and "RETIRING_KEPT" not in codes
    assert set(roles.roles["r"].inline) == {BASE}
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("v2", "v3", "v4")] == [False, False, True]


def test_the_sweep_keeps_a_retiring_policy_it_could_write_only_after_the_machines_policy_left_the_role() -> None:
    """The sweep finds a move no event reported. The role the machine left has room for its retiring policy only once
    the machine's policy is gone from it (IAM refuses it next to that): it is written after the delete, and the
    sweep's scan of IAM's holders, in the same run, leaves it there."""
    fixer, machines, roles, book = make()
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes("v1"), old)
    fixer.fix(ARN, fresh=True)
    own = policy.size(roles.roles["r"].inline[BASE])
    retired = policy.size(retiring.document([roles.roles["r"].inline[BASE]], None, T1))
    hand = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::b/"}]}
    hand["Statement"][0]["Resource"] += "k" * (policy.INLINE_LIMIT - retired - own // 2 - policy.size(hand))
    roles.roles["r"].inline["hand-written"] = hand
    assert policy.size(hand) + retired <= policy.INLINE_LIMIT < policy.size(hand) + retired + own
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), new)  # the move; its event is lost
    Sweeper(machines, roles, fixer.settings, "us-east-1", workers=1, ledger=book, clock=lambda: T1).run()
    assert set(roles.roles["r"].inline) == {"hand-written", RETIRING} and _roles(book) == {"r", "r2"}
    on_r = [(kind, name) for kind, r, name in roles.writes if r == "r"]
    assert on_r[-2:] == [("delete-inline", BASE), ("put-inline", RETIRING)]
    assert is_allowed([roles.roles["r"].inline[RETIRING]], "sns:Publish", topic("v1"), {})


def test_an_update_without_a_time_keeps_no_new_grant_beside_a_retiring_policy_already_there() -> None:
    """No event time and no clock: the grants this update takes away cannot be dated, so none is added to the
    retiring policy, which keeps what it kept (the execution started under v1 still runs)."""
    fixer, machines, roles, _, role = updated_while_v1_runs()
    machines.add(ARN, publishes("v3"), role)
    out = fixer.fix(ARN, action="UpdateStateMachine")
    assert "RETIRING_KEPT" not in [f.code for f in out.findings]
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("v1", "v2", "v3")] == [True, False, True]


def test_a_grant_a_definition_takes_back_keeps_the_earliest_start_of_both_windows() -> None:
    """v2 granted a (and z); v3 dropped both, v4 took a back, v5 drops it again. The execution started under v2 (at
    10:30) still needs a: the merged statement must serve executions from v2's start (10:00), not only from v4's
    (11:00 as far as the fixer knows), though other statements of the retiring policy stay."""
    def two(topic_name: str, queue: str) -> dict[str, object]:
        definition = publishes(topic_name)
        states = definition["States"]
        assert isinstance(states, dict)
        states["P0"] = {**states["P0"], "Next": "Q"}
        del states["P0"]["End"]
        states["Q"] = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
                       "Parameters": {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{queue}",
                                      "MessageBody": "m"}}
        return definition

    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("x"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, role, two("a", "z"), T1)
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T10:30:00Z"]
    update(fixer, machines, role, publishes("c"), T2)
    update(fixer, machines, role, publishes("a"), "2026-11-29T12:00:00Z")
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # the one started under v1 ended
    update(fixer, machines, role, publishes("d"), "2026-11-29T13:00:00Z")
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:z"
    assert is_allowed(docs(roles), "sqs:SendMessage", queue, {})
    assert [is_allowed(docs(roles), "sns:Publish", topic(n), {}) for n in ("x", "a", "c", "d")] == [
        False, True, False, True]


@pytest.mark.parametrize("by", ["event", "sweep"])
def test_a_merged_retiring_policy_refused_on_a_left_role_leaves_the_one_it_had(by: str) -> None:
    """The role the machine leaves keeps v1's grants in its retiring policy (an execution started under v1 runs);
    adding v2's (the machine's policy there) makes one that IAM refuses even once the machine's policy is gone:
    v2's grants are lost (``RETIRING_NOT_PLACED``), but the retiring policy the role had stays, for the sweep as for
    an event, and the ledger keeps the role."""
    fixer, machines, roles, book = make(clock="2026-11-29T12:00:00Z")
    old, new = roles.add_role("r"), roles.add_role("r2")
    machines.add(ARN, publishes(*[f"one-{i:03d}-" + "x" * 40 for i in range(40)]), old)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, old, publishes(*[f"two-{i:03d}-" + "x" * 40 for i in range(40)]), T1)
    kept = roles.roles["r"].inline[RETIRING]
    hand = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::b/"}]}
    room = policy.INLINE_LIMIT - sum(policy.size(d) for d in roles.roles["r"].inline.values())
    hand["Statement"][0]["Resource"] += "k" * (room - policy.size(hand) - 5)
    roles.roles["r"].inline["hand-written"] = hand
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T10:30:00Z"]
    machines.add(ARN, publishes("new"), new)  # the move
    if by == "event":
        codes = [f.code for f in fixer.fix(ARN, action="UpdateStateMachine", changed_at=T2).findings]
    else:
        result = Sweeper(machines, roles, fixer.settings, "us-east-1", workers=1, ledger=book, clock=lambda: T2).run()
        codes = [f.code for o in result.outcomes for f in o.findings]
    assert "RETIRING_NOT_PLACED" in codes
    assert roles.roles["r"].inline == {"hand-written": hand, RETIRING: kept} and _roles(book) == {"r", "r2"}
    assert is_allowed(docs(roles, "r"), "sns:Publish", topic("one-000-" + "x" * 40), {})
    assert not is_allowed(docs(roles, "r"), "sns:Publish", topic("two-000-" + "x" * 40), {})


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_an_express_machine_has_no_retiring_policy_to_remove_unless_its_role_carries_one(mode: str) -> None:
    """An update of an EXPRESS machine that takes grants away removes (or proposes to remove) a retiring policy only
    where one is: none on a role that never had one, the one a role carries (left there by an earlier run, or by
    hand) otherwise."""
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    update(fixer, machines, role, publishes("v1"), "2026-11-29T09:00:00Z", kind="EXPRESS")
    if mode == "report":
        fixer = RoleFixer(machines, roles, make(mode="report")[0].settings, ledger=book)  # over the same fakes
    machines.running[ARN] = ["2026-11-29T09:30:00Z"]
    machines.add(ARN, publishes("v2"), role)
    described = machines.machines[ARN]
    machines.machines[ARN] = type(described)(type(described.machine)(ARN, publishes("v2"), role, type="EXPRESS"),
                                             described.status)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T1)
    assert not [c for c in out.changes if c.policy == RETIRING]
    roles.roles["r"].inline[RETIRING] = retiring.document([roles.roles["r"].inline[BASE]], None, T1)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=T2)
    assert [(str(c.kind), c.policy) for c in out.changes if c.policy == RETIRING] == [("delete-inline", RETIRING)]
    assert (RETIRING in roles.roles["r"].inline) is (mode == "report")


def test_a_retiring_policy_whose_statement_iam_returns_as_one_object_is_still_read() -> None:
    """IAM takes (and returns) a policy's ``Statement`` as one object as well as a list: the retiring policy rewritten
    that way, same statement and Sid, still says when it started retiring, so it stays while the older execution
    runs (and is not removed as one the fixer did not write)."""
    fixer, _, roles, _, _ = updated_while_v1_runs()
    [statement] = roles.roles["r"].inline[RETIRING]["Statement"]
    roles.roles["r"].inline[RETIRING] = {"Version": "2012-10-17", "Statement": statement}
    out = fixer.fix(ARN)
    assert "RETIRING_REMOVED" not in [f.code for f in out.findings]
    assert is_allowed(docs(roles), "sns:Publish", topic("v1"), {})



def test_a_statement_both_in_the_previous_policy_and_the_retiring_one_is_kept_once() -> None:
    """v1 granted a; v2 did not (a retires), v3 granted a again, v4 does not, while an execution started under v1
    runs (and one started under v3): a is in v3's policy and in the retiring policy, whose statement IAM holds with
    its elements in another order (rewritten by hand, same content) — one statement for it, not two."""
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, role, publishes("c"), T1)
    update(fixer, machines, role, publishes("a"), T2)
    held = roles.roles["r"].inline[RETIRING]
    held["Statement"] = [dict(reversed(list(s.items()))) for s in held["Statement"]]
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T11:30:00Z"]  # and one started under v3
    update(fixer, machines, role, publishes("d"), "2026-11-29T12:00:00Z")
    statements = roles.roles["r"].inline[RETIRING]["Statement"]
    assert sorted(r for s in statements for r in s["Resource"]) == [topic("a")]  # c: no execution started under v2
    assert is_allowed(docs(roles), "sns:Publish", topic("a"), {})


def test_nothing_of_the_previous_policy_on_the_role_means_nothing_to_keep_and_nothing_to_say() -> None:
    """The role carries neither the machine's inline policy nor any overflow policy (removed by hand): there is
    nothing of the previous definition to keep, nothing to remove, and no finding about it."""
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    del roles.roles["r"].inline[BASE]
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    codes = update(fixer, machines, role, publishes("v2"), T1)
    assert not [c for c in codes if c.startswith("RETIRING")] and set(roles.roles["r"].inline) == {BASE}


def test_an_update_without_a_time_removes_nothing_and_says_nothing_of_a_retiring_policy_it_does_not_have() -> None:
    out, roles = _updated_while_one_runs(["v1"], ["v2"])  # no event time, no clock
    assert not [f for f in out.findings if f.code.startswith("RETIRING")]
    assert not [c for c in out.changes if c.policy == RETIRING] and set(roles.roles["r"].inline) == {BASE}
