"""Guardrail rules one by one: deny-list, documented exceptions, the wildcard rule and its data."""

from __future__ import annotations

import json

import pytest

from sfn_iam.engine import guardrails
from sfn_iam.engine.asl import walk
from sfn_iam.engine.guardrails import GuardPolicy, access_class, ceiling, covers_container
from sfn_iam.model import Condition, Requirement
from tests.helpers import ACCOUNT, admin_guard, assert_allows, assert_denies, codes, plan_for, task
from tests.tools import gen_unscoped_actions, iam_reference

ROLE = f"arn:aws:iam::{ACCOUNT}:role/Worker"
SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
PASSED_TO_ECS = Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",))
# An administrator's ceiling allowing whole services by wildcard: no explicit approval, so the second line (deny-list,
# Permissions management, the wildcard rule) is what refuses there. Tests of the second line for grants the default
# ceiling leaves out (s3:PutObject on *, ecs:DeleteService, ...) run under it.
ADMIN = admin_guard("s3:*", "dynamodb:*", "lambda:*", "states:*", "events:*", "ecs:*", "athena:*", "ssm:*", "kms:*",
                    "elasticmapreduce:*", "batch:*", "iam:Pass*")


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
        guard=ADMIN,
    )
    assert len(kept) == 4
    assert found == {"WILDCARD_WRITE"}


def test_requested_wildcard_actions_are_refused() -> None:
    topic = Requirement("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")
    kept, found = _apply(Requirement("s3:Put*", "arn:aws:s3:::b"), Requirement("iam:*", "*"),
                         Requirement("s3:Get?bject", "arn:aws:s3:::b/k"), topic)
    assert kept == [topic] and found == {"BLOCKED_ACTION"}


@pytest.mark.parametrize(("req", "allowed"), [
    (Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,)), True),
    (Requirement("iam:PassRole", ROLE), False),
    # another condition beside the service's does not hide it
    (Requirement("iam:PassRole", ROLE, (Condition("ArnLike", "iam:AssociatedResourceArn", (
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:*",)), PASSED_TO_ECS)), True),
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
    (Requirement("logs:PutResourcePolicy", "*", path="tracingConfiguration"), False),
    (Requirement("logs:DeleteResourcePolicy", "*", path="loggingConfiguration"), False),
    (Requirement("s3:PutBucketPolicy", "*", path="loggingConfiguration"), False),
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
                         Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="S.B"),
                         Requirement("events:PutRule", "arn:aws:events:us-east-1:1:rule/r", path="S.A"),
                         guard=ADMIN)  # a rule of the workflow's own and lambda:CreateFunction: outside the default
    # only the pass falls with the call; the state's other grants stay
    assert [(r.action, r.path) for r in kept] == [("iam:PassRole", "S.B"), ("events:PutRule", "S.A")]
    assert found == {"BLOCKED_ACTION", "UNVERIFIED_ROLE"}  # S.B, offline


def test_extra_deny_and_allow_list_from_the_deployment() -> None:
    guard = GuardPolicy.build(extra_deny=[" sns:Publish ", ""], allowed_services=["SNS", "lambda", " "])
    kept, found = _apply(Requirement("sns:Publish", "arn:aws:sns:us-east-1:1:t"),
                         Requirement("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f"),
                         Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q"), guard=guard)
    assert [r.action for r in kept] == ["lambda:InvokeFunction"]
    # the settings the ceiling replaced are Deny statements of it: what they refuse is outside the ceiling
    assert found == {"OUTSIDE_CEILING"}
    _, findings = guardrails.apply([Requirement("sns:Publish", "arn:aws:sns:us-east-1:1:t"),
                                    Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")], guard)
    assert ["DeniedByThisDeployment" in f.message for f in findings] == [True, False]
    assert ["OnlyTheseServices" in f.message for f in findings] == [False, True]


def test_blocked_state_keeps_the_rest_of_the_policy_and_reports_the_path() -> None:
    definition = {"StartAt": "Bad", "States": {
        "Bad": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:createAccessKey",
                "Parameters": {"UserName": "admin"}, "Next": "Good"},
        "Good": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                 "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "Message": "m"}, "End": True}}}
    plan = plan_for(definition)
    assert_allows(plan, "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")
    assert_denies(plan, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin")
    assert any(f.code in ("BLOCKED_ACTION", "UNKNOWN_INTEGRATION", "OUTSIDE_CEILING") and f.path == "States.Bad"
               for f in plan.findings)


def test_the_default_ceiling_refuses_first_and_says_what_would_approve_it() -> None:
    """Outside the default ceiling: OUTSIDE_CEILING (high) with the statement an administrator would add, and the
    lists' own explanation when they would refuse it too; the administrator's wildcard leaves it to the lists."""
    req = Requirement("s3:PutObject", "*")
    kept, findings = guardrails.apply([req], GuardPolicy())
    assert kept == [] and [f.code for f in findings] == ["OUTSIDE_CEILING"]
    assert findings[0].severity.name == "HIGH"
    assert findings[0].message.endswith('{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"*"}')
    assert "the built-in lists refuse it too: s3:PutObject writes to the sensitive service s3" in findings[0].message
    assert [f.code for f in guardrails.apply([req], ADMIN)[1]] == ["WILDCARD_WRITE"]
    inside = Requirement("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")
    assert guardrails.apply([inside], GuardPolicy()) == ([inside], [])


def test_extending_the_default_does_not_approve_the_defaults_own_actions_explicitly() -> None:
    """An administrator who adds a statement to the default (``sfn-iam ceiling``, copied and extended) approves what
    the statement names, not every action the default names: the wildcard rule still refuses a table write on
    ``table/*`` and an S3 write on a wildcard, as under the default itself."""
    added = {"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"}
    guard = GuardPolicy(ceiling.extended(ceiling.default(), [added], source="administrator"))
    table = Requirement("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*")
    objects = Requirement("s3:PutObject", "arn:aws:s3:::*/k")
    assert [f.code for f in guardrails.apply([table], GuardPolicy())[1]] == ["WILDCARD_WRITE"]
    for req in (table, objects):
        kept, findings = guardrails.apply([req], guard)
        assert kept == [] and [f.code for f in findings] == ["WILDCARD_WRITE"], req


def test_findings_quote_bounded_resources() -> None:
    _, findings = guardrails.apply([Requirement("iam:CreateUser", "arn:aws:iam::1:user/" + "u" * 100_000)],
                                   GuardPolicy())
    assert len(findings[0].message) < 1200  # the resource at most 200 characters, twice (finding and approval)


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
    assert kept == [] and found == {"OUTSIDE_CEILING"}  # a Deny statement of the ceiling, checked before them


# --- Pinned by mutation testing (docs/mutation.md): each test fails on a guardrail change no other test noticed ---

ECS_TASKS = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task"
RUN_TASK = Requirement("ecs:RunTask", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:3", path="States.Run")


def test_a_run_stop_on_a_pattern_is_granted_beside_its_start() -> None:
    """ecs:runTask.sync with a run-time cluster: the task id is generated, so StopTask (on abort) gets task/* of this
    account and Region, and nothing outside it."""
    plan = plan_for(task("arn:aws:states:::ecs:runTask.sync",
                         {"Cluster.$": "$.cluster", "TaskDefinition": RUN_TASK.resource}))
    assert_allows(plan, "ecs:StopTask", f"{ECS_TASKS}/main/0f3a2b")
    assert_denies(plan, "ecs:StopTask", "arn:aws:ecs:us-east-1:210987654321:task/main/0f3a2b")
    assert_denies(plan, "ecs:StopTask", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/main/0f3a2b")
    batch = plan_for(task("arn:aws:states:::batch:submitJob.sync", {
        "JobName": "j", "JobQueue": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/q",
        "JobDefinition": f"arn:aws:batch:us-east-1:{ACCOUNT}:job-definition/d:1"}))
    assert_allows(batch, "batch:TerminateJob", f"arn:aws:batch:us-east-1:{ACCOUNT}:job/0b1c")
    assert_denies(batch, "batch:TerminateJob", "arn:aws:batch:us-east-1:210987654321:job/0b1c")


@pytest.mark.parametrize("pattern", [
    "arn:aws*:ecs:us-east-1:123456789012:task/*",  # any partition
    "arn:aws:ecs:*:123456789012:task/*",  # any Region
    "arn:aws:ecs:us-east-1:210987654321:task/*",  # another account (after this one in order, and before it)
    "arn:aws:ecs:us-east-1:111111111111:task/*",
    "arn:aws:ecs:us-east-1:*:task/*",
])
def test_a_run_stop_outside_this_account_and_region_is_refused_even_beside_its_start(pattern: str) -> None:
    kept, findings = guardrails.apply([RUN_TASK, Requirement("ecs:StopTask", pattern, path="States.Run")],
                                      GuardPolicy(), account=ACCOUNT)
    assert kept == [RUN_TASK]
    # another account is outside the default ceiling first; another Region of this account is refused by the second line
    assert [f.code for f in findings] == (["OUTSIDE_CEILING"] if f":{ACCOUNT}:" not in pattern else ["WILDCARD_WRITE"])
    kept, findings = guardrails.apply([RUN_TASK, Requirement("ecs:StopTask", pattern, path="States.Run")],
                                      admin_guard("ecs:*"), account=ACCOUNT)
    assert kept == [RUN_TASK]
    assert [f.code for f in findings] == ["WILDCARD_WRITE"]  # and the second line refuses it under any ceiling


@pytest.mark.parametrize("condition", [
    Condition("StringEquals", "kms:CallerAccount", (ACCOUNT,)),  # any key the account may use
    Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",)),  # any key S3 uses
    Condition("StringEquals", "aws:ResourceTag/team", ("data",)),
    Condition("ForAnyValue:StringEquals", "aws:TagKeys", ("team",)),
    Condition("ForAnyValue:StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",)),
    # a pattern in a pinning key pins nothing
    Condition("StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", ("arn:aws:states:*",)),
    # also true for a request without any encryption context
    Condition("ForAllValues:StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", ("arn:x",)),
])
def test_a_kms_condition_that_does_not_name_the_data_or_the_key_does_not_scope_a_wildcard(
        condition: Condition) -> None:
    kept, found = _apply(Requirement("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*", (condition,)))
    assert kept == [] and found == {"WILDCARD_WRITE"}


@pytest.mark.parametrize(("operator", "scoped"), [
    ("ForAnyValue:StringEquals", True),  # the key carries this alias
    ("ForAnyValue:StringNotEquals", False),  # the key carries any other alias
    ("ForAllValues:StringEquals", False),  # also true for a key without any alias
    ("StringNotEquals", False),
])
def test_only_a_key_carrying_a_named_alias_scopes_a_kms_wildcard(operator: str, scoped: bool) -> None:
    aliases = Condition(operator, "kms:ResourceAliases", ("alias/app",))
    kept, _ = _apply(Requirement("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*", (aliases,)))
    assert bool(kept) is scoped


def test_an_encryption_context_scopes_only_kms_grants() -> None:
    """kms:EncryptionContext pins which data a KMS call is about; on an S3 write it restricts nothing of S3's."""
    context = Condition("StringEquals", "kms:EncryptionContext:aws:s3:arn", ("arn:aws:s3:::b",))
    kept, found = _apply(Requirement("s3:PutObject", "*", (context,)),
                         Requirement("dynamodb:PutItem", "*", (context,)),
                         Requirement("dynamodb:DeleteItem", "*", (Condition(
                             "ForAnyValue:StringEquals", "kms:ResourceAliases", ("alias/app",)),)),
                         Requirement("s3:DeleteBucket", "*", (Condition(
                             "ForAnyValue:StringEquals", "kms:ResourceAliases", ("alias/app",)),)),
                         Requirement("s3:DeleteObject", "*", (Condition("StringEquals", "kms:RequestAlias",
                                                                        ("alias/app",)),)),
                         guard=ADMIN)
    assert kept == [] and found == {"WILDCARD_WRITE"}


def test_an_invoke_on_a_bare_wildcard_or_in_any_account_is_refused() -> None:
    kept, findings = guardrails.apply([Requirement("lambda:InvokeFunction", "*", path="States.I"),
                                       Requirement("states:StartExecution", "*", path="States.S"),
                                       Requirement("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:*:function:f",
                                                   path="States.X"),
                                       Requirement("lambda:InvokeFunction",
                                                   f"arn:aws*:lambda:us-east-1:{ACCOUNT}:function:f", path="States.Y")],
                                      ADMIN)
    assert kept == []
    assert [(f.code, f.path) for f in findings] == [("WILDCARD_WRITE", "States.I"), ("WILDCARD_WRITE", "States.S"),
                                                    ("WILDCARD_WRITE", "States.X"), ("WILDCARD_WRITE", "States.Y")]
    assert all("only inside one account and region" in f.message for f in findings)


@pytest.mark.parametrize(("req", "code", "says"), [
    (Requirement("s3:GetObject", "arn:aws:s3:::*/k"), "WILDCARD_READ", "s3:GetObject reads secrets or credentials"),
    (Requirement("s3:PutObject", "*"), "WILDCARD_WRITE", "s3:PutObject writes to the sensitive service s3"),
    (Requirement("athena:StartSession", "*"), "WILDCARD_WRITE",
     "athena:StartSession is sensitive (a Spark session runs code as the work group's execution role)"),
])
def test_the_wildcard_finding_says_why_the_action_is_sensitive(req: Requirement, code: str, says: str) -> None:
    _, findings = guardrails.apply([req], ADMIN)
    assert [f.code for f in findings] == [code]
    assert findings[0].message == (f"{req.action} on {req.resource} not granted: {says}; it is never granted on a "
                                   "wildcard that covers whole containers")


def test_actions_after_sts_assume_role_in_name_order_are_not_role_assumptions() -> None:
    """X-Ray (tracing) and Translate sort after sts:AssumeRole: granted as themselves, not refused as assumptions."""
    plan = plan_for(task("arn:aws:states:::aws-sdk:translate:translateText",
                         {"Text": "hi", "SourceLanguageCode": "en", "TargetLanguageCode": "fr"}),
                    tracing={"enabled": True})
    assert_allows(plan, "xray:PutTraceSegments", "*")
    assert_allows(plan, "translate:TranslateText", "*")
    assert "BLOCKED_ACTION" not in codes(plan)


def test_only_roles_passed_or_assumed_are_verified() -> None:
    read = Requirement("iam:GetRole", ROLE)
    passed = Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Passed", (PASSED_TO_ECS,))
    assumed = Requirement("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Assumed")
    pattern = Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*", (PASSED_TO_ECS,))
    assert guardrails.roles_to_verify([read, passed, assumed, pattern]) == (assumed.resource, passed.resource)


def test_a_wildcard_below_one_automation_runbook_covers_only_that_runbook() -> None:
    """SSM names beyond parameters are containers too: every version of one runbook is one runbook."""
    assert covers_container(f"arn:aws:ssm:us-east-1:{ACCOUNT}:automation-definition/Patch:*") is False
    assert covers_container(f"arn:aws:ssm:us-east-1:{ACCOUNT}:automation-definition/*") is True


def test_every_multi_region_access_point_of_an_account_is_many_containers() -> None:
    """A Multi-Region Access Point ARN has an account and no Region: it is not a bucket name."""
    assert covers_container(f"arn:aws:s3::{ACCOUNT}:accesspoint/*") is True
    assert covers_container(f"arn:aws:s3::{ACCOUNT}:accesspoint/mfzwi23gnjvgw.mrap/object/*") is False


def test_an_allow_of_every_action_is_reported_as_such() -> None:
    why = guardrails.admin_equivalence([{"Statement": {"Effect": "Allow", "Action": " * ", "Resource": "*"}}])
    assert why == "it allows every action (*)"
    assert guardrails.admin_equivalence([{"Statement": {"Effect": "Allow", "Action": "", "Resource": "*"}}]) is None


def test_the_shared_default_guard_data_cannot_be_changed_in_place() -> None:
    """A warm Lambda plans many machines with the module's defaults: no plan may alter them for the next."""
    with pytest.raises(AttributeError):
        guardrails.DEFAULT_DENY[0].action = "none:None"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        guardrails.SENSITIVITY.services = frozenset()  # type: ignore[misc]
    guard = GuardPolicy.build(passable_roles=[f"arn:aws:iam::{ACCOUNT}:role/app-*"])
    with pytest.raises(AttributeError):
        guard.verified_roles = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        guard.ceiling = GuardPolicy().ceiling  # type: ignore[misc]
    assert guard.refusing_roles([(ROLE, "admin")]).refused_roles == ((ROLE, "admin"),)
    assert guard.refused_roles == ()  # refusing roles makes a new policy, the deployment's stays as it was


@pytest.mark.parametrize(("resource", "covers"), [
    # public parameters have no account; a wildcard in a parameter's name covers other parameters
    ("arn:aws:ssm:us-east-1::parameter/aws/service/*", True),
    # a log group's name holds slashes: a wildcard in it covers other groups, one after it only one group's streams
    (f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/*", True),
    (f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/app:*", False),
    # global services without an account: a wildcard in the name covers other zones, images, ...
    ("arn:aws:route53:::hostedzone/*", True),
    ("arn:aws:ec2:us-east-1::image/ami-*", True),
    # a wildcard partition: the same table name in every partition
    (f"arn:aws*:dynamodb:us-east-1:{ACCOUNT}:table/T", True),
])
def test_covers_container_names_with_separators_inside(resource: str, covers: bool) -> None:
    assert covers_container(resource) is covers


@pytest.mark.parametrize(("length", "quoted"), [(200, True), (201, False)])
def test_findings_quote_a_resource_whole_up_to_200_characters(length: int, quoted: bool) -> None:
    resource = f"arn:aws:iam::{ACCOUNT}:user/" + "u" * (length - len(f"arn:aws:iam::{ACCOUNT}:user/"))
    _, findings = guardrails.apply([Requirement("iam:CreateUser", resource)], GuardPolicy())
    assert (f" on {resource} not granted" in findings[0].message) is quoted
    assert (f" on {resource[:200]}... not granted" in findings[0].message) is not quoted


@pytest.mark.parametrize("req", [
    Requirement("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*", path="States.Run"),
    Requirement("ecs:DeleteService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/*", path="States.Run"),
    Requirement("batch:TerminateJob", f"arn:aws:batch:us-east-1:{ACCOUNT}:job/*", path="States.Run"),
])
def test_only_the_stop_of_the_run_started_beside_it_passes_on_a_pattern(req: Requirement) -> None:
    """Beside ecs:RunTask only ecs:StopTask is its run's stop: other writes on patterns stay refused."""
    kept, findings = guardrails.apply([RUN_TASK, req], ADMIN, account=ACCOUNT)
    assert kept == [RUN_TASK]
    assert [f.code for f in findings] == ["WILDCARD_WRITE"]


def test_a_pinning_condition_counts_after_a_pattern_condition() -> None:
    """Any one literal pinning condition scopes the grant, wherever it stands among the others."""
    loose = Condition("ForAnyValue:StringLike", "kms:ResourceAliases", ("alias/*",))
    pinned = Condition("StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", ("arn:x",))
    req = Requirement("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*", (loose, pinned))
    assert _apply(req)[0] == [req]
    assert _apply(Requirement("kms:Decrypt", req.resource, (loose,)))[0] == []


def test_credentials_roles_are_found_inside_a_distributed_map() -> None:
    """The Map's own node comes first in the walk; the Task inside it still names the role it assumes."""
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "T",
                          "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
                                           "Credentials": {"RoleArn": ROLE},
                                           "Parameters": {"FunctionName": "f", "Payload.$": "$"}}}}}}}
    plan = plan_for(definition)
    assert_allows(plan, "sts:AssumeRole", ROLE)
    assert_denies(plan, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Other")


def test_a_role_that_may_not_be_passed_refuses_only_its_own_grant() -> None:
    guard = GuardPolicy.build(passable_roles=[f"arn:aws:iam::{ACCOUNT}:role/app-*"])
    topic = Requirement("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", path="States.B")
    kept, findings = guardrails.apply([Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="States.A"), topic],
                                      guard)
    # the passable roles are a Deny statement of the ceiling (NotResource: the roles): outside it
    assert kept == [topic] and [f.code for f in findings] == ["OUTSIDE_CEILING"]
    assert "denies it (statement OnlyTheseRoles)" in findings[0].message


def test_a_run_stop_falls_with_a_start_refused_on_one_of_its_resources() -> None:
    """The start is granted whole or not at all: a run-time task definition (refused) cannot start the run, so
    its stop on task/* is refused too, though the start's literal task definition was granted."""
    stop = Requirement("ecs:StopTask", f"{ECS_TASKS}/*", path="States.Run")
    wide = Requirement("ecs:RunTask", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/*", path="States.Run")
    kept, findings = guardrails.apply([RUN_TASK, wide, stop], GuardPolicy(), account=ACCOUNT)
    assert kept == [RUN_TASK]
    assert sorted(f.message.split(" on ")[0] for f in findings) == ["ecs:RunTask", "ecs:StopTask"]


def test_an_allow_after_a_deny_in_one_document_counts() -> None:
    document = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, "not a statement",
                              {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    assert guardrails.admin_equivalence([document]) is not None


def test_a_statement_without_effect_grants_nothing() -> None:
    assert guardrails.admin_equivalence([{"Statement": [{"Action": "*", "Resource": "*"}]}]) is None
    assert guardrails.admin_equivalence([{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}]) is None


def test_admin_equivalence_reads_documents_as_iam_returns_them() -> None:
    """Documents come from IAM as JSON text: their "Allow" is not the same string object as the code's."""
    document = json.loads('{"Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}]}')
    assert guardrails.admin_equivalence([document]) is not None


def test_a_refused_role_refuses_only_itself() -> None:
    """Refused roles are matched exactly (case aside): a role that sorts before or after one is not refused."""
    guard = GuardPolicy().refusing_roles([(f"arn:aws:iam::{ACCOUNT}:role/Zeta-Admin", "admin-equivalent")])
    before = Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="States.A")
    refused = Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/zeta-admin", (PASSED_TO_ECS,),
                          path="States.B")
    kept, findings = guardrails.apply([before, refused], guard)
    assert kept == [before]
    assert [(f.code, f.path) for f in findings if f.code != "UNVERIFIED_ROLE"] == [("ROLE_NOT_PASSABLE", "States.B")]


def test_a_pattern_before_the_random_suffix_of_a_secret_covers_many_secrets() -> None:
    assert covers_container(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db*-??????") is True
    assert covers_container(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:d-??????") is False


def test_only_a_task_names_the_roles_it_assumes() -> None:
    """Credentials belong to Task states: the same field on a Map (or its ItemReader) is not a role the workflow
    assumes, so it never makes sts:AssumeRole grantable."""
    inner = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
             "Credentials": {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/Inner"}, "Parameters": {"FunctionName": "f"}}
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True, "Credentials": {"RoleArn": ROLE},
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Credentials": {"RoleArn": ROLE},
                       "Parameters": {"Bucket": "b", "Key": "k"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "T",
                          "States": {"T": inner}}}}}
    nodes, _ = walk(definition)
    assert guardrails.credential_roles(nodes) == {f"arn:aws:iam::{ACCOUNT}:role/Inner"}


def test_an_action_without_resource_types_is_exempt_on_star_only() -> None:
    """ssm:CreateOpsItem has no resource type: "*" names no container; an ARN pattern is refused as any other."""
    star = Requirement("ssm:CreateOpsItem", "*")
    kept, found = _apply(star, Requirement("ssm:CreateOpsItem", f"arn:aws:ssm:us-east-1:{ACCOUNT}:*", path="S.P"),
                         guard=ADMIN)
    assert kept == [star] and found == {"WILDCARD_WRITE"}


def test_the_deployment_deny_list_matches_actions_whatever_their_case() -> None:
    """IAM action names are case-insensitive: ExtraDeniedActions=SNS:PUBLISH refuses sns:Publish, and
    IAM:PASSROLE refuses even the documented role pass."""
    kept, findings = guardrails.apply([Requirement("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", path="S.A"),
                                       Requirement("iam:PassRole", ROLE, (PASSED_TO_ECS,), path="S.B")],
                                      GuardPolicy.build(extra_deny=["SNS:PUBLISH", "IAM:PASSROLE"]))
    assert kept == []
    assert [(f.code, f.path, f.message.split(": ", 1)[1].split(";")[0]) for f in findings] == [
        ("OUTSIDE_CEILING", "S.A", "the default ceiling denies it (statement DeniedByThisDeployment)"),
        ("OUTSIDE_CEILING", "S.B", "the default ceiling denies it (statement DeniedByThisDeployment)")]


def test_a_service_outside_the_allow_list_refuses_only_its_own_grants() -> None:
    topic = Requirement("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", path="States.B")
    kept, found = _apply(Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", path="States.A"), topic,
                         guard=GuardPolicy.build(allowed_services=["sns"]))
    assert kept == [topic] and found == {"OUTSIDE_CEILING"}  # a Deny of the ceiling (NotAction: the services)


def test_without_an_account_a_run_stop_still_needs_a_literal_account() -> None:
    stop = Requirement("ecs:StopTask", "arn:aws:ecs:us-east-1:*:task/*", path="States.Run")
    kept, findings = guardrails.apply([RUN_TASK, stop], GuardPolicy())
    assert kept == [RUN_TASK] and [f.code for f in findings] == ["WILDCARD_WRITE"]
    own = Requirement("ecs:StopTask", f"{ECS_TASKS}/*", path="States.Run")
    assert guardrails.apply([RUN_TASK, own], GuardPolicy())[0] == [RUN_TASK, own]


def test_admin_equivalence_reads_odd_documents_without_failing() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": [7, "iam:PassRole"], "Resource": "*"}]}
    assert guardrails.admin_equivalence([document]) is not None
    assert guardrails.admin_equivalence([], attached=["not-a-policy-arn"]) is None
