"""Versions and aliases on moto: a canary alias routing 90/10 between two published versions with different Tasks.

Both versions' requests must be allowed while the alias routes to both (request level, tests/evaluate.py), a
request neither needs is denied, and once the alias routes all traffic to the new version the old version's extra
grant is gone. moto implements versions (publish on create/update), aliases and DescribeStateMachine on a version
ARN; it has no PublishStateMachineVersion, so versions are published through UpdateStateMachine(publish=True).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from scripts import sandbox
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.fixing.settings import Mode
from tests.evaluate import is_allowed

from .conftest import World
from .test_concurrency import documents, ledger_item

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT
LEGACY_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:legacy-orders"  # only version 1 sends to it
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"  # only version 2 publishes to it
OTHER_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:not-used"
OTHER_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:not-used"
COST_SAME_ROLE_ALIAS = 10  # calls of an alias event routing to two versions under the machine's role


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


# -- a version routed to under another role (a canary where the new version moved to a new role) ------------------

VERSION = "sfn-iam.us-east-1.Moved,version"


def _moved(world: World, *, old_role: str = "OldRole", old_path: str = sandbox.ROLE_PATH
           ) -> tuple[str, str, str, str]:
    """Moved: version 1 (V1) under ``old_role``, version 2 (V2) under NewRole, the machine on NewRole (fixed by its
    create and update events); returns the machine, versions 1 and 2 and the alias ARN routing 90/10."""
    first, new_role = world.role(old_role, path=old_path), world.role("NewRole")
    created = world.sfn.create_state_machine(name="Moved", definition=V1, roleArn=first, publish=True)
    sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    world.invoke(sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=sm,
                                     role_arn=first))
    v2 = world.sfn.update_state_machine(stateMachineArn=sm, definition=V2, roleArn=new_role,
                                        publish=True)["stateMachineVersionArn"]
    update = sandbox.patch_event(sandbox.load_event("update_state_machine_role.json"), state_machine_arn=sm,
                                 role_arn=new_role)
    assert world.invoke(update)["roleArn"] == new_role
    alias = world.sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 90}, {"stateMachineVersionArn": v2, "weight": 10}])[
        "stateMachineAliasArn"]
    return sm, v1, v2, alias


def _version_docs(world: World, role: str) -> list[dict[str, Any]]:
    return [d for n, d in world.policies(role)["inline"].items() if n == VERSION]


def _v1_only_on_old_role(world: World) -> None:
    """Version 1's request is allowed on OldRole (its role), version 2's is not; NewRole the other way round."""
    old, new = _version_docs(world, "OldRole"), documents(world, "NewRole", "Moved")
    assert is_allowed(old, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert not is_allowed(old, "sqs:SendMessage", OTHER_QUEUE, {})
    assert not is_allowed(old, "sqs:DeleteMessage", LEGACY_QUEUE, {})
    assert not is_allowed(old, "sns:Publish", TOPIC, {})
    assert is_allowed(new, "sns:Publish", TOPIC, {})
    assert not is_allowed(new, "sns:Publish", OTHER_TOPIC, {})
    assert not is_allowed(new, "sqs:SendMessage", LEGACY_QUEUE, {})


def _ledger_roles() -> set[str]:
    item = ledger_item("sfn-iam.us-east-1.Moved")
    return set(item["roles"]["SS"]) if item and "roles" in item else set()


def test_a_routed_version_under_another_role_is_granted_on_that_role(world: World) -> None:
    sm, v1, v2, alias = _moved(world)
    assert world.policies("OldRole") == {"inline": {}, "attached": []}  # the move took the machine's policy off

    world.counter.reset()
    result = world.invoke(_alias_event("CreateStateMachineAlias", alias))
    assert result["status"] == "written" and result["roleArn"].endswith(":role/stepfunctions/NewRole")
    # DescribeStateMachine x4 (the machine, versions 1 and 2, the re-check), ListStateMachineAliases,
    # DescribeStateMachineAlias, the ledger claim, GetRole, ListRolePolicies, GetRolePolicy (NewRole's policy is
    # unchanged) = 10; for OldRole the ledger's add_roles, GetRole, ListRolePolicies and PutRolePolicy = 4
    assert world.counter.own() == 14, dict(world.counter.calls)
    assert world.counter.calls["iam:GetRole"] == 2 and world.counter.calls["dynamodb:UpdateItem"] == 2
    assert {"kind": "put-inline", "role": "OldRole", "policy": VERSION, "applied": True} in result["changes"]
    assert "VERSION_ROLE_DIFFERS" not in {f["code"] for f in result["findings"]}
    assert set(world.policies("OldRole")["inline"]) == {VERSION}  # the version's policy only, not the machine's
    _v1_only_on_old_role(world)
    assert _ledger_roles() == {"OldRole", "NewRole"}

    # the deployment completes: all traffic on version 2, version 1's policy leaves OldRole (and the ledger)
    result = _route(world, alias, [(v2, 100)])
    assert {"kind": "delete-inline", "role": "OldRole", "policy": VERSION, "applied": True} in result["changes"]
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert _ledger_roles() == {"NewRole"}
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})

    # rolled back: 100 % on version 1, whose policy is back on OldRole; the latest definition stays on NewRole
    assert _route(world, alias, [(v1, 100)])["status"] == "written"
    _v1_only_on_old_role(world)

    # the machine is deleted: every policy of it goes, on both roles, and so does its ledger entry
    world.sfn.delete_state_machine(stateMachineArn=sm)
    removed = world.invoke(sandbox.patch_event(sandbox.load_event("delete_state_machine.json"), state_machine_arn=sm))
    assert removed["status"] == "removed"
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert world.policies("NewRole") == {"inline": {}, "attached": []}
    assert ledger_item("sfn-iam.us-east-1.Moved") is None


def test_an_execution_of_the_old_version_keeps_its_grants_on_its_role_after_the_alias_moved(world: World) -> None:
    sm, _, v2, alias = _moved(world)
    world.invoke(_alias_event("CreateStateMachineAlias", alias))
    execution = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    world.sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v2, "weight": 100}])
    moved = _alias_event("UpdateStateMachineAlias", alias, [(v2, 100)])
    moved["time"] = moved["detail"]["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = world.invoke(moved)
    assert "RETIRING_KEPT" in {f["code"] for f in result["findings"]}
    assert set(world.policies("OldRole")["inline"]) == {"sfn-iam.us-east-1.Moved,retiring"}
    held = list(world.policies("OldRole")["inline"].values())
    assert is_allowed(held, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert not is_allowed(held, "sns:Publish", TOPIC, {})
    world.sfn.stop_execution(executionArn=execution)
    assert world.invoke(_alias_event("UpdateStateMachineAlias", alias, [(v2, 100)]))["status"] == "removed"
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert _ledger_roles() == {"NewRole"}


def test_deleting_the_alias_removes_the_version_policy(world: World) -> None:
    _, _, _, alias = _moved(world)
    world.invoke(_alias_event("CreateStateMachineAlias", alias))
    assert VERSION in world.policies("OldRole")["inline"]
    world.sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert world.invoke(_alias_event("DeleteStateMachineAlias", alias))["status"] == "removed"
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})


def test_a_routed_version_under_a_role_out_of_scope_is_reported_and_nothing_is_written_there(world: World) -> None:
    _, _, _, alias = _moved(world, old_role="Legacy", old_path="/legacy/")  # outside the fixer's role path
    before = world.policies("Legacy")
    result = world.invoke(_alias_event("CreateStateMachineAlias", alias))
    differs = [f["message"] for f in result["findings"] if f["code"] == "VERSION_ROLE_DIFFERS"]
    assert len(differs) == 1 and "not under the path" in differs[0] and ":Moved:1" in differs[0]
    assert world.policies("Legacy") == before
    assert not [c for c in result["changes"] if c["role"] == "Legacy"]
    assert _ledger_roles() == {"NewRole"}
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})


def test_report_mode_proposes_the_version_policy_and_writes_nothing(world: World) -> None:
    _, _, _, alias = _moved(world)
    rt = world.app.runtime()
    reporter = RoleFixer(rt.wiring.machines, rt.wiring.roles, rt.wiring.settings._replace(mode=Mode.REPORT),
                         ledger=rt.wiring.ledger, region=REGION)
    outcome = reporter.handle_event(_alias_event("CreateStateMachineAlias", alias)).to_dict()
    assert outcome["status"] == "proposed"
    assert {"kind": "put-inline", "role": "OldRole", "policy": VERSION, "applied": False} in outcome["changes"]
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert _ledger_roles() == {"NewRole"}


def test_a_version_policy_refused_for_size_is_reported_and_nothing_else_is_written(world: World) -> None:
    _, _, _, alias = _moved(world)
    filler = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{'b' * 10060}/*"}]}
    world.iam.put_role_policy(RoleName="OldRole", PolicyName="team-policy", PolicyDocument=json.dumps(filler))
    result = world.invoke(_alias_event("CreateStateMachineAlias", alias))
    assert "VERSION_NOT_PLACED" in {f["code"] for f in result["findings"]}
    assert result["maxSeverity"] in ("HIGH", "CRITICAL")
    assert set(world.policies("OldRole")["inline"]) == {"team-policy"}
    assert world.policies("OldRole")["attached"] == []


def test_the_sweep_leaves_a_correct_version_policy_alone_and_rewrites_an_edited_one(world: World) -> None:
    _, _, _, alias = _moved(world)
    world.invoke(_alias_event("CreateStateMachineAlias", alias))
    written = _version_docs(world, "OldRole")
    first = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert not first.orphans and first.writes == 0
    assert not [f for o in first.all_outcomes for f in o.findings if f.code in ("DRIFT", "RESIDUAL_ACCESS")]
    assert _version_docs(world, "OldRole") == written

    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    world.iam.put_role_policy(RoleName="OldRole", PolicyName=VERSION, PolicyDocument=json.dumps(widened))
    second = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    drift = [f.message for o in second.outcomes for f in o.findings if f.code == "DRIFT"]
    assert len(drift) == 1 and VERSION in drift[0]
    assert _version_docs(world, "OldRole") == written
    _v1_only_on_old_role(world)


def test_the_sweep_removes_the_version_policy_of_a_deleted_machine_as_an_orphan(world: World) -> None:
    sm, _, _, alias = _moved(world)
    world.invoke(_alias_event("CreateStateMachineAlias", alias))
    world.sfn.delete_state_machine(stateMachineArn=sm)  # no delete event reaches the fixer
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=sandbox.FIXER_ENV["LEDGER_TABLE_NAME"], Key={"pk": {"S": "sfn-iam.us-east-1.Moved"}})
    result = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert result.orphans
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert world.policies("NewRole") == {"inline": {}, "attached": []}


# -- cost: a machine without aliases elsewhere pays nothing for them --------------------------------------------------

def test_routed_versions_under_the_machine_role_cost_no_call_more(world: World) -> None:
    role = world.role("CanaryRole")
    created = world.sfn.create_state_machine(name="Canary", definition=V1, roleArn=role, publish=True)
    sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    world.invoke(sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=sm,
                                     role_arn=role))
    v2 = world.sfn.update_state_machine(stateMachineArn=sm, definition=V2, publish=True)["stateMachineVersionArn"]
    alias = world.sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 90}, {"stateMachineVersionArn": v2, "weight": 10}])[
        "stateMachineAliasArn"]
    world.counter.reset()
    assert world.invoke(_alias_event("CreateStateMachineAlias", alias))["status"] == "written"
    # DescribeStateMachine, ListStateMachineAliases, DescribeStateMachineAlias, 2 DescribeStateMachine (versions),
    # the ledger claim, GetRole, ListRolePolicies, PutRolePolicy, DescribeStateMachine (re-check): as before version
    # policies existed
    assert world.counter.own() == COST_SAME_ROLE_ALIAS, dict(world.counter.calls)
    assert world.counter.calls["dynamodb:UpdateItem"] == 1  # the claim only: no version role to record
