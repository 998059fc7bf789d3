"""Resources a template creates without naming them: CloudFormation names them STACK-LogicalId-SUFFIX (a state
machine LogicalId-SUFFIX), so the policy is granted on that pattern, consistently for every type, narrowed by
``--stack-name``. Checked at the level of requests: what the handler asks for (before the guardrails, whose wildcard
rule does not yet take a generated-name pattern for the one resource it stands for) and what the policy allows."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.cli import sources
from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import assert_allows, assert_denies

ACCOUNT, REGION = "210987654321", "eu-west-1"


def template(definition: dict[str, Any], **resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {**resources, "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "RoleArn": "arn:aws:iam::210987654321:role/r", "Definition": definition}}}}


def plan_of(data: dict[str, Any], stack: str | None = None) -> engine.Plan:
    options = sources.Options(region=REGION, account=ACCOUNT, stack_name=stack)
    machines = sources.load_one("t.json", data, options, explicit=True)
    return engine.plan(next(m for m in machines if m.name == "Machine").state_machine)


def one_task(resource: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if params is not None:
        state["Parameters"] = params
    return {"StartAt": "T", "States": {"T": state}}


FUNCTION = {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12", "Handler": "i.h"}}


@pytest.mark.parametrize("stack", [None, "shop"])
def test_an_unnamed_function_is_invoked_on_its_generated_name(stack: str | None) -> None:
    plan = plan_of(template(one_task("arn:aws:states:::lambda:invoke",
                                     {"FunctionName": {"Fn::GetAtt": ["Worker", "Arn"]}}), Worker=FUNCTION), stack)
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    assert_allows(plan, "lambda:InvokeFunction", f"{fn}:{stack or 'any'}-Worker-1A2B3C4D5E6F")
    assert_denies(plan, "lambda:InvokeFunction", f"{fn}:{stack or 'any'}-Other-1A2B3C4D5E6F")
    assert_denies(plan, "lambda:InvokeFunction", f"{fn}:unrelated")
    if stack:
        assert_denies(plan, "lambda:InvokeFunction", f"{fn}:other-Worker-1A2B3C4D5E6F")


def test_an_unnamed_function_as_the_task_resource_is_invoked_on_its_generated_name() -> None:
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Worker", "Arn"]},
                                                   "End": True}}}
    plan = plan_of(template(definition, Worker=FUNCTION), "shop")
    assert_allows(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-Worker-ABC")
    assert_denies(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-Other-ABC")


def test_an_unnamed_queue_is_sent_to_on_its_generated_name() -> None:
    plan = plan_of(template(one_task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": {"Ref": "Jobs"},
                                                                          "MessageBody": "x"}),
                            Jobs={"Type": "AWS::SQS::Queue", "Properties": {}}), "shop")
    assert_requests(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-Jobs-ABCDEF")
    assert_not_requested(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-Other-ABCDEF")


def test_an_unnamed_fifo_queue_keeps_its_suffix() -> None:
    plan = plan_of(template(one_task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": {"Ref": "Jobs"},
                                                                          "MessageBody": "x"}),
                            Jobs={"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}}), "shop")
    assert_requests(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-Jobs-ABCDEF.fifo")
    assert_not_requested(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-Jobs-ABCDEF")


@pytest.mark.parametrize("stack", [None, "shop"])
def test_an_unnamed_table_is_written_on_its_generated_name(stack: str | None) -> None:
    plan = plan_of(template(one_task("arn:aws:states:::dynamodb:putItem", {"TableName": {"Ref": "Orders"},
                                                                           "Item": {}}),
                            Orders={"Type": "AWS::DynamoDB::Table", "Properties": {}}), stack)
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    assert_requests(plan, "dynamodb:PutItem", f"{table}/{stack or 'any'}-Orders-ABCDEF")
    assert_not_requested(plan, "dynamodb:PutItem", f"{table}/{stack or 'any'}-Users-ABCDEF")


def test_an_unnamed_child_state_machine_is_started_on_its_generated_name() -> None:
    child = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Definition": {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}}}
    plan = plan_of(template(one_task("arn:aws:states:::states:startExecution", {"StateMachineArn": {"Ref": "Child"}}),
                            Child=child), "shop")
    machines = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine"
    assert_allows(plan, "states:StartExecution", f"{machines}:Child-AbCdEf123456")
    assert_denies(plan, "states:StartExecution", f"{machines}:Other-AbCdEf123456")


def test_an_unnamed_bucket_is_lower_cased() -> None:
    plan = plan_of(template(one_task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": {"Ref": "Data"},
                                                                               "Key": "k"}),
                            Data={"Type": "AWS::S3::Bucket", "Properties": {}}), "Shop")
    assert_requests(plan, "s3:GetObject", "arn:aws:s3:::shop-data-abcdef/k", {"s3:ResourceAccount": ACCOUNT})
    assert_not_requested(plan, "s3:GetObject", "arn:aws:s3:::shop-other-abcdef/k", {"s3:ResourceAccount": ACCOUNT})


def test_a_type_whose_generated_name_is_not_known_keeps_the_wildcard() -> None:
    plan = plan_of(template(one_task("arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
                                     {"SecretId": {"Ref": "Token"}}),
                            Token={"Type": "AWS::SecretsManager::Secret", "Properties": {}}), "shop")
    assert_requests(plan, "secretsmanager:GetSecretValue",
                    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:unrelated-AbCdEf")
    loaded = sources.load_one("t.json", template(one_task("arn:aws:states:::lambda:invoke", {
        "FunctionName": {"Ref": "Worker"}}), Worker=FUNCTION), sources.Options(region=REGION, account=ACCOUNT),
        explicit=True)
    assert any("'*-Worker-*'" in f.message for f in loaded[0].findings)


def test_a_name_too_long_to_survive_truncation_keeps_the_wildcard() -> None:
    long_id = "W" * 60
    plan = plan_of(template(one_task("arn:aws:states:::lambda:invoke", {"FunctionName": {"Ref": long_id}}),
                            **{long_id: FUNCTION}), "shop")
    assert_allows(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-WWW-ABC")


def test_a_literal_wildcard_the_template_does_not_generate_is_still_a_run_time_value() -> None:
    plan = plan_of(template(one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "prod-*"}),
                            Worker=FUNCTION), "shop")
    assert_allows(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:anything")
    assert any(f.code == "DYNAMIC_RESOURCE" for f in plan.findings)
