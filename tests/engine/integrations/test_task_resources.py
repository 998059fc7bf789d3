"""What every integration shares (engine/integrations/base.py), by the requests a run makes: which Task resources are
integrations at all, how a parameter becomes the resource's ARN (literal, ARN, run-time value, missing), and the
owner every S3 grant is pinned to. (Mutation testing of base.py, docs/mutation.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine import Plan
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

TABLES = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"


def _messages(plan: Plan, code: str) -> list[str]:
    return [f.message for f in plan.findings if f.code == code]


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::aws-sdk:dynamodb",  # an SDK service without an operation
    "arn:aws:states:::dynamodb:getItem:extra",  # an optimized integration with a third part
    "arn:aws:states:::aws-sdk:dynamodb:getItem.sync:3",
    "arn:aws:states:::dynamodb:getItem.sync",  # a pattern the optimized integration does not support
    "arn:aws:states::123:dynamodb:getItem",  # an account that is not 12 digits
])
def test_a_task_resource_that_is_no_integration_grants_nothing(resource: str) -> None:
    plan = plan_for(task(resource, {"TableName": "t", "Key": {}}))
    assert plan.documents == ()
    assert "UNKNOWN_INTEGRATION" in codes(plan)


def test_an_activity_needs_nothing_even_qualified() -> None:
    plan = plan_for(task(f"arn:aws:states:{REGION}:{ACCOUNT}:activity:review"))
    assert plan.documents == ()
    assert "UNKNOWN_INTEGRATION" not in codes(plan)


@pytest.mark.parametrize("resource", [
    "arn:aws:states:::aws-sdk:dynamodb:getItem",
    "arn:aws:states:::aws-sdk:dynamodb:getItem.waitForTaskToken",
    f"arn:aws:states:{REGION}:{ACCOUNT}:aws-sdk:dynamodb:getItem",
    "arn:aws:states:::dynamodb:getItem",
    f"arn:aws:states:{REGION}:{ACCOUNT}:dynamodb:getItem",
])
def test_every_resource_form_of_one_call_asks_for_the_same_item(resource: str) -> None:
    plan = plan_for(task(resource, {"TableName": "orders", "Key": {}}))
    assert_allows(plan, "dynamodb:GetItem", f"{TABLES}/orders")
    assert_denies(plan, "dynamodb:GetItem", f"{TABLES}/other")
    assert_denies(plan, "dynamodb:PutItem", f"{TABLES}/orders")
    assert not codes(plan) & {"UNKNOWN_INTEGRATION", "CROSS_ACCOUNT_RESOURCE"}


def test_a_task_resource_in_another_region_is_scoped_to_that_region() -> None:
    plan = plan_for(task(f"arn:aws:states:eu-west-1:{ACCOUNT}:aws-sdk:dynamodb:getItem",
                         {"TableName": "orders", "Key": {}}))
    assert_allows(plan, "dynamodb:GetItem", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders")
    assert_denies(plan, "dynamodb:GetItem", f"{TABLES}/orders")
    assert any("names Region eu-west-1" in m for m in _messages(plan, "CROSS_ACCOUNT_RESOURCE"))


def test_a_machine_in_another_partition_gets_that_partitions_arns() -> None:
    plan = plan_for(task("arn:aws-cn:states:::dynamodb:getItem", {"TableName": "orders", "Key": {}}),
                    arn=f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:stateMachine:M")
    assert_allows(plan, "dynamodb:GetItem", f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/orders")
    assert_denies(plan, "dynamodb:GetItem", f"arn:aws:dynamodb:cn-north-1:{ACCOUNT}:table/orders")


# --- a parameter that names a resource ----------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"Key": {}}, {"TableName": "", "Key": {}}])
def test_a_call_without_its_resource_gets_nothing_and_says_what_is_missing(params: dict[str, Any]) -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:getItem", params))
    assert plan.documents == ()
    assert any(m.startswith("TableName is missing") for m in _messages(plan, "MISSING_PARAMETER"))


def test_a_resource_named_by_arn_is_taken_as_it_is() -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:getItem", {"TableName": f"{TABLES}/orders", "Key": {}}))
    assert_allows(plan, "dynamodb:GetItem", f"{TABLES}/orders")
    assert_denies(plan, "dynamodb:GetItem", f"{TABLES}/{TABLES}/orders")
    assert_denies(plan, "dynamodb:GetItem", f"{TABLES}/other")


def test_a_run_time_resource_is_the_accounts_pattern_and_is_reported() -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:getItem", {"TableName.$": "$.table", "Key": {}}))
    assert_allows(plan, "dynamodb:GetItem", f"{TABLES}/any")
    assert_denies(plan, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:999999999999:table/any")
    assert any(m.startswith("TableName is only known at run time; narrowest pattern: ")
               for m in _messages(plan, "DYNAMIC_RESOURCE"))


# --- S3: every bucket or object grant is pinned to its owner --------------------------------------------------------


@pytest.mark.parametrize(("owner", "code", "message"), [
    ({"ExpectedBucketOwner.$": "$.owner"}, "DYNAMIC_RESOURCE", "ExpectedBucketOwner is only known at run time"),
    ({"ExpectedBucketOwner": "abc"}, "INVALID_VALUE", "ExpectedBucketOwner 'abc' is not an account ID"),
    ({"ExpectedBucketOwner": "12345678901"}, "INVALID_VALUE", "is not an account ID"),
])
def test_an_owner_that_is_not_a_literal_account_keeps_the_grant_in_this_account(owner: dict[str, str], code: str,
                                                                                message: str) -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data", "Key": "k", **owner}))
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::data/k", {"s3:ResourceAccount": ACCOUNT})
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::data/k", {"s3:ResourceAccount": "999999999999"})
    assert any(message in m for m in _messages(plan, code)), plan.findings


def test_each_bucket_of_one_call_is_pinned_to_its_own_owner() -> None:
    """CopyObject: ExpectedBucketOwner is the destination's owner, ExpectedSourceBucketOwner the source's."""
    plan = plan_for(task("arn:aws:states:::aws-sdk:s3:copyObject", {
        "Bucket": "dst", "Key": "k", "CopySource": "src/k", "ExpectedBucketOwner": "999999999999"}))
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::dst/k", {"s3:ResourceAccount": "999999999999"})
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::dst/k", {"s3:ResourceAccount": ACCOUNT})
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::src/k", {"s3:ResourceAccount": ACCOUNT})
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::src/k", {"s3:ResourceAccount": "999999999999"})
