"""Requests that pin behaviour a mutation run showed no test protected (docs/mutation.md).

Each test states what the state machine will request at run time (action, resource, condition context) and the
neighbouring request that must stay denied: the narrow shape we grant is what a regression would silently widen.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import ACCOUNT, REGION, SM_NAME, assert_allows, assert_denies, codes, plan_for, task

BUCKET = "arn:aws:s3:::data-bucket"


def distributed_map(reader: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        **extra,
    }
    if reader is not None:
        state["ItemReader"] = reader
    return {"StartAt": "M", "States": {"M": state}}


def list_objects(**params: Any) -> dict[str, Any]:
    """A listing reader that loads each listed object (the only one that reads objects)."""
    return {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "data-bucket", **params},
            "ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN"}}


# --- ItemReader listObjectsV2: the prefix narrows both the listing and the reads ---------------------------------

def test_item_reader_prefix_narrows_the_object_reads() -> None:
    plan = plan_for(distributed_map(list_objects(Prefix="in/")))
    assert_allows(plan, "s3:GetObject", f"{BUCKET}/in/2024/a.csv")
    assert_denies(plan, "s3:GetObject", f"{BUCKET}/out/a.csv")
    assert_denies(plan, "s3:GetObject", f"{BUCKET}/a.csv")


def test_item_reader_prefix_conditions_the_listing() -> None:
    plan = plan_for(distributed_map(list_objects(Prefix="in/")))
    assert_allows(plan, "s3:ListBucket", BUCKET, {"s3:prefix": "in/"})
    assert_denies(plan, "s3:ListBucket", BUCKET, {"s3:prefix": "out/"})
    assert_denies(plan, "s3:ListBucket", BUCKET)  # a listing of the whole bucket carries no s3:prefix


def test_item_reader_without_prefix_lists_and_reads_the_whole_bucket_only() -> None:
    plan = plan_for(distributed_map(list_objects()))
    assert_allows(plan, "s3:ListBucket", BUCKET)
    assert_allows(plan, "s3:GetObject", f"{BUCKET}/any/key")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::other-bucket/any/key")
    assert_denies(plan, "s3:ListBucket", "arn:aws:s3:::other-bucket")


# --- Distributed Map child executions: the Label is part of the child's execution ARN ------------------------------

def _execution(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{SM_NAME}/{name}:0c7ae9a3-7a2b-4b53-a5d1-0c8e2c2d1f55"


@pytest.mark.parametrize("action", ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"])
def test_distributed_map_label_narrows_child_executions(action: str) -> None:
    plan = plan_for(distributed_map(Label="Batch"))
    assert_allows(plan, action, _execution("Batch"))
    assert_denies(plan, action, _execution("Other"))
    assert_denies(plan, action, f"arn:aws:states:{REGION}:{ACCOUNT}:execution:OtherMachine/Batch:id")


def test_distributed_map_without_label_tracks_every_child_of_its_own_machine_only() -> None:
    plan = plan_for(distributed_map())
    assert_allows(plan, "states:RedriveExecution", _execution("AnyLabel"))
    assert_allows(plan, "states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{SM_NAME}")
    assert_denies(plan, "states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Other")
    assert_denies(plan, "states:RedriveExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Other/x:id")


# --- Lambda: qualifiers and the account/region check ---------------------------------------------------------------

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"


@pytest.mark.parametrize("params", [{"FunctionName": "worker", "Qualifier": "$LATEST"},
                                    {"FunctionName": "worker:$LATEST"}, {"FunctionName": f"{FN}:$LATEST"}])
def test_lambda_latest_is_granted_with_and_without_its_qualifier(params: dict[str, str]) -> None:
    plan = plan_for(task("arn:aws:states:::lambda:invoke", params))
    assert_allows(plan, "lambda:InvokeFunction", f"{FN}:$LATEST")
    assert_allows(plan, "lambda:InvokeFunction", FN)
    assert_denies(plan, "lambda:InvokeFunction", f"{FN}:live")


def test_lambda_alias_is_granted_alone() -> None:
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": "worker", "Qualifier": "live"}))
    assert_allows(plan, "lambda:InvokeFunction", f"{FN}:live")
    assert_denies(plan, "lambda:InvokeFunction", FN)
    assert_denies(plan, "lambda:InvokeFunction", f"{FN}:$LATEST")


@pytest.mark.usefixtures("any_account")
@pytest.mark.parametrize(("region", "account", "outside"), [
    (REGION, ACCOUNT, False), ("eu-west-1", ACCOUNT, True), (REGION, "210987654321", True),
])
def test_lambda_in_another_region_or_account_is_reported(region: str, account: str, outside: bool) -> None:
    arn = f"arn:aws:lambda:{region}:{account}:function:worker"
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": arn}))
    assert_allows(plan, "lambda:InvokeFunction", arn)
    assert ("CROSS_ACCOUNT_RESOURCE" in codes(plan)) is outside


# --- aws-sdk: a resource of another service or type is refused, not granted -----------------------------------------

def test_sdk_call_with_an_arn_of_another_service_grants_nothing_on_it() -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
    plan = plan_for(task("arn:aws:states:::aws-sdk:sns:publish", {"TopicArn": queue, "Message": "m"}))
    assert "INVALID_VALUE" in codes(plan)
    assert_denies(plan, "sns:Publish", queue)
    assert not [r for s in plan.statements for r in s["Resource"] if r == queue]


def test_sdk_call_with_its_own_resource_type_is_granted_without_finding() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"
    plan = plan_for(task("arn:aws:states:::aws-sdk:sns:publish", {"TopicArn": topic, "Message": "m"}))
    assert "INVALID_VALUE" not in codes(plan)
    assert_allows(plan, "sns:Publish", topic)
    assert_denies(plan, "sns:Publish", f"{topic}-other")


def test_sdk_call_with_an_arn_of_another_resource_type_of_the_same_service_grants_nothing_on_it() -> None:
    # The IAM reference lets a layer ARN pass as "some lambda resource", so the SDK scoping itself must refuse it.
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:tools"
    plan = plan_for(task("arn:aws:states:::aws-sdk:lambda:getFunction", {"FunctionName": layer}))
    assert "INVALID_VALUE" in codes(plan)
    assert_denies(plan, "lambda:GetFunction", layer)
    assert not [r for s in plan.statements for r in s["Resource"] if r.startswith(layer)]


@pytest.mark.parametrize(("resource", "params", "action"), [
    ("arn:aws:states:::sns:publish", {"TopicArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders", "Message": "m"},
     "sns:Publish"),
    ("arn:aws:states:::sqs:sendMessage", {"QueueUrl": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders", "MessageBody": "m"},
     "sqs:SendMessage"),
])
def test_optimized_call_with_an_arn_of_another_service_grants_nothing_on_it(
        resource: str, params: dict[str, str], action: str) -> None:
    plan = plan_for(task(resource, params))
    assert "INVALID_VALUE" in codes(plan)
    wrong = next(v for v in params.values() if v.startswith("arn:"))
    assert_denies(plan, action, wrong)
    assert not [r for s in plan.statements for r in s["Resource"] if r == wrong]


# --- nested executions and Lambda names: every comparison, both ways; values parsed from JSON -------------------------

def parsed_plan(definition: dict[str, Any]) -> Any:
    """The plan of the definition as DescribeStateMachine returns it (JSON text): its strings are fresh objects."""
    return plan_for(json.dumps(definition))


@pytest.mark.usefixtures("any_account")
@pytest.mark.parametrize(("account", "outside"), [(ACCOUNT, False), ("000000000001", True), ("999999999999", True)])
def test_a_nested_state_machine_in_another_account_is_reported(account: str, outside: bool) -> None:
    target = f"arn:aws:states:{REGION}:{account}:stateMachine:Child"
    plan = parsed_plan(task("arn:aws:states:::states:startExecution", {"StateMachineArn": target}))
    assert_allows(plan, "states:StartExecution", target)
    assert ("CROSS_ACCOUNT_RESOURCE" in codes(plan)) is outside


def test_a_nested_execution_of_something_else_than_a_state_machine_grants_nothing() -> None:
    target = "arn:aws:lambda:us-east-1:123456789012:function:" + "f" * 300
    plan = parsed_plan(task("arn:aws:states:::states:startExecution", {"StateMachineArn": target}))
    [finding] = [f for f in plan.findings if f.code == "INVALID_VALUE"]
    assert f"StateMachineArn {target[:200]!r} is not" in finding.message
    assert not [a for s in plan.statements for a in s["Action"] if a == "states:StartExecution"]


@pytest.mark.parametrize(("name", "qualifier"), [("worker:alpha", "beta"), ("worker:beta", "alpha")])
def test_lambda_name_and_qualifier_naming_different_versions_grant_nothing(name: str, qualifier: str) -> None:
    plan = parsed_plan(task("arn:aws:states:::lambda:invoke", {"FunctionName": name, "Qualifier": qualifier}))
    assert "INVALID_VALUE" in codes(plan)
    assert not [a for s in plan.statements for a in s["Action"] if a == "lambda:InvokeFunction"]


def test_lambda_name_and_qualifier_naming_the_same_version_grant_it() -> None:
    plan = parsed_plan(task("arn:aws:states:::lambda:invoke", {"FunctionName": "worker:live", "Qualifier": "live"}))
    assert "INVALID_VALUE" not in codes(plan)
    assert_allows(plan, "lambda:InvokeFunction", f"{FN}:live")
    assert_denies(plan, "lambda:InvokeFunction", FN)


@pytest.mark.parametrize(("region", "account"), [("us-west-2", ACCOUNT), ("af-south-1", ACCOUNT),
                                                 (REGION, "000000000001"), (REGION, "999999999999")])
def test_lambda_outside_the_machines_region_or_account_is_reported_both_ways(region: str, account: str) -> None:
    arn = f"arn:aws:lambda:{region}:{account}:function:worker"
    plan = parsed_plan(task("arn:aws:states:::lambda:invoke", {"FunctionName": arn}))
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)


def test_an_invalid_lambda_name_is_quoted_up_to_200_characters() -> None:
    name = "not a function name " * 20
    plan = parsed_plan(task("arn:aws:states:::lambda:invoke", {"FunctionName": name}))
    [finding] = [f for f in plan.findings if f.code == "INVALID_VALUE"]
    assert f"FunctionName {name[:200]!r} is not" in finding.message
