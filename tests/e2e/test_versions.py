"""Versions and aliases on moto: a canary alias routing 90/10 between two published versions with different Tasks.

Both versions' requests must be allowed while the alias routes to both (request level, tests/evaluate.py), a
request neither needs is denied, and once the alias routes all traffic to the new version the old version's extra
grant is gone. moto implements versions (publish on create/update), aliases and DescribeStateMachine on a version
ARN; it has no PublishStateMachineVersion, so versions are published through UpdateStateMachine(publish=True).
"""

from __future__ import annotations

import json
from typing import Any

from scripts import sandbox
from tests.evaluate import is_allowed

from .conftest import World
from .test_concurrency import documents

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT
LEGACY_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:legacy-orders"  # only version 1 sends to it
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"  # only version 2 publishes to it
OTHER_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:not-used"
OTHER_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:not-used"


def _definition(resource: str, parameters: dict[str, str]) -> str:
    return json.dumps({"StartAt": "Send", "States": {"Send": {
        "Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}}})


V1 = _definition("arn:aws:states:::sqs:sendMessage", {
    "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/legacy-orders", "MessageBody.$": "$"})
V2 = _definition("arn:aws:states:::sns:publish", {"TopicArn": TOPIC, "Message.$": "$"})


def _alias_event(name: str, alias_arn: str, routes: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    """A CloudTrail record of an alias call, shaped like events/update_state_machine_alias.json."""
    event = sandbox.load_event("update_state_machine_alias.json")
    event["detail"]["eventName"] = name
    request: dict[str, Any] = {"stateMachineAliasArn": alias_arn}
    if routes is not None:
        request["routingConfiguration"] = [{"stateMachineVersionArn": v, "weight": w} for v, w in routes]
    event["detail"]["requestParameters"] = request
    return event


def _route(world: World, alias: str, routes: list[tuple[str, int]]) -> dict[str, Any]:
    world.sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v, "weight": w} for v, w in routes])
    return world.invoke(_alias_event("UpdateStateMachineAlias", alias, routes))


def test_a_canary_grants_both_versions_and_the_old_one_goes_when_the_alias_moves(world: World) -> None:
    role = world.role("CanaryRole")
    created = world.sfn.create_state_machine(name="Canary", definition=V1, roleArn=role, publish=True)
    sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    create = sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=sm, role_arn=role)
    assert world.invoke(create)["status"] == "written"
    alias = world.sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    assert world.invoke(_alias_event("CreateStateMachineAlias", alias))["status"] == "unchanged"

    # a new version is published: the alias still routes to version 1, so both are granted
    v2 = world.sfn.update_state_machine(stateMachineArn=sm, definition=V2, publish=True)["stateMachineVersionArn"]
    publish = sandbox.patch_event(sandbox.load_event("publish_state_machine_version.json"), state_machine_arn=sm)
    publish["detail"]["responseElements"]["stateMachineVersionArn"] = v2
    assert world.invoke(publish)["status"] == "written"
    docs = documents(world, "CanaryRole", "Canary")
    assert is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})

    # the canary: 90 % on version 1, 10 % on version 2; both run, nothing else is granted
    assert _route(world, alias, [(v1, 90), (v2, 10)])["status"] == "unchanged"
    docs = documents(world, "CanaryRole", "Canary")
    assert is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})
    assert not is_allowed(docs, "sqs:SendMessage", OTHER_QUEUE, {})
    assert not is_allowed(docs, "sns:Publish", OTHER_TOPIC, {})
    assert not is_allowed(docs, "sqs:DeleteMessage", LEGACY_QUEUE, {})

    # the deployment completes: all traffic on version 2, version 1's grant is removed
    assert _route(world, alias, [(v2, 100)])["status"] == "written"
    docs = documents(world, "CanaryRole", "Canary")
    assert not is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})

    # rolled back: the alias routes to version 1 again, which is granted again
    assert _route(world, alias, [(v1, 100)])["status"] == "written"
    assert is_allowed(documents(world, "CanaryRole", "Canary"), "sqs:SendMessage", LEGACY_QUEUE, {})

    # the alias is deleted: only the latest definition (version 2's) stays; version 1 can still be started by ARN,
    # but no alias routes to it (docs/events.md)
    world.sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert world.invoke(_alias_event("DeleteStateMachineAlias", alias))["status"] == "written"
    docs = documents(world, "CanaryRole", "Canary")
    assert not is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})


def test_a_routed_version_under_another_role_is_reported_not_granted(world: World) -> None:
    old_role, new_role = world.role("OldRole"), world.role("NewRole")
    created = world.sfn.create_state_machine(name="Moved", definition=V1, roleArn=old_role, publish=True)
    sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    v2 = world.sfn.update_state_machine(stateMachineArn=sm, definition=V2, roleArn=new_role,
                                        publish=True)["stateMachineVersionArn"]
    alias = world.sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 90}, {"stateMachineVersionArn": v2, "weight": 10}])[
        "stateMachineAliasArn"]
    result = world.invoke(_alias_event("CreateStateMachineAlias", alias))
    assert result["status"] == "written" and result["roleArn"] == new_role
    assert [f["code"] for f in result["findings"]].count("VERSION_ROLE_DIFFERS") == 1
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})
    assert not is_allowed(documents(world, "NewRole", "Moved"), "sqs:SendMessage", LEGACY_QUEUE, {})
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
