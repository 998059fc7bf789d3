"""A fixer run that stops part-way (Lambda's timeout, a crash) between two IAM calls of one placement, then a later
event: the role ends up granting what the machine's current definition needs and nothing of an earlier one. On moto
through the real handler; the stop is an exception raised before the IAM call (botocore's ``before-call`` event), as
the platform would see a run that died there, and it is retried or followed by the next event. Each test asserts
the final IAM state at the level of the requests the machine makes (tests/evaluate.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from scripts import sandbox
from sfn_iam import engine
from sfn_iam.engine import policy
from sfn_iam.model import StateMachine
from tests.e2e.test_concurrency import _event, _topics, documents
from tests.evaluate import is_allowed

from .conftest import World

ACCOUNT, REGION = sandbox.ACCOUNT, sandbox.REGION
MACHINE, ROLE, ROLE2 = "Wide", "OrderProcessingRole", "OrderProcessingRoleV2"
BASE = f"sfn-iam.{REGION}.{MACHINE}"
SMALL, LARGE, NEW = 0, 1, 2  # the topics' machine index in _topics: each definition publishes to its own topics


class Stopped(Exception):
    """The run died before this IAM call."""


def topic(definition: int, i: int = 0) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:m{definition}-topic-{i:04d}-{'x' * 24}"


def definition(which: int) -> str:
    return _topics(which, 160 if which == LARGE else 2)


def grants(world: World, role: str, which: int) -> bool:
    """Does the role grant, through this machine's policies, a request only definition ``which`` makes?"""
    return is_allowed(documents(world, role, MACHINE), "sns:Publish", topic(which, 1), {})


def planned(sm: str, role: str, which: int, limit: int) -> list[dict[str, Any]]:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/{role}"
    return list(engine.plan(StateMachine(sm, json.loads(definition(which)), role_arn), None, limit).documents)


def ours() -> list[str]:
    """Our customer-managed overflow policies of the machine, attached or not."""
    iam = boto3.client("iam", region_name=REGION)
    return sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local", PathPrefix="/sfn-iam/")["Policies"]
                  if p["PolicyName"].startswith(BASE + "."))


def attached_anywhere(name: str) -> bool:
    iam = boto3.client("iam", region_name=REGION)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{name}"
    return bool(iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"])


class stop_before:  # a context manager: reads as a sentence
    """While active, the fixer's ``nth`` call of ``operation`` (from 1) raises :class:`Stopped` before it is sent."""

    def __init__(self, world: World, operation: str, nth: int = 1) -> None:
        self.client = world.app.runtime().wiring.clients.iam
        self.event, self.nth, self.seen = f"before-call.iam.{operation}", nth, 0

    def _hook(self, **_: Any) -> None:
        self.seen += 1
        if self.seen == self.nth:
            raise Stopped(self.event)

    def __enter__(self) -> stop_before:
        self.client.meta.events.register(self.event, self._hook, unique_id=f"stop-{self.event}")
        return self

    def __exit__(self, *_: Any) -> None:
        self.client.meta.events.unregister(self.event, unique_id=f"stop-{self.event}")


@pytest.fixture
def machine(world: World) -> Iterator[tuple[str, str]]:
    """A machine whose small policy was placed inline on its role."""
    role = world.role(ROLE)
    sm = world.sfn.create_state_machine(name=MACHINE, definition=definition(SMALL), roleArn=role)["stateMachineArn"]
    assert world.invoke(_event("create_state_machine.json", sm, role))["placement"] == "inline"
    yield sm, role


def update(world: World, sm: str, which: int, **extra: Any) -> dict[str, Any]:
    world.sfn.update_state_machine(stateMachineArn=sm, definition=definition(which), **extra)
    return world.invoke(_event("update_state_machine_definition.json" if not extra else
                               "update_state_machine_role.json", sm, extra.get("roleArn")))


def grow_interrupted(world: World, sm: str, operation: str, nth: int = 1) -> None:
    """The update to the large definition (inline -> managed) stops before the ``nth`` ``operation``."""
    with stop_before(world, operation, nth), pytest.raises(Stopped):
        update(world, sm, LARGE)


def assert_only_new(world: World, sm: str, role: str) -> None:
    assert grants(world, role, NEW)
    assert not grants(world, role, LARGE) and not grants(world, role, SMALL)
    for name in ours():  # an overflow policy left by the stop grants nothing unless it carries the new definition
        if attached_anywhere(name):
            assert name in world.policies(role)["attached"]


# -- inline -> managed, stopped at each step, then an update that fits inline -----------------------------------------

def test_an_update_that_fits_inline_after_a_move_to_managed_stopped_before_deleting_the_inline_policy(
        world: World, machine: tuple[str, str]) -> None:
    sm, role = machine
    grow_interrupted(world, sm, "DeleteRolePolicy")
    before = world.policies(ROLE)
    assert BASE in before["inline"] and len(before["attached"]) >= 2  # both placements: the stop's window
    assert grants(world, ROLE, LARGE)
    world.counter.reset()
    result = update(world, sm, NEW)
    assert result["status"] == "written"
    # the overflow policies carried the large definition's grants: they now carry the new one's, and nothing else
    assert_only_new(world, sm, ROLE)
    after = world.policies(ROLE)
    assert BASE not in after["inline"]
    assert documents(world, ROLE, MACHINE) == planned(sm, role, NEW, policy.MANAGED_LIMIT)
    assert ours() == after["attached"] == [f"{BASE}.1"]
    # what it cost: the update's six calls, plus the one listing the ledger's overflow flag asks for, plus the
    # managed writes (CreatePolicyVersion, its read-back, detach and delete of the second policy, the inline delete)
    assert world.counter.calls["iam:ListAttachedRolePolicies"] == 1


@pytest.mark.parametrize(("operation", "nth"), [("CreatePolicy", 2), ("AttachRolePolicy", 1),
                                                 ("AttachRolePolicy", 2)])
def test_an_update_that_fits_inline_after_a_move_to_managed_stopped_before_its_attachments(
        world: World, machine: tuple[str, str], operation: str, nth: int) -> None:
    sm, _ = machine
    grow_interrupted(world, sm, operation, nth)
    assert BASE in world.policies(ROLE)["inline"]
    assert update(world, sm, NEW)["status"] == "written"
    assert_only_new(world, sm, ROLE)


def test_the_move_to_managed_retried_after_the_stop_completes_it(world: World, machine: tuple[str, str]) -> None:
    sm, role = machine
    grow_interrupted(world, sm, "DeleteRolePolicy")
    assert world.invoke(_event("update_state_machine_definition.json", sm))["status"] == "written"  # the retry
    assert world.policies(ROLE)["inline"] == {}
    assert documents(world, ROLE, MACHINE) == planned(sm, role, LARGE, policy.MANAGED_LIMIT)


# -- managed -> elsewhere: a role move, a shrink and a delete of an overflowed machine, stopped at each step

@pytest.mark.parametrize(("operation", "nth"), [("DetachRolePolicy", 1), ("DetachRolePolicy", 2),
                                                 ("DeletePolicy", 1), ("DeletePolicy", 2)])
def test_a_role_move_of_an_overflowed_machine_stopped_part_way_then_retried(
        world: World, machine: tuple[str, str], operation: str, nth: int) -> None:
    sm, _ = machine
    assert update(world, sm, LARGE)["placement"] == "managed"
    role2 = world.role(ROLE2)
    world.sfn.update_state_machine(stateMachineArn=sm, definition=definition(NEW), roleArn=role2)
    event = _event("update_state_machine_role.json", sm, role2)
    with stop_before(world, operation, nth), pytest.raises(Stopped):
        world.invoke(event)
    assert world.invoke(event)["status"] in ("written", "unchanged", "removed")  # the platform's retry
    assert documents(world, ROLE, MACHINE) == []
    assert grants(world, ROLE2, NEW) and not grants(world, ROLE2, LARGE)
    assert world.policies(ROLE2)["attached"] == []
    assert [n for n in ours() if attached_anywhere(n)] == []


@pytest.mark.parametrize(("operation", "nth"), [("DetachRolePolicy", 1), ("DeletePolicy", 1)])
def test_a_shrink_of_an_overflowed_machine_stopped_part_way_then_an_update(
        world: World, machine: tuple[str, str], operation: str, nth: int) -> None:
    sm, _ = machine
    assert update(world, sm, LARGE)["placement"] == "managed"
    with stop_before(world, operation, nth), pytest.raises(Stopped):
        update(world, sm, SMALL)  # two managed policies -> one: the second is detached and deleted
    assert update(world, sm, NEW)["status"] == "written"
    assert_only_new(world, sm, ROLE)
    assert world.policies(ROLE)["attached"] == [f"{BASE}.1"]


@pytest.mark.parametrize(("operation", "nth"), [("DetachRolePolicy", 2), ("DeletePolicy", 1)])
def test_a_delete_of_an_overflowed_machine_stopped_part_way_then_retried_leaves_nothing_attached(
        world: World, machine: tuple[str, str], operation: str, nth: int) -> None:
    sm, _ = machine
    assert update(world, sm, LARGE)["placement"] == "managed"
    world.sfn.delete_state_machine(stateMachineArn=sm)
    event = _event("delete_state_machine.json", sm)
    with stop_before(world, operation, nth), pytest.raises(Stopped):
        world.invoke(event)
    assert world.invoke(event)["status"] in ("removed", "unchanged")  # the retry: the ledger entry was taken
    assert world.policies(ROLE) == {"inline": {}, "attached": []}
    # a policy detached before the stop and not deleted stays, attached nowhere: it grants nothing
    assert [n for n in ours() if attached_anywhere(n)] == []


# -- the ledger lost or behind ---------------------------------------------------------------------------------------

def _ledger() -> tuple[Any, str]:
    return boto3.client("dynamodb", region_name=REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"]


def test_an_update_that_fits_inline_with_the_ledger_entry_lost_after_the_stop(
        world: World, machine: tuple[str, str]) -> None:
    sm, _ = machine
    grow_interrupted(world, sm, "DeleteRolePolicy")
    client, table = _ledger()
    client.delete_item(TableName=table, Key={"pk": {"S": BASE}})
    assert update(world, sm, NEW)["status"] == "written"
    assert_only_new(world, sm, ROLE)
    assert client.get_item(TableName=table, Key={"pk": {"S": BASE}}, ConsistentRead=True)["Item"]["overflow"] == {
        "BOOL": True}


def test_a_ledger_entry_behind_iam_is_trusted_by_events_and_repaired_by_the_sweep(
        world: World, machine: tuple[str, str]) -> None:
    sm, role = machine
    grow_interrupted(world, sm, "DeleteRolePolicy")
    client, table = _ledger()  # an entry written again without the flag (after a loss), as events trust it
    client.update_item(TableName=table, Key={"pk": {"S": BASE}}, UpdateExpression="SET overflow = :f",
                       ExpressionAttributeValues={":f": {"BOOL": False}})
    assert update(world, sm, NEW)["placement"] == "inline"  # an event trusts the ledger: the usual six calls
    assert grants(world, ROLE, LARGE)
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert_only_new(world, sm, ROLE)
    assert documents(world, ROLE, MACHINE) == planned(sm, role, NEW, policy.MANAGED_LIMIT)
