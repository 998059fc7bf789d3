"""Which resources an action can accept (engine.integrations.validity), judged against the IAM reference's ARN
templates: a resource that can never match is dropped with INVALID_VALUE, one that can is kept (pinned by mutation
testing, docs/mutation.md)."""

from __future__ import annotations

import pytest

from sfn_iam.engine.integrations.validity import problem, valid_only
from sfn_iam.findings import Finding
from sfn_iam.model import Requirement
from tests.helpers import ACCOUNT, REGION, assert_denies, codes, plan_for, task

DDB = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}"


@pytest.mark.parametrize(("action", "resource", "valid"), [
    ("s3:GetObject", "arn:aws:s3:::bucket/key", True),
    ("s3:GetObject", f"arn:aws:s3:{REGION}:{ACCOUNT}:bucket/key", False),  # an S3 object ARN has no Region
    ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/x", True),
    ("iam:GetRole", f"arn:aws:iam:{REGION}:{ACCOUNT}:role/x", False),  # IAM has no Region
    ("iam:GetRole", f"arn:aws:iam:*:{ACCOUNT}:role/x", True),  # a wildcard Region may be empty
    ("sns:Publish", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", False),  # another service, in either name order
    ("sqs:SendMessage", f"arn:aws:sns:{REGION}:{ACCOUNT}:t", False),
    ("sqs:SendMessage", f"arn:aws:sq*:{REGION}:{ACCOUNT}:q", True),
    ("dynamodb:GetItem", f"{DDB}:table/Orders", True),
    ("dynamodb:GetItem", f"{DDB}:table", False),  # the type without a name
    ("dynamodb:GetItem", f"{DDB}:tab*", True),  # a pattern that can still reach table/...
    ("dynamodb:GetItem", f"{DDB}:stream*", False),
    ("sns:Publish", "", False),
    ("sns:Publish", "*", True),
    ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:${{Topic}}", False),
    # a template the reference gives without a resource part: not judged
    ("dsql:GetStream", f"arn:aws:dsql:{REGION}:{ACCOUNT}:stream/s1", True),
])
def test_a_resource_is_kept_only_when_the_action_can_accept_it(action: str, resource: str, valid: bool) -> None:
    assert (problem(action, resource) is None) is valid


@pytest.mark.parametrize(("length", "quoted"), [(5, True), (200, True), (201, False)])
def test_an_invalid_resource_is_quoted_up_to_200_characters(length: int, quoted: bool) -> None:
    resource = "x" * length
    findings: list[Finding] = []
    assert valid_only([Requirement("sns:Publish", resource, path="States.T")], findings) == []
    assert [(f.code, f.path) for f in findings] == [("INVALID_VALUE", "States.T")]
    assert (f"{resource!r} is not an ARN" in findings[0].message) is quoted
    assert f"{resource[:200]!r} is not an ARN" in findings[0].message


def test_a_topic_that_is_not_an_arn_is_reported_not_granted() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:sns:publish", {"TopicArn": f"{DDB}:table/Orders", "Message": "m"}))
    assert "INVALID_VALUE" in codes(plan)
    assert_denies(plan, "sns:Publish", f"{DDB}:table/Orders")


def test_the_accepted_types_are_listed_up_to_300_characters() -> None:
    """ec2:CreateTags accepts dozens of resource types: the finding lists the first 300 characters of them."""
    why = problem("ec2:CreateTags", f"arn:aws:ec2:{REGION}:{ACCOUNT}:no-such-type/x")
    assert why is not None and why.startswith("is not a resource ec2:CreateTags accepts (arn:${Partition}:ec2:")
    assert len(why) == len("is not a resource ec2:CreateTags accepts (") + 300 + len(")")
