"""S3 ARNs carry no account: every S3 grant on a bucket or object is pinned to its owner with s3:ResourceAccount.

Request level: the same object in this account is allowed, in another account denied; a request naming another owner
(ExpectedBucketOwner, ExpectedSourceBucketOwner, Athena's ResultConfiguration.ExpectedBucketOwner) is pinned to
that owner with a finding.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, codes, plan_for, task

OTHER = "999999999999"
OWN = {"s3:ResourceAccount": ACCOUNT}
FOREIGN = {"s3:ResourceAccount": OTHER}
SDK = "arn:aws:states:::aws-sdk:s3"


def _reader(params: dict[str, Any], resource: str = "arn:aws:states:::s3:getObject") -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": resource, "ReaderConfig": {"InputType": "JSON"}, "Parameters": params},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P",
                          "States": {"P": {"Type": "Pass", "End": True}}}}}}


@pytest.mark.parametrize(("definition", "action", "resource"), [
    (task(f"{SDK}:getObject", {"Bucket": "data", "Key": "in/a.csv"}), "s3:GetObject", "arn:aws:s3:::data/in/a.csv"),
    (task(f"{SDK}:putObject", {"Bucket": "data", "Key": "out/a.csv", "Body.$": "$"}), "s3:PutObject",
     "arn:aws:s3:::data/out/a.csv"),
    (task(f"{SDK}:listObjectsV2", {"Bucket": "data"}), "s3:ListBucket", "arn:aws:s3:::data"),
    (task(f"{SDK}:getObject", {"Bucket.$": "$.b", "Key.$": "$.k"}), "s3:GetObject", "arn:aws:s3:::any/thing"),
    (_reader({"Bucket": "data", "Key": "items.json"}), "s3:GetObject", "arn:aws:s3:::data/items.json"),
    (task("arn:aws:states:::athena:startQueryExecution", {"QueryString": "SELECT 1"}), "s3:PutObject",
     "arn:aws:s3:::wg-results/q.csv"),
    (task("arn:aws:states:::bedrock:invokeModel", {"ModelId": "amazon.titan-text-express-v1",
                                                   "Input": {"S3Uri": "s3://in-bucket/prompt.json"}}),
     "s3:GetObject", "arn:aws:s3:::in-bucket/prompt.json"),
])
def test_own_account_bucket_allowed_the_same_name_in_another_account_denied(
        definition: dict[str, Any], action: str, resource: str) -> None:
    plan = plan_for(definition)
    assert_requests(plan, action, resource, OWN)
    assert_not_requested(plan, action, resource, FOREIGN)


def test_expected_bucket_owner_of_another_account_pins_the_grant_to_that_owner() -> None:
    plan = plan_for(task(f"{SDK}:getObject", {"Bucket": "shared", "Key": "a.csv", "ExpectedBucketOwner": OTHER}))
    assert_requests(plan, "s3:GetObject", "arn:aws:s3:::shared/a.csv", FOREIGN)
    assert_not_requested(plan, "s3:GetObject", "arn:aws:s3:::shared/a.csv", OWN)
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)


def test_expected_bucket_owner_of_this_account_is_silent() -> None:
    plan = plan_for(task(f"{SDK}:getObject", {"Bucket": "data", "Key": "a.csv", "ExpectedBucketOwner": ACCOUNT}))
    assert_requests(plan, "s3:GetObject", "arn:aws:s3:::data/a.csv", OWN)
    assert "CROSS_ACCOUNT_RESOURCE" not in codes(plan)


@pytest.mark.parametrize(("owner", "code"), [({"ExpectedBucketOwner.$": "$.owner"}, "DYNAMIC_RESOURCE"),
                                             ({"ExpectedBucketOwner": "someone"}, "INVALID_VALUE")])
def test_unknown_or_invalid_owner_stays_in_this_account(owner: dict[str, str], code: str) -> None:
    plan = plan_for(task(f"{SDK}:getObject", {"Bucket": "data", "Key": "a.csv", **owner}))
    assert_requests(plan, "s3:GetObject", "arn:aws:s3:::data/a.csv", OWN)
    assert_not_requested(plan, "s3:GetObject", "arn:aws:s3:::data/a.csv", FOREIGN)
    assert code in codes(plan)


def test_copy_source_is_pinned_to_its_own_owner_and_the_destination_to_this_account() -> None:
    plan = plan_for(task(f"{SDK}:copyObject", {"Bucket": "mine", "Key": "copy.csv", "CopySource": "theirs/orig.csv",
                                              "ExpectedSourceBucketOwner": OTHER}))
    assert_requests(plan, "s3:GetObject", "arn:aws:s3:::theirs/orig.csv", FOREIGN)
    assert_not_requested(plan, "s3:GetObject", "arn:aws:s3:::theirs/orig.csv", OWN)
    assert_requests(plan, "s3:GetObjectTagging", "arn:aws:s3:::theirs/orig.csv", FOREIGN)
    assert_requests(plan, "s3:PutObject", "arn:aws:s3:::mine/copy.csv", OWN)
    assert_not_requested(plan, "s3:PutObject", "arn:aws:s3:::mine/copy.csv", FOREIGN)


@pytest.mark.parametrize("resource", ["arn:aws:states:::athena:startQueryExecution",
                                      "arn:aws:states:::aws-sdk:athena:startQueryExecution"])
def test_athena_results_follow_result_configuration_expected_bucket_owner(resource: str) -> None:
    plan = plan_for(task(resource, {"QueryString": "SELECT 1", "ResultConfiguration": {
        "OutputLocation": "s3://central-results/q/", "ExpectedBucketOwner": OTHER}}))
    assert_requests(plan, "s3:PutObject", "arn:aws:s3:::central-results/q/1.csv", FOREIGN)
    assert_not_requested(plan, "s3:PutObject", "arn:aws:s3:::central-results/q/1.csv", OWN)
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)


def test_access_point_arns_carry_their_account_and_get_no_owner_condition() -> None:
    ap = "arn:aws:s3:us-east-1:123456789012:accesspoint/ap1"
    plan = plan_for(task(f"{SDK}:getObject", {"Bucket": ap, "Key": "a.csv"}))
    assert all(not any(c.key == "s3:ResourceAccount" for c in r.conditions)
               for r in plan.requirements if r.resource.startswith(ap))
