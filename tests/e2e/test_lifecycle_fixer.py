"""Lifecycle, round two, the fixer's side: sequences of ordinary actions (deploy, update, delete, publish versions,
move aliases, start executions, share roles) that must not leave another machine's grants touched, or keep, lose or
hide grants. Each test drives the real handler on moto through the sequence and asserts the final IAM state and the
published outcomes."""

from __future__ import annotations

import json
from typing import Any

from scripts import sandbox
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
