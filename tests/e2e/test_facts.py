"""Facts from the account, end to end on moto: the real handler reads what a definition implies but does not
say, and the role can then make the requests the workflow makes at run time, with the context IAM sees, and no
neighbouring request. Each case is checked request by request with tests/evaluate.py."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from scripts import sandbox
from tests.evaluate import is_allowed as _is_allowed
from tests.helpers import with_owner

from .conftest import World

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _deploy(world: World, name: str, definition: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Create the machine, deliver its create event; the role's documents and the outcome's detail."""
    role_arn = world.role(f"{name}Role")
    arn = world.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role_arn)[
        "stateMachineArn"]
    world.counter.reset()
    event = sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=arn)
    world.invoke(event)
    published = world.published()
    assert len(published) == 1, published
    docs = list(world.policies(f"{name}Role")["inline"].values())
    return docs, published[0]["detail"]


def _task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
                                             "End": True}}}


def is_allowed(docs: Any, action: str, resource: str, context: dict[str, Any] | None = None) -> bool:
    """IAM's answer for the request as S3 sends it too (``s3:ResourceAccount`` on every bucket or object ARN)."""
    return _is_allowed(docs, action, resource, with_owner(resource, context, sandbox.ACCOUNT))


def _codes(detail: dict[str, Any]) -> set[str]:
    return {f["code"] for f in detail.get("findings", [])}


def _key(manager_alias: str | None = None) -> str:
    """A customer-managed key's ARN, or (``manager_alias``) the AWS-managed key behind ``alias/aws/...``."""
    kms = _client("kms")
    if manager_alias:
        return str(kms.describe_key(KeyId=manager_alias)["KeyMetadata"]["Arn"])
    return str(kms.create_key(Description="sfn-iam test")["KeyMetadata"]["Arn"])


# -- ECS task definitions ----------------------------------------------------------------------------------------

def test_ecs_run_task_passes_the_task_definitions_task_and_execution_roles(world: World) -> None:
    # Roles a machine may pass default to the fixer's scope (PassableRolePatterns empty): they live under its path.
    task_role = world.role("AppTaskRole", path=sandbox.ROLE_PATH, trust={"Version": "2012-10-17", "Statement": []})
    exec_role = world.role("AppExecutionRole", path=sandbox.ROLE_PATH, trust={"Version": "2012-10-17", "Statement": []})
    other = world.role("SomeOtherRole", path=sandbox.ROLE_PATH, trust={"Version": "2012-10-17", "Statement": []})
    _client("ecs").register_task_definition(
        family="app", taskRoleArn=task_role, executionRoleArn=exec_role, requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest"}])
    docs, detail = _deploy(world, "EcsFacts", _task("arn:aws:states:::ecs:runTask.sync",
                                                    {"TaskDefinition": "app", "Cluster": "work",
                                                     "LaunchType": "FARGATE"}))
    to_ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    for role in (task_role, exec_role):
        assert is_allowed(docs, "iam:PassRole", role, to_ecs)
        assert not is_allowed(docs, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not is_allowed(docs, "iam:PassRole", other, to_ecs)
    assert is_allowed(docs, "ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app:1",
                      {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/work"})
    assert "OUT_OF_BAND_PERMISSION" not in _codes(detail)
    assert world.counter.calls["facts/ecs:DescribeTaskDefinition"] == 1


def test_an_unknown_task_definition_is_a_finding_and_no_pass_role(world: World) -> None:
    docs, detail = _deploy(world, "EcsMissing", _task("arn:aws:states:::ecs:runTask",
                                                      {"TaskDefinition": "nosuch", "Cluster": "work"}))
    assert {"FACT_UNRESOLVED", "OUT_OF_BAND_PERMISSION"} <= _codes(detail)
    assert not any("iam:PassRole" in json.dumps(d) for d in docs)


# -- customer-managed keys of the targets ------------------------------------------------------------------------

def _kms_requests(docs: list[dict[str, Any]], key: str, via: str) -> tuple[bool, bool]:
    ctx = {"kms:ViaService": f"{via}.{REGION}.amazonaws.com"}
    return is_allowed(docs, "kms:GenerateDataKey", key, ctx), is_allowed(docs, "kms:Decrypt", key, ctx)


def test_sqs_send_to_a_queue_with_a_customer_key_may_use_that_key_through_sqs_only(world: World) -> None:
    key = _key()
    url = _client("sqs").create_queue(QueueName="orders", Attributes={"KmsMasterKeyId": key.split("/")[-1]})[
        "QueueUrl"]
    docs, detail = _deploy(world, "SqsCmk", _task("arn:aws:states:::sqs:sendMessage",
                                                  {"QueueUrl": url, "MessageBody": "x"}))
    assert is_allowed(docs, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders")
    assert _kms_requests(docs, key, "sqs") == (True, True)
    assert _kms_requests(docs, key, "sns") == (False, False)  # the key, but not through another service
    assert not any(_kms_requests(docs, _key(), "sqs"))  # another key
    assert "FACT_UNRESOLVED" not in _codes(detail)


def test_sqs_with_the_aws_managed_key_or_sse_sqs_needs_no_kms_grant(world: World) -> None:
    sqs = _client("sqs")
    managed = sqs.create_queue(QueueName="managed", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})["QueueUrl"]
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Parameters": {"QueueUrl": managed, "MessageBody": "x"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Parameters": {"QueueUrl": plain, "MessageBody": "x"}, "End": True}}}
    docs, detail = _deploy(world, "SqsManaged", definition)
    assert "kms:" not in json.dumps(docs)
    assert "FACT_UNRESOLVED" not in _codes(detail)


def test_sns_publish_to_a_topic_with_a_customer_key(world: World) -> None:
    key = _key()
    sns = _client("sns")
    topic = sns.create_topic(Name="alerts", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    managed = sns.create_topic(Name="managed", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
              "Parameters": {"TopicArn": topic, "Message": "x"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
              "Parameters": {"TopicArn": managed, "Message": "x"}, "End": True}}}
    docs, _ = _deploy(world, "SnsCmk", definition)
    assert is_allowed(docs, "sns:Publish", topic)
    assert _kms_requests(docs, key, "sns") == (True, True)
    assert _kms_requests(docs, key, "sqs") == (False, False)
    assert json.dumps(docs).count("kms:ViaService") == 1  # the AWS-managed topic key adds nothing


def test_distributed_map_items_and_results_in_buckets_with_customer_and_aws_keys(world: World) -> None:
    s3 = _client("s3")
    key = _key()
    s3.create_bucket(Bucket="in-cmk")
    s3.put_bucket_encryption(Bucket="in-cmk", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    s3.create_bucket(Bucket="out-managed")
    s3.put_bucket_encryption(Bucket="out-managed", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})  # aws/s3: AWS-managed
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "in-cmk", "Key": "items.json"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": "out-managed", "Prefix": "results"}}}}}
    docs, detail = _deploy(world, "MapCmk", definition)
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::in-cmk/items.json")
    assert _kms_requests(docs, key, "s3") == (False, True)  # reading needs Decrypt only
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::out-managed/results/manifest.json")
    assert json.dumps(docs).count("kms:Decrypt") == 1  # nothing for the AWS-managed bucket key
    assert "FACT_UNRESOLVED" not in _codes(detail)


def test_a_bucket_without_default_encryption_needs_no_key_and_a_missing_bucket_is_a_finding(world: World) -> None:
    _client("s3").create_bucket(Bucket="plain-bucket")
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
              "Parameters": {"Bucket": "plain-bucket", "Key": "a"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
              "Parameters": {"Bucket": "gone-bucket", "Key": "b", "Body": "x"}, "End": True}}}
    docs, detail = _deploy(world, "S3Plain", definition)
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::plain-bucket/a")
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::gone-bucket/b")  # the grant stays, without a key
    assert "kms:" not in json.dumps(docs)
    messages = [f["message"] for f in detail["findings"] if f["code"] == "FACT_UNRESOLVED"]
    assert len(messages) == 1 and "gone-bucket" in messages[0]


# -- Athena work groups ------------------------------------------------------------------------------------------

def test_athena_output_from_the_work_group_grants_s3_on_exactly_that_prefix(world: World) -> None:
    key = _key()
    _client("athena").create_work_group(Name="reports", Configuration={
        "ResultConfiguration": {"OutputLocation": "s3://athena-results/reports/",
                                "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": key}},
        "EnforceWorkGroupConfiguration": True})
    docs, detail = _deploy(world, "AthenaWg", _task("arn:aws:states:::athena:startQueryExecution.sync",
                                                    {"QueryString": "SELECT 1", "WorkGroup": "reports"}))
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::athena-results/reports/q1.csv")
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::athena-results/reports/q1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::athena-results/other/q1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::someone-elses/q1.csv",
                          {"s3:ResourceAccount": ACCOUNT})
    assert _kms_requests(docs, key, "s3") == (True, True)
    assert not any(f["code"] == "DYNAMIC_RESOURCE" and "output location" in f["message"]
                   for f in detail["findings"])


def test_athena_reads_a_queried_table_on_its_catalog_location(world: World) -> None:
    glue = _client("glue")
    glue.create_database(DatabaseInput={"Name": "sales"})
    glue.create_table(DatabaseName="sales", TableInput={"Name": "orders", "StorageDescriptor": {
        "Location": "s3://lake/sales/orders/", "Columns": [{"Name": "id", "Type": "string"}]}})
    docs, detail = _deploy(world, "AthenaTables", _task("arn:aws:states:::athena:startQueryExecution.sync", {
        "QueryString": "SELECT * FROM orders", "WorkGroup": "primary",
        "QueryExecutionContext": {"Database": "sales"},
        "ResultConfiguration": {"OutputLocation": "s3://athena-results/q/"}}))
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0.parquet")
    assert not is_allowed(docs, "s3:GetObject", "arn:aws:s3:::lake/sales/other/part-0.parquet")
    assert is_allowed(docs, "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "sales/orders/"})
    assert not any("reads the data" in f["message"] for f in detail["findings"])


# -- EMR instance profiles ---------------------------------------------------------------------------------------

def test_emr_job_flow_role_passes_the_role_inside_the_instance_profile(world: World) -> None:
    inner = world.role("EmrEc2InstanceRole", path=sandbox.ROLE_PATH, trust={"Version": "2012-10-17", "Statement": []})
    world.iam.create_instance_profile(InstanceProfileName="EmrProfile")
    world.iam.add_role_to_instance_profile(InstanceProfileName="EmrProfile", RoleName="EmrEc2InstanceRole")
    docs, detail = _deploy(world, "EmrFacts", _task("arn:aws:states:::elasticmapreduce:createCluster.sync", {
        "Name": "c", "ReleaseLabel": "emr-7.0.0", "JobFlowRole": "EmrProfile", "ServiceRole": "EMR_DefaultRole",
        "Instances": {"KeepJobFlowAliveWhenNoSteps": False}}))
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert is_allowed(docs, "iam:PassRole", inner, to_ec2)
    assert not is_allowed(docs, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/EmrProfile", to_ec2)
    assert not any(f["code"] == "OUT_OF_BAND_PERMISSION" and "instance profile" in f["message"]
                   for f in detail["findings"])


# -- switched off --------------------------------------------------------------------------------------------------

def test_resolve_facts_false_plans_from_the_definition_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOLVE_FACTS", "false")
    world.app._runtime = None
    key = _key()
    url = _client("sqs").create_queue(QueueName="offline", Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    docs, _ = _deploy(world, "Offline", _task("arn:aws:states:::sqs:sendMessage",
                                                   {"QueueUrl": url, "MessageBody": "x"}))
    assert is_allowed(docs, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:offline")
    assert "kms:" not in json.dumps(docs)
    assert world.counter.facts() == 0
