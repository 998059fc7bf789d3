"""Keys named in parameters that the service uses with the caller's credentials (dependent permissions).

Request level: the KMS request the service makes on the role's behalf (action, key ARN, kms:ViaService of that
service) is allowed; the same request through another service, on another key, or another action is not.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab"
SDK = "arn:aws:states:::aws-sdk"


def via(service: str) -> dict[str, str]:
    return {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}


CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...], tuple[str, ...]]] = [
    # (resource, parameters with the key under "{key}", service it goes through, granted, not granted)
    (f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv", "Body.$": "$", "SSEKMSKeyId": "{key}",
                              "ServerSideEncryption": "aws:kms"},
     "s3", ("kms:GenerateDataKey",), ("kms:Decrypt", "kms:Encrypt")),
    (f"{SDK}:s3:copyObject", {"Bucket": "data-bucket", "Key": "b.csv", "CopySource": "src-bucket/a.csv",
                               "SSEKMSKeyId": "{key}"},
     "s3", ("kms:GenerateDataKey",), ("kms:Decrypt",)),
    (f"{SDK}:s3:createMultipartUpload", {"Bucket": "data-bucket", "Key": "big.bin", "SSEKMSKeyId": "{key}"},
     "s3", ("kms:GenerateDataKey", "kms:Decrypt"), ("kms:Encrypt",)),
    (f"{SDK}:secretsmanager:createSecret", {"Name": "db", "SecretString.$": "$.s", "KmsKeyId": "{key}"},
     "secretsmanager", ("kms:GenerateDataKey", "kms:Decrypt"), ("kms:Encrypt", "kms:CreateGrant")),
    (f"{SDK}:secretsmanager:updateSecret", {"SecretId": "db", "KmsKeyId": "{key}"},
     "secretsmanager", ("kms:GenerateDataKey", "kms:Decrypt"), ("kms:ReEncryptFrom",)),
    (f"{SDK}:ssm:putParameter", {"Name": "/app/token", "Value.$": "$.t", "Type": "SecureString", "KeyId": "{key}"},
     "ssm", ("kms:Encrypt", "kms:GenerateDataKey"), ("kms:Decrypt",)),
    (f"{SDK}:athena:startQueryExecution", {"QueryString": "SELECT 1", "ResultConfiguration": {
        "OutputLocation": "s3://results-bucket/q/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": "{key}"}}},
     "athena", ("kms:GenerateDataKey", "kms:Decrypt"), ("kms:Encrypt",)),
    ("arn:aws:states:::athena:startQueryExecution.sync", {"QueryString": "SELECT 1", "ResultConfiguration": {
        "OutputLocation": "s3://results-bucket/q/",
        "EncryptionConfiguration": {"EncryptionOption": "CSE_KMS", "KmsKey": "{key}"}}},
     "s3", ("kms:GenerateDataKey", "kms:Decrypt"), ("kms:Encrypt",)),
]


def _with_key(params: Any, key: str) -> Any:
    if isinstance(params, dict):
        return {k: _with_key(v, key) for k, v in params.items()}
    return key if params == "{key}" else params


@pytest.mark.parametrize("form", [KEY_ID, KEY])
@pytest.mark.parametrize(("resource", "params", "service", "granted", "refused"), CASES,
                         ids=[c[0].rsplit(":", 2)[-2] + ":" + c[0].rsplit(":", 1)[-1] for c in CASES])
def test_key_used_with_the_callers_credentials_is_granted_through_that_service_only(
        resource: str, params: dict[str, Any], service: str, granted: tuple[str, ...], refused: tuple[str, ...],
        form: str) -> None:
    plan = plan_for(task(resource, _with_key(params, form)))
    for action in granted:
        assert_requests(plan, action, KEY, via(service))
        assert_not_requested(plan, action, OTHER_KEY, via(service))
        assert_not_requested(plan, action, KEY, via("lambda"))
    for action in refused:
        assert_not_requested(plan, action, KEY, via(service))


def test_without_a_key_parameter_no_kms_is_requested() -> None:
    plan = plan_for(task(f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv", "Body.$": "$"}))
    assert not any(r.action.startswith("kms:") for r in plan.requirements)


def test_an_alias_is_granted_on_the_keys_that_carry_it() -> None:
    plan = plan_for(task(f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv", "SSEKMSKeyId": "alias/app"}))
    assert_requests(plan, "kms:GenerateDataKey", KEY, {**via("s3"), "kms:ResourceAliases": ["alias/app"]})
    assert_not_requested(plan, "kms:GenerateDataKey", KEY, {**via("s3"), "kms:ResourceAliases": ["alias/other"]})
    assert_not_requested(plan, "kms:GenerateDataKey", KEY, via("s3"))


def test_an_aws_managed_key_needs_no_grant() -> None:
    plan = plan_for(task(f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv",
                                                 "SSEKMSKeyId": "alias/aws/s3"}))
    assert not any(r.action.startswith("kms:") for r in plan.requirements)


def test_a_run_time_key_stays_in_this_account_and_service() -> None:
    plan = plan_for(task(f"{SDK}:secretsmanager:createSecret", {"Name": "db", "KmsKeyId.$": "$.key"}))
    assert_requests(plan, "kms:GenerateDataKey", KEY, via("secretsmanager"))
    assert_not_requested(plan, "kms:GenerateDataKey", KEY.replace(ACCOUNT, "999999999999"), via("secretsmanager"))
    assert_not_requested(plan, "kms:GenerateDataKey", KEY, via("s3"))
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_a_key_of_another_account_is_granted_with_a_finding() -> None:
    foreign = f"arn:aws:kms:{REGION}:999999999999:key/{KEY_ID}"
    plan = plan_for(task(f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv", "SSEKMSKeyId": foreign}))
    assert_requests(plan, "kms:GenerateDataKey", foreign, via("s3"))
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)


def test_a_value_that_is_no_key_is_refused_with_a_finding() -> None:
    plan = plan_for(task(f"{SDK}:s3:putObject", {"Bucket": "data-bucket", "Key": "a.csv", "SSEKMSKeyId": "my key"}))
    assert not any(r.action.startswith("kms:") for r in plan.requirements)
    assert "INVALID_VALUE" in codes(plan)


def test_an_alias_grant_survives_the_guardrails_and_is_pinned_to_that_alias() -> None:
    """The alias pin (kms:ResourceAliases) makes key/* safe: granted, and only for keys that carry the alias."""
    plan = plan_for(task("arn:aws:states:::aws-sdk:s3:putObject",
                         {"Bucket": "b", "Key": "k", "Body": "x", "SSEKMSKeyId": "alias/app"}))
    assert "WILDCARD_WRITE" not in codes(plan)
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    via = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert_allows(plan, "kms:GenerateDataKey", key, {**via, "kms:ResourceAliases": ["alias/app"]})
    assert_denies(plan, "kms:GenerateDataKey", key, {**via, "kms:ResourceAliases": ["alias/other"]})
    assert_denies(plan, "kms:GenerateDataKey", key, via)  # a key with no alias at all
    assert_denies(plan, "kms:GenerateDataKey", key, {"kms:ViaService": f"sqs.{REGION}.amazonaws.com",
                                                      "kms:ResourceAliases": ["alias/app"]})
