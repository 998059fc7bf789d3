"""SNS publish, SQS sendMessage and EventBridge putEvents by the requests a run makes: the topic, queue or bus the
request names is allowed, its neighbours are denied; a value known only at run time gets the account's pattern and
a finding naming the parameter; a request that cannot succeed gets nothing. (Mutation testing of
engine/integrations/messaging.py, docs/mutation.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine import Plan
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

SNS = f"arn:aws:sns:{REGION}:{ACCOUNT}"
SQS = f"arn:aws:sqs:{REGION}:{ACCOUNT}"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
ELSEWHERE = "999999999999"


def _messages(plan: Plan, code: str) -> list[str]:
    return [f.message for f in plan.findings if f.code == code]


def _grants_nothing(plan: Plan, code: str, message: str) -> None:
    assert plan.documents == ()
    assert any(message in m for m in _messages(plan, code)), plan.findings


# --- SNS ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "what"), [
    (None, "the topic"),  # the whole input is the request
    ({"TopicArn.$": "$.topic", "Message": "m"}, "TopicArn"),
    ({"TargetArn.$": "$.target", "Message": "m"}, "TargetArn"),
    # a run-time topic wins over a literal endpoint: SNS takes the topic
    ({"TopicArn.$": "$.topic", "TargetArn": f"{SNS}:endpoint/APNS/app/1", "Message": "m"}, "TopicArn"),
])
def test_a_run_time_topic_is_any_topic_of_this_account_and_says_which_parameter(params: dict[str, Any] | None,
                                                                                 what: str) -> None:
    plan = plan_for(task("arn:aws:states:::sns:publish", params))
    assert_allows(plan, "sns:Publish", f"{SNS}:orders")
    assert_denies(plan, "sns:Publish", f"arn:aws:sns:{REGION}:{ELSEWHERE}:orders")
    assert_denies(plan, "sns:Publish", f"arn:aws:sns:eu-west-1:{ACCOUNT}:orders")
    assert_denies(plan, "sns:Subscribe", f"{SNS}:orders")
    assert any(m.startswith(f"{what} is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE")), (
        plan.findings)


def test_a_literal_target_endpoint_is_published_to_alone() -> None:
    endpoint = f"{SNS}:endpoint/APNS/app/1"
    plan = plan_for(task("arn:aws:states:::sns:publish", {"TargetArn": endpoint, "Message": "m"}))
    assert_allows(plan, "sns:Publish", endpoint)
    assert_denies(plan, "sns:Publish", f"{SNS}:endpoint/APNS/app/2")
    assert_denies(plan, "sns:Publish", f"{SNS}:orders")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


def test_a_literal_topic_is_chosen_over_a_target() -> None:
    topic = f"{SNS}:orders"
    plan = plan_for(task("arn:aws:states:::sns:publish", {"TopicArn": topic, "TargetArn": f"{SNS}:endpoint/x/y/1",
                                                          "Message": "m"}))
    assert_allows(plan, "sns:Publish", topic)
    assert_denies(plan, "sns:Publish", f"{SNS}:endpoint/x/y/1")


@pytest.mark.parametrize("params", [{"Message": "m"}, {"TopicArn": "", "Message": "m"}])
def test_a_publish_without_topic_target_or_phone_number_gets_nothing(params: dict[str, Any]) -> None:
    _grants_nothing(plan_for(task("arn:aws:states:::sns:publish", params)), "MISSING_PARAMETER",
                    "TopicArn, TargetArn or PhoneNumber is missing")


# --- SQS ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"QueueUrl.$": "$.queue", "MessageBody": "m"},
                                    {"QueueUrl": "{% $states.input.queue %}", "MessageBody": "m"}])
def test_a_run_time_queue_is_any_queue_of_this_account(params: dict[str, Any]) -> None:
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", params, jsonata="{%" in str(params)))
    assert_allows(plan, "sqs:SendMessage", f"{SQS}:jobs")
    assert_denies(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ELSEWHERE}:jobs")
    assert_denies(plan, "sqs:DeleteMessage", f"{SQS}:jobs")
    assert any(m.startswith("QueueUrl is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE"))


@pytest.mark.parametrize("params", [{"MessageBody": "m"}, {"QueueUrl": "", "MessageBody": "m"}])
def test_a_send_without_a_queue_gets_nothing(params: dict[str, Any]) -> None:
    _grants_nothing(plan_for(task("arn:aws:states:::sqs:sendMessage", params)), "MISSING_PARAMETER",
                    "QueueUrl is missing")


@pytest.mark.parametrize(("url", "queue"), [
    (f"http://sqs.{REGION}.amazonaws.com/{ACCOUNT}/plain", f"{SQS}:plain"),
    (f"  https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/spaced ", f"{SQS}:spaced"),
    (f"https://sqs.amazonaws.com/{ACCOUNT}/legacy", f"arn:aws:sqs:us-east-1:{ACCOUNT}:legacy"),
    (f"https://SQS.EU-WEST-1.AMAZONAWS.COM/{ACCOUNT}/upper", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:upper"),
    (f"https://sqs-eu-west-1.api.aws/{ACCOUNT}/dual", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:dual"),
    (f"https://vpce-0a1b2c3d-4e5f.sqs.eu-west-1.vpce.amazonaws.com/{ACCOUNT}/private",
     f"arn:aws:sqs:eu-west-1:{ACCOUNT}:private"),
    (f"https://sqs.{REGION}.amazonaws.com//{ACCOUNT}//doubled/", f"{SQS}:doubled"),
    (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/" + "n" * 80, f"{SQS}:" + "n" * 80),
])
def test_every_queue_url_form_names_its_queue_only(url: str, queue: str) -> None:
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"}))
    assert_allows(plan, "sqs:SendMessage", queue)
    assert_denies(plan, "sqs:SendMessage", queue + "2")
    assert_denies(plan, "sqs:SendMessage", queue.rsplit(":", 1)[0] + ":other")


@pytest.mark.parametrize("url", [
    "https://[sqs/123456789012/q",  # not a URL at all (an unclosed IPv6 host)
    f"ftp://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
    f"https:///{ACCOUNT}/q",  # no host
    f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}",  # no queue name
    f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q/extra",
    f"https://sqs.{REGION}.amazonaws.com/12345678901/q",  # an account of 11 digits
    f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/" + "n" * 81,  # a queue name is at most 80 characters
    f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q.txt",
    f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/Jobs-*",  # a pattern nothing in the source vouches for
    f"https://sqs.{REGION}.example.com/{ACCOUNT}/q",
    f"https://example.com/{ACCOUNT}/q",
])
def test_a_queue_url_that_is_not_one_grants_nothing(url: str) -> None:
    _grants_nothing(plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"})),
                    "INVALID_VALUE", "is not an SQS queue URL")


def test_a_queue_the_source_creates_is_granted_as_its_name_pattern() -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/shop-Jobs-*"
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"}),
                    patterns=("shop-Jobs-*",))
    assert_allows(plan, "sqs:SendMessage", f"{SQS}:shop-Jobs-1A2B3C")
    assert_denies(plan, "sqs:SendMessage", f"{SQS}:shop-Other-1A2B3C")
    # the same pattern under another name is not vouched for
    other = plan_for(task("arn:aws:states:::sqs:sendMessage", {
        "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/shop-*", "MessageBody": "m"}),
        patterns=("shop-Jobs-*",))
    assert other.documents == () and "INVALID_VALUE" in codes(other)


# --- EventBridge ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "what"), [
    (None, "Entries"),
    ({"Entries.$": "$.entries"}, "Entries"),
    ({"Entries": [{"EventBusName.$": "$.bus", "Detail": {}, "DetailType": "t", "Source": "s"}]}, "EventBusName"),
])
def test_run_time_entries_or_bus_put_on_any_bus_of_this_account(params: dict[str, Any] | None, what: str) -> None:
    plan = plan_for(task("arn:aws:states:::events:putEvents", params))
    assert_allows(plan, "events:PutEvents", f"{BUS}/orders")
    assert_denies(plan, "events:PutEvents", f"arn:aws:events:{REGION}:{ELSEWHERE}:event-bus/orders")
    assert_denies(plan, "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders")
    assert any(m.startswith(f"{what} is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE"))


@pytest.mark.parametrize("params", [{}, {"Entries": []}])
def test_put_events_without_entries_gets_nothing(params: dict[str, Any]) -> None:
    _grants_nothing(plan_for(task("arn:aws:states:::events:putEvents", params)), "MISSING_PARAMETER",
                    "Entries is missing")


def test_an_entry_with_an_empty_bus_name_goes_to_the_default_bus() -> None:
    plan = plan_for(task("arn:aws:states:::events:putEvents", {"Entries": [
        {"EventBusName": "", "Detail": {}, "DetailType": "t", "Source": "s"}]}))
    assert_allows(plan, "events:PutEvents", f"{BUS}/default")
    assert_denies(plan, "events:PutEvents", f"{BUS}/orders")
    assert "MISSING_PARAMETER" not in codes(plan)


def test_an_invalid_queue_url_is_quoted_in_its_finding_up_to_200_characters() -> None:
    url = "https://example.com/" + "x" * 300
    plan = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"}))
    assert _messages(plan, "INVALID_VALUE") == [f"QueueUrl {url[:200]!r} is not an SQS queue URL; nothing granted"]
