"""Requests the core integrations make at run time: allowed exactly, neighbours denied."""

from __future__ import annotations

import pytest

from tests.helpers import ACCOUNT, REGION, SM_ARN, approving_guard, assert_allows, assert_denies, codes, plan_for, task

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"


@pytest.mark.usefixtures("any_account")
@pytest.mark.parametrize(
    ("function_name", "qualifier", "allowed", "denied"),
    [
        ("a", None, f"{FN}:a", f"{FN}:b"),
        ("a:prod", None, f"{FN}:a:prod", f"{FN}:a"),
        ("a", "7", f"{FN}:a:7", f"{FN}:a:8"),
        (f"{ACCOUNT}:function:d", None, f"{FN}:d", f"{FN}:d:1"),
        (f"{FN}:e:live", None, f"{FN}:e:live", f"{FN}:e"),
        ("arn:aws:lambda:eu-west-1:210987654321:function:x", None,
         "arn:aws:lambda:eu-west-1:210987654321:function:x", f"{FN}:x"),
    ],
)
@pytest.mark.parametrize("pattern", ["", ".waitForTaskToken"])
def test_lambda_invoke_grants_the_exact_function_and_qualifier(
    function_name: str, qualifier: str | None, allowed: str, denied: str, pattern: str
) -> None:
    params = {"FunctionName": function_name, "Payload.$": "$"}
    if qualifier:
        params["Qualifier"] = qualifier
    plan = plan_for(task(f"arn:aws:states:::lambda:invoke{pattern}", params))
    assert_allows(plan, "lambda:InvokeFunction", allowed)
    assert_denies(plan, "lambda:InvokeFunction", denied)
    assert_denies(plan, "lambda:UpdateFunctionCode", allowed)


def test_lambda_function_arn_as_resource_is_invoked_directly() -> None:
    plan = plan_for(task(f"{FN}:direct:3"))
    assert_allows(plan, "lambda:InvokeFunction", f"{FN}:direct:3")
    assert_denies(plan, "lambda:InvokeFunction", f"{FN}:direct")


@pytest.mark.parametrize("jsonata", [False, True])
def test_dynamic_function_name_is_scoped_to_the_account_and_reported(jsonata: bool) -> None:
    params = {"FunctionName": "{% $states.input.fn %}"} if jsonata else {"FunctionName.$": "$.fn"}
    plan = plan_for(task("arn:aws:states:::lambda:invoke", params, jsonata=jsonata))
    assert_allows(plan, "lambda:InvokeFunction", f"{FN}:anything")
    assert_denies(plan, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:999999999999:function:anything")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_sns_topic_is_exact_and_phone_number_needs_star() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"
    plan = plan_for(task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "m"}))
    assert_allows(plan, "sns:Publish", topic)
    assert_denies(plan, "sns:Publish", f"{topic}-other")
    sms = plan_for(task("arn:aws:states:::sns:publish", {"PhoneNumber": "+15555550100", "Message": "m"}))
    # a text to any number leaves the account: outside the default ceiling, with the statement that approves it
    assert_denies(sms, "sns:Publish", "*")
    assert "OUTSIDE_CEILING" in codes(sms)
    approved = plan_for(task("arn:aws:states:::sns:publish", {"PhoneNumber": "+15555550100", "Message": "m"}),
                        guard=approving_guard(sms))
    assert_allows(approved, "sns:Publish", "*")
    assert "DYNAMIC_RESOURCE" in codes(approved)


@pytest.mark.parametrize(
    ("url", "arn"),
    [
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q1", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q1"),
        (f"https://eu-west-1.queue.amazonaws.com/{ACCOUNT}/q2.fifo", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q2.fifo"),
        (f"https://queue.amazonaws.com/{ACCOUNT}/q3", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q3"),
        (f"https://sqs.us-gov-west-1.amazonaws.com/{ACCOUNT}/q4", f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCOUNT}:q4"),
        (f"https://sqs.cn-north-1.amazonaws.com.cn/{ACCOUNT}/q5", f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:q5"),
    ],
)
def test_sqs_queue_url_forms_become_the_queue_arn(url: str, arn: str) -> None:
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "x"}))
    assert_allows(plan, "sqs:SendMessage", arn)
    assert_denies(plan, "sqs:SendMessage", arn + "x")


def test_sqs_unparseable_url_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": "not a url", "MessageBody": "x"}))
    assert plan.documents == ()
    assert "INVALID_VALUE" in codes(plan)


@pytest.mark.parametrize("api", ["getItem", "putItem", "updateItem", "deleteItem"])
def test_dynamodb_grants_only_the_action_used(api: str) -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
    plan = plan_for(task(f"arn:aws:states:::dynamodb:{api}", {"TableName": "Orders", "Key": {}}))
    action = "dynamodb:" + api[0].upper() + api[1:]
    assert_allows(plan, action, table)
    assert_denies(plan, action, table + "2")
    for other in {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} - {action}:
        assert_denies(plan, other, table)


def test_eventbridge_every_entry_bus_and_default() -> None:
    bus_arn = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/remote"
    plan = plan_for(task("arn:aws:states:::events:putEvents", {"Entries": [
        {"Detail": {}, "DetailType": "x", "Source": "s"},
        {"EventBusName": "orders", "Detail": {}, "DetailType": "x", "Source": "s"},
        {"EventBusName": bus_arn, "Detail": {}, "DetailType": "x", "Source": "s"},
    ]}))
    for bus in ("default", "orders"):
        assert_allows(plan, "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
    assert_allows(plan, "events:PutEvents", bus_arn)
    assert_denies(plan, "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/other")


@pytest.mark.parametrize("pattern", ["", ".sync", ".sync:2", ".waitForTaskToken"])
def test_nested_execution_targets_state_machine_and_its_executions(pattern: str) -> None:
    child = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Child"
    plan = plan_for(task(f"arn:aws:states:::states:startExecution{pattern}", {"StateMachineArn": child}))
    assert_allows(plan, "states:StartExecution", child)
    assert_denies(plan, "states:StartExecution", child + "2")
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Child:0b7c"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    if pattern.startswith(".sync"):
        assert_allows(plan, "states:DescribeExecution", execution)
        assert_allows(plan, "states:StopExecution", execution)
        assert_denies(plan, "states:DescribeExecution", child)
        for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
            assert_allows(plan, action, rule)
    else:
        assert_denies(plan, "states:DescribeExecution", execution)
        assert_denies(plan, "events:PutRule", rule)


def test_nested_execution_of_an_alias_uses_the_qualifier_condition() -> None:
    child = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Child"
    plan = plan_for(task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": child + ":prod"}))
    assert_allows(plan, "states:StartExecution", child, {"states:StateMachineQualifier": "prod"})
    assert_denies(plan, "states:StartExecution", child, {"states:StateMachineQualifier": "beta"})
    assert_allows(plan, "states:DescribeExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Child:1234")


def test_http_task_is_scoped_to_own_arn_method_endpoint_and_connection_secret() -> None:
    conn = f"arn:aws:events:{REGION}:{ACCOUNT}:connection/stripe/0b2b1c1d-aaaa"
    plan = plan_for(task("arn:aws:states:::http:invoke", {
        "ApiEndpoint": "https://api.stripe.com/v1/charges", "Method": "POST",
        "InvocationConfig": {"ConnectionArn": conn}}))
    ctx = {"states:HTTPMethod": "POST", "states:HTTPEndpoint": "https://api.stripe.com/v1/charges"}
    assert_allows(plan, "states:InvokeHTTPEndpoint", SM_ARN, ctx)
    assert_denies(plan, "states:InvokeHTTPEndpoint", SM_ARN, {**ctx, "states:HTTPMethod": "DELETE"})
    assert_denies(plan, "states:InvokeHTTPEndpoint", SM_ARN, {**ctx, "states:HTTPEndpoint": "https://evil.example"})
    assert_allows(plan, "events:RetrieveConnectionCredentials", conn)
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:events!connection/stripe/abc-123"
    assert_allows(plan, "secretsmanager:GetSecretValue", secret)
    assert_denies(plan, "secretsmanager:GetSecretValue",
                  f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:events!connection/other/abc")


def test_activity_needs_nothing() -> None:
    plan = plan_for(task(f"arn:aws:states:{REGION}:{ACCOUNT}:activity:work"))
    assert plan.documents == ()
    assert "NO_PERMISSIONS" in codes(plan)


@pytest.mark.usefixtures("any_account")
def test_credentials_grant_only_assume_role_on_the_target() -> None:
    target = "arn:aws:iam::210987654321:role/Target"
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"}, Credentials={"RoleArn": target}))
    assert_allows(plan, "sts:AssumeRole", target)
    assert_denies(plan, "sts:AssumeRole", "arn:aws:iam::210987654321:role/Other")
    assert_denies(plan, "lambda:InvokeFunction", f"{FN}:f")
    assert "CROSS_ACCOUNT_CREDENTIALS" in codes(plan)


def test_dynamic_credentials_role_is_refused() -> None:
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"},
                         Credentials={"RoleArn.$": "$.role"}))
    assert_denies(plan, "sts:AssumeRole", "arn:aws:iam::210987654321:role/Admin")
    assert "BLOCKED_ACTION" in codes(plan)


def test_unknown_resource_is_reported_and_not_granted() -> None:
    plan = plan_for(task("arn:aws:states:::nosuchservice:doThing", {}))
    assert plan.documents == ()
    assert "UNKNOWN_INTEGRATION" in codes(plan)


def test_unsupported_pattern_is_unknown() -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:putItem.sync", {"TableName": "t"}))
    assert "UNKNOWN_INTEGRATION" in codes(plan)
    assert plan.documents == ()
