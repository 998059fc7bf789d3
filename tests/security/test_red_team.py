"""Red team: malicious state machine definitions, checked at the level of requests.

Each ``tests/fixtures/red_team/*.json`` holds a definition written by someone who can create or update a state
machine and wants the fixer to hand its role more than the workflow legitimately needs. For each one:

* every ``dangerous`` request (action, resource, request context) is denied by the generated policy;
* every ``benign`` request of the same definition is still allowed (refusing one state never costs the rest);
* the refusal is reported with one of the case's ``codes`` (for aws-sdk cases: BLOCKED_ACTION, WILDCARD_WRITE or
  UNKNOWN_INTEGRATION, so they stay meaningful whether or not an SDK mapping exists); a case with no codes says
  in its ``note`` why no finding is due. A refusal is a refusal: where a case names a refusal code (BLOCKED_ACTION,
  WILDCARD_WRITE, BLOCKED_SERVICE, ROLE_NOT_PASSABLE), ``OUTSIDE_CEILING`` is accepted too, since the default
  ceiling is checked before the lists and refuses first what it does not allow (its finding then says when the
  lists would refuse it too);
* no statement of the output carries a deny-listed action (outside the documented exceptions) or a sensitive
  write/secret read on a container-covering wildcard, and the offline linter finds no error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import ceiling
from sfn_iam.fixing import events
from sfn_iam.model import Condition, Requirement
from tests.helpers import ACCOUNT, ROOT, allows, plan_for
from tests.tools import iam_reference, lint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "red_team"
CASES = sorted(FIXTURES.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def _request(entry: list[Any]) -> tuple[str, str, dict[str, str]]:
    action, resource, *rest = entry
    return action, resource, (rest[0] if rest else {})


_REFUSALS = frozenset({"BLOCKED_ACTION", "WILDCARD_WRITE", "BLOCKED_SERVICE", "ROLE_NOT_PASSABLE"})


def _accepted(codes: list[str]) -> set[str]:
    """The case's codes, and OUTSIDE_CEILING when one of them is a refusal (the ceiling refuses before the lists)."""
    return set(codes) | ({"OUTSIDE_CEILING"} if _REFUSALS & set(codes) else set())


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_dangerous_requests_are_denied_and_benign_ones_granted(path: Path) -> None:
    case = _load(path)
    plan = plan_for(case["definition"], **case.get("settings", {}))
    assert case["dangerous"], "a red-team case must name what it is after"
    for entry in case["dangerous"]:
        action, resource, context = _request(entry)
        assert not allows(plan, action, resource, context), (
            f"{case['name']}: {action} on {resource} {context} is allowed:\n{json.dumps(list(plan.documents))}")
    default = ceiling.default(account=ACCOUNT)
    for entry in case["benign"]:
        action, resource, context = _request(entry)
        if not default.allows(action, resource):  # another account's function: an administrator approves it
            assert any(f.code == "OUTSIDE_CEILING" and f.message.startswith(action) for f in plan.findings)
            continue
        assert allows(plan, action, resource, context), (
            f"{case['name']}: benign {action} on {resource} {context} was lost; findings: "
            f"{[f.line() for f in plan.findings]}")
    found = {f.code for f in plan.findings}
    accepted = _accepted(case["codes"])
    assert not case["codes"] or found & accepted, (
        f"{case['name']}: expected one of {sorted(accepted)}, got {sorted(found)}")
    for state_path in case.get("expect_paths", []):
        assert any(f.path == state_path and f.code in accepted for f in plan.findings), (
            f"{case['name']}: no refusal reported at {state_path!r}")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_output_holds_nothing_the_guardrails_forbid_and_lints_clean(path: Path) -> None:
    case = _load(path)
    plan = plan_for(case["definition"], **case.get("settings", {}))
    guard = guardrails.GuardPolicy()
    for stmt in plan.statements:
        conditions = tuple(
            Condition(op, key, tuple([vals] if isinstance(vals, str) else vals))
            for op, block in stmt.get("Condition", {}).items() for key, vals in block.items()
        )
        for action in stmt["Action"]:
            for resource in stmt["Resource"]:
                req = Requirement(action, resource, conditions)
                if action.lower() not in ("iam:passrole", "sts:assumerole"):
                    assert guard.denied(action) is None, f"{case['name']}: deny-listed {action} in the output"
                assert guardrails.wildcard_problem(req) is None, f"{case['name']}: {action} on {resource}"
    assert lint.errors(lint.lint(plan.documents, iam_reference.load())) == []


@pytest.mark.usefixtures("any_account")
def test_sts_assume_role_on_a_credentials_role_is_the_only_assume_role_granted() -> None:
    """The Credentials exception does not extend to other roles asked for by an SDK Task in the same machine."""
    target = "arn:aws:iam::999999999999:role/Target"
    admin = "arn:aws:iam::123456789012:role/Admin"
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Credentials": {"RoleArn": target},
              "Parameters": {"FunctionName": "f"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:assumeRole",
              "Parameters": {"RoleArn": admin, "RoleSessionName": "x"}, "End": True}}}
    plan = plan_for(definition)
    assert allows(plan, "sts:AssumeRole", target)
    assert not allows(plan, "sts:AssumeRole", admin)


# --- malicious events ------------------------------------------------------------------------------------------
# The fixer acts on CloudTrail events delivered by EventBridge. Nobody can put an "aws.states" event on a bus, but
# the parser must still refuse anything that would make it act on another account's machine or on a failed call.

def _event(**edits: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "create_state_machine.json").read_text())
    for dotted, value in edits.items():
        target = event
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return event


MALICIOUS_EVENTS = {
    "foreign-account-header": _event(account="999999999999"),
    "foreign-recipient": _event(detail__recipientAccountId="999999999999"),
    "foreign-machine-in-our-event": _event(
        detail__responseElements__stateMachineArn="arn:aws:states:us-east-1:999999999999:stateMachine:X"),
    "failed-call-null-error": _event(detail__errorCode=None),
    "failed-call": _event(detail__errorCode="AccessDeniedException"),
    "lower-case-event-name": _event(detail__eventName="createStateMachine"),
    "other-event-source": _event(detail__eventSource="states.amazonaws.com.evil"),
    "not-a-state-machine-arn": _event(detail__responseElements__stateMachineArn="arn:aws:iam::123456789012:role/x"),
    "arn-with-newline": _event(
        detail__responseElements__stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:X\n"),
    "detail-not-object": _event(detail=["CreateStateMachine"]),
}


@pytest.mark.parametrize("event", list(MALICIOUS_EVENTS.values()), ids=list(MALICIOUS_EVENTS))
def test_malicious_events_are_ignored(event: dict[str, Any]) -> None:
    assert isinstance(events.parse(event, ACCOUNT), events.Ignored)


def test_control_the_genuine_event_triggers() -> None:
    parsed = events.parse(_event(), ACCOUNT)
    assert isinstance(parsed, events.Trigger) and parsed.account == ACCOUNT
