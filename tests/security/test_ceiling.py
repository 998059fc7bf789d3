"""The ceiling (engine/guardrails/ceiling.py): what may be granted at all, checked per grant at request level.

A grant is inside when an Allow matches its action and covers every resource its pattern can name, and no Deny denies
all of it; the finding of a refused grant carries the statement that would approve it; the default is the reviewed
data; the boundary IAM holds is never narrower than what the engine grants.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.engine.guardrails.ceiling import CeilingError, default, exceeding, parse, proposal, restricted
from sfn_iam.engine.guardrails.lists import known_actions
from sfn_iam.model import Condition, Requirement, StateMachine
from sfn_iam.wildcards import covers, overlap
from tests.helpers import ACCOUNT, SM_ARN, allows, task

TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
OTHER = "210987654321"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def inside(c: ceiling.Ceiling, action: str, resource: str, *conditions: Condition) -> bool:
    return c.check(Requirement(action, resource, tuple(conditions))).inside


# --- wildcard set relations -----------------------------------------------------------------------------------

@pytest.mark.parametrize("outer,inner,expected", [
    ("*", "anything", True), ("abc", "abc", True), ("a*", "a*b", True), ("a*b", "a*", False),
    ("a?c", "abc", True), ("a?c", "a*c", False), ("a?c", "a?c", True), ("a*c", "a?c", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/in/*", True), ("arn:aws:s3:::b/in/*", "arn:aws:s3:::b/*", False),
    ("a**b", "a*b", True), ("a*a", "aa", True), ("a*a", "a", False), ("ab", "abc", False), ("abc", "ab", False),
    ("x*", "y*", False),
])
def test_covers_is_containment_of_the_strings_two_patterns_match(outer: str, inner: str, expected: bool) -> None:
    assert covers(outer, inner) is expected


def test_covers_ignores_case_only_when_asked() -> None:
    assert covers("S3:Get*", "s3:GetObject", ignore_case=True)
    assert not covers("S3:Get*", "s3:GetObject")


@pytest.mark.parametrize("a,b,expected", [
    ("a*", "*b", True), ("a*b", "c*", False), ("a?", "ab", True), ("abc", "abd", False), ("*", "", True),
    ("a*c", "ab*", True), ("x", "x", True), ("ab", "a", False), ("a", "ab", False), ("a*", "b?", False),
    ("?", "", False), ("a?c", "a*", True),
])
def test_overlap_is_a_string_both_patterns_match(a: str, b: str, expected: bool) -> None:
    assert overlap(a, b) is expected and overlap(b, a) is expected


def test_overlap_ignores_case_only_when_asked() -> None:
    assert overlap("ABC*", "abc", ignore_case=True) and not overlap("ABC*", "abc")


# --- the grammar ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("document,message", [
    ("{not json", "not JSON"),
    ([], "IAM policy document"),
    ({"Statement": []}, "at least one statement"),
    ({}, "at least one statement"),
    ({"Statement": ["x"]}, "Statement[0] must be an object"),
    ({"Statement": [allow("s3:GetObject", Principal="*")]}, "cannot use: Principal"),
    ({"Statement": [{"Effect": "Maybe", "Action": "a:B", "Resource": "*"}]}, "Effect must be Allow or Deny"),
    ({"Statement": [{"Action": "a:B", "Resource": "*"}]}, "Effect must be Allow or Deny"),
    ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "exactly one of Action and NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "a:B", "NotAction": "a:C", "Resource": "*"}]},
     "exactly one of Action and NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "a:B"}]}, "exactly one of Resource and NotResource"),
    ({"Statement": [{"Effect": "Allow", "Action": "a:B", "Resource": "*", "NotResource": "x"}]},
     "exactly one of Resource and NotResource"),
    ({"Statement": [allow([])]}, "Statement[0].Action must be"),
    ({"Statement": [allow(["a:B", 3])]}, "Statement[0].Action must be"),
    ({"Statement": [allow("a:B", "")]}, "Statement[0].Resource must be"),
    ({"Statement": [{"Effect": "Allow", "NotAction": 5, "Resource": "*"}]}, "Statement[0].NotAction must be"),
    ({"Statement": [allow("a:B", Condition=[])]}, "Condition must be an object"),
    ({"Statement": [allow("a:B", Condition={"StringEquals": []})]}, "StringEquals must be an object"),
    ({"Statement": [allow("a:B", Condition={"StringEquals": {}})]}, "StringEquals must be an object"),
    ({"Statement": [allow("a:B", Condition={"StringEquals": {"k": []}})]}, "a value or a list of values"),
    ({"Statement": [allow("a:B", Condition={"StringEquals": {"k": [{"x": 1}]}})]}, "a value or a list of values"),
])
def test_a_ceiling_that_is_not_understood_is_refused_whole(document: Any, message: str) -> None:
    with pytest.raises(CeilingError, match=re.escape(message)):
        parse(document)


def test_a_single_statement_object_json_text_and_scalar_conditions_are_read_as_iam_reads_them() -> None:
    c = parse(json.dumps({"Statement": allow("s3:GetObject", Condition={"Bool": {"aws:SecureTransport": True},
                                                                        "NumericLessThan": {"s3:max-keys": 5}})}),
              source="mine.json")
    (stmt,) = c.statements
    assert stmt.conditions == (Condition("Bool", "aws:SecureTransport", ("true",)),
                               Condition("NumericLessThan", "s3:max-keys", ("5",)))
    assert stmt.document()["Condition"] == {"Bool": {"aws:SecureTransport": ["true"]},
                                            "NumericLessThan": {"s3:max-keys": ["5"]}}
    assert c.source == "mine.json" and c.explains() == "the ceiling (mine.json)"
    assert parse({"Statement": [allow("s3:GetObject", Condition={"Bool": {"k": False}})]}).statements[0] \
        .conditions[0].values == ("false",)
    assert default().explains() == "the default ceiling"


def test_statement_documents_round_trip() -> None:
    src = {"Sid": "S", "Effect": "Deny", "NotAction": ["s3:*"], "NotResource": ["arn:aws:s3:::b"]}
    assert parse({"Statement": [src]}).statements[0].document() == src
    assert parse({"Statement": [allow("a:B")]}).statements[0].document() == {"Effect": "Allow", "Action": ["a:B"],
                                                                              "Resource": ["*"]}


# --- checking a grant ---------------------------------------------------------------------------------------------

def test_an_allow_covers_the_resources_a_grant_can_name_and_nothing_wider() -> None:
    c = parse(doc(allow("dynamodb:GetItem", f"arn:aws:dynamodb:*:{ACCOUNT}:table/orders*")))
    assert inside(c, "dynamodb:GetItem", TABLE)
    assert inside(c, "DynamoDB:getitem", TABLE)  # actions are case-insensitive
    assert inside(c, "dynamodb:GetItem", TABLE + "-archive")
    assert not inside(c, "dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*")  # wider than allowed
    assert not inside(c, "dynamodb:PutItem", TABLE)
    assert not inside(c, "dynamodb:GetItem", TABLE.replace(ACCOUNT, OTHER))
    verdict = c.check(Requirement("dynamodb:PutItem", TABLE))
    assert verdict.why == "the ceiling (default) does not allow it" or "does not allow it" in verdict.why


def test_wildcard_actions_not_action_and_not_resource_in_an_allow() -> None:
    c = parse(doc(allow("dynamodb:*Item", TABLE), {"Effect": "Allow", "NotAction": "iam:*", "Resource": TABLE},
                  {"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": f"arn:aws:sqs:*:{OTHER}:*"}))
    assert inside(c, "dynamodb:BatchGetItem", TABLE)
    assert inside(c, "dynamodb:DescribeTable", TABLE)  # through NotAction
    assert not inside(c, "iam:PassRole", TABLE)
    assert inside(c, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")
    assert not inside(c, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{OTHER}:q")
    assert not inside(c, "sqs:SendMessage", "arn:aws:sqs:us-east-1:*:q")  # a pattern that reaches the excluded one


def test_only_a_literal_action_name_is_an_explicit_approval() -> None:
    c = parse(doc(allow(["lambda:ListFunctions", "ec2:*"]), {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}))
    assert c.check(Requirement("lambda:listfunctions", "*")).explicit
    assert not c.check(Requirement("ec2:StopInstances", "*")).explicit
    assert not c.check(Requirement("sns:Publish", "*")).explicit  # through NotAction
    assert c.check(Requirement("sns:Publish", "*")).inside


def test_a_deny_refuses_what_it_covers_whole_and_lets_iam_carve_out_the_rest() -> None:
    c = parse(doc(allow("lambda:InvokeFunction", f"arn:aws:lambda:*:{ACCOUNT}:*"),
                  {"Sid": "Ours", "Effect": "Deny", "Action": "*",
                   "Resource": f"arn:aws:lambda:*:{ACCOUNT}:function:sfn-iam-*"}))
    refused = c.check(Requirement("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sfn-iam-x"))
    assert not refused.inside and "denies it (statement Ours)" in refused.why
    assert inside(c, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:*")  # partly: IAM denies
    assert inside(c, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders")


def test_a_deny_without_a_sid_and_with_not_action_or_not_resource() -> None:
    c = parse(doc(allow("*"), {"Effect": "Deny", "NotAction": ["s3:*"], "Resource": "*"},
                  {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mine/*"}))
    assert "a Deny statement" in c.check(Requirement("sqs:SendMessage", "*")).why
    assert inside(c, "s3:GetObject", "arn:aws:s3:::mine/x")
    assert not inside(c, "s3:GetObject", "arn:aws:s3:::yours/x")
    assert inside(c, "s3:GetObject", "arn:aws:s3:::mine*")  # only partly denied: IAM carves out the rest


PASSED_TO = "iam:PassedToService"


@pytest.mark.parametrize("operator,values,grant,refused", [
    ("StringNotEquals", ["ecs-tasks.amazonaws.com"], ("StringEquals", ("ecs-tasks.amazonaws.com",)), False),
    ("StringNotEquals", ["ecs-tasks.amazonaws.com"], ("StringEquals", ("lambda.amazonaws.com",)), True),
    ("StringNotLike", ["*.amazonaws.com"], ("StringLike", ("ecs-*.amazonaws.com",)), False),
    ("StringNotLike", ["ecs-*.amazonaws.com"], ("StringLike", ("*.amazonaws.com",)), True),
    ("StringEquals", ["lambda.amazonaws.com"], ("StringEquals", ("ecs-tasks.amazonaws.com",)), False),
    ("StringEquals", ["lambda.amazonaws.com"], ("StringEquals", ("lambda.amazonaws.com",)), True),
    ("StringLike", ["*"], ("StringEquals", ("ecs-tasks.amazonaws.com",)), True),
    ("StringNotEquals", ["ecs-tasks.amazonaws.com"], ("StringNotEquals", ("ecs-tasks.amazonaws.com",)), True),
    ("StringNotEquals", ["ecs-tasks.amazonaws.com"], ("ForAnyValue:StringEquals", ("ecs-tasks.amazonaws.com",)), True),
    ("NumericLessThan", ["5"], ("StringEquals", ("5",)), True),
])
def test_a_conditional_deny_holds_unless_the_grants_own_conditions_prove_it_cannot(
        operator: str, values: list[str], grant: tuple[str, tuple[str, ...]], refused: bool) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/worker"
    c = parse(doc(allow("iam:PassRole"), {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
                                          "Condition": {operator: {PASSED_TO: values}}}))
    assert inside(c, "iam:PassRole", role, Condition(grant[0], PASSED_TO, grant[1])) is not refused
    assert not inside(c, "iam:PassRole", role)  # no condition on the grant: the Deny may hold
    assert not inside(c, "iam:PassRole", role, Condition("StringEquals", "iam:OtherKey", grant[1]))
    assert not inside(c, "iam:PassRole", role, Condition("StringEquals", PASSED_TO, ()))


def test_conditions_of_an_allow_are_left_to_iam_at_run_time() -> None:
    c = parse(doc(allow("s3:PutObject", "arn:aws:s3:::*", Condition={"StringEquals": {"s3:ResourceAccount": ACCOUNT}})))
    assert inside(c, "s3:PutObject", "arn:aws:s3:::data/*")


def test_placeholders_are_filled_and_unknown_ones_count_as_any() -> None:
    src = doc(allow("sqs:SendMessage", "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:*"),
              {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:sqs:*:*:${Unknown}-*"})
    c = parse(src, variables={"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT})
    assert inside(c, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue")
    assert not inside(c, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{OTHER}:queue")
    assert not inside(c, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:my-queue")  # the Deny's * reaches it
    assert not inside(parse(src), "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-x")
    anywhere = parse(doc(allow("sqs:SendMessage", "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:*")))
    assert inside(anywhere, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{OTHER}:queue")


def test_decisions_are_cached_per_grant_and_ceiling() -> None:
    c = parse(doc(allow("a:B", "x")))
    assert c.check(Requirement("a:B", "x", path="S1")) is c.check(Requirement("a:B", "x", path="S2"))


# --- proposals --------------------------------------------------------------------------------------------------

def test_a_proposal_groups_actions_by_resource_and_conditions() -> None:
    via = Condition("StringEquals", "kms:ViaService", ("sqs.us-east-1.amazonaws.com",))
    found = proposal([Requirement("sqs:SendMessage", "q"), Requirement("sqs:DeleteQueue", "q"),
                      Requirement("kms:Decrypt", "k", (via,)), Requirement("kms:GenerateDataKey", "k", (via,)),
                      Requirement("kms:Decrypt", "k")])
    assert found == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "k"},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "k",
         "Condition": {"StringEquals": {"kms:ViaService": ["sqs.us-east-1.amazonaws.com"]}}},
        {"Effect": "Allow", "Action": ["sqs:DeleteQueue", "sqs:SendMessage"], "Resource": "q"}]}
    assert proposal([]) is None
    assert ceiling.statement_for(Requirement("a:B", "r")) == {"Effect": "Allow", "Action": ["a:B"], "Resource": "r"}


def test_a_refused_state_names_the_grant_and_carries_the_statement_that_approves_it() -> None:
    definition = task("arn:aws:states:::aws-sdk:ec2:stopInstances", {"InstanceIds": ["i-0123456789abcdef0"]})
    sm = StateMachine(arn=SM_ARN, definition=definition)
    plan = engine.plan(sm)
    instance = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0123456789abcdef0"
    (finding,) = [f for f in plan.findings if f.code == "OUTSIDE_CEILING"]
    assert finding.path == "States.T" and finding.severity.name == "HIGH"
    approve = json.loads(finding.message.rsplit("adding to the ceiling: ", 1)[1])
    assert approve == {"Effect": "Allow", "Action": ["ec2:StopInstances"], "Resource": instance}
    assert plan.proposal == {"Version": "2012-10-17", "Statement": [approve]}
    assert not allows(plan, "ec2:StopInstances", instance)
    approved = ceiling.extended(ceiling.default(account=ACCOUNT), [approve], source="administrator")
    granted = engine.plan(sm, GuardPolicy(approved))
    assert allows(granted, "ec2:StopInstances", instance)
    assert not allows(granted, "ec2:StopInstances", instance.replace("0123456789abcdef0", "0fedcba9876543210"))
    assert granted.proposal is None and "OUTSIDE_CEILING" not in {f.code for f in granted.findings}


def test_outside_the_ceiling_the_lists_still_explain() -> None:
    definition = task("arn:aws:states:::aws-sdk:iam:createAccessKey", {"UserName": "admin"})
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition))
    (finding,) = [f for f in plan.findings if f.code == "OUTSIDE_CEILING"]
    assert "the built-in lists refuse it too" in finding.message


# --- translations of earlier settings ------------------------------------------------------------------------------

def test_earlier_settings_become_deny_statements() -> None:
    base = parse(doc(allow("*")))
    assert restricted(base) is base
    c = restricted(base, denied_actions=["ssm:Get*", ""], allowed_services=["SSM", "lambda"],
                   passable_roles=[f"arn:aws:iam::{ACCOUNT}:role/app/*"])
    assert [s.sid for s in c.statements] == ["", "DeniedByThisDeployment", "OnlyTheseServices", "OnlyTheseRoles"]
    assert not inside(c, "ssm:GetParameter", "*") and inside(c, "ssm:PutParameter", "*")
    assert inside(c, "lambda:InvokeFunction", "*") and not inside(c, "sns:Publish", "*")
    assert c.document is not None and len(c.document["Statement"]) == 4
    roles = restricted(base, passable_roles=[f"arn:aws:iam::{ACCOUNT}:role/app/*"])
    assert inside(roles, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app/worker")
    assert not inside(roles, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert ceiling.extended(base, []) is base


def test_guard_policy_build_translates_and_verifies_roles_only_when_a_list_is_given() -> None:
    assert not GuardPolicy.build().verified_roles
    assert GuardPolicy.build(passable_roles=[]).verified_roles
    denied = GuardPolicy.build([" sns:Publish "]).ceiling
    assert not inside(denied, "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")


# --- the default -----------------------------------------------------------------------------------------------

DEFAULT = default(account=ACCOUNT)


@pytest.mark.parametrize("action,resource,expected", [
    ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders", True),
    ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:*", True),  # IAM carves out ours
    ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sfn-iam-RoleFixerFunction-1", False),
    ("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/sfn-iam-LedgerTable-1", False),
    ("events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/sfn-iam-Trigger-1", False),
    ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{OTHER}:function:orders", False),  # out of the account
    ("s3:GetObject", "arn:aws:s3:::public-data/*", True),
    ("s3:PutObject", "arn:aws:s3:::reports/*", True),  # IAM checks s3:ResourceAccount at run time
    ("s3:PutBucketPolicy", "arn:aws:s3:::reports", False),
    ("events:PutTargets", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/StepFunctionsGetEventsForECSTaskRule", True),
    ("events:PutTargets", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/everything", False),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:events!connection/c/1",
     True),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-password", False),
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/worker", True),
    ("iam:PassRole", f"arn:aws:iam::{OTHER}:role/worker", False),
    ("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2", True),
    ("xray:PutTraceSegments", "*", True),
    ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin", False),
    ("iam:PutPolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam-ceiling", False),
    # what the integrations request since the documented lists were checked again (each beside its neighbour)
    ("bedrock:ApplyGuardrail", f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/g1", True),
    ("bedrock:ApplyGuardrail", f"arn:aws:bedrock:us-east-1:{OTHER}:guardrail/g1", False),
    ("bedrock:CreateGuardrail", "*", False),
    ("elasticmapreduce:AddTags", f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/*", True),
    ("elasticmapreduce:RemoveTags", f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/*", False),
    ("elasticmapreduce:TerminateJobFlows", f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/*", True),
    ("emr-serverless:CreateApplication", "*", True),
    ("emr-serverless:DeleteApplication", f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/*", True),
    ("emr-serverless:GetApplication", f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/*", True),
    ("emr-serverless:UpdateApplication", f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/*", False),
    ("logs:CreateLogStream", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/m:*", True),
    ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/m:*", True),
    ("logs:DeleteLogGroup", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/m:*", False),
    ("s3:GetBucketLocation", "arn:aws:s3:::lake", True),  # Athena reads a queried table's location
    ("s3:ListBucket", "arn:aws:s3:::lake", True),
    ("kms:GenerateDataKey", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
])
def test_the_default_ceiling(action: str, resource: str, expected: bool) -> None:
    assert inside(DEFAULT, action, resource) is expected


def test_every_action_of_the_default_has_a_reason_and_exists_in_the_reference() -> None:
    reasons = ceiling.reasons()
    known = {a.lower() for a in known_actions()}
    for stmt in ceiling.default_document()["Statement"]:
        listed = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        for action in listed:
            if stmt["Effect"] == "Allow":
                assert reasons.get(action), action
                assert action.lower() in known or action == "bedrock-agentcore:InvokeHarness", action
        if stmt["Effect"] == "Deny":
            assert reasons.get(stmt["Sid"]), stmt["Sid"]


def test_the_default_names_the_products_stack_and_defaults_to_sfn_iam() -> None:
    named = default(account=ACCOUNT, stack="governance")
    fixer = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:governance-RoleFixerFunction-1"
    assert not inside(named, "lambda:InvokeFunction", fixer)
    assert inside(DEFAULT, "lambda:InvokeFunction", fixer)
    assert default() is default() and default(account=ACCOUNT) is DEFAULT


# --- the boundary IAM holds -------------------------------------------------------------------------------------

def test_a_document_that_fits_is_the_boundary_as_it_is_without_sids() -> None:
    small = doc({"Sid": "A", **allow(["s3:GetObject", "s3:GetObjectVersion"], "arn:aws:s3:::*")})
    assert ceiling.boundary(small) == doc(allow(["s3:GetObject", "s3:GetObjectVersion"], "arn:aws:s3:::*"))


def test_merges_read_verbs_first_and_never_admit_permissions_management() -> None:
    reads = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectAttributes"]
    writes = ["s3:PutObject", "s3:PutObjectTagging"]
    src = doc(allow(reads + writes, "arn:aws:s3:::*"))
    limit = ceiling.size(src) - 10
    merged = ceiling.boundary(src, limit=limit)
    actions = merged["Statement"][0]["Action"]
    assert "s3:Get*" in actions and "s3:PutObject" in actions  # a read verb was enough
    assert ceiling.size(merged) <= limit
    with pytest.raises(CeilingError, match="does not fit"):
        ceiling.boundary(src, limit=40, most=1)  # s3:Put* would admit s3:PutBucketPolicy: never
    with pytest.raises(CeilingError):
        ceiling.boundary(src, limit=limit, avoid=["s3:GetBucket*"])  # s3:Get* would admit what is to be avoided


# --- what a role's policies may do beyond the ceiling --------------------------------------------------------------

def test_exceeding_reads_allow_statements_as_every_request_they_allow() -> None:
    c = parse(doc(allow("s3:GetObject", "arn:aws:s3:::*"), allow("sqs:SendMessage", f"arn:aws:sqs:*:{ACCOUNT}:*")))
    known = known_actions()
    fits = doc(allow("s3:GetObject", "arn:aws:s3:::b/*"), {"Effect": "Deny", "Action": "*", "Resource": "*"})
    assert exceeding(c, [fits], known) == []
    assert exceeding(c, [doc(allow("s3:Get*", "arn:aws:s3:::b/*"))], known)[0] == ("s3:GetAccelerateConfiguration",
                                                                                   "arn:aws:s3:::b/*")
    every = exceeding(c, [doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": f"arn:aws:sqs:*:{ACCOUNT}:*"})],
                      known)
    assert len(every) > 10_000 and ("sqs:SendMessage", f"arn:aws:sqs:*:{ACCOUNT}:*") not in every
    assert exceeding(c, [doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"})],
                     known) == [("s3:GetObject", "*")]
    assert exceeding(c, [doc(allow("madeup:Do*", "*"))], known) == [("madeup:Do*", "*")]
    assert exceeding(c, [{"Statement": "not a list"}, "not a document", doc("not a statement")], known) == []


def test_a_parsed_ceiling_is_read_only_and_is_itself_only() -> None:
    """A parsed ceiling is shared (the default's cache) and its verdicts are cached by identity."""
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", "Action": "sqs:SendMessage",
                                                       "Resource": "*"}]}
    first, second = parse(document, source="file"), parse(document, source="file")
    assert first == first and first != second and hash(first) != hash(second)
    assert first.statements[0] != second.statements[0]
    statement = first.statements[0]
    assert repr(statement).startswith("Statement(sid='S', allow=True, actions=('sqs:SendMessage',), not_action=False")
    assert repr(first).startswith("Ceiling(statements=(Statement(sid='S'") and "source='file'" in repr(first)
    with pytest.raises(AttributeError, match="cannot assign to field 'source'"):
        first.source = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete field 'allow'"):
        del statement.allow  # type: ignore[misc]
    assert default() is default()  # one default per process
