"""Lifecycle, round two, the fixer's side: sequences of ordinary actions (deploy, update, delete, publish versions,
move aliases, start executions, share roles) that must not leave another machine's grants touched, or keep, lose or
hide grants. Each test drives the real handler on moto through the sequence and asserts the final IAM state and the
published outcomes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto.stepfunctions.models import stepfunctions_backends

from scripts import sandbox
from sfn_iam.aws.ledger import DynamoDbLedger
from sfn_iam.engine import policy
from sfn_iam.fixing import naming
from tests.evaluate import is_allowed

from .conftest import World
from .test_concurrency import documents
from .test_versions import LEGACY_QUEUE, TOPIC, V1, V2, _alias_event, _moved, _version_docs

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT


def _event(file: str, sm: str, role: str | None = None) -> dict[str, Any]:
    return sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm, role_arn=role)


def _codes(outcome: dict[str, Any]) -> set[str]:
    return {f["code"] for f in outcome.get("findings", [])}


# -- 6. a repeated CreateStateMachine is not a new machine ------------------------------------------------------

def test_a_repeated_create_keeps_the_grants_of_the_versions_an_alias_routes_to(world: World) -> None:
    role = world.role("CanaryRole")
    created = world.sfn.create_state_machine(name="Canary", definition=V1, roleArn=role, publish=True)
    sm, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    assert world.invoke(_event("create_state_machine.json", sm, role))["status"] == "written"
    v2 = world.sfn.update_state_machine(stateMachineArn=sm, definition=V2, publish=True)["stateMachineVersionArn"]
    assert world.invoke(_event("update_state_machine_definition.json", sm))["status"] == "written"
    alias = world.sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 90}, {"stateMachineVersionArn": v2, "weight": 10}])[
        "stateMachineAliasArn"]
    assert world.invoke(_alias_event("CreateStateMachineAlias", alias))["status"] == "written"
    assert is_allowed(documents(world, "CanaryRole", "Canary"), "sqs:SendMessage", LEGACY_QUEUE, {})

    # WHEN the same CreateStateMachine is sent again (Step Functions answers with the existing machine) and
    # CloudTrail records it as a create
    again = world.sfn.create_state_machine(name="Canary", definition=V2, roleArn=role)
    assert again["stateMachineArn"] == sm
    world.published()
    result = world.invoke(_event("create_state_machine.json", sm, role))

    # THEN the version the alias still routes 90 % of executions to keeps its grants, and so does the latest
    docs = documents(world, "CanaryRole", "Canary")
    assert is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})
    assert result["status"] == "unchanged"
    published = world.published()
    assert [p["detail"]["status"] for p in published] == ["unchanged"]


def test_a_repeated_create_keeps_the_version_policy_on_the_role_a_routed_version_runs_under(world: World) -> None:
    sm, _, _, alias = _moved(world)
    assert world.invoke(_alias_event("CreateStateMachineAlias", alias))["status"] == "written"
    assert is_allowed(_version_docs(world, "OldRole"), "sqs:SendMessage", LEGACY_QUEUE, {})

    again = world.sfn.create_state_machine(name="Moved", definition=V2, roleArn=world.iam.get_role(
        RoleName="NewRole")["Role"]["Arn"])
    assert again["stateMachineArn"] == sm
    result = world.invoke(_event("create_state_machine.json", sm, again.get("roleArn")))

    assert result["status"] == "unchanged", result
    assert is_allowed(_version_docs(world, "OldRole"), "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})


# -- 1. a policy name belongs to exactly one machine -------------------------------------------------------------

ORDERS = "order_processing.asl.json"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"


def _grants_orders(world: World, role: str, base: str) -> bool:
    return is_allowed([d for n, d in world.policies(role)["inline"].items() if n == base], "dynamodb:PutItem",
                      TABLE, {})


def test_no_machine_can_be_named_into_another_machine_s_policy_name(world: World) -> None:
    # GIVEN a machine whose name IAM does not allow in a policy name (its policy name is hashed)
    victim_role, attacker_role = world.role("VictimRole"), world.role("AttackerRole")
    victim = world.machine("Orders(eu)", ORDERS, victim_role)
    assert world.invoke(_event("create_state_machine.json", victim, victim_role))["status"] == "written"
    (base,) = world.policies("VictimRole")["inline"]
    # WHEN another team names machines after every shape of that name: the readable form of the hashed name, the
    # old (12-digit) hashed form, and an overflow-looking one, and deploys, updates and deletes them
    shapes = {base.removeprefix(f"sfn-iam.{REGION}.").replace(",", "."),
              "Orders_eu_." + hashlib.sha256(victim.encode()).hexdigest()[:12],  # the hashed form of earlier releases
              base.removeprefix(f"sfn-iam.{REGION}.").split(",")[0] + ".1"}
    for name in sorted(shapes):
        attacker = world.machine(name, ORDERS, attacker_role)
        created = world.invoke(_event("create_state_machine.json", attacker, attacker_role))
        assert created["status"] == "written" and created["policyName"] != base
        world.sfn.update_state_machine(stateMachineArn=attacker, definition=V2)
        world.invoke(_event("update_state_machine_definition.json", attacker))
        world.sfn.delete_state_machine(stateMachineArn=attacker)
        assert world.invoke(_event("delete_state_machine.json", attacker))["status"] == "removed"
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    # THEN the first machine's policy is where it was, whole
    assert list(world.policies("VictimRole")["inline"]) == [base]
    assert _grants_orders(world, "VictimRole", base)
    assert world.policies("AttackerRole") == {"inline": {}, "attached": []}


def test_a_name_from_an_earlier_release_stays_its_machine_s_until_adopted(world: World) -> None:
    # GIVEN what the previous release left: the machine's policy under its old hashed name, and its ledger entry
    victim_role, attacker_role = world.role("VictimRole"), world.role("AttackerRole")
    victim = world.machine("Orders(eu)", ORDERS, victim_role)
    legacy = naming.legacy_name("sfn-iam.", victim)
    assert legacy is not None and naming.ambiguous(legacy)
    written = world.invoke(_event("create_state_machine.json", victim, victim_role))
    document = world.policies("VictimRole")["inline"][written["policyName"]]
    world.iam.delete_role_policy(RoleName="VictimRole", PolicyName=written["policyName"])
    world.iam.put_role_policy(RoleName="VictimRole", PolicyName=legacy, PolicyDocument=json.dumps(document))
    ledger = DynamoDbLedger(boto3.client("dynamodb", region_name=REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
    ledger.take(written["policyName"])
    ledger.claim(legacy, victim, "VictimRole", "", "", (document,), aliases=False)

    # WHEN another machine is named so that its readable policy name is that old name
    attacker = world.machine(legacy.removeprefix(f"sfn-iam.{REGION}."), ORDERS, attacker_role)
    world.published()
    refused = world.invoke(_event("create_state_machine.json", attacker, attacker_role))
    # THEN its events write, claim and remove nothing under that name
    assert (refused["status"], refused["reason"]) == ("skipped", "POLICY_NAME_TAKEN")
    assert "POLICY_NAME_TAKEN" in _codes(refused)
    assert [p["detail"]["reason"] for p in world.published()] == ["POLICY_NAME_TAKEN"]
    assert world.policies("AttackerRole") == {"inline": {}, "attached": []}
    assert _grants_orders(world, "VictimRole", legacy)
    world.sfn.update_state_machine(stateMachineArn=attacker, definition=V2, roleArn=victim_role)
    moved = world.invoke(_event("update_state_machine_role.json", attacker, victim_role))
    assert (moved["status"], moved["reason"]) == ("skipped", "POLICY_NAME_TAKEN")
    assert _grants_orders(world, "VictimRole", legacy)
    world.sfn.delete_state_machine(stateMachineArn=attacker)
    deleted_while_taken = world.invoke(_event("delete_state_machine.json", attacker))
    assert deleted_while_taken["status"] == "skipped" and _grants_orders(world, "VictimRole", legacy)
    assert ledger.get(legacy) is not None and ledger.get(legacy).arn == victim  # type: ignore[union-attr]

    # AND the machine's next event adopts it: its policy under its own name, the old one removed (the ledger
    # entry recorded this machine)
    world.sfn.update_state_machine(stateMachineArn=victim, definition=(sandbox.EXAMPLES / ORDERS).read_text())
    adopted = world.invoke(_event("update_state_machine_definition.json", victim))
    assert list(world.policies("VictimRole")["inline"]) == [written["policyName"]]
    assert _grants_orders(world, "VictimRole", written["policyName"])
    assert {"kind": "delete-inline", "role": "VictimRole", "policy": legacy, "applied": True} in adopted["changes"]
    assert ledger.get(legacy) is None
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert list(world.policies("VictimRole")["inline"]) == [written["policyName"]]
    assert _grants_orders(world, "VictimRole", written["policyName"])


# -- 2. a role is its RoleId, not its name ----------------------------------------------------------------------

def _recreate(world: World, name: str) -> str:
    """Delete the role (as its team would: its policies first) and create another one under the same name."""
    before = world.iam.get_role(RoleName=name)["Role"]["RoleId"]
    for inline in world.iam.list_role_policies(RoleName=name)["PolicyNames"]:
        world.iam.delete_role_policy(RoleName=name, PolicyName=inline)
    world.iam.delete_role(RoleName=name)
    arn = world.role(name)
    assert world.iam.get_role(RoleName=name)["Role"]["RoleId"] != before
    return arn


def test_a_role_created_again_under_the_same_name_gets_no_grants_until_the_machine_names_it(world: World) -> None:
    role = world.role("OrdersRole")
    sm = world.machine("Orders", ORDERS, role)
    assert world.invoke(_event("create_state_machine.json", sm, role))["status"] == "written"
    # WHEN the role is deleted and another team creates a role under the same name
    assert _recreate(world, "OrdersRole") == role
    # THEN neither the machine's next event nor the sweep writes the machine's grants onto it
    world.published()
    world.sfn.update_state_machine(stateMachineArn=sm, definition=(sandbox.EXAMPLES / ORDERS).read_text())
    refused = world.invoke(_event("update_state_machine_definition.json", sm))
    assert (refused["status"], refused["reason"]) == ("skipped", "ROLE_REPLACED") and "ROLE_REPLACED" in _codes(
        refused)
    assert [p["detail"]["reason"] for p in world.published()] == ["ROLE_REPLACED"]
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}
    # AND once the machine's team points the machine at the role again (an update naming it), it is adopted
    world.sfn.update_state_machine(stateMachineArn=sm, roleArn=role)
    adopted = world.invoke(_event("update_state_machine_role.json", sm, role))
    assert adopted["status"] == "written"
    assert _grants_orders(world, "OrdersRole", "sfn-iam.us-east-1.Orders")


def test_a_routed_version_s_role_created_again_gets_no_version_policy(world: World) -> None:
    _, _, _, alias = _moved(world)
    assert world.invoke(_alias_event("CreateStateMachineAlias", alias))["status"] == "written"
    assert _version_docs(world, "OldRole")
    _recreate(world, "OldRole")
    result = world.invoke(_alias_event("UpdateStateMachineAlias", alias))
    assert "ROLE_REPLACED" in _codes(result), result
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert world.policies("OldRole") == {"inline": {}, "attached": []}
    assert is_allowed(documents(world, "NewRole", "Moved"), "sns:Publish", TOPIC, {})


# -- 8. retiring policies keep only what still-running executions need ----------------------------------------

THIRD_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:third"
V3 = json.dumps({"StartAt": "Send", "States": {"Send": {
    "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
    "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/third", "MessageBody.$": "$"}}}})


def _at(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _started(world: World, sm: str, minutes_ago: int) -> str:
    """Start an execution and date it ``minutes_ago`` (moto dates it now; the test cannot wait hours)."""
    arn: str = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    execution = stepfunctions_backends[ACCOUNT][REGION]._get_state_machine_for_execution(arn)
    found = [e for e in execution.executions if e.execution_arn == arn]
    found[0].start_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=minutes_ago)
    return arn


def _deploy(world: World, sm: str, definition: str, minutes_ago: int) -> dict[str, Any]:
    world.sfn.update_state_machine(stateMachineArn=sm, definition=definition)
    event = _event("update_state_machine_definition.json", sm)
    event["time"] = event["detail"]["eventTime"] = _at(minutes_ago)
    return world.invoke(event)


def test_a_new_execution_before_each_deploy_does_not_carry_every_past_definition_forward(world: World) -> None:
    role = world.role("OrdersRole")
    sm = world.sfn.create_state_machine(name="Orders", definition=V1, roleArn=role)["stateMachineArn"]
    create = _event("create_state_machine.json", sm, role)
    create["time"] = create["detail"]["eventTime"] = _at(300)
    assert world.invoke(create)["status"] == "written"
    retiring = "sfn-iam.us-east-1.Orders,retiring"

    def kept() -> list[dict[str, Any]]:
        return [d for n, d in world.policies("OrdersRole")["inline"].items() if n == retiring]

    # an execution of version 1's definition, then a deploy: its grants retire, kept for it
    first = _started(world, sm, 200)
    assert "RETIRING_KEPT" in _codes(_deploy(world, sm, V2, 180))
    assert is_allowed(kept(), "sqs:SendMessage", LEGACY_QUEUE, {})
    # the attacker's rhythm: the old execution ends, a new one starts before the next deploy
    world.sfn.stop_execution(executionArn=first)
    second = _started(world, sm, 120)
    third_deploy = _deploy(world, sm, V3, 100)
    assert "RETIRING_KEPT" in _codes(third_deploy)
    # only the definition the running execution started under keeps its grants
    assert is_allowed(kept(), "sns:Publish", TOPIC, {})
    assert not is_allowed(kept(), "sqs:SendMessage", LEGACY_QUEUE, {})
    world.sfn.stop_execution(executionArn=second)
    third = _started(world, sm, 60)
    _deploy(world, sm, V1, 40)
    assert is_allowed(kept(), "sqs:SendMessage", THIRD_QUEUE, {})
    assert not is_allowed(kept(), "sns:Publish", TOPIC, {})
    # and once it ends, nothing is kept at all
    world.sfn.stop_execution(executionArn=third)
    world.published()
    last = _deploy(world, sm, V2, 10)
    assert kept() == [] and "RETIRING_REMOVED" in _codes(last)
    assert is_allowed(documents(world, "OrdersRole", "Orders"), "sns:Publish", TOPIC, {})
    assert [p["detail"]["status"] for p in world.published()] == ["written"]


# -- 5. a shared role's quota is not a weapon ------------------------------------------------------------------

def _fill(world: World, role: str, name: str, room: int) -> None:
    """A hand-written inline policy taking all of the role's inline budget but ``room`` characters."""
    used = sum(policy.size(d) for d in world.policies(role)["inline"].values())
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::filler/"}]}
    doc["Statement"][0]["Resource"] += "x" * (policy.INLINE_LIMIT - room - used - policy.size(doc))
    world.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))


def test_machines_arriving_on_a_full_shared_role_evict_nothing_another_machine_holds(world: World) -> None:
    role = world.role("SharedRole")
    for n in range(10):  # the attached-policy quota taken by hand: no managed overflow either
        arn = world.iam.create_policy(PolicyName=f"team-{n}", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                    "Resource": f"arn:aws:s3:::team-{n}"}]}))["Policy"]["Arn"]
        world.iam.attach_role_policy(RoleName="SharedRole", PolicyArn=arn)
    first = world.machine("Orders", ORDERS, role)
    assert world.invoke(_event("create_state_machine.json", first, role))["status"] == "written"
    _fill(world, "SharedRole", "team-filler", room=40)

    # WHEN machines arrive on the full role, one after the other and through the sweep
    newcomers = [world.machine(f"Newcomer{n}", ORDERS, role) for n in range(2)]
    world.published()
    outcomes = [world.invoke(_event("create_state_machine.json", sm, role)) for sm in newcomers]
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    # THEN each newcomer is refused with its finding, and the machine already there keeps its grants
    assert [(o["status"], o["reason"]) for o in outcomes] == [("skipped", "POLICY_TOO_LARGE")] * 2
    assert [p["detail"]["reason"] for p in world.published()] == ["POLICY_TOO_LARGE"] * 2
    assert _grants_orders(world, "SharedRole", "sfn-iam.us-east-1.Orders")
    assert sorted(world.policies("SharedRole")["inline"]) == ["sfn-iam.us-east-1.Orders", "team-filler"]

    # AND when the machine already there grows and no longer fits, it keeps what it holds and still needs
    world.sfn.update_state_machine(stateMachineArn=first,
                                   definition=(sandbox.EXAMPLES / "order_processing_v2.asl.json").read_text())
    grown = world.invoke(_event("update_state_machine_definition.json", first))
    assert (grown["status"], grown["reason"]) == ("skipped", "POLICY_TOO_LARGE")
    assert "STILL_NEEDED_KEPT" in _codes(grown)
    assert _grants_orders(world, "SharedRole", "sfn-iam.us-east-1.Orders")
    assert not is_allowed(list(world.policies("SharedRole")["inline"].values()), "sqs:SendMessage",
                          f"arn:aws:sqs:{REGION}:{ACCOUNT}:fulfilment", {})
