"""Leaving scope does not freeze grants silently, on moto through the real fixer and sweeper: when a role is opted
out or tagged out of scope, the policies the fixer wrote there stay visible. The ledger keeps them, every sweep
reports them (``ORPHANED_GRANT``) while the machine exists and after it is deleted, and the delete of the machine
says it could not remove them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from scripts import sandbox

from .conftest import World

BASE = "sfn-iam.us-east-1.orders"


@pytest.fixture
def sweeper(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    # One worker: moto in-process is not thread-safe (tests/e2e/moto_serial.py); this file is not about concurrency.
    monkeypatch.setenv("IAM_CALLS_PER_SECOND", "100")
    monkeypatch.setenv("SWEEP_WORKERS", "1")
    app = sandbox.load_handler("role_sweeper")

    def run() -> list[dict[str, Any]]:
        app.lambda_handler({}, sandbox.FakeContext())
        return world.published()

    return run


def deliver(world: World, name: str, sm: str, role: str | None = None) -> dict[str, Any]:
    return world.invoke(sandbox.patch_event(sandbox.load_event(name), state_machine_arn=sm, role_arn=role))


def ledger_roles() -> set[str]:
    item = boto3.client("dynamodb", region_name=sandbox.REGION).get_item(
        TableName=sandbox.FIXER_ENV["LEDGER_TABLE_NAME"], Key={"pk": {"S": BASE}}, ConsistentRead=True).get("Item")
    return set(item["roles"]["SS"]) if item and "roles" in item else set()


def orphaned(detail: dict[str, Any]) -> list[str]:
    return [f["message"] for f in detail["findings"] if f["code"] == "ORPHANED_GRANT"]


def per_machine(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["detail-type"] != "Sweep Completed"]


def test_an_opted_out_role_keeps_reporting_the_grant_until_it_is_removed(world: World, sweeper: Any) -> None:
    role = world.role("orders-role")
    sm = world.machine("orders", "order_processing.asl.json", role)
    assert deliver(world, "create_state_machine.json", sm, role)["status"] == "written"
    world.published()
    world.iam.tag_role(RoleName="orders-role", Tags=[{"Key": "sfn-iam:opt-out", "Value": "true"}])

    # The machine still exists: the sweep skips it, and says its old grant stays frozen on the role.
    [news] = per_machine(sweeper())
    assert news["detail"]["status"] == "skipped" and news["detail"]["reason"] == "ROLE_OUT_OF_SCOPE"
    [message] = orphaned(news["detail"])
    assert BASE in message and role in message and "opt-out" in message
    assert BASE in world.policies("orders-role")["inline"]  # nothing written to an opted-out role

    # Deleted: the policy cannot be removed from an opted-out role; the delete says so and the ledger keeps it.
    world.sfn.delete_state_machine(stateMachineArn=sm)
    deleted = deliver(world, "delete_state_machine.json", sm)
    assert deleted["status"] == "skipped" and orphaned(deleted) and "ORPHANED_GRANT" in deleted["message"]
    assert BASE in world.policies("orders-role")["inline"] and ledger_roles() == {"orders-role"}

    # Every sweep knows it: reported once as news (an orphan that could not be removed), then counted, not repeated.
    world.published()
    [orphan] = per_machine(sweeper())
    assert orphan["detail"]["policyName"] == BASE and orphaned(orphan["detail"])
    assert ledger_roles() == {"orders-role"}
    assert per_machine(sweeper()) == []

    # Opted back in: the next sweep removes it, and the ledger forgets it.
    world.iam.untag_role(RoleName="orders-role", TagKeys=["sfn-iam:opt-out"])
    [removed] = per_machine(sweeper())
    assert removed["detail"]["status"] == "removed" and BASE not in world.policies("orders-role")["inline"]
    assert ledger_roles() == set()


def test_a_role_tagged_out_of_scope_outside_the_path_is_still_found(world: World, sweeper: Any) -> None:
    """Adopted by tag outside the role path, then untagged: the sweep's listing of the roles that carry our policies
    must not stop at the path, or the grant would be invisible for ever."""
    role = world.role("legacy-role", path="/", tags={"sfn-iam:managed": "true"})
    sm = world.machine("orders", "order_processing.asl.json", role)
    assert deliver(world, "create_state_machine.json", sm, role)["status"] == "written"
    world.iam.untag_role(RoleName="legacy-role", TagKeys=["sfn-iam:managed"])
    world.sfn.delete_state_machine(stateMachineArn=sm)
    deleted = deliver(world, "delete_state_machine.json", sm)
    assert orphaned(deleted) and ledger_roles() == {"legacy-role"}
    assert BASE in world.policies("legacy-role")["inline"]
    world.published()
    [orphan] = per_machine(sweeper())
    assert orphan["detail"]["policyName"] == BASE
    [message] = orphaned(orphan["detail"])
    assert role in message and "not under the path" in message
