"""The role fixer refuses to pass or assume a literal role whose permissions do not fit inside the ceiling, an
admin-equivalent one above all (fixing/passable.py), over fake ports.

The EventBridge target and the Glue crawler calls are outside the default ceiling: the world's administrator
approved them (``APPROVED``), so that what is tested is the role, not the call.

Request-level: the documents written to the machine's role are evaluated for the request the workflow makes
(``iam:PassRole`` with the ``iam:PassedToService`` IAM would see, ``sts:AssumeRole``), the benign states of the same
definition keep their grants, and every refused role carries a high ``ROLE_NOT_PASSABLE`` finding.
"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine.guardrails import admin_equivalence, ceiling
from sfn_iam.findings import Finding
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Outcome
from sfn_iam.fixing.passable import MAX_ROLES, refused_roles
from sfn_iam.fixing.ports import RolePolicies
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.governance.sweep import Sweeper
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

REGION = "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Jobs"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ENV = {"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/", "DESCRIBE_RETRY_DELAY": "0"}
IN_PATTERNS = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_ALL = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
IAM_STAR = doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
BENIGN = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"})


def role(name: str) -> str:
    return IN_PATTERNS + name


def task(resource: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **extra}


def definition(state: dict[str, Any]) -> dict[str, Any]:
    """The state under test, then a benign Lambda invoke that must keep its grant whatever happens to the role."""
    return {"StartAt": "Use", "States": {
        "Use": {**state, "Next": "Notify"},
        "Notify": task("arn:aws:states:::lambda:invoke", {"FunctionName": FUNCTION}, End=True)}}


# (state passing or assuming role(name), the action, the request context IAM sees)
def emr(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::elasticmapreduce:createCluster.sync", {
        "Name": "c", "ReleaseLabel": "emr-7.0.0", "ServiceRole": role(name), "JobFlowRole": "EMR_EC2_DefaultRole",
        "Instances": {}})


def ecs(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::ecs:runTask.sync", {
        "Cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c",
        "TaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/td:1",
        "Overrides": {"TaskRoleArn": role(name)}})


def targets(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:eventbridge:putTargets", {"Rule": "r", "Targets": [
        {"Id": "1", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "RoleArn": role(name)}]})


def glue(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:glue:createCrawler", {"Name": "c", "Role": role(name), "Targets": {}})


def sagemaker(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:sagemaker:createProcessingJob", {
        "ProcessingJobName": "p", "RoleArn": role(name), "AppSpecification": {"ImageUri": "i"},
        "ProcessingResources": {}})


def credentials(name: str) -> dict[str, Any]:
    return task("arn:aws:states:::lambda:invoke", {"FunctionName": f"{FUNCTION}-2"},
                Credentials={"RoleArn": role(name)})


CLASSES = {
    "emr-service-role": (emr, "iam:PassRole", "elasticmapreduce.amazonaws.com"),
    "ecs-task-role": (ecs, "iam:PassRole", "ecs-tasks.amazonaws.com"),
    "eventbridge-target": (targets, "iam:PassRole", "events.amazonaws.com"),
    "glue-sdk": (glue, "iam:PassRole", "glue.amazonaws.com"),
    "sagemaker-sdk": (sagemaker, "iam:PassRole", "sagemaker.amazonaws.com"),
    "credentials": (credentials, "sts:AssumeRole", ""),
}
ADMIN_VARIANTS = {
    "AdministratorAccess attached": {"attached": ["AdministratorAccess"]},
    "inline Action *": {"inline": {"p": ALLOW_ALL}},
    "inline iam:* escalation": {"inline": {"p": IAM_STAR}},
}


APPROVED = {"Sid": "ApprovedByTheAdministrator", "Effect": "Allow",
            "Action": ["events:PutTargets", "glue:CreateCrawler"], "Resource": "*"}


def administrator_ceiling() -> dict[str, Any]:
    document = ceiling.default_document()
    return {**document, "Statement": [*document["Statement"], APPROVED]}


class World:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.machines = FakeMachines()
        self.roles = FakeRoles()
        self.roles.documents[ADMIN_ARN] = ALLOW_ALL
        self.settings = config.from_env({**ENV, **(env or {})}).with_ceiling(administrator_ceiling(), "test")
        self.machine_role = self.roles.add_role("JobsRole")
        self.fixer = RoleFixer(self.machines, self.roles, self.settings)

    def run(self, state: dict[str, Any]) -> Outcome:
        self.machines.add(SM, definition(state), self.machine_role)
        return self.fixer.fix(SM, fresh=True)

    def granted(self) -> list[dict[str, Any]]:
        return list(self.roles.roles["JobsRole"].inline.values())


def requested(docs: list[dict[str, Any]], action: str, resource: str, service: str) -> bool:
    return is_allowed(docs, action, resource, {"iam:PassedToService": service} if service else {})


def refusals(outcome: Outcome, resource: str) -> list[Finding]:
    return [f for f in outcome.findings if f.code == "ROLE_NOT_PASSABLE" and resource in f.message]


@pytest.mark.parametrize("variant", ADMIN_VARIANTS)
@pytest.mark.parametrize("kind", CLASSES)
def test_an_admin_equivalent_role_is_refused_and_the_rest_still_granted(kind: str, variant: str) -> None:
    make, action, service = CLASSES[kind]
    world = World()
    world.roles.add_role("Admin", **ADMIN_VARIANTS[variant])
    outcome = world.run(make("Admin"))
    docs = world.granted()
    assert not requested(docs, action, role("Admin"), service)
    found = refusals(outcome, role("Admin"))
    assert found and all(f.severity.name == "HIGH" and "admin-equivalent" in f.message for f in found)
    assert is_allowed(docs, "lambda:InvokeFunction", FUNCTION)  # the benign state of the same definition


@pytest.mark.parametrize("kind", CLASSES)
def test_a_non_admin_role_inside_the_patterns_is_granted_for_its_service_only(kind: str) -> None:
    make, action, service = CLASSES[kind]
    world = World()
    world.roles.add_role("Worker", inline={"p": BENIGN})
    outcome = world.run(make("Worker"))
    docs = world.granted()
    assert requested(docs, action, role("Worker"), service)
    assert not requested(docs, action, role("Worker2"), service)
    if service:
        assert not requested(docs, action, role("Worker"), "lambda.amazonaws.com")
    assert not refusals(outcome, role("Worker"))
    assert world.roles.permission_reads.count("Worker") == 1


def test_a_role_that_does_not_exist_is_refused() -> None:
    world = World()
    outcome = world.run(ecs("NotYet"))
    assert not requested(world.granted(), "iam:PassRole", role("NotYet"), "ecs-tasks.amazonaws.com")
    assert any("does not exist" in f.message for f in refusals(outcome, role("NotYet")))
    assert is_allowed(world.granted(), "lambda:InvokeFunction", FUNCTION)


def test_access_denied_on_reading_refuses_the_role_and_never_raises() -> None:
    world = World()
    world.roles.add_role("Hidden", inline={"p": BENIGN})
    world.roles.unreadable.add("Hidden")
    outcome = world.run(targets("Hidden"))
    assert not requested(world.granted(), "iam:PassRole", role("Hidden"), "events.amazonaws.com")
    assert any("could not be read" in f.message and "AccessDenied" in f.message
               for f in refusals(outcome, role("Hidden")))
    assert str(outcome.status) == "written"


def test_two_roles_of_one_state_each_get_their_finding() -> None:
    world = World()
    world.roles.add_role("Admin", inline={"p": ALLOW_ALL})
    world.roles.add_role("Exec", attached=["AdministratorAccess"])
    state = ecs("Admin")
    state["Parameters"]["Overrides"]["ExecutionRoleArn"] = role("Exec")
    outcome = world.run(state)
    assert refusals(outcome, role("Admin")) and refusals(outcome, role("Exec"))
    for name in ("Admin", "Exec"):
        assert not requested(world.granted(), "iam:PassRole", role(name), "ecs-tasks.amazonaws.com")


@pytest.mark.parametrize("policy,passable", [(BENIGN, True), (ALLOW_ALL, False), (IAM_STAR, False)])
def test_a_role_at_any_path_is_judged_by_its_permissions(policy: dict[str, Any], passable: bool) -> None:
    """No path patterns: a task role at / with ordinary permissions is passable, an admin role is not."""
    world = World()
    world.roles.add_role("AtRoot", path="/", inline={"p": policy})
    at_root = f"arn:aws:iam::{ACCOUNT}:role/AtRoot"
    outcome = world.run(task("arn:aws:states:::ecs:runTask", {
        "Cluster": "c", "TaskDefinition": "td:1", "Overrides": {"TaskRoleArn": at_root}}))
    assert requested(world.granted(), "iam:PassRole", at_root, "ecs-tasks.amazonaws.com") is passable
    assert bool(refusals(outcome, at_root)) is not passable
    assert world.roles.permission_reads == ["AtRoot"]


def test_a_role_of_another_account_is_refused_unless_the_ceiling_names_it() -> None:
    other = "arn:aws:iam::210987654321:role/Reader"
    state = task("arn:aws:states:::lambda:invoke", {"FunctionName": FUNCTION}, Credentials={"RoleArn": other})
    world = World()
    outcome = world.run(state)
    assert not is_allowed(world.granted(), "sts:AssumeRole", other)
    assert any(f.code == "OUTSIDE_CEILING" and other in f.message for f in outcome.findings)
    named = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": other}
    world = World()
    world.settings = world.settings.with_ceiling({**administrator_ceiling(), "Statement": [
        *administrator_ceiling()["Statement"], named]}, "test")
    world.fixer = RoleFixer(world.machines, world.roles, world.settings)
    world.run(state)
    assert is_allowed(world.granted(), "sts:AssumeRole", other)
    assert not is_allowed(world.granted(), "sts:AssumeRole", "arn:aws:iam::210987654321:role/Writer")
    assert world.roles.permission_reads == []  # it cannot be read from here: the administrator vouches for it


# -- the call budget ----------------------------------------------------------------------------------------------

def test_a_machine_passing_no_literal_role_reads_no_role() -> None:
    world = World()
    world.run(task("arn:aws:states:::sqs:sendMessage", {
        "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", "MessageBody": "m"}))
    assert world.roles.permission_reads == []


def test_each_role_is_read_once_per_invocation_and_again_in_the_next() -> None:
    world = World()
    world.roles.add_role("Worker", inline={"p": BENIGN})
    both = {"StartAt": "A", "States": {"A": {**ecs("Worker"), "Next": "B"}, "B": {**targets("Worker"), "End": True}}}
    world.machines.add(SM, both, world.machine_role)
    world.fixer.fix(SM, fresh=True)
    assert world.roles.permission_reads == ["Worker"]
    world.fixer.fix(SM)
    assert world.roles.permission_reads == ["Worker", "Worker"]


def test_more_roles_than_the_bound_are_refused_beyond_it() -> None:
    world = World({"MAX_ROLES_PER_MACHINE": "3"})
    states: dict[str, Any] = {}
    for i in range(5):
        world.roles.add_role(f"W{i}", inline={"p": BENIGN})
        states[f"S{i}"] = {**targets(f"W{i}"), "Next": f"S{i + 1}"}
    states["S5"] = {"Type": "Succeed"}
    world.machines.add(SM, {"StartAt": "S0", "States": states}, world.machine_role)
    outcome = world.fixer.fix(SM, fresh=True)
    assert world.roles.permission_reads == ["W0", "W1", "W2"]
    for i in range(5):
        assert requested(world.granted(), "iam:PassRole", role(f"W{i}"), "events.amazonaws.com") == (i < 3)
    assert all("more than 3 roles" in refusals(outcome, role(f"W{i}"))[0].message for i in (3, 4))


def test_the_default_bound_is_ten() -> None:
    assert MAX_ROLES == 10 == config.from_env(ENV).max_roles


def test_verification_can_be_turned_off() -> None:
    world = World({"VERIFY_PASSED_ROLES": "false"})
    world.roles.add_role("Admin", inline={"p": ALLOW_ALL})
    world.run(ecs("Admin"))
    assert requested(world.granted(), "iam:PassRole", role("Admin"), "ecs-tasks.amazonaws.com")
    assert world.roles.permission_reads == []
    with pytest.raises(config.ConfigError, match="VERIFY_PASSED_ROLES"):
        config.from_env({**ENV, "VERIFY_PASSED_ROLES": "maybe"})


# -- permissions boundaries -----------------------------------------------------------------------------------------

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundaries/DataOnly"


@pytest.mark.parametrize("boundary,refused", [
    (doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"},
         {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:*:{ACCOUNT}:*"}), False),  # inside
    (doc({"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"}), True),  # s3:DeleteBucket is beyond
    (doc({"Effect": "Allow", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"}), True),  # leaves an escalation
    (doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), True),  # NotAction: read as anything
    (doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}, {"Effect": "Allow", "Action": "*", "Resource": "*"}),
     True),  # Deny statements are not read: over-refuse, never under-refuse
    (None, True),  # the boundary policy is gone: ignored
])
def test_a_permissions_boundary_limits_what_counts(boundary: dict[str, Any] | None, refused: bool) -> None:
    world = World()
    if boundary is not None:
        world.roles.documents[BOUNDARY] = boundary
    world.roles.add_role("Bounded", inline={"p": ALLOW_ALL}, boundary=BOUNDARY)
    world.run(ecs("Bounded"))
    assert requested(world.granted(), "iam:PassRole", role("Bounded"), "ecs-tasks.amazonaws.com") is not refused


def test_a_role_carrying_the_ceiling_as_its_boundary_is_passable_whatever_its_policies() -> None:
    ceiling_arn = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam-ceiling"
    world = World({"CEILING_POLICY_ARN": ceiling_arn})
    world.roles.add_role("Capped", inline={"p": ALLOW_ALL}, boundary=ceiling_arn)
    world.roles.add_role("Other", inline={"p": ALLOW_ALL}, boundary=BOUNDARY)
    world.roles.documents[BOUNDARY] = ALLOW_ALL
    world.roles.roles["JobsRole"].boundary = ceiling_arn
    state = ecs("Capped")
    state["Parameters"]["Overrides"]["ExecutionRoleArn"] = role("Other")
    outcome = world.run(state)
    assert requested(world.granted(), "iam:PassRole", role("Capped"), "ecs-tasks.amazonaws.com")
    assert not requested(world.granted(), "iam:PassRole", role("Other"), "ecs-tasks.amazonaws.com")
    assert refusals(outcome, role("Other")) and not refusals(outcome, role("Capped"))


def test_a_boundary_never_makes_an_ordinary_role_admin() -> None:
    wide = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert admin_equivalence([BENIGN], (), wide) is None
    assert admin_equivalence([IAM_STAR], (), wide) is not None


def test_refused_roles_reports_a_malformed_arn_and_reads_nothing_for_it() -> None:
    roles = FakeRoles()
    assert refused_roles(roles, ["arn:aws:iam::123456789012:user/u"], ACCOUNT) == [
        ("arn:aws:iam::123456789012:user/u", "it is not a role ARN")]
    assert roles.permission_reads == []
    assert refused_roles(roles, [], ACCOUNT) == []
    assert RolePolicies(()).boundary is None


# -- the sweep -------------------------------------------------------------------------------------------------------

def test_the_sweep_reads_a_role_many_machines_pass_once() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    roles.add_role("Worker", inline={"p": BENIGN})
    roles.add_role("Admin", inline={"p": ALLOW_ALL})
    settings = config.from_env(ENV)
    for i in range(3):
        machine_role = roles.add_role(f"R{i}")
        machines.add(f"{SM}{i}", definition(ecs("Worker") if i else ecs("Admin")), machine_role)
    result = Sweeper(machines, roles, settings, REGION, workers=2).run()
    assert sorted(roles.permission_reads) == ["Admin", "Worker"]
    for i in range(3):
        docs = list(roles.roles[f"R{i}"].inline.values())
        assert requested(docs, "iam:PassRole", role("Worker"), "ecs-tasks.amazonaws.com") == bool(i)
        assert not requested(docs, "iam:PassRole", role("Admin"), "ecs-tasks.amazonaws.com")
    admin = next(o for o in result.outcomes if o.state_machine_arn == f"{SM}0")
    assert refusals(admin, role("Admin"))
