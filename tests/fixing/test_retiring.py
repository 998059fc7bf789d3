"""Retiring policies over the in-memory ports (fixing/retiring.py): what is kept, for how long, and never more.

Requests are asserted with tests/evaluate.py: what an execution of the old definition and one of the new
definition will ask for, and a neighbouring request that must stay denied.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from sfn_iam.engine import policy
from sfn_iam.fixing import naming, retiring
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.governance.sweep import Sweeper
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles

ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Orders"
BASE = "sfn-iam.us-east-1.Orders"
RETIRING = BASE + ",retiring"
T1, T2 = "2026-11-29T10:00:00Z", "2026-11-29T11:00:00Z"


def topic(name: str) -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"


def publishes(*names: str) -> dict[str, object]:
    states: dict[str, object] = {}
    for i, name in enumerate(names):
        states[f"P{i}"] = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                           "Parameters": {"TopicArn": topic(name), "Message": "m"},
                           **({"Next": f"P{i + 1}"} if i + 1 < len(names) else {"End": True})}
    return {"StartAt": "P0", "States": states}


def make(mode: str = "enforce", ledger: bool = True, clock: str | None = None
         ) -> tuple[RoleFixer, FakeMachines, FakeRoles, FakeLedger]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, roles, book = FakeMachines(), FakeRoles(), FakeLedger()
    fixer = RoleFixer(machines, roles, settings, ledger=book if ledger else None,
                      clock=(lambda: clock) if clock else None)
    return fixer, machines, roles, book


def update(fixer: RoleFixer, machines: FakeMachines, role_arn: str, definition: dict[str, object], at: str,
           kind: str = "STANDARD") -> list[str]:
    machines.add(ARN, definition, role_arn)
    if kind != "STANDARD":
        described = machines.machines[ARN]
        machines.machines[ARN] = type(described)(type(described.machine)(
            ARN, definition, role_arn, type=kind), described.status)
    out = fixer.fix(ARN, action="UpdateStateMachine", changed_at=at)
    return [f.code for f in out.findings]


def docs(roles: FakeRoles, role: str = "r") -> list[dict[str, object]]:
    return list(roles.roles[role].inline.values())


def updated_while_v1_runs(*, ledger: bool = True, clock: str | None = None
                          ) -> tuple[RoleFixer, FakeMachines, FakeRoles, FakeLedger, str]:
    """A machine on role ``r`` fixed for ``v1``, then updated to ``v2`` at :data:`T1` while an execution started under
    ``v1`` (at 09:00) runs; the fixer and its fakes, and the role's ARN."""
    fixer, machines, roles, book = make(ledger=ledger, clock=clock)
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, role, publishes("v2"), T1)
    return fixer, machines, roles, book, role


# -- time without a clock ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-29T21:24:00Z", "2026-11-29T21:24:00Z"),
    ("2026-11-29T21:24:00.123Z", "2026-11-29T21:24:00Z"),
    ("2026-11-29T21:24:00+00:00", "2026-11-29T21:24:00Z"),
    ("2026-11-29T21:24:00+01:00", ""),  # not UTC: CloudTrail's eventTime always is
    ("2026-13-29T21:24:00Z", ""), ("yesterday", ""), (None, ""), (1700000000, ""),
])
def test_timestamp_accepts_utc_times_only(text: object, expected: str) -> None:
    assert retiring.timestamp(text) == expected


def test_later_agrees_with_the_calendar_across_months_years_and_leap_days() -> None:
    assert retiring.later("2026-12-31T23:59:30Z", 60) == "2027-01-01T00:00:30Z"
    assert retiring.later("2028-02-28T23:59:59Z", 1) == "2028-02-29T00:00:00Z"
    rng = random.Random(7)
    for _ in range(500):
        start = datetime(1999, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 60 * 365 * 86400))
        step = rng.randrange(-10 ** 8, 10 ** 8)
        text = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert retiring.later(text, step) == (start + timedelta(seconds=step)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- documents ------------------------------------------------------------------------------------------------------

def test_lost_is_what_the_new_documents_no_longer_cover() -> None:
    old = policy.document([{"Sid": "A", "Effect": "Allow", "Action": ["sns:Publish"],
                            "Resource": [topic("a"), topic("b")]}])
    assert retiring.lost([old], [policy.document([{"Sid": "B", "Effect": "Allow", "Action": ["sns:Publish"],
                                                   "Resource": [topic("a")]}])]) == [f"sns:Publish on {topic('b')}"]
    wider = policy.document([{"Sid": "W", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic("*")]}])
    assert retiring.lost([old], [wider]) == []
    conditioned = policy.document([{"Sid": "C", "Effect": "Allow", "Action": ["sns:Publish"],
                                    "Resource": [topic("*")], "Condition": {"StringEquals": {"k": "v"}}}])
    assert retiring.lost([old], [conditioned]) != []  # a condition the old grant did not have takes something away


def test_the_retiring_document_is_the_previous_statements_stamped_and_never_more() -> None:
    previous = [policy.document([{"Sid": "SnsAAAA", "Effect": "Allow", "Action": ["sns:Publish"],
                                  "Resource": [topic("a")]},
                                 {"Sid": "SqsBBBB", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                                  "Resource": [f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"]}])]
    carried = retiring.document([policy.document([{"Sid": "SnsCCCC", "Effect": "Allow", "Action": ["sns:Publish"],
                                                   "Resource": [topic("old")]},
                                                  {"Sid": "SnsAAAA", "Effect": "Allow", "Action": ["sns:Publish"],
                                                   "Resource": [topic("a")]}])], None, T1)
    doc = retiring.document(previous, carried, T2)
    bodies = [{k: v for k, v in s.items() if k != "Sid"} for s in doc["Statement"]]
    inputs = [{k: v for k, v in s.items() if k != "Sid"}
              for d in (*previous, carried) for s in d["Statement"]]
    assert all(b in inputs for b in bodies) and len(bodies) == 3  # every statement once, nothing new
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(set(sids)) == 3 and all(s.isalnum() for s in sids)
    # each keeps the time of the definition it was retired from: the carried one its own, the shared one the latest
    assert sorted(sids) == ["Retiring20261129T100000ZSnsCCCC", "Retiring20261129T110000ZSnsAAAA",
                            "Retiring20261129T110000ZSqsBBBB"]
    assert retiring.since_of(doc) == T2
    assert retiring.document(previous, carried, T2) == doc  # deterministic
    assert retiring.since_of(policy.document([{"Sid": "Hand", "Effect": "Allow", "Action": ["sns:Publish"],
                                               "Resource": ["*"]}])) == ""


def test_retiring_names_never_collide_with_a_machine_and_fit_iam() -> None:
    assert naming.retiring_name(BASE) == RETIRING and naming.is_retiring(RETIRING)
    assert not naming.is_retiring(BASE) and not naming.is_overflow_of(BASE, RETIRING)
    long_base = naming.policy_name("p" * 32 + ".", f"arn:aws:states:ap-southeast-2:{ACCOUNT}:stateMachine:" + "x" * 80)
    name = naming.retiring_name(long_base)
    assert len(name) <= naming.MAX_NAME and naming.is_retiring(name) and name != naming.retiring_name(BASE)
    # a comma is the one character IAM allows in names and Step Functions forbids in machine names
    assert "," not in naming.policy_name("sfn-iam.", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:a-b_c")


# -- the fixer ------------------------------------------------------------------------------------------------------

def test_two_updates_while_the_oldest_execution_runs_keep_only_the_definition_it_started_under() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    assert fixer.fix(ARN, action="CreateStateMachine", fresh=True).status is Status.WRITTEN
    assert machines.listings == []  # a create lists nothing
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    assert "RETIRING_KEPT" in update(fixer, machines, role, publishes("v2"), T1)
    assert machines.listings == [(ARN, "2026-11-29T10:01:00Z")]  # the update's time plus the grace
    # v2 was current from T1 to T2 and no execution started under it: nothing of it is kept, v1's grants stay
    assert "RETIRING_KEPT" not in update(fixer, machines, role, publishes("v3"), T2)
    d = docs(roles)
    for name in ("v1", "v3"):
        assert is_allowed(d, "sns:Publish", topic(name), {})
    assert not is_allowed(d, "sns:Publish", topic("v2"), {})
    assert not is_allowed(d, "sns:Publish", topic("v4"), {})
    assert retiring.since_of(roles.roles["r"].inline[RETIRING]) == T1
    # an execution started under v3 before the next update keeps v3's grants, and v1's as long as its own runs
    machines.running[ARN] = ["2026-11-29T09:00:00Z", "2026-11-29T11:30:00Z"]
    assert "RETIRING_KEPT" in update(fixer, machines, role, publishes("v4"), "2026-11-29T12:00:00Z")
    d = docs(roles)
    assert [is_allowed(d, "sns:Publish", topic(n), {}) for n in ("v1", "v2", "v3", "v4")] == [True, False, True, True]
    # the oldest execution ends: the next fix removes the retiring policy, the current grants stay
    machines.running[ARN] = []
    out = fixer.fix(ARN)
    assert "RETIRING_REMOVED" in [f.code for f in out.findings]
    assert set(roles.roles["r"].inline) == {BASE}
    assert not is_allowed(docs(roles), "sns:Publish", topic("v1"), {})
    assert is_allowed(docs(roles), "sns:Publish", topic("v4"), {})


def test_an_unknown_answer_keeps_the_grants_and_says_why() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = "ThrottlingException"
    codes = update(fixer, machines, role, publishes("v2"), T1)
    assert {"EXECUTIONS_UNLISTED", "RETIRING_KEPT"} <= set(codes)
    assert is_allowed(docs(roles), "sns:Publish", topic("v1"), {})


def test_a_retiring_policy_that_does_not_fit_fails_closed_and_never_displaces_the_new_policy() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes(*[f"old-{i:03d}-{'x' * 30}" for i in range(40)]), role)
    fixer.fix(ARN, fresh=True)
    room = policy.INLINE_LIMIT - policy.size(docs(roles)[0]) - 10  # the old policy fits next to it, just
    hand = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ""}]}
    hand["Statement"][0]["Resource"] = "arn:aws:s3:::b/" + "k" * (room - policy.size(hand) - 15)
    assert policy.size(hand) == room
    roles.roles["r"].inline["hand-written"] = hand
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    codes = update(fixer, machines, role, publishes("new"), T1)
    assert "RETIRING_NOT_PLACED" in codes and "RETIRING_KEPT" not in codes
    assert set(roles.roles["r"].inline) == {BASE, "hand-written"} and roles.roles["r"].attached == []
    assert is_allowed(docs(roles), "sns:Publish", topic("new"), {})


def test_a_hand_edited_policy_is_not_carried_into_a_retiring_policy() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    roles.roles["r"].inline[BASE] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}  # widened by hand
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    codes = update(fixer, machines, role, publishes("v2"), T1)
    assert "RETIRING_NOT_PLACED" in codes and RETIRING not in roles.roles["r"].inline
    assert not is_allowed(docs(roles), "sns:DeleteTopic", topic("v2"), {})


def test_without_a_ledger_record_nothing_is_kept_and_nothing_listed() -> None:
    _, machines, roles, _, _ = updated_while_v1_runs(ledger=False)
    assert machines.listings == [] and set(roles.roles["r"].inline) == {BASE}


def test_an_express_machine_is_never_listed() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    update(fixer, machines, role, publishes("v1"), T1, kind="EXPRESS")
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    update(fixer, machines, role, publishes("v2"), T2, kind="EXPRESS")
    assert machines.listings == [] and set(roles.roles["r"].inline) == {BASE}


def test_a_change_no_event_dates_takes_the_clock_and_without_one_keeps_nothing() -> None:
    for clock, kept in ((T2, True), (None, False)):
        fixer, machines, roles, _ = make(clock=clock)
        role = roles.add_role("r")
        machines.add(ARN, publishes("v1"), role)
        fixer.fix(ARN, fresh=True)
        machines.running[ARN] = ["2026-11-29T10:30:00Z"]
        machines.add(ARN, publishes("v2"), role)
        fixer.fix(ARN)  # the sweep: no event time
        assert (RETIRING in roles.roles["r"].inline) is kept
        if kept:
            assert retiring.since_of(roles.roles["r"].inline[RETIRING]) == T2


def test_report_mode_proposes_the_retiring_policy_and_writes_nothing() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    reporter = RoleFixer(machines, roles, config.from_env({
        "ACCOUNT_ID": ACCOUNT, "MODE": "report", "ROLE_PATH": "/stepfunctions/",
        "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"}), ledger=book)
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, publishes("v2"), role)
    before = json.dumps(roles.roles["r"].inline, sort_keys=True)
    out = reporter.fix(ARN, changed_at=T1)
    assert out.status is Status.PROPOSED and json.dumps(roles.roles["r"].inline, sort_keys=True) == before
    assert any(c.policy == RETIRING and not c.applied for c in out.changes)
    assert any(f.code == "RETIRING_KEPT" and "would be kept" in f.message for f in out.findings)


def test_the_sweep_treats_retiring_policies_of_listed_machines_as_ours_and_others_as_orphans() -> None:
    fixer, machines, roles, book, _ = updated_while_v1_runs(clock=T2)
    gone = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Gone"
    roles.roles["r"].inline["sfn-iam.us-east-1.Gone,retiring"] = roles.roles["r"].inline[RETIRING]
    sweeper = Sweeper(machines, roles, fixer.settings, "us-east-1", workers=1, ledger=book, clock=lambda: T2)
    result = sweeper.run()
    assert [o.policy_name for o in result.orphans] == ["sfn-iam.us-east-1.Gone,retiring"]
    assert set(roles.roles["r"].inline) == {BASE, RETIRING}  # Orders' old execution still runs
    assert not [f for o in result.outcomes for f in o.findings if f.code in ("DRIFT", "MISSED_CHANGE")]
    assert gone not in machines.machines


def test_an_event_time_later_than_the_clock_is_not_believed() -> None:
    fixer, machines, roles, _ = make(clock=T1)
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # started after the change (T1), before the claimed time
    update(fixer, machines, role, publishes("v2"), "2099-01-01T00:00:00Z")
    assert machines.listings == [(ARN, "2026-11-29T10:01:00Z")] and RETIRING not in roles.roles["r"].inline


def test_a_retiring_policy_expires_even_while_the_definition_cannot_be_planned() -> None:
    fixer, machines, roles, _, role = updated_while_v1_runs()
    assert RETIRING in roles.roles["r"].inline
    machines.running[ARN] = []
    machines.add(ARN, {"StartAt": "Missing", "States": "not a mapping"}, role)
    out = fixer.fix(ARN)
    assert out.reason == "DEFINITION_ERROR" and "RETIRING_REMOVED" in [f.code for f in out.findings]
    assert roles.roles["r"].inline == {}


def test_a_late_event_never_shortens_a_retiring_policy_dated_later() -> None:
    fixer, machines, roles, _ = make(clock=T2)
    role = roles.add_role("r")
    machines.add(ARN, publishes("v1"), role)
    fixer.fix(ARN, fresh=True)
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]
    machines.add(ARN, publishes("v2"), role)
    fixer.fix(ARN)  # the sweep saw the change first: dated by its clock (T2)
    assert retiring.since_of(roles.roles["r"].inline[RETIRING]) == T2
    update(fixer, machines, role, publishes("v3"), T1)  # then an older event takes more away
    assert retiring.since_of(roles.roles["r"].inline[RETIRING]) == T2
    assert machines.listings[-1] == (ARN, "2026-11-29T11:01:00Z")
    for name in ("v1", "v2", "v3"):
        assert is_allowed(docs(roles), "sns:Publish", topic(name), {})
