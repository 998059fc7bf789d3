"""Role-level needs from DescribeStateMachine settings: logging, X-Ray, customer-managed KMS keys."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ACCOUNT, REGION, SM_ARN, assert_allows, assert_denies, codes, plan_for

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SM_CONTEXT = {"kms:EncryptionContext:aws:states:stateMachineArn": SM_ARN}


def test_logging_off_needs_nothing_and_on_needs_log_delivery() -> None:
    assert plan_for(PASS, logging={"level": "OFF"}).documents == ()
    plan = plan_for(PASS, logging={"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {
        "logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/x:*"}}]})
    for action in ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                   "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                   "logs:DescribeLogGroups"):
        assert_allows(plan, action, "*")
    assert_denies(plan, "logs:DeleteLogGroup", "*")
    # cw-logs.html lists CreateLogStream and PutLogEvents too: they act on a log group, the destination's only.
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/x"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert_allows(plan, action, f"{group}:log-stream:s1")
        assert_allows(plan, action, f"{group}:*")
        assert_denies(plan, action, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:log-stream:s1")
        assert_denies(plan, action, "*")


@pytest.mark.parametrize("arn", [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g", f"arn:aws:logs:{REGION}:{ACCOUNT}:"
                                                                                  "log-group:g:*"])
def test_log_writes_are_scoped_to_the_destination_with_or_without_its_suffix(arn: str) -> None:
    destination = {"cloudWatchLogsLogGroup": {"logGroupArn": arn}}
    plan = plan_for(PASS, logging={"level": "ERROR", "destinations": [destination]})
    assert_allows(plan, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:s")
    assert_denies(plan, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:h:log-stream:s")


def test_log_writes_without_a_destination_log_group_are_granted_on_star() -> None:
    plan = plan_for(PASS, logging={"level": "ALL"})
    assert_allows(plan, "logs:PutLogEvents", "*")


def test_tracing_enabled_needs_xray_and_disabled_needs_nothing() -> None:
    assert plan_for(PASS, tracing={"enabled": False}).documents == ()
    plan = plan_for(PASS, tracing={"enabled": True})
    for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                   "xray:GetSamplingTargets"):
        assert_allows(plan, action, "*")


@pytest.mark.parametrize("key_id", [KEY, "1234abcd-12ab-34cd-56ef-1234567890ab"])
def test_customer_managed_key_is_scoped_to_the_key_and_the_encryption_context(key_id: str) -> None:
    plan = plan_for(PASS, encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key_id})
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert_allows(plan, action, KEY, SM_CONTEXT)
        assert_denies(plan, action, KEY, {"kms:EncryptionContext:aws:states:stateMachineArn": SM_ARN + "Other"})
        assert_denies(plan, action, KEY.replace("1234abcd", "9999abcd"), SM_CONTEXT)
    assert_denies(plan, "kms:Encrypt", KEY, SM_CONTEXT)


def test_customer_key_with_logging_adds_the_logs_delivery_context() -> None:
    plan = plan_for(PASS, logging={"level": "ERROR"},
                    encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY})
    logs_context = {"kms:EncryptionContext:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"}
    assert_allows(plan, "kms:GenerateDataKey", KEY, logs_context)


def test_key_alias_cannot_be_resolved_offline_and_is_reported() -> None:
    plan = plan_for(PASS, encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/orders"})
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/any", SM_CONTEXT)
    assert_denies(plan, "kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/any")


def test_aws_owned_key_needs_nothing() -> None:
    assert plan_for(PASS, encryption={"type": "AWS_OWNED_KEY"}).documents == ()


# --- Pinned by mutation testing (docs/mutation.md) -----------------------------------------------------------------

LOGS_CONTEXT = {"kms:EncryptionContext:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"}

def test_settings_read_from_the_api_response_text_are_honoured() -> None:
    """DescribeStateMachine's settings arrive as parsed JSON: strings equal to, not identical with, the code's."""
    settings = json.loads(json.dumps({
        "logging": {"level": "ERROR"}, "tracing": {"enabled": True},
        "encryption": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY}}))
    plan = plan_for(PASS, **settings)
    assert_allows(plan, "kms:Decrypt", KEY, SM_CONTEXT)
    assert_allows(plan, "logs:CreateLogDelivery", "*")
    assert_allows(plan, "xray:PutTraceSegments", "*")
    assert_allows(plan, "kms:GenerateDataKey", KEY, LOGS_CONTEXT)


@pytest.mark.parametrize("level", ["OFF", "off"])
def test_a_customer_key_without_logging_gives_logs_nothing(level: str) -> None:
    plan = plan_for(PASS, logging={"level": level}, encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY})
    assert_denies(plan, "kms:GenerateDataKey", KEY, LOGS_CONTEXT)
    assert_denies(plan, "logs:CreateLogDelivery", "*")
    assert_allows(plan, "kms:GenerateDataKey", KEY, SM_CONTEXT)


@pytest.mark.parametrize("encryption", [{"type": "CUSTOMER_MANAGED_KMS_KEY"},
                                        {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": ""},
                                        {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": 7}])
def test_a_customer_key_without_a_key_id_is_reported_and_grants_nothing(encryption: dict[str, object]) -> None:
    plan = plan_for(PASS, encryption=encryption)
    assert plan.documents == ()
    assert [(f.code, f.path) for f in plan.findings] == [("MISSING_PARAMETER", "encryptionConfiguration")]


@pytest.mark.parametrize(("length", "quoted"), [(5, True), (200, True), (201, False)])
def test_an_unresolved_alias_is_quoted_up_to_200_characters(length: int, quoted: bool) -> None:
    alias = "alias/" + "a" * (length - len("alias/"))
    plan = plan_for(PASS, encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": alias})
    message = next(f.message for f in plan.findings if f.code == "DYNAMIC_RESOURCE")
    assert (f"kmsKeyId {alias!r} is an alias" in message) is quoted
    assert (f"kmsKeyId {alias[:200]!r} is an alias" in message) is True


def test_settings_that_are_not_objects_or_not_booleans_ask_for_nothing() -> None:
    """Bad input is ignored, never a crash: tracing is on only for the JSON boolean true."""
    plan = plan_for(PASS, logging="ALL", tracing=[True], encryption="CUSTOMER_MANAGED_KMS_KEY")
    assert plan.documents == () and codes(plan) == {"NO_PERMISSIONS"}
    assert plan_for(PASS, tracing={"enabled": 1}).documents == ()
    assert plan_for(PASS, tracing={"enabled": "true"}).documents == ()
