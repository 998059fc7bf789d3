"""The SDK operations scoped by code (engine/integrations/sdk/handlers.py) on the inputs the table tests leave out, by
the requests a run makes: a missing or run-time bucket, copy source, transaction, batch or PartiQL statement; a
statement that names no table; KMS keys by alias in a ReEncrypt; SES senders that are no address. Each names the
action and resource allowed and the neighbour that stays denied. (Mutation testing of sdk/handlers.py,
docs/mutation.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine import Plan
from tests.helpers import ACCOUNT, REGION, admin_guard, assert_allows, assert_denies, codes, plan_for, task

TABLES = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}"
SES = f"arn:aws:ses:{REGION}:{ACCOUNT}"


def _sdk(call: str, params: dict[str, Any], *services: str) -> Plan:
    return plan_for(task(f"arn:aws:states:::aws-sdk:{call}", params), guard=admin_guard(*services, "s3:*"))


def _messages(plan: Plan, code: str) -> list[str]:
    return [f.message for f in plan.findings if f.code == code]


# --- S3 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "params"), [
    ("s3:listObjectsV2", {}), ("s3:getObject", {"Key": "k"}), ("s3:copyObject", {"Key": "k", "CopySource": "src/k"}),
    ("s3:deleteObjects", {"Delete": {"Objects": [{"Key": "k"}]}}),
])
def test_an_s3_call_without_its_bucket_is_missing_it_and_grants_nothing_there(call: str,
                                                                             params: dict[str, Any]) -> None:
    plan = _sdk(call, params)
    assert "Bucket is missing" in " ".join(_messages(plan, "MISSING_PARAMETER"))
    for action in ("s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert_denies(plan, action, "arn:aws:s3:::b/k")
        assert_denies(plan, action, "arn:aws:s3:::b")
    if call == "s3:copyObject":  # the source is still read
        assert_allows(plan, "s3:GetObject", "arn:aws:s3:::src/k")


def test_a_listing_of_a_run_time_bucket_is_reported() -> None:
    plan = _sdk("s3:listObjectsV2", {"Bucket.$": "$.bucket"})
    assert any(m.startswith("Bucket is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE"))


@pytest.mark.parametrize(("source", "action", "allowed", "denied"), [
    ("src/a/b.csv?versionId=3", "s3:GetObjectVersion", "arn:aws:s3:::src/a/b.csv", "arn:aws:s3:::src/a/c.csv"),
    (f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/ap/object/a.csv", "s3:GetObject",
     f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/ap/object/a.csv",
     f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/ap/object/b.csv"),
])
def test_a_copy_source_is_read_exactly(source: str, action: str, allowed: str, denied: str) -> None:
    plan = _sdk("s3:copyObject", {"Bucket": "dst", "Key": "k", "CopySource": source})
    owner = {"s3:ResourceAccount": ACCOUNT}  # S3 sends the owner of an access point's bucket too
    assert_allows(plan, action, allowed, owner)
    assert_denies(plan, action, denied, owner)
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::dst/k")


@pytest.mark.parametrize(("source", "code", "message"), [
    ({"CopySource": "src"}, "INVALID_VALUE", "CopySource 'src' is not BUCKET/KEY; nothing granted for it"),
    ({"CopySource": "/src/"}, "INVALID_VALUE", "CopySource '/src/' is not BUCKET/KEY; nothing granted for it"),
    ({}, "MISSING_PARAMETER", "CopySource"),
    ({"CopySource.$": "$.source"}, "DYNAMIC_RESOURCE", "CopySource is only known at run time"),
])
def test_a_copy_source_that_names_no_object_reads_nothing(source: dict[str, str], code: str, message: str) -> None:
    plan = _sdk("s3:copyObject", {"Bucket": "dst", "Key": "k", **source})
    assert any(message in m for m in _messages(plan, code)), plan.findings
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::src/k")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::dst/k")


def test_a_copy_with_an_acl_may_set_the_acl_of_its_destination_only() -> None:
    # asked for on the destination; the guardrails refuse the resource-policy write (never on the source)
    plan = _sdk("s3:copyObject", {"Bucket": "dst", "Key": "k", "CopySource": "src/k", "ACL": "private"})
    assert [m.split(" not granted")[0] for m in _messages(plan, "BLOCKED_ACTION")] == [
        "s3:PutObjectAcl on arn:aws:s3:::dst/k"]
    plain = _sdk("s3:copyObject", {"Bucket": "dst", "Key": "k", "CopySource": "src/k", "TaggingDirective": "REPLACE"})
    assert_denies(plain, "s3:PutObjectAcl", "arn:aws:s3:::dst/k")
    assert_denies(plain, "s3:GetObjectTagging", "arn:aws:s3:::src/k")  # the tags are replaced, not copied


@pytest.mark.parametrize("objects", [{"Objects.$": "$.keys"}, {"Objects": [{"Key": "a"}, {"Key.$": "$.k"}]},
                                     {"Objects": []}])
def test_a_delete_of_keys_known_at_run_time_is_any_key_of_the_bucket(objects: dict[str, Any]) -> None:
    plan = _sdk("s3:deleteObjects", {"Bucket": "b", "Delete": objects})
    assert_allows(plan, "s3:DeleteObject", "arn:aws:s3:::b/any")
    assert_denies(plan, "s3:DeleteObject", "arn:aws:s3:::other/any")


# --- DynamoDB -------------------------------------------------------------------------------------------------------


def test_a_transaction_without_items_is_missing_them() -> None:
    plan = _sdk("dynamodb:transactWriteItems", {}, "dynamodb:*")
    assert any("TransactItems" in m for m in _messages(plan, "MISSING_PARAMETER"))
    assert plan.documents == ()


@pytest.mark.parametrize("items", [{"TransactItems.$": "$.items"},
                                   {"TransactItems": [{"Put": {"TableName": "T1"}}, "{% $states.input.item %}"]}])
def test_a_transaction_known_at_run_time_is_reported_with_every_item_action(items: dict[str, Any]) -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", items,
                         jsonata="TransactItems" in items), guard=admin_guard("dynamodb:*"))
    assert any(m.startswith("TransactItems") for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    if "TransactItems" in items:  # the literal item is still its own table
        assert_allows(plan, "dynamodb:PutItem", f"{TABLES}/T1")
        assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:999999999999:table/T1")


def test_a_batch_without_tables_is_missing_them_and_a_run_time_one_is_reported() -> None:
    empty = _sdk("dynamodb:batchGetItem", {"RequestItems": {}}, "dynamodb:*")
    assert any("RequestItems" in m for m in _messages(empty, "MISSING_PARAMETER"))
    assert empty.documents == ()
    dynamic = _sdk("dynamodb:batchGetItem", {"RequestItems.$": "$.items"}, "dynamodb:*")
    assert_allows(dynamic, "dynamodb:BatchGetItem", f"{TABLES}/any")
    assert_denies(dynamic, "dynamodb:BatchWriteItem", f"{TABLES}/any")
    assert any(m.startswith("RequestItems") for m in _messages(dynamic, "DYNAMIC_RESOURCE"))


@pytest.mark.parametrize(("call", "params"), [
    ("executeStatement", {}), ("batchExecuteStatement", {}), ("executeTransaction", {}),
    ("batchExecuteStatement", {"Statements": [{"Parameters": []}]}),
])
def test_a_partiql_call_without_its_statement_is_missing_it(call: str, params: dict[str, Any]) -> None:
    plan = _sdk(f"dynamodb:{call}", params, "dynamodb:*")
    assert "MISSING_PARAMETER" in codes(plan)
    assert plan.documents == ()


@pytest.mark.parametrize(("call", "params"), [
    ("executeStatement", {"Statement.$": "$.sql"}),
    ("batchExecuteStatement", {"Statements.$": "$.sql"}),
    ("executeTransaction", {"TransactStatements.$": "$.sql"}),
])
def test_a_run_time_partiql_statement_asks_for_any_partiql_on_any_table(call: str, params: dict[str, Any]) -> None:
    plan = _sdk(f"dynamodb:{call}", params, "dynamodb:*")
    assert any(m.startswith("Statement") for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    # every PartiQL action on any table is asked for, and the guardrails refuse each on that wildcard
    refused = sorted(f.message.split(" not granted")[0] for f in plan.findings if f.code.startswith("WILDCARD_"))
    assert refused == [f"dynamodb:{a} on {TABLES}/*" for a in ("PartiQLDelete", "PartiQLInsert", "PartiQLSelect",
                                                             "PartiQLUpdate")]
    assert plan.documents == ()


def test_a_partiql_statement_that_names_no_table_grants_nothing() -> None:
    plan = _sdk("dynamodb:executeStatement", {"Statement": "VACUUM"}, "dynamodb:*")
    assert _messages(plan, "INVALID_VALUE") == ["PartiQL statement 'VACUUM' names no table; nothing granted"]
    assert plan.documents == ()


# --- Athena, KMS, SES -----------------------------------------------------------------------------------------------


def test_a_run_time_athena_output_location_is_any_object_with_a_finding() -> None:
    plan = _sdk("athena:startQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "wg",
                                               "ResultConfiguration": {"OutputLocation.$": "$.out"}}, "athena:*")
    assert any(m.startswith("OutputLocation") for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    assert_allows(plan, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg")


@pytest.mark.parametrize("key", ["alias/app", f"{KMS}:alias/app"])
def test_a_reencrypt_key_named_by_alias_is_a_key_carrying_that_alias(key: str) -> None:
    plan = _sdk("kms:reEncrypt", {"CiphertextBlob": "x", "SourceKeyId": key, "DestinationKeyId": "1234"}, "kms:*")
    assert_allows(plan, "kms:ReEncryptFrom", f"{KMS}:key/9", {"kms:ResourceAliases": ["alias/app"]})
    assert_denies(plan, "kms:ReEncryptFrom", f"{KMS}:key/9", {"kms:ResourceAliases": ["alias/other"]})
    assert_allows(plan, "kms:ReEncryptTo", f"{KMS}:key/1234")
    assert_denies(plan, "kms:ReEncryptTo", f"{KMS}:key/9")


@pytest.mark.parametrize(("destination", "message"), [
    ({}, "DestinationKeyId is only known at run time"),
    ({"DestinationKeyId.$": "$.key"}, "DestinationKeyId is only known at run time"),
])
def test_a_reencrypt_key_missing_or_known_at_run_time_is_reported(destination: dict[str, str], message: str) -> None:
    plan = _sdk("kms:reEncrypt", {"CiphertextBlob": "x", "SourceKeyId": "1234", **destination}, "kms:*")
    assert any(m.startswith(message) for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    assert_allows(plan, "kms:ReEncryptFrom", f"{KMS}:key/1234")
    assert_denies(plan, "kms:ReEncryptFrom", f"{KMS}:key/9")


def test_ses_sends_from_an_identity_arn_or_reports_a_sender_that_is_no_address() -> None:
    identity = f"{SES}:identity/example.com"
    by_arn = _sdk("sesv2:sendEmail", {"FromEmailAddressIdentityArn": identity, "Content": {}}, "ses:*")
    assert_allows(by_arn, "ses:SendEmail", identity)
    assert_denies(by_arn, "ses:SendEmail", f"{SES}:identity/other.com")
    bad = _sdk("sesv2:sendEmail", {"FromEmailAddress": "nobody", "Content": {}}, "ses:*")
    assert _messages(bad, "INVALID_VALUE") == ["sender 'nobody' is not an email address; nothing granted for it"]
    assert_denies(bad, "ses:SendEmail", f"{SES}:identity/nobody")
    dynamic = _sdk("sesv2:sendEmail", {"FromEmailAddress.$": "$.from", "Content": {}}, "ses:*")
    assert any(m.startswith("the sender identity") for m in _messages(dynamic, "DYNAMIC_RESOURCE"))


def test_a_reencrypt_alias_arn_of_another_service_is_no_kms_alias_and_its_key_is_unknown() -> None:
    alias = f"arn:aws:sqs:{REGION}:{ACCOUNT}:alias/app"
    plan = _sdk("kms:reEncrypt", {"CiphertextBlob": "x", "SourceKeyId": alias, "DestinationKeyId": "1234"}, "kms:*")
    assert any(m.startswith(f"the key behind {alias} is only known at run time")
               for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    assert_denies(plan, "kms:ReEncryptFrom", f"{KMS}:key/9", {"kms:ResourceAliases": ["alias/app"]})


def test_ses_sends_with_its_configuration_set_literal_or_known_at_run_time() -> None:
    request = {"FromEmailAddress": "a@example.com", "Content": {}}
    named = _sdk("sesv2:sendEmail", {**request, "ConfigurationSetName": "cs"}, "ses:*")
    assert_allows(named, "ses:SendEmail", f"{SES}:configuration-set/cs")
    assert_denies(named, "ses:SendEmail", f"{SES}:configuration-set/other")
    assert_allows(named, "ses:SendEmail", f"{SES}:identity/a@example.com")
    dynamic = _sdk("sesv2:sendEmail", {**request, "ConfigurationSetName.$": "$.cs"}, "ses:*")
    assert any(m.startswith("ConfigurationSetName is only known at run time")
               for m in _messages(dynamic, "DYNAMIC_RESOURCE")), dynamic.findings
