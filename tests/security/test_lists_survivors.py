"""The second line's lists (engine/guardrails/lists.py) pinned by mutation testing (docs/mutation.md): a deny-list
entry limited to access levels, the classification data read from what it is given, and which start each run stop
belongs to, judged by what the guardrails grant and refuse."""

from __future__ import annotations

import pytest

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.engine.guardrails.lists import _SENSITIVE, SENSITIVITY, DenyEntry, Sensitivity
from sfn_iam.model import Requirement
from tests.helpers import ACCOUNT

ORGANIZATIONS = ceiling.parse({"Statement": [{"Effect": "Allow", "Action": ["organizations:*", "sqs:*"],
                                              "Resource": "*"}]}, source="test administrator")
WRITES_ONLY = DenyEntry("organizations:*", "changes the organization", frozenset({"Write"}))


def _decided(action: str, deny: tuple[DenyEntry, ...]) -> str:
    """The finding's message for ``action`` on ``*``, or "granted"."""
    kept, findings = guardrails.apply([Requirement(action, "*", path="States.O")],
                                      GuardPolicy(ORGANIZATIONS, deny=deny), account=ACCOUNT)
    assert len(kept) + len(findings) == 1
    return findings[0].message if findings else "granted"


@pytest.mark.parametrize(("action", "decision"), [
    ("organizations:CloseAccount", "organizations:CloseAccount (Write) is deny-listed: changes the organization"),
    ("organizations:closeaccount", "organizations:closeaccount (Write) is deny-listed: changes the organization"),
    ("organizations:ListAccounts", "granted"),  # List: not one of the entry's levels
    ("organizations:DescribeOrganization", "granted"),  # Read
    # an action the IAM reference does not know is refused all the same
    ("organizations:MadeUpAction", "organizations:MadeUpAction (access level unknown to the IAM reference) is "
                                   "deny-listed: changes the organization"),
    ("sqs:ListQueues", "granted"),  # another service
])
def test_an_entry_limited_to_writes_refuses_writes_and_unknown_actions_only(action: str, decision: str) -> None:
    found = _decided(action, (WRITES_ONLY,))
    assert found == decision or found.startswith(f"{action} on * not granted: {decision}")


def test_an_entry_without_levels_refuses_every_action_it_matches() -> None:
    every = (DenyEntry("organizations:*", "the organization"),)
    for action in ("organizations:ListAccounts", "organizations:DescribeOrganization", "organizations:MadeUpAction"):
        assert "is deny-listed: the organization" in _decided(action, every)
    assert _decided("sqs:ListQueues", every) == "granted"


def test_the_classification_is_read_from_the_data_it_is_given() -> None:
    assert Sensitivity.load() == SENSITIVITY == Sensitivity.load(_SENSITIVE)
    changed = Sensitivity.load({**_SENSITIVE, "run_stops": {"ecs:StopTask": {"starts": ["ecs:StartTask"]}}})
    assert changed.starts_of("ecs:StopTask") == frozenset({"ecs:starttask"})
    assert changed.starts_of("batch:TerminateJob") == frozenset()
    assert SENSITIVITY.starts_of("ecs:StopTask") == frozenset({"ecs:runtask"})


@pytest.mark.parametrize(("stop", "start"), [
    ("batch:TerminateJob", "batch:submitjob"), ("ECS:StopTask", "ecs:runtask"),
    ("elasticmapreduce:TerminateJobFlows", "elasticmapreduce:runjobflow"),
    ("emr-serverless:DeleteApplication", "emr-serverless:createapplication"),
])
def test_each_run_stop_belongs_to_its_own_start(stop: str, start: str) -> None:
    assert SENSITIVITY.starts_of(stop) == frozenset({start})


@pytest.mark.parametrize("action", ["dynamodb:DeleteItem", "a:b", "zzz:Stop", "ecs:StopTaskX", "batch:terminatejob2"])
def test_an_action_that_stops_no_run_has_no_start(action: str) -> None:
    assert SENSITIVITY.starts_of(action) == frozenset()


def test_an_entry_matches_actions_whatever_their_case() -> None:
    named = (DenyEntry("Organizations:Close*", "closes accounts"),)
    for action in ("organizations:closeaccount", "organizations:CLOSEACCOUNT", "organizations:CloseAccount"):
        assert "is deny-listed: closes accounts" in _decided(action, named)
    assert _decided("organizations:ListAccounts", named) == "granted"
