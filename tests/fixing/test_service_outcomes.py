"""RoleFixer's entry points (handle_event for the Lambda, fix/remove/remove_policy for the sweep): what each event
and call does, judged by the outcome and the fake IAM's final state (mutants of fixing/service.py, docs/mutation.md).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.events import Action
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles
from tests.fixing.test_mutation_survivors import ARN, NAME, SNS, created, event, many_topics, updated
from tests.fixing.test_placement_outcomes import deleted, moved, state

ACTIVE = json.loads('"ACTIVE"')  # as DescribeStateMachine's JSON gives it: not this module's string constant
DELETING = json.loads('"DELETING"')


def make(mode: str = "enforce", roles: FakeRoles | None = None
         ) -> tuple[RoleFixer, FakeMachines, FakeRoles, list[float]]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, iam, sleeps = FakeMachines(), roles or FakeRoles(), []  # type: ignore[var-annotated]
    return RoleFixer(machines, iam, settings, sleep=sleeps.append), machines, iam, sleeps


def on_two_roles(fixer: RoleFixer, machines: FakeMachines, roles: FakeRoles) -> tuple[str, str]:
    """The machine's policy written on role "a" and then on role "b" (the machine now uses "b")."""
    a, b = roles.add_role("a"), roles.add_role("b")
    machines.add(ARN, SNS, a)
    fixer.fix(ARN)
    machines.add(ARN, SNS, b)
    fixer.fix(ARN)
    return a, b


# --- events that are not acted on ----------------------------------------------------------------------------------

def test_an_ignored_event_reports_its_event_name_and_reason() -> None:
    fixer, _, roles, _ = make()
    failed = event("CreateStateMachine", {"name": "Orders"})
    failed["detail"]["errorCode"] = "AccessDenied"
    out = fixer.handle_event(failed)
    assert (out.status, out.action, out.reason, out.event_id) == (Status.IGNORED, "CreateStateMachine",
                                                                  "FAILED_CALL", "evt-CreateStateMachine")
    assert roles.writes == []


@pytest.mark.parametrize("bad", [["not", "an", "object"], {"id": "x", "detail": "text"},
                                 {"id": "x", "detail": {"eventName": 7}}])
def test_a_malformed_event_is_ignored_without_an_action(bad: Any) -> None:
    fixer, _, _, _ = make()
    out = fixer.handle_event(bad)
    assert (out.status, out.action) == (Status.IGNORED, "")


# --- which event does what -------------------------------------------------------------------------------------

def test_a_create_touches_only_the_new_machines_role() -> None:
    """A machine deleted and created again with another role: the create writes on its role; the stale copy is
    for the delete event to clean."""
    fixer, machines, roles, _ = make()
    _a, b = on_two_roles(fixer, machines, roles)
    roles.roles["b"].inline.clear()
    out = fixer.handle_event(created(b))
    assert out.status is Status.WRITTEN
    assert state(roles, "a")["inline"] == [NAME] and state(roles, "b")["inline"] == [NAME]


def test_an_update_without_a_new_role_touches_only_the_machines_role() -> None:
    fixer, machines, roles, _ = make()
    on_two_roles(fixer, machines, roles)
    out = fixer.handle_event(updated())
    assert out.status is Status.UNCHANGED
    assert state(roles, "a")["inline"] == [NAME]


def test_an_update_with_a_new_role_removes_the_policy_from_the_other_roles() -> None:
    fixer, machines, roles, _ = make()
    _a, b = on_two_roles(fixer, machines, roles)
    out = fixer.handle_event(moved(b))
    assert out.status is Status.REMOVED  # nothing to write on b, a copy removed from a
    assert state(roles, "a")["inline"] == [] and state(roles, "b")["inline"] == [NAME]


def test_fix_as_the_sweep_calls_it_touches_only_the_machines_role_and_keeps_overflow() -> None:
    fixer, machines, roles, _ = make()
    on_two_roles(fixer, machines, roles)
    assert fixer.fix(ARN).status is Status.UNCHANGED
    assert state(roles, "a")["inline"] == [NAME]
    overflowed = roles.add_role("c")
    machines.add(ARN, many_topics(180), overflowed)
    fixer.fix(ARN)
    machines.add(ARN, SNS, overflowed)
    out = fixer.fix(ARN)  # the sweep's default call: not fresh, no relocation
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    assert state(roles, "c") == {"inline": [], "attached": [f"{NAME}.1"], "managed": [f"{NAME}.1"]}


def test_a_delete_removes_the_policy_from_every_role_without_waiting() -> None:
    fixer, machines, roles, sleeps = make()
    _a, _b = on_two_roles(fixer, machines, roles)
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())
    assert (out.status, out.action, out.role_arn, out.message) == (Status.REMOVED, str(Action.DELETE), "", "")
    assert state(roles, "a")["inline"] == [] and state(roles, "b")["inline"] == []
    assert sleeps == []  # "not found" is the expected answer after a delete: no retry


def test_a_delete_of_a_machine_on_one_role_names_that_role() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.fix(ARN)
    machines.machines.pop(ARN)
    out = fixer.handle_event(deleted())
    assert (out.status, out.role_arn) == (Status.REMOVED, role)


def test_a_delete_while_the_machine_is_still_deleting_removes_the_policy() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.fix(ARN)
    machines.add(ARN, SNS, role, status=DELETING)
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert state(roles, "r")["inline"] == []


def test_a_delete_after_the_machine_was_created_again_on_another_role_keeps_only_the_new_copy() -> None:
    fixer, machines, roles, _ = make()
    _a, b = on_two_roles(fixer, machines, roles)
    machines.add(ARN, SNS, b, status=ACTIVE)
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert state(roles, "a")["inline"] == [] and state(roles, "b")["inline"] == [NAME]


def test_a_delete_with_nothing_to_remove_says_so() -> None:
    fixer, _, roles, _ = make()
    roles.add_role("r")
    out = fixer.handle_event(deleted())
    assert (out.status, out.message) == (Status.UNCHANGED, "no policy of this machine found")


def test_report_mode_proposes_the_removal_and_removes_nothing() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.fix(ARN)
    report, _, _, _ = make("report", roles)  # the same IAM, seen by a fixer in report mode
    out = report.remove_policy(NAME, state_machine_arn=ARN)
    assert out.status is Status.PROPOSED
    assert state(roles, "r")["inline"] == [NAME]


# --- describing --------------------------------------------------------------------------------------------------

def test_an_active_machine_as_the_api_returns_it_is_fixed() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role, status=ACTIVE)
    assert fixer.handle_event(created(role)).status is Status.WRITTEN


def test_a_machine_never_visible_is_gone_after_every_attempt() -> None:
    fixer, machines, roles, sleeps = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    machines.invisible_for[ARN] = 100
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.GONE, "STATE_MACHINE_GONE")
    assert machines.calls == 4 and sleeps == [1.0, 2.0, 4.0]  # four attempts, no wait after the last


# --- the outcome ---------------------------------------------------------------------------------------------------

def test_the_outcome_lists_findings_most_severe_first_and_what_was_granted() -> None:
    definition = many_topics(180)  # overflows (a LOW finding) and calls an unknown integration (HIGH)
    definition["States"]["P179"].pop("End")
    definition["States"]["P179"]["Next"] = "U"
    definition["States"]["U"] = {"Type": "Task", "Resource": "arn:aws:states:::unknown:thing", "End": True}
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, definition, role)
    out = fixer.handle_event(created(role))
    assert out.status is Status.WRITTEN
    severities = [f.severity for f in out.findings]
    assert len(set(severities)) >= 2 and severities == sorted(severities, reverse=True)
    topic = definition["States"]["P0"]["Parameters"]["TopicArn"]
    assert ("sns:Publish", topic) in {(r.action, r.resource) for r in out.granted}


def test_an_out_of_scope_machine_gets_nothing_written_but_learns_what_it_would_need() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r", trust={"Version": "2012-10-17", "Statement": []})
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert out.status is Status.SKIPPED and out.reason == "ROLE_OUT_OF_SCOPE"
    assert roles.writes == []
    # the policy to adopt (by tag or by copying it) travels in the outcome, exactly what the machine requests
    assert is_allowed(out.documents, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")
    assert not is_allowed(out.documents, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:other")
