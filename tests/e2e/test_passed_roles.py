"""Passed and assumed literal roles on moto, through the real handler: an admin-equivalent role is refused.

A workflow that may pass a role to EMR, ECS or EventBridge, or assume it (``Credentials.RoleArn``), gets that role's
power. The deployed fixer reads each such role of its account (inline, attached and boundary policies) and refuses
an admin-equivalent, missing or unreadable one with a high ``ROLE_NOT_PASSABLE`` finding; the rest of the definition
is still granted. Checked at the level of requests, with the ``iam:PassedToService`` IAM would see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scripts import sandbox
from tests.evaluate import is_allowed

from .conftest import World

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT
PATH = sandbox.ROLE_PATH  # inside the default passable patterns (the roles under the fixer's path)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify"
MACHINE_ROLE = "JobsRole"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


STAR = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
IAM_STAR = _doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
BENIGN = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"})


@pytest.fixture
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto ships AWS managed policies (AdministratorAccess) but loads them only when asked to."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def _arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role{PATH}{name}"


def _role(world: World, name: str, variant: str) -> str:
    arn = world.role(name)
    if variant == "AdministratorAccess":
        world.iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY)
    else:
        document = {"Action *": STAR, "iam:*": IAM_STAR, "benign": BENIGN}[variant]
        world.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document)
    return arn


def _task(resource: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **extra}


def emr(role: str) -> dict[str, Any]:
    return _task("arn:aws:states:::elasticmapreduce:createCluster.sync", {
        "Name": "c", "ReleaseLabel": "emr-7.0.0", "ServiceRole": role, "JobFlowRole": "EMR_EC2_DefaultRole",
        "Instances": {}})


def ecs(role: str) -> dict[str, Any]:
    return _task("arn:aws:states:::ecs:runTask.sync", {
        "Cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c", "LaunchType": "FARGATE",
        "TaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/td:1",
        "Overrides": {"TaskRoleArn": role}})


def targets(role: str) -> dict[str, Any]:
    return _task("arn:aws:states:::aws-sdk:eventbridge:putTargets", {"Rule": "r", "Targets": [
        {"Id": "1", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "RoleArn": role}]})


def assume(role: str) -> dict[str, Any]:
    return _task("arn:aws:states:::lambda:invoke", {"FunctionName": f"{FUNCTION}-as-role"},
                 Credentials={"RoleArn": role})


CLASSES = {  # state, action, iam:PassedToService ("" for sts:AssumeRole)
    "emr": (emr, "iam:PassRole", "elasticmapreduce.amazonaws.com"),
    "ecs": (ecs, "iam:PassRole", "ecs-tasks.amazonaws.com"),
    "eventbridge": (targets, "iam:PassRole", "events.amazonaws.com"),
    "credentials": (assume, "sts:AssumeRole", ""),
}


@pytest.fixture(autouse=True)
def targets_approved(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The account's administrator approved EventBridge targets (outside the default ceiling): the ceiling policy gets
    a new version naming ``events:PutTargets`` and the stack uses it as its own (CeilingPolicyArn), so what these
    tests judge is the role passed, not the call."""
    sandbox.extend_ceiling(world.iam, {"Effect": "Allow", "Action": "events:PutTargets", "Resource": "*"})
    monkeypatch.setenv("CUSTOM_CEILING", "true")


def _fix(world: World, state: dict[str, Any]) -> dict[str, Any]:
    machine_role = world.role(MACHINE_ROLE)
    definition = {"StartAt": "Use", "States": {
        "Use": {**state, "Next": "Notify"},
        "Notify": _task("arn:aws:states:::lambda:invoke", {"FunctionName": FUNCTION}, End=True)}}
    sm = world.sfn.create_state_machine(name="Jobs", definition=json.dumps(definition),
                                        roleArn=machine_role)["stateMachineArn"]
    event = sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=sm,
                                role_arn=machine_role)
    return world.invoke(event)


def _granted(world: World) -> list[dict[str, Any]]:
    return [d for n, d in world.policies(MACHINE_ROLE)["inline"].items() if n.startswith("sfn-iam.")]


def _requested(world: World, action: str, role: str, service: str) -> bool:
    return is_allowed(_granted(world), action, role, {"iam:PassedToService": service} if service else {})


def _refusals(result: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["code"] == "ROLE_NOT_PASSABLE" and role in f["message"]]


# Every class and every way of being admin once, through the real adapters; tests/fixing/test_passed_roles.py runs
# the whole class x variant matrix over the fakes (loading moto's AWS managed policies costs ~3 s a test).
@pytest.mark.parametrize(("kind", "variant"), [
    pytest.param("emr", "AdministratorAccess", marks=pytest.mark.aws_managed_policies),
    ("ecs", "Action *"), ("eventbridge", "iam:*"), ("credentials", "Action *"), ("credentials", "iam:*")])
def test_an_admin_equivalent_role_is_refused_and_the_rest_granted(world: World, kind: str, variant: str) -> None:
    make, action, service = CLASSES[kind]
    admin = _role(world, "Admin", variant)
    result = _fix(world, make(admin))
    assert result["status"] == "written", result
    assert not _requested(world, action, admin, service)
    found = _refusals(result, admin)
    assert found and all(f["severity"] == "HIGH" and "admin-equivalent" in f["message"] for f in found), result
    assert is_allowed(_granted(world), "lambda:InvokeFunction", FUNCTION)  # the benign state


@pytest.mark.parametrize("kind", CLASSES)
def test_a_non_admin_role_in_the_patterns_is_granted_for_its_service(world: World, kind: str) -> None:
    make, action, service = CLASSES[kind]
    worker = _role(world, "Worker", "benign")
    world.counter.reset()
    result = _fix(world, make(worker))
    assert _requested(world, action, worker, service)
    assert not _requested(world, action, _arn("Worker2"), service)
    if service:
        assert not _requested(world, action, worker, "lambda.amazonaws.com")
    assert not _refusals(result, worker)
    # each passed role's reads: GetRole, ListRolePolicies, GetRolePolicy (its one inline policy) or none,
    # ListAttachedRolePolicies; on top of the create's 5 (test_role_fixer.py), which lists nothing of the machine's own
    # role, and one PutRolePermissionsBoundary (the machine's fresh role gets the ceiling). EMR also passes
    # EMR_EC2_DefaultRole, a role of this account that is read (missing here: GetRole says so) like any other.
    passed = 2 if kind == "emr" else 1
    assert world.counter.calls["iam:ListRolePolicies"] == 1  # the passed role
    assert world.counter.own() <= 5 + 1 + 4 * passed


def test_a_role_that_does_not_exist_is_refused(world: World) -> None:
    result = _fix(world, ecs(_arn("NotYet")))
    assert not _requested(world, "iam:PassRole", _arn("NotYet"), "ecs-tasks.amazonaws.com")
    assert any("does not exist" in f["message"] for f in _refusals(result, _arn("NotYet")))
    assert is_allowed(_granted(world), "lambda:InvokeFunction", FUNCTION)


def test_access_denied_reading_the_role_refuses_it_and_does_not_fail(world: World) -> None:
    hidden = _role(world, "Hidden", "benign")
    rt = world.app.runtime()

    def deny(params: dict[str, Any], **_: Any) -> None:
        if params.get("RoleName") == "Hidden":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "ListRolePolicies")

    rt.wiring.clients.iam.meta.events.register("before-parameter-build.iam.ListRolePolicies", deny)
    try:
        result = _fix(world, targets(hidden))
    finally:
        rt.wiring.clients.iam.meta.events.unregister("before-parameter-build.iam.ListRolePolicies", deny)
    assert result["status"] == "written", result
    assert not _requested(world, "iam:PassRole", hidden, "events.amazonaws.com")
    assert any("AccessDenied" in f["message"] for f in _refusals(result, hidden))


@pytest.mark.aws_managed_policies
def test_an_instance_profile_resolved_to_an_admin_role_is_refused(world: World) -> None:
    """EMR's JobFlowRole names an instance profile; the facts step reads the role in it, which is then checked."""
    admin = _role(world, "ClusterAdmin", "AdministratorAccess")
    world.iam.create_instance_profile(InstanceProfileName="ClusterProfile")
    world.iam.add_role_to_instance_profile(InstanceProfileName="ClusterProfile", RoleName="ClusterAdmin")
    service = _role(world, "EmrService", "benign")
    state = emr(service)
    state["Parameters"]["JobFlowRole"] = "ClusterProfile"
    result = _fix(world, state)
    assert not _requested(world, "iam:PassRole", admin, "ec2.amazonaws.com")
    assert _refusals(result, admin)
    assert _requested(world, "iam:PassRole", service, "elasticmapreduce.amazonaws.com")


def test_a_permissions_boundary_that_caps_the_role_lets_it_be_passed(world: World) -> None:
    boundary = world.iam.create_policy(PolicyName="DataOnly", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::*"}),
    )["Policy"]["Arn"]
    capped = world.role("Capped")
    world.iam.put_role_policy(RoleName="Capped", PolicyName="p", PolicyDocument=STAR)
    world.iam.put_role_permissions_boundary(RoleName="Capped", PermissionsBoundary=boundary)
    result = _fix(world, ecs(capped))
    assert _requested(world, "iam:PassRole", capped, "ecs-tasks.amazonaws.com")
    assert not _refusals(result, capped)


def test_a_machine_passing_no_literal_role_reads_no_other_role(world: World) -> None:
    world.counter.reset()
    result = _fix(world, _task("arn:aws:states:::sqs:sendMessage", {
        "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", "MessageBody": "m"}))
    assert result["status"] == "written"
    assert world.counter.calls["iam:GetRole"] == 1  # the machine's own role
    assert world.counter.calls["iam:ListRolePolicies"] == 0  # a create lists nothing of its own role either
    assert world.counter.calls["iam:GetPolicy"] == 0


def test_an_emr_service_role_with_a_service_shaped_policy_is_passed(world: World) -> None:
    """Shaped like AWS's EMR service-role policy: launches instances with tags, passes two named roles to EC2."""
    service = world.role("EmrService")
    world.iam.put_role_policy(RoleName="EmrService", PolicyName="p", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/for-use-with-amazon-emr-managed-policies": "true"}}},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/EMR_EC2_DefaultRole",
         "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}}}))
    result = _fix(world, emr(service))
    # It launches instances and passes a role: beyond the default ceiling, so refused until an administrator names
    # it in the ceiling (test_a_role_the_ceiling_names_is_passed_unread).
    assert not _requested(world, "iam:PassRole", service, "elasticmapreduce.amazonaws.com")
    assert any("beyond the default ceiling" in f["message"] or "beyond the ceiling" in f["message"]
               for f in _refusals(result, service))


def test_a_role_the_ceiling_names_is_passed_unread(world: World) -> None:
    service = world.role("EmrService")
    world.iam.put_role_policy(RoleName="EmrService", PolicyName="p", PolicyDocument=STAR)
    sandbox.extend_ceiling(world.iam, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": service})
    world.counter.reset()
    result = _fix(world, emr(service))
    assert _requested(world, "iam:PassRole", service, "elasticmapreduce.amazonaws.com")
    assert not _refusals(result, service)
    assert not _requested(world, "iam:PassRole", _arn("EmrServiceOther"), "elasticmapreduce.amazonaws.com")
