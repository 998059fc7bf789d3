"""Adoption and residual access on moto, through the real handler.

A first deployment meets roles the fixer did not create: under ``/`` (SAM, CDK, Terraform) or ``/service-role/``
(the Step Functions console), often carrying ``AdministratorAccess`` or a hand-written ``Action: "*"``. Tagged
roles are adopted whatever their path; untagged ones are skipped with the policy they would need; the other
policies of an in-scope role are reported when they grant more than its machines need.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts import sandbox
from tests.evaluate import is_allowed

from .conftest import World

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
OTHER_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Payroll"
STAR = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TAG = {"sfn-iam:managed": "true"}


def _create(world: World, role: str, *, path: str = "/", tags: dict[str, str] | None = None,
            name: str = "OrderProcessing") -> tuple[str, str]:
    role_arn = world.role(role, path=path, tags=tags)
    sm = world.machine(name, "order_processing.asl.json", role_arn)
    return sm, role_arn


def _fix(world: World, sm: str, role_arn: str) -> dict[str, Any]:
    event = sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=sm,
                                role_arn=role_arn)
    return world.invoke(event)


def _ours(world: World, role: str) -> list[dict[str, Any]]:
    return [d for n, d in world.policies(role)["inline"].items() if n.startswith("sfn-iam.")]


@pytest.fixture
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto ships AWS managed policies (AdministratorAccess...) but loads them only when asked to."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def test_moto_ships_the_aws_managed_administrator_access(aws_managed_policies: None, world: World) -> None:
    version = world.iam.get_policy(PolicyArn=ADMIN)["Policy"]["DefaultVersionId"]
    document = world.iam.get_policy_version(PolicyArn=ADMIN, VersionId=version)["PolicyVersion"]["Document"]
    assert document["Statement"][0]["Action"] == "*"


# -- adoption ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/service-role/"])
def test_a_tagged_role_outside_the_path_is_adopted(world: World, path: str) -> None:
    sm, role_arn = _create(world, "TeamRole", path=path, tags=TAG)
    result = _fix(world, sm, role_arn)
    assert result["status"] == "written", result
    ours = _ours(world, "TeamRole")
    assert is_allowed(ours, "dynamodb:PutItem", TABLE)
    assert not is_allowed(ours, "dynamodb:PutItem", OTHER_TABLE)
    # nothing to report about the role; the example's SNS topic does not exist in moto, so its key is unknown
    above_low = {f["code"] for f in result["findings"] if f["severity"] not in ("INFO", "LOW")}
    assert above_low <= {"FACT_UNRESOLVED"}, result["findings"]


def test_a_tag_with_another_value_adopts_nothing(world: World) -> None:
    sm, role_arn = _create(world, "TeamRole", tags={"sfn-iam:managed": "false"})
    result = _fix(world, sm, role_arn)
    assert (result["status"], result["reason"]) == ("skipped", "ROLE_OUT_OF_SCOPE")
    assert world.policies("TeamRole") == {"inline": {}, "attached": []}


def test_an_untagged_role_outside_the_path_is_skipped_with_the_policy_it_would_need(world: World) -> None:
    sm, role_arn = _create(world, "LegacyRole")
    world.published()
    result = _fix(world, sm, role_arn)
    assert (result["status"], result["reason"]) == ("skipped", "ROLE_OUT_OF_SCOPE")
    assert world.policies("LegacyRole") == {"inline": {}, "attached": []}  # nothing written
    [finding] = [f for f in result["findings"] if f["code"] == "ROLE_OUT_OF_SCOPE"]
    assert "sfn-iam:managed=true" in finding["message"]
    # The outcome carries the policy to adopt: it allows what the workflow requests, and not the neighbour.
    [published] = world.published()
    documents = published["detail"]["documents"]
    assert documents and documents == result["documents"]
    assert is_allowed(documents, "dynamodb:PutItem", TABLE)
    assert is_allowed(documents, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:order-events")
    assert not is_allowed(documents, "dynamodb:PutItem", OTHER_TABLE)
    assert not is_allowed(documents, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:other-topic")


# -- residual access --------------------------------------------------------------------------------------------------
# An event judges the role's policies that placement listed (an update lists the inline ones; a create and a move onto
# a new role list nothing: call budget, docs/local-invoke.md); the sweep judges every in-scope role whole.

def _swept(world: World, sm: str) -> dict[str, Any]:
    """The sweep's outcome for ``sm`` (report only: RemoveResidualPolicies is off)."""
    result = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert not result.errors
    [outcome] = [o for o in result.outcomes if o.state_machine_arn == sm]
    found: dict[str, Any] = outcome.to_dict()
    return found


def _update(world: World, sm: str) -> dict[str, Any]:
    event = sandbox.patch_event(sandbox.load_event("update_state_machine_definition.json"), state_machine_arn=sm)
    return world.invoke(event)


def test_administrator_access_and_a_star_inline_policy_are_critical_and_our_policy_is_still_exact(
        aws_managed_policies: None, world: World) -> None:
    sm, role_arn = _create(world, "OrderRole", path=sandbox.ROLE_PATH)
    world.iam.attach_role_policy(RoleName="OrderRole", PolicyArn=ADMIN)
    world.iam.put_role_policy(RoleName="OrderRole", PolicyName="do-anything", PolicyDocument=STAR)
    assert _fix(world, sm, role_arn)["status"] == "written"
    result = _swept(world, sm)
    residual = [f for f in result["findings"] if f["code"] == "RESIDUAL_ACCESS"]
    assert {f["severity"] for f in residual} == {"CRITICAL"}
    assert any(ADMIN in f["message"] for f in residual)
    assert any("do-anything" in f["message"] for f in residual)
    assert result["maxSeverity"] == "CRITICAL"
    entries = {e["policyName"]: e for e in result["residualAccess"]}
    assert set(entries) == {"AdministratorAccess", "do-anything"}
    assert all(e["adminEquivalent"] and not e["removed"] for e in entries.values())
    # Our policy is still exactly the machine's: the request it makes, not its neighbour.
    ours = _ours(world, "OrderRole")
    assert is_allowed(ours, "dynamodb:PutItem", TABLE) and not is_allowed(ours, "dynamodb:PutItem", OTHER_TABLE)
    # Nothing else was touched: report, never remove (unless the sweep is told to).
    assert world.policies("OrderRole")["attached"] == ["AdministratorAccess"]
    assert "do-anything" in world.policies("OrderRole")["inline"]
    # An update event lists the role's inline policies: the star policy is reported right away, critical.
    world.published()
    update = _update(world, sm)
    [finding] = [f for f in update["findings"] if f["code"] == "RESIDUAL_ACCESS"]
    assert finding["severity"] == "CRITICAL" and "do-anything" in finding["message"]
    [published] = world.published()
    assert published["detail"]["maxSeverity"] == "CRITICAL"


def test_a_clean_role_has_no_residual_finding(world: World) -> None:
    sm, role_arn = _create(world, "OrderRole", path=sandbox.ROLE_PATH)
    result = _fix(world, sm, role_arn)
    assert result["status"] == "written"
    assert "RESIDUAL_ACCESS" not in {f["code"] for f in result["findings"]}
    assert result["residualAccess"] == []


def test_a_hand_written_policy_granting_only_what_the_machine_needs_is_not_residual(world: World) -> None:
    sm, role_arn = _create(world, "OrderRole", path=sandbox.ROLE_PATH)
    narrow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": f"arn:aws:sns:{REGION}:{ACCOUNT}:order-events"}]}
    world.iam.put_role_policy(RoleName="OrderRole", PolicyName="team-narrow", PolicyDocument=json.dumps(narrow))
    wider = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE}]}
    arn = world.iam.create_policy(PolicyName="team-wider", PolicyDocument=json.dumps(wider))["Policy"]["Arn"]
    world.iam.attach_role_policy(RoleName="OrderRole", PolicyArn=arn)
    assert _fix(world, sm, role_arn)["status"] == "written"
    result = _swept(world, sm)
    [finding] = [f for f in result["findings"] if f["code"] == "RESIDUAL_ACCESS"]
    assert finding["severity"] == "HIGH" and "team-wider" in finding["message"] and "dynamodb:*" in finding["message"]


def test_after_a_role_move_residual_access_is_judged_on_the_new_role(world: World) -> None:
    """The role the machine left carries nothing of its judgement; the new role is judged (by the sweep, and by the
    next event that lists it)."""
    sm, old_role = _create(world, "OldRole", path=sandbox.ROLE_PATH)
    assert _fix(world, sm, old_role)["status"] == "written"
    new_role = world.role("NewRole", path=sandbox.ROLE_PATH)
    world.iam.put_role_policy(RoleName="NewRole", PolicyName="team-star", PolicyDocument=STAR)
    world.sfn.update_state_machine(stateMachineArn=sm, roleArn=new_role)
    event = sandbox.patch_event(sandbox.load_event("update_state_machine_role.json"), state_machine_arn=sm,
                                role_arn=new_role)
    assert world.invoke(event)["status"] == "written"
    assert _ours(world, "OldRole") == [] and _ours(world, "NewRole")
    for result in (_swept(world, sm), _update(world, sm)):
        [finding] = [f for f in result["findings"] if f["code"] == "RESIDUAL_ACCESS"]
        assert finding["severity"] == "CRITICAL" and "team-star" in finding["message"]
