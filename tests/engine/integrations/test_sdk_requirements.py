"""What an AWS SDK Task is before any scoping (engine/integrations/sdk/__init__.py), by the requests a run makes: a
service, operation or action the table does not know is reported and grants nothing. Which service integration
patterns an SDK integration supports: Request Response and Wait for a Callback (``.waitForTaskToken``) call the API
and keep its grants; Run a Job (``.sync``, ``.sync:2``) is not supported for SDK integrations, so such a Task cannot
run and is reported as the optimized integrations report a pattern they do not support, with nothing granted
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html, "Integration pattern support")."""

from __future__ import annotations

import pytest

from tests.helpers import ACCOUNT, REGION, admin_guard, assert_allows, assert_denies, codes, plan_for, task

TABLES = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
QUEUES = f"arn:aws:sqs:{REGION}:{ACCOUNT}"


@pytest.mark.parametrize("pattern", ["", ".waitForTaskToken"])
def test_a_supported_pattern_keeps_the_grants_of_the_call(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:dynamodb:getItem{pattern}", {"TableName": "orders", "Key": {}}))
    assert_allows(plan, "dynamodb:GetItem", f"{TABLES}/orders")
    assert_denies(plan, "dynamodb:GetItem", f"{TABLES}/other")
    assert "UNKNOWN_INTEGRATION" not in codes(plan)


@pytest.mark.parametrize("pattern", [".sync", ".sync:2"])
@pytest.mark.parametrize(("call", "params", "action", "resource"), [
    ("dynamodb:getItem", {"TableName": "orders", "Key": {}}, "dynamodb:GetItem", f"{TABLES}/orders"),
    # an operation with a handler of its own, and one whose dependent grants (iam:PassRole) come after the call's
    ("sqs:sendMessage", {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs", "MessageBody": "m"},
     "sqs:SendMessage", f"{QUEUES}:jobs"),
    ("athena:startQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "primary"}, "athena:GetDataCatalog",
     f"arn:aws:athena:{REGION}:{ACCOUNT}:datacatalog/AwsDataCatalog"),
    ("ecs:runTask", {"TaskDefinition": "app:1", "Overrides": {"TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/app"}},
     "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app"),
])
def test_run_a_job_is_no_sdk_pattern_and_grants_nothing(pattern: str, call: str, params: dict[str, object],
                                                        action: str, resource: str) -> None:
    supported = plan_for(task(f"arn:aws:states:::aws-sdk:{call}", params))
    assert_allows(supported, action, resource, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:{call}{pattern}", params))
    assert plan.documents == ()
    assert [(f.code, f.message) for f in plan.findings] == [
        ("UNKNOWN_INTEGRATION", f"aws-sdk:{call}{pattern}: AWS SDK integrations support no Run a Job pattern "
                                f"({pattern}), only Request Response and .waitForTaskToken; nothing granted")]


def _only(resource: str, params: dict[str, object] | None = None) -> list[tuple[str, str]]:
    """The findings of one SDK Task that must grant nothing (but the plan's own ``NO_PERMISSIONS``)."""
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:{resource}", params if params is not None else {"Name": "x"}),
                    guard=admin_guard("*"))
    assert plan.documents == ()
    return [(f.code, f.message) for f in plan.findings if f.code != "NO_PERMISSIONS"]


def test_a_service_step_functions_does_not_accept_grants_nothing() -> None:
    assert _only("nosuch:getThing") == [
        ("UNKNOWN_INTEGRATION", "aws-sdk:nosuch:getThing: 'nosuch' is not an SDK service Step Functions accepts")]


def test_a_retired_service_grants_nothing_and_a_token_service_needs_no_iam_action() -> None:
    assert _only("honeycode:listTables") == [
        ("UNKNOWN_INTEGRATION", "aws-sdk:honeycode:listTables: on the Step Functions list but absent from the SDK "
                                "models (retired); nothing granted")]
    assert _only("connectparticipant:sendMessage") == [
        ("OUT_OF_BAND_PERMISSION", "aws-sdk:connectparticipant:sendMessage: authenticated with bearer or participant "
                                   "tokens: no IAM action governs this service")]


def test_an_operation_the_sdk_lacks_or_step_functions_does_not_support_grants_nothing() -> None:
    assert _only("dynamodb:getThing") == [
        ("UNKNOWN_INTEGRATION", "aws-sdk:dynamodb:getThing: the dynamodb SDK has no operation 'getThing'; nothing "
                                "granted")]
    assert _only("bedrockagentruntime:invokeAgent") == [
        ("UNKNOWN_INTEGRATION", "aws-sdk:bedrockagentruntime:invokeAgent: Step Functions does not support this "
                                "operation; nothing granted")]


def test_an_action_the_iam_reference_does_not_know_is_not_granted() -> None:
    assert _only("accessanalyzer:getFindingV2", {"AnalyzerArn": "a", "Id": "f"}) == [
        ("UNKNOWN_ACTION", "aws-sdk:accessanalyzer:getFindingV2: access-analyzer:GetFindingV2 is not an IAM action "
                           "the reference knows; not granted")]
