"""Guardrails must not break common workflows: what each call requests at run time is allowed, and the
neighbouring request is denied. One class per test group: literal list parameters, KMS aliases, RDS identifiers
named differently in the API and the IAM reference, and the stop of a ``.sync`` run whose id AWS generates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import (
    ACCOUNT,
    REGION,
    admin_guard,
    assert_allows,
    assert_denies,
    codes,
    outside_ceiling,
    plan_for,
    task,
)

EC2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}"
RDS = f"arn:aws:rds:{REGION}:{ACCOUNT}"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Most calls tested here (ec2 instance stops, KMS encryption, RDS snapshots, queue creation...) are outside the
# default ceiling: they run under an administrator's ceiling that allows their services by wildcard, which is no
# explicit approval, so what is tested is still how the engine scopes them and what the second line refuses.
ADMIN = admin_guard("ec2:*", "kms:*", "rds:*", "cloudwatch:*", "sqs:*", "sns:*", "glue:*")


def admin_plan(definition: Any) -> Any:
    return plan_for(definition, guard=ADMIN)


def _sdk(api: str, params: Any, **kw: Any) -> dict[str, Any]:
    return task(f"arn:aws:states:::aws-sdk:{api}", params, **kw)


@pytest.mark.parametrize("api,action,params", [
    ("ec2:stopInstances", "ec2:StopInstances", {"InstanceIds": ["i-0123456789abcdef0"]}),
    ("kms:encrypt", "kms:Encrypt", {"KeyId": KEY_ID, "Plaintext.$": "$.d"}),
    ("kms:reEncrypt", "kms:ReEncryptFrom", {"SourceKeyId": KEY_ID, "DestinationKeyId": KEY_ID,
                                            "CiphertextBlob.$": "$.b"}),
    ("rds:createDBSnapshot", "rds:CreateDBSnapshot", {"DBInstanceIdentifier": "db1", "DBSnapshotIdentifier": "s1"}),
    ("cloudwatch:deleteAlarms", "cloudwatch:DeleteAlarms", {"AlarmNames": ["HighCpu"]}),
    ("sqs:createQueue", "sqs:CreateQueue", {"QueueName": "jobs"}),
])
def test_the_default_ceiling_refuses_them_with_the_statement_that_approves_them(api: str, action: str,
                                                                                  params: Any) -> None:
    plan = plan_for(_sdk(api, params))
    assert not plan.documents or all(action not in s["Action"] for s in plan.statements)
    assert outside_ceiling(plan, action), [f.line() for f in plan.findings]
    assert plan.proposal is not None and any(action in s["Action"] for s in plan.proposal["Statement"])
    assert any(action in s["Action"] for s in admin_plan(_sdk(api, params)).statements)


# --- literal list parameters: one resource per element -----------------------------------------------------------

@pytest.mark.parametrize("api,action", [("ec2:stopInstances", "ec2:StopInstances"),
                                        ("ec2:startInstances", "ec2:StartInstances"),
                                        ("ec2:rebootInstances", "ec2:RebootInstances")])
def test_literal_instance_ids_are_granted_one_by_one(api: str, action: str) -> None:
    plan = admin_plan(_sdk(api, {"InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"]}))
    assert_allows(plan, action, f"{EC2}:instance/i-0123456789abcdef0")
    assert_allows(plan, action, f"{EC2}:instance/i-0fedcba9876543210")
    assert_denies(plan, action, f"{EC2}:instance/i-0aaaaaaaaaaaaaaaa")
    assert "WILDCARD_WRITE" not in codes(plan)


def test_literal_instance_ids_work_in_jsonata_too() -> None:
    plan = admin_plan(_sdk("ec2:stopInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, jsonata=True))
    assert_allows(plan, "ec2:StopInstances", f"{EC2}:instance/i-0123456789abcdef0")
    assert_denies(plan, "ec2:StopInstances", f"{EC2}:instance/i-0aaaaaaaaaaaaaaaa")


@pytest.mark.parametrize("params", [{"InstanceIds.$": "$.ids"}, {"InstanceIds": ["i-0123456789abcdef0", "{% $id %}"]}])
def test_a_run_time_instance_list_stays_refused_on_ec2(params: dict[str, Any]) -> None:
    jsonata = "InstanceIds" in params
    plan = admin_plan(_sdk("ec2:stopInstances", params, jsonata=jsonata))
    assert_denies(plan, "ec2:StopInstances", f"{EC2}:instance/i-0aaaaaaaaaaaaaaaa")
    assert "WILDCARD_WRITE" in codes(plan)


def test_a_list_longer_than_the_cap_is_a_pattern_not_a_flood() -> None:
    ids = [f"i-{n:017x}" for n in range(150)]
    plan = admin_plan(_sdk("ec2:stopInstances", {"InstanceIds": ids}))
    assert_denies(plan, "ec2:StopInstances", f"{EC2}:instance/{ids[0]}")
    assert "WILDCARD_WRITE" in codes(plan)


def test_a_list_of_arns_is_taken_whole() -> None:
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:HighCpu"
    plan = admin_plan(_sdk("cloudwatch:deleteAlarms", {"AlarmNames": ["HighCpu", "LowDisk"]}))
    assert_allows(plan, "cloudwatch:DeleteAlarms", alarm)
    assert_allows(plan, "cloudwatch:DeleteAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:LowDisk")
    assert_denies(plan, "cloudwatch:DeleteAlarms", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:Other")


# --- KMS aliases: the key pattern, only when the request names the alias -----------------------------------------

@pytest.mark.parametrize("key", ["alias/app", f"{KMS}:alias/app"])
@pytest.mark.parametrize("api,action,extra", [
    ("kms:encrypt", "kms:Encrypt", {"Plaintext.$": "$.data"}),
    ("kms:decrypt", "kms:Decrypt", {"CiphertextBlob.$": "$.blob"}),
    ("kms:generateDataKey", "kms:GenerateDataKey", {"KeySpec": "AES_256"}),
])
def test_a_key_named_by_alias_is_granted_for_requests_that_use_the_alias(
        key: str, api: str, action: str, extra: dict[str, Any]) -> None:
    plan = admin_plan(_sdk(api, {"KeyId": key, **extra}))
    assert_allows(plan, action, f"{KMS}:key/{KEY_ID}", {"kms:RequestAlias": "alias/app"})
    # the same key reached without the alias, or through another alias, is not
    assert_denies(plan, action, f"{KMS}:key/{KEY_ID}")
    assert_denies(plan, action, f"{KMS}:key/{KEY_ID}", {"kms:RequestAlias": "alias/other"})
    assert not any("/alias/" in r.resource or ":alias/" in r.resource for r in plan.requirements)
    assert "WILDCARD_WRITE" not in codes(plan)


@pytest.mark.usefixtures("any_account")
def test_an_alias_of_another_account_is_pinned_to_that_account_and_region() -> None:
    other = "arn:aws:kms:eu-west-1:210987654321"
    plan = plan_for(_sdk("kms:decrypt", {"KeyId": f"{other}:alias/shared", "CiphertextBlob.$": "$.b"}))
    assert_allows(plan, "kms:Decrypt", f"{other}:key/{KEY_ID}", {"kms:RequestAlias": "alias/shared"})
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/{KEY_ID}", {"kms:RequestAlias": "alias/shared"})


def test_a_key_id_is_still_granted_on_the_key_itself() -> None:
    plan = admin_plan(_sdk("kms:encrypt", {"KeyId": KEY_ID, "Plaintext.$": "$.d"}))
    assert_allows(plan, "kms:Encrypt", f"{KMS}:key/{KEY_ID}")
    assert_denies(plan, "kms:Encrypt", f"{KMS}:key/0000abcd-12ab-34cd-56ef-1234567890ab")


def test_a_run_time_key_is_still_refused_for_decrypt() -> None:
    plan = plan_for(_sdk("kms:decrypt", {"KeyId.$": "$.key", "CiphertextBlob.$": "$.b"}))
    assert_denies(plan, "kms:Decrypt", f"{KMS}:key/{KEY_ID}", {"kms:RequestAlias": "alias/app"})
    assert "WILDCARD_WRITE" in codes(plan)


def test_reencrypt_with_aliases_pins_each_key_to_its_own_alias() -> None:
    """A ReEncrypt names two keys: each is pinned by the alias its own parameter names, as an alias the key carries
    (kms:ResourceAliases), not by how the request named a key (kms:RequestAlias is not defined per key)."""
    plan = admin_plan(_sdk("kms:reEncrypt", {"SourceKeyId": "alias/old", "DestinationKeyId": f"{KMS}:alias/new",
                                           "CiphertextBlob.$": "$.blob"}))
    key = f"{KMS}:key/{KEY_ID}"
    assert_allows(plan, "kms:ReEncryptFrom", key, {"kms:ResourceAliases": ["alias/old", "alias/x"]})
    assert_allows(plan, "kms:ReEncryptTo", key, {"kms:ResourceAliases": ["alias/new"]})
    # a key without the alias, with another alias, or each action through the other parameter's alias: denied
    for action in ("kms:ReEncryptFrom", "kms:ReEncryptTo"):
        assert_denies(plan, action, key)
        assert_denies(plan, action, key, {"kms:ResourceAliases": ["alias/other"]})
        assert_denies(plan, action, key, {"kms:RequestAlias": "alias/old"})
    assert_denies(plan, "kms:ReEncryptFrom", key, {"kms:ResourceAliases": ["alias/new"]})
    assert_denies(plan, "kms:ReEncryptTo", key, {"kms:ResourceAliases": ["alias/old"]})
    assert "WILDCARD_WRITE" not in codes(plan)


def test_reencrypt_to_an_alias_of_another_account_is_pinned_there_and_a_missing_source_stays_refused() -> None:
    other = "arn:aws:kms:eu-west-1:210987654321"
    plan = admin_plan(_sdk("kms:reEncrypt", {"DestinationKeyId": f"{other}:alias/shared", "CiphertextBlob.$": "$.b"}))
    assert_allows(plan, "kms:ReEncryptTo", f"{other}:key/{KEY_ID}", {"kms:ResourceAliases": ["alias/shared"]})
    assert_denies(plan, "kms:ReEncryptTo", f"{KMS}:key/{KEY_ID}", {"kms:ResourceAliases": ["alias/shared"]})
    # no SourceKeyId: KMS reads the key from the ciphertext, any key of the account; refused as before
    assert_denies(plan, "kms:ReEncryptFrom", f"{KMS}:key/{KEY_ID}", {"kms:ResourceAliases": ["alias/shared"]})
    assert "WILDCARD_WRITE" in codes(plan)


def test_reencrypt_with_key_ids_is_granted_on_the_keys() -> None:
    other_id = "0000abcd-12ab-34cd-56ef-1234567890ab"
    plan = admin_plan(_sdk("kms:reEncrypt", {"SourceKeyId": KEY_ID, "DestinationKeyId": f"{KMS}:key/{other_id}",
                                           "CiphertextBlob.$": "$.b"}))
    assert_allows(plan, "kms:ReEncryptFrom", f"{KMS}:key/{KEY_ID}")
    assert_allows(plan, "kms:ReEncryptTo", f"{KMS}:key/{other_id}")
    assert_denies(plan, "kms:ReEncryptFrom", f"{KMS}:key/{other_id}")
    assert_denies(plan, "kms:ReEncryptTo", f"{KMS}:key/{KEY_ID}")


# --- RDS: the snapshot the call creates -----------------------------------------------------------------------

def test_create_db_snapshot_grants_the_instance_and_the_new_snapshot() -> None:
    plan = admin_plan(_sdk("rds:createDBSnapshot", {"DBInstanceIdentifier": "db1", "DBSnapshotIdentifier": "snap1"}))
    assert_allows(plan, "rds:CreateDBSnapshot", f"{RDS}:db:db1")
    assert_allows(plan, "rds:CreateDBSnapshot", f"{RDS}:snapshot:snap1")
    assert_denies(plan, "rds:CreateDBSnapshot", f"{RDS}:snapshot:other")
    assert_denies(plan, "rds:CreateDBSnapshot", f"{RDS}:db:db2")


def test_create_db_cluster_snapshot_grants_the_cluster_and_the_new_snapshot() -> None:
    plan = admin_plan(_sdk("rds:createDBClusterSnapshot",
                         {"DBClusterIdentifier": "c1", "DBClusterSnapshotIdentifier": "s1"}))
    assert_allows(plan, "rds:CreateDBClusterSnapshot", f"{RDS}:cluster:c1")
    assert_allows(plan, "rds:CreateDBClusterSnapshot", f"{RDS}:cluster-snapshot:s1")
    assert_denies(plan, "rds:CreateDBClusterSnapshot", f"{RDS}:cluster-snapshot:s2")
    assert_denies(plan, "rds:CreateDBClusterSnapshot", f"{RDS}:cluster:c2")


def test_a_run_time_snapshot_name_keeps_the_instance_literal_and_stays_refused() -> None:
    plan = admin_plan(_sdk("rds:createDBSnapshot", {"DBInstanceIdentifier": "db1", "DBSnapshotIdentifier.$": "$.n"}))
    assert_denies(plan, "rds:CreateDBSnapshot", f"{RDS}:snapshot:any")
    assert "WILDCARD_WRITE" in codes(plan)


# --- the stop of a .sync run whose id is generated ------------------------------------------------------------

ECS_SYNC = "arn:aws:states:::ecs:runTask.sync"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/any-cluster/0123456789abcdef0123456789abcdef"


def test_ecs_run_task_sync_with_a_run_time_cluster_can_stop_its_task() -> None:
    plan = plan_for(task(ECS_SYNC, {"Cluster.$": "$.cluster", "TaskDefinition": "worker:3"}))
    assert_allows(plan, "ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/worker:3")
    assert_allows(plan, "ecs:StopTask", TASK)
    assert_allows(plan, "ecs:DescribeTasks", TASK)
    assert_denies(plan, "ecs:StopTask", TASK.replace(ACCOUNT, "210987654321"))
    assert_denies(plan, "ecs:StopTask", TASK.replace(REGION, "eu-west-1"))
    assert "WILDCARD_WRITE" not in codes(plan)


def test_ecs_stop_is_refused_when_the_run_itself_is_refused() -> None:
    plan = plan_for(task(ECS_SYNC, {"Cluster.$": "$.cluster", "TaskDefinition.$": "$.definition"}))
    assert_denies(plan, "ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/worker:3")
    assert_denies(plan, "ecs:StopTask", TASK)


def test_a_bare_stop_task_on_a_pattern_is_not_a_run_stop() -> None:
    plan = plan_for(_sdk("ecs:stopTask", {"Cluster.$": "$.c", "Task.$": "$.t"}))
    assert_denies(plan, "ecs:StopTask", TASK)
    assert "WILDCARD_WRITE" in codes(plan)


def test_a_stop_is_tied_to_the_start_of_its_own_state() -> None:
    definition = {"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": ECS_SYNC, "Next": "Stop",
                "Parameters": {"Cluster": "jobs", "TaskDefinition": "worker:3"}},
        "Stop": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ecs:stopTask", "End": True,
                 "Parameters": {"Cluster.$": "$.c", "Task.$": "$.t"}}}}
    plan = plan_for(definition)
    assert_allows(plan, "ecs:StopTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/jobs/0123456789abcdef")
    assert_denies(plan, "ecs:StopTask", TASK)


def test_batch_submit_job_sync_can_terminate_its_job() -> None:
    plan = plan_for(task("arn:aws:states:::batch:submitJob.sync",
                         {"JobName": "nightly", "JobQueue": "queue", "JobDefinition": "def:2"}))
    job = f"arn:aws:batch:{REGION}:{ACCOUNT}:job/8d2f4a1e-1d2b-4f4e-9c7b-0a1b2c3d4e5f"
    assert_allows(plan, "batch:SubmitJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/queue")
    assert_allows(plan, "batch:TerminateJob", job)
    assert_denies(plan, "batch:TerminateJob", job.replace(ACCOUNT, "210987654321"))
    assert_denies(plan, "batch:CancelJob", job)
    assert "WILDCARD_WRITE" not in codes(plan)


def test_batch_terminate_is_refused_when_the_submit_is_refused() -> None:
    plan = plan_for(task("arn:aws:states:::batch:submitJob.sync",
                         {"JobName": "n", "JobQueue.$": "$.queue", "JobDefinition": "def:2"}))
    assert_denies(plan, "batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/8d2f4a1e")


def test_request_response_batch_gets_no_terminate() -> None:
    plan = plan_for(task("arn:aws:states:::batch:submitJob",
                         {"JobName": "n", "JobQueue": "queue", "JobDefinition": "def:2"}))
    assert_denies(plan, "batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/8d2f4a1e")


# --- Permissions management, reviewed: creating a queue or a topic changes no existing resource's access --------

SQS = f"arn:aws:sqs:{REGION}:{ACCOUNT}"
SNS = f"arn:aws:sns:{REGION}:{ACCOUNT}"


def test_a_workflow_may_create_its_queue_and_topic() -> None:
    definition = {"StartAt": "Q", "States": {
        "Q": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:createQueue", "Next": "T",
              "Parameters": {"QueueName": "orders-dlq"}},
        "T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:createTopic", "End": True,
              "Parameters": {"Name": "orders-events"}}}}
    plan = admin_plan(definition)
    assert_allows(plan, "sqs:CreateQueue", f"{SQS}:orders-dlq")
    assert_denies(plan, "sqs:CreateQueue", f"{SQS}:other")
    assert_allows(plan, "sns:CreateTopic", f"{SNS}:orders-events")
    assert_denies(plan, "sns:CreateTopic", f"{SNS}:other")
    assert "BLOCKED_ACTION" not in codes(plan)


@pytest.mark.parametrize("api,action,params", [
    ("sqs:setQueueAttributes", "sqs:SetQueueAttributes",
     {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders", "Attributes": {"VisibilityTimeout": "60"}}),
    ("sns:setTopicAttributes", "sns:SetTopicAttributes",
     {"TopicArn": f"{SNS}:orders", "AttributeName": "DisplayName", "AttributeValue": "x"}),
    ("sqs:addPermission", "sqs:AddPermission",
     {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders", "Label": "l", "AWSAccountIds": ["1"],
      "Actions": ["SendMessage"]}),
])
def test_changing_an_existing_resource_policy_stays_refused(api: str, action: str, params: dict[str, Any]) -> None:
    plan = admin_plan(_sdk(api, params))
    resource = f"{SQS}:orders" if action.startswith("sqs") else f"{SNS}:orders"
    assert_denies(plan, action, resource)
    assert "BLOCKED_ACTION" in codes(plan)


def test_glue_connection_type_catalogue_reads_are_granted_but_connection_use_is_not() -> None:
    plan = admin_plan(_sdk("glue:listConnectionTypes", {}))
    assert_allows(plan, "glue:ListConnectionTypes", "*")
    plan = admin_plan(_sdk("glue:testConnection", {"ConnectionName": "salesforce"}))
    assert "BLOCKED_ACTION" in codes(plan)


@pytest.mark.parametrize("api,action,resource", [("sqs:createQueue", "sqs:CreateQueue", f"{SQS}:leak"),
                                                 ("sns:createTopic", "sns:CreateTopic", f"{SNS}:leak")])
@pytest.mark.parametrize("attributes", [{"Policy": "{}"}, {"Policy.$": "$.p"}, "DYNAMIC"])
def test_a_queue_or_topic_created_with_its_own_policy_is_refused(api: str, action: str, resource: str,
                                                                  attributes: Any) -> None:
    name = {"QueueName": "leak"} if api.startswith("sqs") else {"Name": "leak"}
    params = {**name, "Attributes.$": "$.a"} if attributes == "DYNAMIC" else {**name, "Attributes": attributes}
    plan = plan_for(_sdk(api, params))
    assert_denies(plan, action, resource)
    assert "BLOCKED_ACTION" in codes(plan)


def test_a_queue_created_with_ordinary_attributes_is_granted() -> None:
    plan = admin_plan(_sdk("sqs:createQueue", {"QueueName": "jobs", "Attributes": {"VisibilityTimeout": "60"}}))
    assert_allows(plan, "sqs:CreateQueue", f"{SQS}:jobs")
    assert_denies(plan, "sqs:CreateQueue", f"{SQS}:jobs2")
