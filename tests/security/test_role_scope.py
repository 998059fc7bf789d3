"""Role scope, from the attacker's side: someone who can create state machines points one at a role the fixer must
never touch, and the fixer writes nothing to it (a ROLE_OUT_OF_SCOPE finding instead).

Runs the real :class:`sfn_iam.fixing.service.RoleFixer` over in-memory ports (tests/fakes.py). The fake IAM looks role
names up case-insensitively, as IAM does, so a case-changed name in the state machine's roleArn cannot slip past
an exact-string comparison. Every test has an in-scope control that does get written, so none can pass vacuously.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.ports import Role
from sfn_iam.fixing.service import RoleFixer
from tests.fakes import ACCOUNT, STATES_TRUST, FakeMachines, FakeRoles
from tests.helpers import ROOT

PATH = "/sfn-autofix/"
FIXER_PATH = "/sfn-iam-system/"
FIXER_NAME = "sfn-iam-fixer"
FIXER_ARN = f"arn:aws:iam::{ACCOUNT}:role{FIXER_PATH}{FIXER_NAME}"
SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Evil"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:t"
DEFINITION = {"StartAt": "P", "States": {
    "P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "K",
          "Parameters": {"TopicArn": TOPIC, "Message": "m"}},
    "K": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:createAccessKey",
          "Parameters": {"UserName": "admin"}, "End": True}}}


class CaseInsensitiveRoles(FakeRoles):
    """IAM role names are unique regardless of case, and GetRole finds a role by any casing of its name."""

    def _real(self, name: str) -> str:
        return next((n for n in self.roles if n.lower() == name.lower()), name)

    def get_role(self, name: str) -> Role | None:
        return super().get_role(self._real(name))

    def list_inline(self, role: str) -> list[str] | None:
        return super().list_inline(self._real(role))

    def put_inline(self, role: str, name: str, document: Any) -> None:
        super().put_inline(self._real(role), name, document)


def _fixer() -> tuple[RoleFixer, FakeMachines, CaseInsensitiveRoles]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": PATH, "FIXER_ROLE_ARN": FIXER_ARN})
    roles = CaseInsensitiveRoles()
    roles.add_role(FIXER_NAME, FIXER_PATH)
    return RoleFixer(FakeMachines(), roles, settings), FakeMachines(), roles


def _attempt(role_arn: str, roles_setup: Any = None) -> tuple[Any, CaseInsensitiveRoles]:
    fixer, _, roles = _fixer()
    if roles_setup:
        roles_setup(roles)
    machines = FakeMachines()
    machines.add(SM, DEFINITION, role_arn)
    fixer.machines = machines
    return fixer.fix(SM), roles


def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


STATES = {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}


def test_control_an_in_scope_role_is_written_without_the_dangerous_grant() -> None:
    out, roles = _attempt(f"arn:aws:iam::{ACCOUNT}:role{PATH}worker", lambda r: r.add_role("worker", PATH))
    assert out.status is Status.WRITTEN
    (written,) = roles.roles["worker"].inline.values()
    assert "iam:" not in json.dumps(written).lower() and TOPIC in json.dumps(written)


@pytest.mark.parametrize("trust", [
    _trust(STATES, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/dev"},
                    "Action": "sts:AssumeRole"}),
    _trust(STATES, {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                    "Action": "sts:AssumeRole"}),
    _trust({**STATES, "Principal": {"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]}}),
    _trust({**STATES, "Principal": {"Service": "states.amazonaws.com", "AWS": "*"}}),
    _trust({**STATES, "Principal": "*"}),
    _trust({**STATES, "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"aws:PrincipalService": "states.amazonaws.com"}}}),
    _trust(STATES, {"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity"}),
    _trust({"Effect": "Allow", "NotPrincipal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}),
    _trust({**STATES, "Principal": {"Service": "states.amazonaws.com.evil.example"}}),
    _trust({**STATES, "Effect": "Deny"}),
    _trust(),
    {"Statement": "not a list"},
], ids=["also-user", "also-other-account", "also-lambda", "also-any-aws", "star", "any-aws-with-condition",
        "also-federated", "not-principal", "look-alike-service", "deny-only", "empty", "garbage"])
def test_a_role_also_trusted_by_another_principal_is_never_written(trust: dict[str, Any]) -> None:
    out, roles = _attempt(f"arn:aws:iam::{ACCOUNT}:role{PATH}shared",
                          lambda r: r.add_role("shared", PATH, trust=copy.deepcopy(trust)))
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    assert roles.writes == [] and roles.roles["shared"].inline == {}


@pytest.mark.parametrize("path", ["/", "/sfn-autofix-evil/", "/other/sfn-autofix/", "/SFN-AUTOFIX/"])
def test_a_role_outside_the_path_is_never_written(path: str) -> None:
    out, roles = _attempt(f"arn:aws:iam::{ACCOUNT}:role{path}outside", lambda r: r.add_role("outside", path))
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


def test_a_role_that_claims_the_path_in_the_state_machine_but_lives_elsewhere_is_never_written() -> None:
    """The state machine's roleArn names a path the fixer trusts; IAM knows the role by name, at its real path."""
    out, roles = _attempt(f"arn:aws:iam::{ACCOUNT}:role{PATH}elsewhere", lambda r: r.add_role("elsewhere", "/"))
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


@pytest.mark.parametrize("claimed", [
    FIXER_ARN,
    f"arn:aws:iam::{ACCOUNT}:role{PATH}{FIXER_NAME}",
    f"arn:aws:iam::{ACCOUNT}:role{PATH}{FIXER_NAME.upper()}",
], ids=["exact", "claimed-path", "claimed-path-and-case"])
def test_the_fixers_own_role_is_never_written(claimed: str) -> None:
    out, roles = _attempt(claimed)
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []
    assert roles.roles[FIXER_NAME].inline == {}


def test_the_fixers_own_role_on_the_managed_path_is_never_written_even_by_another_casing() -> None:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": PATH,
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role{PATH}{FIXER_NAME}"})
    roles = CaseInsensitiveRoles()
    roles.add_role(FIXER_NAME, PATH)
    machines = FakeMachines()
    machines.add(SM, DEFINITION, f"arn:aws:iam::{ACCOUNT}:role{PATH}{FIXER_NAME.upper()}")
    out = RoleFixer(machines, roles, settings).fix(SM)
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


@pytest.mark.parametrize("role_arn", [
    f"arn:aws:iam::999999999999:role{PATH}worker",
    f"arn:aws-cn:iam::999999999999:role{PATH}worker",
])
def test_a_role_in_another_account_is_never_written(role_arn: str) -> None:
    out, roles = _attempt(role_arn, lambda r: r.add_role("worker", PATH))
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


@pytest.mark.parametrize("role_arn", [
    "", "worker", f"arn:aws:iam::{ACCOUNT}:user{PATH}worker", f"arn:aws:iam::{ACCOUNT}:role{PATH}*",
    f"arn:aws:iam::{ACCOUNT}:role{PATH}" + "w" * 65,
])
def test_a_malformed_role_is_never_written(role_arn: str) -> None:
    out, roles = _attempt(role_arn, lambda r: r.add_role("worker", PATH))
    assert out.status is not Status.WRITTEN and roles.writes == []


def test_an_opted_out_role_is_never_written() -> None:
    out, roles = _attempt(f"arn:aws:iam::{ACCOUNT}:role{PATH}optout",
                          lambda r: r.add_role("optout", PATH, tags={"sfn-iam:opt-out": "true"}))
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


def test_the_event_cannot_choose_the_role() -> None:
    """A CloudTrail event naming an in-scope role for a machine whose real role is the fixer's changes nothing."""
    fixer, _, roles = _fixer()
    roles.add_role("worker", PATH)
    machines = FakeMachines()
    machines.add(SM, DEFINITION, FIXER_ARN)
    fixer.machines = machines
    event = json.loads((ROOT / "events" / "update_state_machine_role.json").read_text())
    event["detail"]["requestParameters"]["stateMachineArn"] = SM
    event["detail"]["requestParameters"]["roleArn"] = f"arn:aws:iam::{ACCOUNT}:role{PATH}worker"
    out = fixer.handle_event(event)
    assert out.reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


def _create_event_for_in_scope_machine() -> tuple[Any, Any, dict[str, Any]]:
    """A fixer with one in-scope machine, and the CreateStateMachine event from events/ pointing at it."""
    fixer, _, roles = _fixer()
    machines = FakeMachines()
    machines.add(SM, DEFINITION, roles.add_role("worker", PATH))
    fixer.machines = machines
    event = json.loads((ROOT / "events" / "create_state_machine.json").read_text())
    event["detail"]["responseElements"]["stateMachineArn"] = SM
    return fixer, roles, event


@pytest.mark.parametrize("edit", [
    {"account": "999999999999"},
    {"detail": {"errorCode": "AccessDenied"}},
    {"source": "custom.states"},
    {"detail": {"eventSource": "evil.amazonaws.com"}},
], ids=["foreign-account", "failed-call", "not-aws-source", "other-event-source"])
def test_forged_or_failed_events_change_nothing(edit: dict[str, Any]) -> None:
    fixer, roles, event = _create_event_for_in_scope_machine()
    for key, value in edit.items():
        if isinstance(value, dict):
            event[key].update(value)
        else:
            event[key] = value
    out = fixer.handle_event(event)
    assert out.status is Status.IGNORED and roles.writes == []


def test_control_the_unforged_event_is_acted_on() -> None:
    fixer, _, event = _create_event_for_in_scope_machine()
    assert fixer.handle_event(event).status is Status.WRITTEN


def test_trust_with_only_states_passes_the_scope_check() -> None:
    out, _ = _attempt(f"arn:aws:iam::{ACCOUNT}:role{PATH}ok",
                      lambda r: r.add_role("ok", PATH, trust=copy.deepcopy(STATES_TRUST)))
    assert out.status is Status.WRITTEN
