"""Guardrail rules one by one: deny-list, documented exceptions, the wildcard rule and its data."""

from __future__ import annotations

import json

import pytest

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy, access_class, covers_container
from sfn_iam.model import Condition, Requirement
from tests.helpers import ACCOUNT, assert_allows, assert_denies, codes, plan_for, task
from tests.tools import gen_unscoped_actions, iam_reference

ROLE = f"arn:aws:iam::{ACCOUNT}:role/Worker"
SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
PASSED_TO_ECS = Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",))


def _apply(*reqs: Requirement, guard: GuardPolicy | None = None, roles: tuple[str, ...] = ()
           ) -> tuple[list[Requirement], set[str]]:
    kept, findings = guardrails.apply(reqs, guard or GuardPolicy(), credential_roles=roles)
    return kept, {f.code for f in findings}


@pytest.mark.parametrize(("resource", "covers"), [
    ("*", True),
    ("not-an-arn*", True),
    ("arn:aws:s3:::known-bucket/*", False),
    ("arn:aws:s3:::known-bucket/prefix/*", False),
    ("arn:aws:s3:::known-bucket", False),
    ("arn:aws:s3:::*", True),
    ("arn:aws:s3:::*/key", True),
    ("arn:aws:s3:::known-*/key", True),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/*", True),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/T/index/*", False),
    ("arn:aws:dynamodb:*:123456789012:table/T", True),
    ("arn:aws:dynamodb:us-east-1:*:table/T", True),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????", False),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-*", True),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:*", True),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/partner/*", False),
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/*", True),
    ("arn:aws:ssm:us-east-1:123456789012:parameter/app/*", True),
    ("arn:aws:lambda:us-east-1:123456789012:function:f:*", False),
    ("arn:aws:lambda:us-east-1:123456789012:function:*", True),
    ("arn:aws:kms:us-east-1:123456789012:key/*", True),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/x:*", False),
    ("arn:aws:ecs:us-east-1:123456789012:task-definition/app:*", False),
    ("arn:aws:ecs:us-east-1:123456789012:task/main/*", False),
    ("arn:aws:ecs:us-east-1:123456789012:task/*", True),
    ("arn:aws:emr-containers:us-east-1:123456789012:/virtualclusters/vc1/jobruns/*", False),
    ("arn:aws:sqs:us-east-1:123456789012:*", True),
])
def test_covers_container(resource: str, covers: bool) -> None:
    assert covers_container(resource) is covers


@pytest.mark.parametrize(("action", "kind"), [
    ("s3:GetObject", "secret-read"), ("secretsmanager:GetSecretValue", "secret-read"), ("kms:Decrypt", "secret-read"),
    ("ssm:GetParametersByPath", "secret-read"), ("s3:ListBucket", "read"), ("dynamodb:Query", "read"),
    ("ecs:DescribeTasks", "read"), ("dynamodb:BatchGetItem", "read"), ("s3:DeleteObject", "write"),
    ("dynamodb:PutItem", "write"), ("s3:getbucketpolicy", "write"), ("ec2:Getaway", "write"),
    ("lambda:InvokeFunction", "invoke"), ("states:StartExecution", "invoke"), ("glue:StartJobRun", "write"),
])
def test_access_class(action: str, kind: str) -> None:
    assert access_class(action) == kind


def test_wildcard_write_is_refused_but_wildcard_read_and_literal_write_are_granted() -> None:
    kept, found = _apply(
        Requirement("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/*", path="States.W"),
        Requirement("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/*", path="States.R"),
        Requirement("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", path="States.L"),
        Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:*", path="States.Q"),
    )
    assert [r.path for r in kept] == ["States.R", "States.L", "States.Q"]
    assert found == {"WILDCARD_WRITE"}


def test_wildcard_rule_exemptions_are_narrow() -> None:
    kms_ctx = Condition("StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", ("arn:x",))
    create_only = Condition("StringEquals", "ecs:CreateAction", ("RunTask",))
    kept, found = _apply(
        Requirement("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/*", (kms_ctx,)),
        Requirement("ecs:TagResource", "arn:aws:ecs:us-east-1:123456789012:task/*", (create_only,)),
        Requirement("elasticmapreduce:RunJobFlow", "*"),
        Requirement("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:*"),
        Requirement("lambda:InvokeFunction", "arn:aws:lambda:*:*:function:*", path="States.X"),
        Requirement("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/*", path="States.K"),
        Requirement("s3:PutObject", "*", path="States.S"),
    )
    assert len(kept) == 4
    assert found == {"WILDCARD_WRITE"}


def test_requested_wildcard_actions_are_refused() -> None:
    kept, found = _apply(Requirement("s3:Put*", "arn:aws:s3:::b"), Requirement("iam:*", "*"),
                         Requirement("s3:Get?bject", "arn:aws:s3:::b/k"))
    assert kept == [] and found == {"BLOCKED_ACTION"}


@pytest.mark.parametrize(("req", "allowed"), [
    (Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,)), True),
    (Requirement("iam:PassRole", ROLE), False),
    (Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*", (PASSED_TO_ECS,)), False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringLike", "iam:PassedToService", ("*",)),)), False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringEquals", "iam:PassedToService", ("*",)),)), False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringEquals", "iam:PassedToService", ("evil.com",)),)), False),
    (Requirement("iam:CreateServiceLinkedRole", SLR,
                 (Condition("StringLike", "iam:AWSServiceName", ("eks.amazonaws.com",)),)), True),
    (Requirement("iam:CreateServiceLinkedRole", SLR,
                 (Condition("StringLike", "iam:AWSServiceName", ("*",)),)), False),
    # Only a service-linked role ARN of one account: not any role, not a pattern over accounts or services.
    (Requirement("iam:CreateServiceLinkedRole", f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x",
                 (Condition("StringEquals", "iam:AWSServiceName", ("eks.amazonaws.com",)),)), False),
    (Requirement("iam:CreateServiceLinkedRole", "arn:aws:iam::*:role/aws-service-role/*",
                 (Condition("StringEquals", "iam:AWSServiceName", ("eks.amazonaws.com",)),)), False),
    (Requirement("iam:CreateServiceLinkedRole", f"arn:aws:iam::{ACCOUNT}:role/Admin/role/aws-service-role/x",
                 (Condition("StringEquals", "iam:AWSServiceName", ("eks.amazonaws.com",)),)), False),
    (Requirement("iam:GetRole", ROLE), True),
    (Requirement("iam:GetRole", "*"), False),
    (Requirement("iam:ListAttachedRolePolicies", f"arn:aws:iam::{ACCOUNT}:role/*"), False),
    (Requirement("iam:CreateRole", ROLE), False),
    (Requirement("logs:PutResourcePolicy", "*", path="loggingConfiguration"), True),
    (Requirement("logs:PutResourcePolicy", "*", path="States.loggingConfiguration"), False),
    (Requirement("states:InvokeHTTPEndpoint", "arn:x",
                 (Condition("StringEquals", "states:HTTPEndpoint", ("https://a.example",)),)), True),
    (Requirement("states:InvokeHTTPEndpoint", "arn:x",
                 (Condition("StringLike", "states:HTTPEndpoint", ("https://*",)),)), False),
    (Requirement("states:InvokeHTTPEndpoint", "arn:x"), False),
])
def test_documented_exceptions(req: Requirement, allowed: bool) -> None:
    kept, _ = _apply(req)
    assert bool(kept) is allowed


def test_assume_role_only_on_credentials_roles() -> None:
    req = Requirement("sts:AssumeRole", ROLE)
    assert _apply(req)[0] == []
    assert _apply(req, roles=(ROLE,))[0] == [req]
    assert _apply(Requirement("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/*"), roles=(ROLE,))[0] == []


def test_role_pass_falls_with_a_refused_call_of_the_same_state() -> None:
    kept, found = _apply(Requirement("lambda:CreateFunction", "arn:aws:lambda:us-east-1:1:function:f", path="S.A"),
                         Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="S.A"),
                         Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="S.B"))
    assert [r.path for r in kept] == ["S.B"] and found == {"BLOCKED_ACTION", "UNVERIFIED_ROLE"}  # S.B, offline


def test_extra_deny_and_allow_list_from_the_deployment() -> None:
    guard = GuardPolicy.build(extra_deny=[" sns:Publish ", ""], allowed_services=["SNS", "lambda", " "])
    kept, found = _apply(Requirement("sns:Publish", "arn:aws:sns:us-east-1:1:t"),
                         Requirement("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f"),
                         Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q"), guard=guard)
    assert [r.action for r in kept] == ["lambda:InvokeFunction"]
    assert found == {"BLOCKED_ACTION", "BLOCKED_SERVICE"}


def test_blocked_state_keeps_the_rest_of_the_policy_and_reports_the_path() -> None:
    definition = {"StartAt": "Bad", "States": {
        "Bad": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:createAccessKey",
                "Parameters": {"UserName": "admin"}, "Next": "Good"},
        "Good": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                 "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "Message": "m"}, "End": True}}}
    plan = plan_for(definition)
    assert_allows(plan, "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")
    assert_denies(plan, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin")
    assert any(f.code in ("BLOCKED_ACTION", "UNKNOWN_INTEGRATION") and f.path == "States.Bad" for f in plan.findings)


def test_findings_quote_bounded_resources() -> None:
    _, findings = guardrails.apply([Requirement("iam:CreateUser", "arn:aws:iam::1:user/" + "u" * 100_000)],
                                   GuardPolicy())
    assert len(findings[0].message) < 500


def test_dynamic_credentials_are_refused_end_to_end() -> None:
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"}, Credentials={"RoleArn.$": "$.r"}))
    assert "BLOCKED_ACTION" in codes(plan)
    assert_denies(plan, "sts:AssumeRole", ROLE)


def test_data_files_are_well_formed_and_the_generated_table_is_current() -> None:
    sensitive = json.loads((gen_unscoped_actions.SENSITIVE).read_text())
    assert set(sensitive) >= {"sensitive_services", "read_verbs", "secret_read_actions", "invoke_actions"}
    for action in [*sensitive["secret_read_actions"], *sensitive["invoke_actions"]]:
        service, _, name = action.partition(":")
        assert name.lower() in iam_reference.load()[service]["Actions"], action
    assert gen_unscoped_actions.TARGET.read_text() == gen_unscoped_actions.render(iam_reference.load()), (
        "regenerate: .venv/bin/python -m tests.tools.gen_unscoped_actions")
    assert all(e.reason for e in guardrails.DEFAULT_DENY)


def test_deployment_deny_list_also_beats_the_documented_exceptions() -> None:
    """ExtraDeniedActions=iam:PassRole must remove even literal, conditioned role passes (docs/security.md)."""
    guard = GuardPolicy.build(extra_deny=["iam:PassRole", "sts:Assume*", "logs:PutResourcePolicy"])
    kept, found = _apply(Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,)), Requirement("sts:AssumeRole", ROLE),
                         Requirement("logs:PutResourcePolicy", "*", path="loggingConfiguration"),
                         guard=guard, roles=(ROLE,))
    assert kept == [] and found == {"BLOCKED_ACTION"}
