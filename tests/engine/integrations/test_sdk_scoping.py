"""The generic scoping of SDK operations (engine/integrations/sdk/scoping.py) by the requests a run makes: each
parameter that names a resource narrows the grant to exactly that resource, its neighbours are denied; run-time values
get the account's pattern with a finding; dependent permissions (iam:PassRole, S3 objects, KMS aliases) follow the
request. (Mutation testing of sdk/scoping.py, docs/mutation.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine import Plan
from tests.helpers import ACCOUNT, REGION, actions, admin_guard, assert_allows, assert_denies, codes, plan_for, task

SDK = "arn:aws:states:::aws-sdk:"
EC2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance"
EVENTS = f"arn:aws:events:{REGION}:{ACCOUNT}"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}"


def _messages(plan: Plan, code: str) -> list[str]:
    return [f.message for f in plan.findings if f.code == code]


def _sdk(call: str, params: dict[str, Any] | None, *, jsonata: bool = False, guard: str = "") -> Plan:
    """The plan of one SDK Task; ``guard``: under an administrator's ceiling that allows that service's actions (and
    the dependent S3 and PassRole actions) instead of the default one."""
    return plan_for(task(SDK + call, params, jsonata=jsonata),
                    guard=admin_guard(guard, "s3:*", "iam:PassRole") if guard else None)


# --- a list of ids names exactly those resources --------------------------------------------------------------


def test_each_listed_instance_is_granted_once_and_no_other() -> None:
    plan = _sdk("ec2:startInstances", {"InstanceIds": ["i-1", "i-2", "i-1"]}, guard="ec2:*")
    assert_allows(plan, "ec2:StartInstances", f"{EC2}/i-1")
    assert_allows(plan, "ec2:StartInstances", f"{EC2}/i-2")
    assert_denies(plan, "ec2:StartInstances", f"{EC2}/i-3")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


def test_a_hundred_ids_are_granted_one_by_one_and_more_become_the_pattern() -> None:
    hundred = _sdk("ec2:startInstances", {"InstanceIds": [f"i-{n}" for n in range(100)]}, guard="ec2:*")
    assert_allows(hundred, "ec2:StartInstances", f"{EC2}/i-99")
    assert_denies(hundred, "ec2:StartInstances", f"{EC2}/i-100")
    assert "DYNAMIC_RESOURCE" not in codes(hundred)
    more = _sdk("ec2:startInstances", {"InstanceIds": [f"i-{n}" for n in range(101)]}, guard="ec2:*")
    # the pattern is every instance: a write the guardrails refuse on a wildcard, so nothing is granted
    assert_denies(more, "ec2:StartInstances", f"{EC2}/i-0")
    assert any(m.startswith("InstanceIds[] is only known at run time") for m in _messages(more, "DYNAMIC_RESOURCE"))


@pytest.mark.parametrize(("params", "jsonata", "message"), [
    ({"InstanceIds.$": "$.ids"}, False, "InstanceIds[] is only known at run time"),
    ({"InstanceIds": ["i-1", "{% $states.input.id %}"]}, True, "InstanceIds[] is only known at run time"),
    ({"InstanceIds": []}, False, "the parameters do not name the instance of ec2:StartInstances"),
    ({"InstanceIds": [""]}, False, "the parameters do not name the instance of ec2:StartInstances"),
    ({"InstanceIds": [5]}, False, "the parameters do not name the instance of ec2:StartInstances"),  # not a string
    ({}, False, "the parameters do not name the instance of ec2:StartInstances"),
])
def test_a_run_time_or_absent_id_list_is_reported_and_never_widens_a_write(params: dict[str, Any], jsonata: bool,
                                                                           message: str) -> None:
    plan = _sdk("ec2:startInstances", params, jsonata=jsonata, guard="ec2:*")
    assert_denies(plan, "ec2:StartInstances", f"{EC2}/i-9")
    assert any(m.startswith(message) for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings


def test_an_operation_without_resource_types_is_granted_on_star_only_for_its_action() -> None:
    plan = _sdk("ec2:describeInstances", {}, guard="ec2:*")
    assert_allows(plan, "ec2:DescribeInstances", "*")
    assert_denies(plan, "ec2:DescribeImages", "*")


# --- one parameter, one placeholder ----------------------------------------------------------------------------


def test_the_default_bus_is_not_part_of_a_rule_arn_and_a_named_bus_is() -> None:
    default = _sdk("eventbridge:putRule", {"Name": "r", "EventBusName": "default", "EventPattern": "{}"},
                   guard="events:*")
    assert_allows(default, "events:PutRule", f"{EVENTS}:rule/r")
    assert_denies(default, "events:PutRule", f"{EVENTS}:rule/default/r")
    named = _sdk("eventbridge:putRule", {"Name": "r", "EventBusName": "bus", "EventPattern": "{}"}, guard="events:*")
    assert_allows(named, "events:PutRule", f"{EVENTS}:rule/bus/r")
    assert_denies(named, "events:PutRule", f"{EVENTS}:rule/r")
    assert "DYNAMIC_RESOURCE" not in codes(named)


def test_a_missing_group_takes_its_documented_default() -> None:
    schedules = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule"
    plan = _sdk("scheduler:getSchedule", {"Name": "nightly"}, guard="scheduler:*")
    assert_allows(plan, "scheduler:GetSchedule", f"{schedules}/default/nightly")
    assert_denies(plan, "scheduler:GetSchedule", f"{schedules}/other/nightly")
    grouped = _sdk("scheduler:getSchedule", {"Name": "nightly", "GroupName": "jobs"}, guard="scheduler:*")
    assert_allows(grouped, "scheduler:GetSchedule", f"{schedules}/jobs/nightly")
    assert_denies(grouped, "scheduler:GetSchedule", f"{schedules}/default/nightly")


def test_an_arn_for_the_first_placeholders_is_kept_and_the_rest_is_filled_after_it() -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"
    plan = _sdk("dynamodb:query", {"TableName": table, "IndexName": "I", "KeyConditionExpression": "k = :v"})
    assert_allows(plan, "dynamodb:Query", f"{table}/index/I")
    assert_denies(plan, "dynamodb:Query", f"{table}/index/J")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


def test_an_arn_that_fills_the_whole_template_is_that_resource_without_a_finding() -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    plan = _sdk("dynamodb:getItem", {"TableName": table, "Key": {}})
    assert_allows(plan, "dynamodb:GetItem", table)
    assert_denies(plan, "dynamodb:GetItem", f"{table}2")
    assert plan.findings == ()


def test_an_arn_of_another_resource_type_grants_nothing() -> None:
    plan = _sdk("dynamodb:getItem", {"TableName": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "Key": {}})
    assert plan.documents == ()
    assert any("no parameter names a resource dynamodb:GetItem applies to" in m
               for m in _messages(plan, "INVALID_VALUE"))


@pytest.mark.parametrize(("scope", "part"), [("REGIONAL", "regional"), ("CLOUDFRONT", "global")])
def test_a_waf_scope_becomes_the_arn_part_iam_uses(scope: str, part: str) -> None:
    acl = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:{part}/webacl/w/id1"
    plan = _sdk("wafv2:getWebACL", {"Name": "w", "Scope": scope, "Id": "id1"}, guard="wafv2:*")
    assert_allows(plan, "wafv2:GetWebACL", acl)
    assert_denies(plan, "wafv2:GetWebACL", acl.replace(f":{part}/", ":regional/" if part == "global" else ":global/"))
    assert_denies(plan, "wafv2:GetWebACL", acl[:-1] + "2")


@pytest.mark.parametrize("name", ["REGIONAL", "CLOUDFRONT"])
def test_only_a_waf_scope_is_translated_and_a_queue_of_that_name_keeps_it(name: str) -> None:
    plan = _sdk("sqs:createQueue", {"QueueName": name}, guard="sqs:*")
    assert_allows(plan, "sqs:CreateQueue", f"{QUEUE}:{name}")
    assert_denies(plan, "sqs:CreateQueue", f"{QUEUE}:{name.lower()}")
    assert_denies(plan, "sqs:CreateQueue", f"{QUEUE}:global")
    topics = f"arn:aws:sns:{REGION}:{ACCOUNT}"  # a placeholder sorting after "Scope" (TopicName)
    topic = _sdk("sns:createTopic", {"Name": name}, guard="sns:*")
    assert_allows(topic, "sns:CreateTopic", f"{topics}:{name}")
    assert_denies(topic, "sns:CreateTopic", f"{topics}:{name.lower()}")


def test_a_placeholder_right_after_another_is_filled_too() -> None:
    # package-group/${DomainName}${EncodedPackageGroupPattern}: the pattern is not a parameter, so any group of the
    # domain, with a finding
    groups = f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:package-group"
    plan = _sdk("codeartifact:describePackageGroup", {"Domain": "dom", "PackageGroup": "/npm/*"},
                guard="codeartifact:*")
    assert_allows(plan, "codeartifact:DescribePackageGroup", f"{groups}/dom/npm/*")
    assert_denies(plan, "codeartifact:DescribePackageGroup", f"{groups}/other/npm/*")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_a_parameter_name_loses_its_leading_slash_in_the_arn() -> None:
    parameters = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    plan = _sdk("ssm:deleteParameter", {"Name": "/app/x"}, guard="ssm:*")
    assert_allows(plan, "ssm:DeleteParameter", f"{parameters}/app/x")
    assert_denies(plan, "ssm:DeleteParameter", f"{parameters}/app/y")


def test_a_secret_name_covers_the_six_characters_secrets_manager_appends_and_no_more() -> None:
    secrets = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
    plan = _sdk("secretsmanager:describeSecret", {"SecretId": "db"}, guard="secretsmanager:*")
    assert_allows(plan, "secretsmanager:DescribeSecret", f"{secrets}:db-AbCdEf")
    assert_denies(plan, "secretsmanager:DescribeSecret", f"{secrets}:db-AbCdEfG")
    assert_denies(plan, "secretsmanager:DescribeSecret", f"{secrets}:db2-AbCdEf")


@pytest.mark.parametrize(("definition", "allowed", "denied"), [
    ("web:3", "web:3", "web:4"),
    ("web:3", "web:3", "web:31"),  # the revision is the whole rest of the name
    ("web", "web:7", "webapp:7"),
])
def test_a_task_definition_family_with_or_without_revision(definition: str, allowed: str, denied: str) -> None:
    defs = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition"
    plan = _sdk("ecs:runTask", {"TaskDefinition": definition}, guard="ecs:*")
    assert_allows(plan, "ecs:RunTask", f"{defs}/{allowed}")
    assert_denies(plan, "ecs:RunTask", f"{defs}/{denied}")
    assert ("DYNAMIC_RESOURCE" in codes(plan)) is (":" not in definition)  # a family alone: any of its revisions


def test_a_run_time_name_is_any_of_this_account_with_a_finding() -> None:
    plan = _sdk("dynamodb:getItem", {"TableName.$": "$.table", "Key": {}})
    assert_allows(plan, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/any")
    assert_denies(plan, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:999999999999:table/any")
    assert any("TableName" in m for m in _messages(plan, "DYNAMIC_RESOURCE"))


# --- KMS keys named by an alias -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["alias/app", f"{KMS}:alias/app"])
def test_a_key_named_by_alias_is_used_only_through_that_alias(key: str) -> None:
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId": key})
    assert_allows(plan, "kms:Decrypt", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/other"})
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234")
    assert_denies(plan, "kms:Decrypt", f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234", {"kms:RequestAlias": "alias/app"})


@pytest.mark.parametrize("key", [f"{KMS}:key/1234", "1234"])
def test_a_key_named_by_id_or_arn_is_that_key_alone(key: str) -> None:
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId": key})
    assert_allows(plan, "kms:Decrypt", f"{KMS}:key/1234")
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/5678", {"kms:RequestAlias": "alias/app"})


def test_a_kms_arn_cut_short_is_no_key_and_grants_nothing() -> None:
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}"}, guard="kms:*")
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234")
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})
    assert _messages(plan, "INVALID_VALUE") == ["no parameter names a resource kms:Decrypt applies to; nothing granted"]


def test_a_key_of_another_type_is_reported_after_hundreds_of_other_findings() -> None:
    # the findings of the whole definition share one list: the check that nothing reported the value already compares
    # counts beyond CPython's cached small integers
    states: dict[str, Any] = {f"S{i}": {"Type": "Task", "Resource": f"{SDK}nosuch:op{i}", "Next": f"S{i + 1}"}
                              for i in range(300)}
    states["S300"] = {"Type": "Task", "Resource": f"{SDK}kms:decrypt", "End": True,
                      "Parameters": {"CiphertextBlob": "x", "KeyId": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}}
    plan = plan_for({"StartAt": "S0", "States": states})
    assert _messages(plan, "INVALID_VALUE") == ["no parameter names a resource kms:Decrypt applies to; nothing granted"]
    assert len(plan.findings) == 301


@pytest.mark.parametrize("key", [f"arn:aws:{service}:{REGION}:{ACCOUNT}:alias/app" for service in ("sqs", "ec2")] + [
    f"{head}:aws:kms:{REGION}:{ACCOUNT}:alias/app" for head in ("aaa", "xrn")])  # sorting after and before
def test_an_alias_arn_of_another_service_is_not_a_kms_alias(key: str) -> None:
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId": key})
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})


# --- creating a queue or topic with its access policy ----------------------------------------------------------


@pytest.mark.parametrize(("call", "name", "action", "arn"), [
    ("sqs:createQueue", {"QueueName": "q"}, "sqs:CreateQueue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"),
    ("sns:createTopic", {"Name": "q"}, "sns:CreateTopic", f"arn:aws:sns:{REGION}:{ACCOUNT}:q"),
])
@pytest.mark.parametrize(("attributes", "granted"), [
    ({}, True),
    ({"Attributes": {"DelaySeconds": "5"}}, True),
    ({"Attributes": {"Policy": "{}"}}, False),
    ({"Attributes.$": "$.attributes"}, False),
])
def test_a_queue_or_topic_is_created_only_without_its_access_policy(call: str, name: dict[str, str], action: str,
                                                                    arn: str, attributes: dict[str, Any],
                                                                    granted: bool) -> None:
    plan = _sdk(call, {**name, **attributes}, guard=action.split(":")[0] + ":*")
    if granted:
        assert_allows(plan, action, arn)
        assert_denies(plan, action, arn + "2")
        assert "BLOCKED_ACTION" not in codes(plan)
    else:
        assert_denies(plan, action, arn)
        assert any(m.startswith(f"{action} not granted") for m in _messages(plan, "BLOCKED_ACTION"))


# --- iam:PassRole -------------------------------------------------------------------------------------------------


def test_a_run_time_target_list_passes_no_role() -> None:
    plan = _sdk("eventbridge:putTargets", {"Rule": "r", "Targets.$": "$.targets"}, guard="events:*")
    assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "events.amazonaws.com"})
    assert any(m.startswith("Targets[].RoleArn is only known at run time")
               for m in _messages(plan, "PASSROLE_UNSCOPED"))


def test_each_target_role_is_passed_to_the_service_and_a_name_is_not_a_role() -> None:
    plan = _sdk("eventbridge:putTargets", {"Rule": "r", "Targets": [
        {"Id": "2", "Arn": "y"}, {"Id": "1", "Arn": "x", "RoleArn": ROLE}, {"Id": "3", "Arn": "z", "RoleArn": "bare"}]},
        guard="events:*")  # a target without a role first: the next ones are still passed
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "events.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/bare",
                  {"iam:PassedToService": "events.amazonaws.com"})
    assert any("'bare' is not a role ARN" in m for m in _messages(plan, "INVALID_VALUE"))


def test_a_role_known_at_run_time_passes_nothing_and_the_next_literal_role_is_still_passed() -> None:
    plan = _sdk("eventbridge:putTargets", {"Rule": "r", "Targets": [
        {"Id": "1", "Arn": "x", "RoleArn.$": "$.role"}, {"Id": "2", "Arn": "y", "RoleArn": ROLE}]}, guard="events:*")
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "events.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"{ROLE}2", {"iam:PassedToService": "events.amazonaws.com"})
    assert _messages(plan, "PASSROLE_UNSCOPED") == [
        "Targets[].RoleArn is only known at run time; iam:PassRole is not granted"]


def test_a_long_value_that_is_no_role_is_quoted_up_to_200_characters() -> None:
    bare = "r" * 250
    plan = _sdk("eventbridge:putTargets", {"Rule": "r", "Targets": [{"Id": "1", "Arn": "x", "RoleArn": bare}]},
                guard="events:*")
    assert _messages(plan, "INVALID_VALUE") == [
        f"Targets[].RoleArn {'r' * 200!r} is not a role ARN; iam:PassRole is not granted"]


def test_a_role_parameter_that_takes_a_name_passes_the_role_of_that_name() -> None:
    plan = _sdk("glue:createCrawler", {"Name": "c", "Role": "crawler", "Targets": {}}, guard="glue:*")
    role = f"arn:aws:iam::{ACCOUNT}:role/crawler"
    assert_allows(plan, "iam:PassRole", role, {"iam:PassedToService": "glue.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/other",
                  {"iam:PassedToService": "glue.amazonaws.com"})


# --- S3 objects the service reads or writes with the caller's credentials -----------------------------------------


def test_each_page_of_a_document_list_is_read_alone() -> None:
    plan = _sdk("textract:analyzeID", {"DocumentPages": [{"S3Object": {"Bucket": "docs", "Name": "k1"}},
                                                         {"S3Object": {"Bucket": "docs", "Name": "k2"}}, {}]},
                guard="textract:*")
    for key in ("k1", "k2"):
        assert_allows(plan, "s3:GetObject", f"arn:aws:s3:::docs/{key}")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k3")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::docs/k1")


def test_an_empty_page_before_the_others_reads_nothing_and_the_others_are_still_read() -> None:
    plan = _sdk("textract:analyzeID", {"DocumentPages": [{"S3Object": {}}, {"S3Object": {"Bucket": "docs",
                                                                                       "Name": "k1"}}]},
                guard="textract:*")
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::docs/k1")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k2")
    assert "MISSING_PARAMETER" not in codes(plan)


def test_a_run_time_page_list_reads_no_object() -> None:
    plan = _sdk("textract:analyzeID", {"DocumentPages.$": "$.pages"}, guard="textract:*")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k1")
    assert any(m.startswith("Bucket is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE"))


def test_a_document_known_only_at_run_time_reads_any_object_with_findings() -> None:
    plan = _sdk("textract:detectDocumentText", {"Document.$": "$.doc"}, guard="textract:*")
    assert {"Bucket is only known at run time; objects granted in any bucket",
            "Key/Prefix is only known at run time; granted on every key of the bucket"} <= set(
        _messages(plan, "DYNAMIC_RESOURCE"))
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k")  # any object of any bucket: refused


def test_a_document_read_needs_its_bucket() -> None:
    plan = _sdk("textract:detectDocumentText", {"Document": {"S3Object": {"Name": "k"}}}, guard="textract:*")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k")
    assert any("Document.S3Object.Bucket is missing" in m for m in _messages(plan, "MISSING_PARAMETER"))
    inline = _sdk("textract:detectDocumentText", {"Document": {"Bytes": "abc"}}, guard="textract:*")
    assert "MISSING_PARAMETER" not in codes(inline)
    assert_denies(inline, "s3:GetObject", "arn:aws:s3:::docs/k")


@pytest.mark.parametrize(("s3_object", "action", "allowed", "denied"), [
    ({"Bucket": "docs"}, "s3:GetObject", "arn:aws:s3:::docs/any", "arn:aws:s3:::other/any"),
    ({"Bucket": "docs", "Name": "k", "Version": "v1"}, "s3:GetObjectVersion", "arn:aws:s3:::docs/k",
     "arn:aws:s3:::docs/k2"),
])
def test_a_document_without_key_is_any_key_of_its_bucket_and_a_version_reads_versions(
        s3_object: dict[str, str], action: str, allowed: str, denied: str) -> None:
    plan = _sdk("textract:detectDocumentText", {"Document": {"S3Object": s3_object}}, guard="textract:*")
    assert_allows(plan, action, allowed)
    assert_denies(plan, action, denied)
    other = "s3:GetObject" if action == "s3:GetObjectVersion" else "s3:GetObjectVersion"
    assert_denies(plan, other, allowed)


def test_an_output_location_is_optional_and_without_prefix_is_the_whole_bucket() -> None:
    read = {"DocumentLocation": {"S3Object": {"Bucket": "docs", "Name": "k"}}, "FeatureTypes": ["TABLES"]}
    no_bucket = _sdk("textract:startDocumentAnalysis", {**read, "OutputConfig": {"S3Prefix": "p/"}},
                     guard="textract:*")
    assert "MISSING_PARAMETER" not in codes(no_bucket)
    assert_denies(no_bucket, "s3:PutObject", "arn:aws:s3:::docs/p/x")
    no_prefix = _sdk("textract:startDocumentAnalysis", {**read, "OutputConfig": {"S3Bucket": "out"}},
                     guard="textract:*")
    assert_allows(no_prefix, "s3:PutObject", "arn:aws:s3:::out/any")
    assert_denies(no_prefix, "s3:PutObject", "arn:aws:s3:::docs/any")
    prefixed = _sdk("textract:startDocumentAnalysis", {**read, "OutputConfig": {"S3Bucket": "out", "S3Prefix": "p/"}},
                    guard="textract:*")
    assert_allows(prefixed, "s3:PutObject", "arn:aws:s3:::out/p/x")
    assert_denies(prefixed, "s3:PutObject", "arn:aws:s3:::out/q/x")


@pytest.mark.parametrize(("uri", "allowed", "denied"), [
    ("s3://media/in/a.mp3", "arn:aws:s3:::media/in/a.mp3", "arn:aws:s3:::media/in/b.mp3"),
    ("s3://media/in/", "arn:aws:s3:::media/in/", "arn:aws:s3:::media/in/a.mp3"),
    ("s3://media/!a.mp3", "arn:aws:s3:::media/!a.mp3", "arn:aws:s3:::media/b.mp3"),  # a key sorting before "*"
])
def test_a_media_uri_is_read_exactly(uri: str, allowed: str, denied: str) -> None:
    plan = _sdk("transcribe:startTranscriptionJob", {"TranscriptionJobName": "j", "Media": {"MediaFileUri": uri}},
                guard="transcribe:*")
    assert_allows(plan, "s3:GetObject", allowed)
    assert_denies(plan, "s3:GetObject", denied)


def test_a_media_key_star_is_every_key_of_its_bucket_with_a_finding() -> None:
    plan = _sdk("transcribe:startTranscriptionJob", {"TranscriptionJobName": "j", "Media": {"MediaFileUri":
                                                                                           "s3://media/*"}},
                guard="transcribe:*")
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::media/a.mp3")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::other/a.mp3")
    assert _messages(plan, "DYNAMIC_RESOURCE") == [
        "Key/Prefix is only known at run time; granted on every key of the bucket"]


@pytest.mark.parametrize(("media", "code"), [
    ({"MediaFileUri": "https://media/a.mp3"}, "INVALID_VALUE"),
    ({"MediaFileUri.$": "$.uri"}, "DYNAMIC_RESOURCE"),  # any object of any bucket: a read the guardrails refuse
])
def test_a_media_uri_that_is_not_a_literal_s3_uri_reads_nothing(media: dict[str, str], code: str) -> None:
    plan = _sdk("transcribe:startTranscriptionJob", {"TranscriptionJobName": "j", "Media": media},
                guard="transcribe:*")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::media/a.mp3")
    assert_allows(plan, "transcribe:StartTranscriptionJob", "*")
    assert code in codes(plan)


def test_with_a_data_access_role_the_service_reads_with_that_role_not_ours() -> None:
    plan = _sdk("transcribe:startTranscriptionJob", {
        "TranscriptionJobName": "j", "Media": {"MediaFileUri": "s3://media/a.mp3"},
        "JobExecutionSettings": {"DataAccessRoleArn": ROLE}}, guard="transcribe:*")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::media/a.mp3")
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "transcribe.amazonaws.com"})


# --- parameters that name a resource only in some forms ---------------------------------------------------------


def test_a_workgroup_named_by_arn_is_that_workgroup_and_by_name_its_hidden_id_is_run_time() -> None:
    workgroups = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup"
    request = {"Database": "d", "Sql": "select 1"}
    by_arn = _sdk("redshiftdata:executeStatement", {**request, "WorkgroupName": f"{workgroups}/0123"},
                  guard="redshift-data:*")
    assert_allows(by_arn, "redshift-data:ExecuteStatement", f"{workgroups}/0123")
    assert_denies(by_arn, "redshift-data:ExecuteStatement", f"{workgroups}/0124")
    by_name = _sdk("redshiftdata:executeStatement", {**request, "WorkgroupName": "wg"}, guard="redshift-data:*")
    assert_denies(by_name, "redshift-data:ExecuteStatement", f"{workgroups}/0123")
    assert any(m.startswith("the WorkgroupId behind WorkgroupName 'wg' is only known at run time")
               for m in _messages(by_name, "DYNAMIC_RESOURCE"))


def test_a_broker_named_by_id_is_that_broker_whatever_its_name() -> None:
    brokers = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker"
    plan = _sdk("mq:describeBroker", {"BrokerId": "b-1234"}, guard="mq:*")
    assert_allows(plan, "mq:DescribeBroker", f"{brokers}:orders:b-1234")
    assert_denies(plan, "mq:DescribeBroker", f"{brokers}:orders:b-9999")
    assert any(m.startswith("the BrokerName behind BrokerId 'b-1234' is only known at run time")
               for m in _messages(plan, "DYNAMIC_RESOURCE")), plan.findings
    by_arn = _sdk("mq:describeBroker", {"BrokerId": f"{brokers}:orders:b-1234"}, guard="mq:*")
    assert_allows(by_arn, "mq:DescribeBroker", f"{brokers}:orders:b-1234")
    assert_denies(by_arn, "mq:DescribeBroker", f"{brokers}:other:b-1234")
    assert "DYNAMIC_RESOURCE" not in codes(by_arn)


def test_without_any_name_every_resource_type_of_an_action_with_only_optional_ones_is_its_pattern() -> None:
    plan = _sdk("elasticloadbalancing:deleteLoadBalancer", {}, guard="elasticloadbalancing:*")
    balancers = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer"
    assert sorted(m.split("; granted on ")[1] for m in _messages(plan, "DYNAMIC_RESOURCE")) == [
        f"{balancers}/*", f"{balancers}/app/*/*", f"{balancers}/gwy/*/*", f"{balancers}/net/*/*"]
    assert "INVALID_VALUE" not in codes(plan)


def test_a_classic_load_balancer_named_by_name_is_that_load_balancer() -> None:
    # the name fills the classic ARN completely and the newer types' names (whose ids it cannot give): all are kept,
    # none of them counts as naming more of the resource than the other
    balancers = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer"
    plan = _sdk("elasticloadbalancing:deleteLoadBalancer", {"LoadBalancerName": "web"}, guard="elasticloadbalancing:*")
    assert_allows(plan, "elasticloadbalancing:DeleteLoadBalancer", f"{balancers}/web")
    assert_denies(plan, "elasticloadbalancing:DeleteLoadBalancer", f"{balancers}/web2")


def test_an_sdk_queue_url_is_the_queue() -> None:
    plan = _sdk("sqs:receiveMessage", {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"})
    assert_allows(plan, "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")
    assert_denies(plan, "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs2")


# Every SDK operation whose queue is its QueueUrl (the table's templates bind ${QueueName} to it), with its action;
# the three Permissions management ones are refused by the guardrails even when named correctly.
QUEUE_URL_OPS = {
    "addPermission": "sqs:AddPermission", "changeMessageVisibility": "sqs:ChangeMessageVisibility",
    "changeMessageVisibilityBatch": "sqs:ChangeMessageVisibility", "deleteMessage": "sqs:DeleteMessage",
    "deleteMessageBatch": "sqs:DeleteMessage", "deleteQueue": "sqs:DeleteQueue",
    "getQueueAttributes": "sqs:GetQueueAttributes", "listDeadLetterSourceQueues": "sqs:ListDeadLetterSourceQueues",
    "listQueueTags": "sqs:ListQueueTags", "purgeQueue": "sqs:PurgeQueue", "receiveMessage": "sqs:ReceiveMessage",
    "removePermission": "sqs:RemovePermission", "sendMessage": "sqs:SendMessage",
    "sendMessageBatch": "sqs:SendMessage", "setQueueAttributes": "sqs:SetQueueAttributes",
    "tagQueue": "sqs:TagQueue", "untagQueue": "sqs:UntagQueue",
}
PERMISSIONS_MANAGEMENT = {"sqs:AddPermission", "sqs:RemovePermission", "sqs:SetQueueAttributes"}


def test_the_queue_url_operations_are_every_sdk_operation_binding_a_queue_url() -> None:
    from sfn_iam.engine.integrations import sdk

    bound = {(service, api): [a["x"] for a in op["a"]]
             for service, entry in sdk.index()["services"].items() if "file" in entry
             for api, op in sdk.service_table(entry["file"])["ops"].items()
             if any("QueueUrl" in bind.values() for a in op.get("a", ()) for _, _, bind, _ in a["r"])}
    assert bound == {("sqs", api.lower()): [action] for api, action in QUEUE_URL_OPS.items()}


@pytest.mark.parametrize(("api", "action"), QUEUE_URL_OPS.items())
def test_an_sdk_queue_url_is_its_queue_in_every_operation(api: str, action: str) -> None:
    plan = _sdk(f"sqs:{api}", {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs"}, guard="sqs:*")
    assert "INVALID_VALUE" not in codes(plan)
    if action in PERMISSIONS_MANAGEMENT:
        assert "BLOCKED_ACTION" in codes(plan)
        assert_denies(plan, action, f"{QUEUE}:jobs")
    else:
        assert_allows(plan, action, f"{QUEUE}:jobs")
    assert_denies(plan, action, f"{QUEUE}:jobs2")


@pytest.mark.parametrize("url", [f"https://example.com/{ACCOUNT}/jobs", "jobs", f"sqs.{REGION}.amazonaws.com/x/jobs"])
@pytest.mark.parametrize(("api", "action"), QUEUE_URL_OPS.items())
def test_an_sdk_queue_url_that_is_no_queue_url_is_reported_as_the_optimized_send_does(api: str, action: str,
                                                                                     url: str) -> None:
    plan = _sdk(f"sqs:{api}", {"QueueUrl": url}, guard="sqs:*")
    optimized = plan_for(task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"}))
    assert _messages(optimized, "INVALID_VALUE") == [f"QueueUrl {url!r} is not an SQS queue URL; nothing granted"]
    assert [(f.code, f.message) for f in plan.findings] == [(f.code, f.message) for f in optimized.findings]
    assert action not in actions(plan)
    assert_denies(plan, action, f"{QUEUE}:{url}")


def test_an_optional_list_that_is_absent_leaves_the_action_on_star_and_a_present_one_narrows_it() -> None:
    request = {"OutputFormat": "mp3", "Text": "hi", "VoiceId": "Amy"}
    plain = _sdk("polly:synthesizeSpeech", request, guard="polly:*")
    assert_allows(plain, "polly:SynthesizeSpeech", "*")
    assert "DYNAMIC_RESOURCE" not in codes(plain)
    lexicons = f"arn:aws:polly:{REGION}:{ACCOUNT}:lexicon"
    named = _sdk("polly:synthesizeSpeech", {**request, "LexiconNames": ["lx"]}, guard="polly:*")
    assert_allows(named, "polly:SynthesizeSpeech", f"{lexicons}/lx")
    assert_denies(named, "polly:SynthesizeSpeech", f"{lexicons}/other")


def test_another_services_key_named_by_alias_is_no_kms_alias() -> None:
    plan = _sdk("paymentcryptography:getKey", {"KeyIdentifier": "alias/app"}, guard="payment-cryptography:*")
    assert_denies(plan, "payment-cryptography:GetKey", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})
    assert not any(":kms:" in r for s in plan.statements for r in s["Resource"])
    assert "INVALID_VALUE" not in codes(plan)  # no KMS key pattern offered to an action that takes none


def test_a_kms_action_without_resource_types_is_granted_on_star() -> None:
    plan = _sdk("kms:listKeys", {}, guard="kms:*")
    assert_allows(plan, "kms:ListKeys", "*")
    assert_denies(plan, "kms:ListAliases", "*")


def test_a_run_time_key_is_no_alias_and_is_reported() -> None:
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId.$": "$.key"})
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})
    assert any(m.startswith("KeyId is only known at run time") for m in _messages(plan, "DYNAMIC_RESOURCE"))


def test_an_empty_s3_object_is_no_read_and_not_a_missing_bucket() -> None:
    plan = _sdk("textract:detectDocumentText", {"Document": {"S3Object": {}}}, guard="textract:*")
    assert_allows(plan, "textract:DetectDocumentText", "*")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::docs/k")
    assert "MISSING_PARAMETER" not in codes(plan)


# --- an operation with several actions: each is decided on its own ---------------------------------------------
# No operation of today's table has a refused or aliased action before another one (the KMS operations have one
# action each; ReEncrypt has its own handler), but the table is regenerated from AWS's sources: an operation that
# grows a second action (say, a tagging action for a creation that may tag) must not lose it because the first one
# was refused or taken through its alias. These tests extend one real operation's record by a second action.


def _grown(monkeypatch: pytest.MonkeyPatch, service: str, api: str, *extra: dict[str, Any]) -> None:
    """The record of ``aws-sdk:service:api`` with ``extra`` actions after its own, for this test only."""
    from sfn_iam.engine.integrations import sdk

    real = sdk.lookup
    entry, op = real(service, api)
    assert entry is not None and op is not None and "h" not in op  # decided by generic()
    grown = {**op, "a": [*op["a"], *extra]}

    def lookup(s: str, a: str) -> tuple[Any, Any]:
        return (entry, grown) if (s, a.lower()) == (service, api.lower()) else real(s, a)

    monkeypatch.setattr(sdk, "lookup", lookup)



def test_an_action_after_a_refused_one_is_still_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    tag = {"x": "sqs:TagQueue", "r": [["queue", "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}",
                                        {"QueueName": "QueueName"}, 1]]}
    _grown(monkeypatch, "sqs", "createQueue", tag)
    plan = _sdk("sqs:createQueue", {"QueueName": "q", "Attributes": {"Policy": "{}"}, "tags": {"team": "a"}},
                guard="sqs:*")
    assert "BLOCKED_ACTION" in codes(plan)
    assert_denies(plan, "sqs:CreateQueue", f"{QUEUE}:q")
    assert_allows(plan, "sqs:TagQueue", f"{QUEUE}:q")
    assert_denies(plan, "sqs:TagQueue", f"{QUEUE}:q2")


def test_an_action_after_one_taken_through_its_alias_is_still_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_iam.engine.integrations import sdk

    describe = sdk.operation("kms", "describeKey")
    assert describe is not None
    _grown(monkeypatch, "kms", "decrypt", *describe["a"])
    plan = _sdk("kms:decrypt", {"CiphertextBlob": "x", "KeyId": "alias/app"}, guard="kms:*")
    for action in ("kms:Decrypt", "kms:DescribeKey"):
        assert_allows(plan, action, f"{KMS}:key/1234", {"kms:RequestAlias": "alias/app"})
        assert_denies(plan, action, f"{KMS}:key/1234", {"kms:RequestAlias": "alias/other"})
        assert_denies(plan, action, f"{KMS}:key/1234")
