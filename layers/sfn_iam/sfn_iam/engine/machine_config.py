"""Role-level needs from the state machine's settings: logging, X-Ray tracing, KMS encryption. Pure core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfn_iam.findings import Finding
from sfn_iam.lazyre import compiled
from sfn_iam.model import Condition, Context, Requirement

# https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html lists ten actions on "*". Eight have no resource
# type (log delivery); CreateLogStream and PutLogEvents (absent from AWS CDK's list and the 2022 guide) act on a
# log group, so they are granted on the machine's destination log groups only, "*" when none is named.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
LOG_GROUP_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
_LOG_GROUP_RE = compiled(globals(), "_LOG_GROUP_RE",
                         r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:*?]+(?::\*)?$")
XRAY_ACTIONS = ("xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments")
_KEY_ID_RE = compiled(globals(), "_KEY_ID_RE",
                      r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KEY_ARN_RE = compiled(globals(), "_KEY_ARN_RE", r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def requirements_for_config(
    ctx: Context, logging: Mapping[str, Any], tracing: Mapping[str, Any], encryption: Mapping[str, Any]
) -> tuple[list[Requirement], list[Finding]]:
    reqs: list[Requirement] = []
    findings: list[Finding] = []
    level = logging.get("level", "OFF") if isinstance(logging, Mapping) else "OFF"
    logging_on = isinstance(level, str) and level.upper() != "OFF"
    if logging_on:
        # The log-delivery actions have no resource types: AWS documents them on "*".
        reqs.extend(Requirement(a, "*", (), "loggingConfiguration") for a in LOG_DELIVERY_ACTIONS)
        groups = _log_groups(logging)
        reqs.extend(Requirement(a, g, (), "loggingConfiguration") for a in LOG_GROUP_ACTIONS for g in groups)
    if isinstance(tracing, Mapping) and tracing.get("enabled") is True:
        reqs.extend(Requirement(a, "*", (), "tracingConfiguration") for a in XRAY_ACTIONS)
    if isinstance(encryption, Mapping) and encryption.get("type") == "CUSTOMER_MANAGED_KMS_KEY":
        _kms(ctx, encryption, logging_on, reqs, findings)
    return reqs, findings


def _log_groups(logging: Mapping[str, Any]) -> list[str]:
    """``log-group:NAME:*`` (the group and its streams) for each destination; ``["*"]`` when none is a log group ARN."""
    destinations = logging.get("destinations")
    found: list[str] = []
    for destination in destinations if isinstance(destinations, list) else []:
        group = destination.get("cloudWatchLogsLogGroup") if isinstance(destination, Mapping) else None
        arn = group.get("logGroupArn") if isinstance(group, Mapping) else None
        if isinstance(arn, str) and _LOG_GROUP_RE.match(arn):
            found.append(arn if arn.endswith(":*") else f"{arn}:*")
    return found or ["*"]


def _kms(ctx: Context, encryption: Mapping[str, Any], logging_on: bool, reqs: list[Requirement],
         findings: list[Finding]) -> None:
    path = "encryptionConfiguration"
    key = encryption.get("kmsKeyId")
    if not isinstance(key, str) or not key:
        findings.append(Finding.of("MISSING_PARAMETER", "customer managed key without kmsKeyId", path))
        return
    if _KEY_ARN_RE.match(key):
        key_arn = key
    elif _KEY_ID_RE.match(key):
        key_arn = ctx.arn("kms", f"key/{key}")
    else:
        # An alias must be resolved with kms:DescribeKey, which the offline engine cannot do.
        key_arn = ctx.arn("kms", "key/*")
        findings.append(Finding.of(
            "DYNAMIC_RESOURCE", f"kmsKeyId {key[:200]!r} is an alias; granted on any key of the account, "
            "limited by the state machine encryption context", path))
    sm_context = Condition("StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", (ctx.state_machine_arn,))
    reqs.extend(Requirement(a, key_arn, (sm_context,), path) for a in ("kms:Decrypt", "kms:GenerateDataKey"))
    if logging_on:
        # Copied verbatim from AWS: StringEquals with a literal "*" (CloudWatch Logs delivery's context value).
        logs_context = Condition("StringEquals", "kms:EncryptionContext:SourceArn", (ctx.arn("logs", "*"),))
        reqs.append(Requirement("kms:GenerateDataKey", key_arn, (logs_context,), path))
