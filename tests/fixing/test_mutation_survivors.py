"""Role fixing, driven by the EventBridge events the Lambda receives, judged by the outcome and the final IAM state.

Pinned by a mutation run (docs/mutation.md): only what a caller can observe is asserted — the outcome's
status and reason, and which inline and managed policies the fake IAM holds afterwards — so the tests stay valid
whatever the service's internals become.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Orders"
NAME = "sfn-iam.us-east-1.Orders"
SNS = {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
                                        "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
                                                       "Message": "m"}}}}
NOTHING = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}


def many_topics(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {
        f"P{i}": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": f"P{i + 1}",
                  "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-{i:04d}-{'x' * 20}",
                                 "Message": "m"}} for i in range(n)}
    states[f"P{n - 1}"].pop("Next")
    states[f"P{n - 1}"]["End"] = True
    return {"StartAt": "P0", "States": states}


def event(name: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": f"evt-{name}", "source": "aws.states", "detail-type": "AWS API Call via CloudTrail",
            "account": ACCOUNT, "detail": {"eventSource": "states.amazonaws.com", "eventName": name,
                                           "recipientAccountId": ACCOUNT, "requestParameters": request,
                                           "responseElements": response or {}}}


def created(role_arn: str) -> dict[str, Any]:
    return event("CreateStateMachine", {"name": "Orders", "roleArn": role_arn}, {"stateMachineArn": ARN})


def updated() -> dict[str, Any]:
    return event("UpdateStateMachine", {"stateMachineArn": ARN})


def make() -> tuple[RoleFixer, FakeMachines, FakeRoles]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, roles = FakeMachines(), FakeRoles()
    return RoleFixer(machines, roles, settings), machines, roles


def ours(roles: FakeRoles, role: str) -> tuple[list[str], list[str], list[str]]:
    """(inline, attached, existing managed) policies of this machine in the fake IAM."""
    r = roles.roles[role]
    return ([n for n in r.inline if n.startswith(NAME)], [n for n in r.attached if n.startswith(NAME)],
            sorted(n for n in roles.managed if n.startswith(NAME)))


# --- clearing: a machine that needs nothing any more loses what was placed for it -----------------------------------

def test_an_overflowed_machine_updated_to_need_nothing_loses_its_managed_policies() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    roles.roles["r"].attached.append("someone-elses-policy")
    machines.add(ARN, many_topics(180), role)
    first = fixer.handle_event(created(role))
    assert (first.status, first.placement) == (Status.WRITTEN, "managed")
    _, attached, managed = ours(roles, "r")
    assert len(attached) >= 2 and managed == sorted(attached)

    machines.add(ARN, NOTHING, role)
    out = fixer.handle_event(updated())
    assert out.status is Status.REMOVED
    assert ours(roles, "r") == ([], [], [])
    assert roles.roles["r"].attached == ["someone-elses-policy"]  # not ours: left alone
    assert fixer.handle_event(updated()).status is Status.UNCHANGED  # nothing left to remove


def test_an_inline_machine_updated_to_need_nothing_loses_its_inline_policy_only() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    roles.roles["r"].inline["hand-written"] = {"Version": "2012-10-17", "Statement": []}
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).status is Status.WRITTEN
    assert ours(roles, "r")[0] == [NAME]

    machines.add(ARN, NOTHING, role)
    out = fixer.handle_event(updated())
    assert out.status is Status.REMOVED
    assert ours(roles, "r") == ([], [], [])
    assert list(roles.roles["r"].inline) == ["hand-written"]


def test_a_machine_that_never_needed_anything_changes_nothing() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, NOTHING, role)
    out = fixer.handle_event(created(role))
    assert out.status is Status.UNCHANGED
    assert roles.writes == []


# --- scope: the role's trust policy must name Step Functions alone ---------------------------------------------------

def _trust(*services: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize("services", [
    ("states.amazonaws.com",), ("states.us-east-1.amazonaws.com",),
    ("states.amazonaws.com", "states.eu-west-1.amazonaws.com"),
])
def test_a_role_trusted_by_step_functions_alone_is_fixed(services: tuple[str, ...]) -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r", trust=_trust(*services))
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert out.status is Status.WRITTEN
    assert ours(roles, "r")[0] == [NAME]


@pytest.mark.parametrize("services", [
    ("states.amazonaws.com", "events.us-east-1.amazonaws.com"),  # another service's regional principal
    ("states.amazonaws.com", "lambda.amazonaws.com"),
    ("states.us-east-1.amazonaws.com", "scheduler.us-east-1.amazonaws.com"),
    ("states.amazonaws.com", "states.us-east-1.example.amazonaws.com"),
    ("states.amazonaws.com", "xstates.us-east-1.amazonaws.com"),
    ("states.amazonaws.com", "states.us-east-1.amazonaws.com.evil"),
])
def test_a_role_shared_with_another_service_is_left_alone(services: tuple[str, ...]) -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r", trust=_trust(*services))
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    assert roles.writes == []



def _trust_doc(*statements: dict[str, Any]) -> dict[str, Any]:
    """A trust policy as GetRole returns it: parsed JSON, so its strings are not this module's constants."""
    parsed: dict[str, Any] = json.loads(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    return parsed


STATES = {"Service": "states.amazonaws.com"}


@pytest.mark.parametrize(("statements", "in_scope"), [
    ([{"Effect": "Allow", "Principal": STATES, "Action": "sts:AssumeRole"}], True),
    ([{"Effect": "Allow", "Principal": STATES, "Action": "STS:assumerole"}], True),  # IAM ignores the case
    ([{"Effect": "Allow", "Principal": STATES, "Action": ["sts:TagSession", "sts:AssumeRole"]}], True),
    ([{"Effect": "Allow", "Principal": STATES, "Action": "sts:TagSession"}], False),  # nobody may assume it
    ([{"Effect": "Allow", "Principal": STATES, "Action": "sts:AssumeRole"},
      {"Effect": "Allow", "Principal": STATES, "NotAction": "sts:TagSession"}], False),
    ([{"Effect": "Allow", "Principal": STATES, "Action": "sts:AssumeRole"},
      {"Effect": "Allow", "NotPrincipal": STATES, "Action": "sts:AssumeRole"}], False),
    ([{"Effect": "Deny", "Principal": STATES, "Action": "sts:AssumeRole"}], False),
])
def test_the_trust_policy_decides_the_scope(statements: list[dict[str, Any]], in_scope: bool) -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r", trust=_trust_doc(*statements))
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert (out.status is Status.WRITTEN) is in_scope
    assert (roles.writes == []) is not in_scope


@pytest.mark.parametrize("account", ["000000000001", "999999999999"])
def test_a_role_in_another_account_is_out_of_scope_whichever_its_number(account: str) -> None:
    fixer, machines, _roles = make()
    machines.add(ARN, SNS, f"arn:aws:iam::{account}:role/stepfunctions/r")
    out = fixer.handle_event(created(f"arn:aws:iam::{account}:role/stepfunctions/r"))
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
