"""AWS SDK integrations: the generated table, the reviewed overrides and the scoping, at request level.

Every row says which request must be allowed and which neighbouring request must be denied, so a grant that is
too narrow or too wide fails.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.engine import policy
from sfn_iam.engine.integrations import sdk
from tests.evaluate import is_allowed
from tests.helpers import (
    ACCOUNT,
    REGION,
    ROOT,
    allows,
    assert_allows,
    assert_denies,
    codes,
    plan_for,
    shared_folder,
    task,
    with_owner,
)

DATA = ROOT / "layers" / "sfn_iam" / "sfn_iam" / "engine" / "integrations" / "sdk" / "data"
OVERRIDES = json.loads((ROOT / "scripts" / "sdk_sources" / "overrides.json").read_text())["overrides"]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "sdk").glob("*.json"))
A, R = ACCOUNT, REGION
ROLE = f"arn:aws:iam::{A}:role/service-role"
QUEUE_URL = f"https://sqs.{R}.amazonaws.com/{A}/q"
Request = tuple[str, str] | tuple[str, str, dict[str, str]]


def arn(service: str, resource: str, region: str = R, account: str = A) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def s3(path: str) -> str:
    return f"arn:aws:s3:::{path}"


@cache
def policies() -> dict[str, Any]:
    import cfnlint

    path = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def known_action(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in policies().get(prefix, {}).get("Actions", {})


def sdk_plan(call: str, params: dict[str, Any] | None, **kw: Any) -> Any:
    service, api = call.split(":")
    return plan_for(task(f"arn:aws:states:::aws-sdk:{service}:{api}", params, **kw))


def check(plan: Any, allowed: list[Request], denied: list[Request]) -> None:
    """Requests against the policy of everything the SDK mapping asked for, before the guardrails.

    The guardrails (tested elsewhere) refuse escalation and wildcard writes afterwards; what is checked here is
    that the mapping names the right action on the right resource, and nothing next to it.
    """
    documents, _ = policy.documents(list(plan.requirements), policy.INLINE_LIMIT * 100)
    for req in allowed:
        context = req[2] if len(req) > 2 else None  # type: ignore[misc]
        allowed_ = is_allowed(documents, req[0], req[1], with_owner(req[1], context))
        assert allowed_, f"{req} not allowed by {plan.requirements}"
    for req in denied:
        context = req[2] if len(req) > 2 else None  # type: ignore[misc]
        denied_ = not is_allowed(documents, req[0], req[1], with_owner(req[1], context))
        assert denied_, f"{req} allowed by {plan.requirements}"


# --- one row per reviewed override: (sdk call, parameters, allowed requests, denied neighbours) -------------------

B, K = "amzn-s3-demo-bucket", "in/data.csv"
BK = {"Bucket": B, "Key": K}
_BUCKET_RENAMES = {  # s3 API -> IAM action, scoped to the bucket
    "getBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "putBucketAccelerateConfiguration": "s3:PutAccelerateConfiguration",
    "getBucketAnalyticsConfiguration": "s3:GetAnalyticsConfiguration",
    "putBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
    "deleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
    "listBucketAnalyticsConfigurations": "s3:GetAnalyticsConfiguration",
    "getBucketIntelligentTieringConfiguration": "s3:GetIntelligentTieringConfiguration",
    "putBucketIntelligentTieringConfiguration": "s3:PutIntelligentTieringConfiguration",
    "deleteBucketIntelligentTieringConfiguration": "s3:PutIntelligentTieringConfiguration",
    "listBucketIntelligentTieringConfigurations": "s3:GetIntelligentTieringConfiguration",
    "getBucketInventoryConfiguration": "s3:GetInventoryConfiguration",
    "putBucketInventoryConfiguration": "s3:PutInventoryConfiguration",
    "deleteBucketInventoryConfiguration": "s3:PutInventoryConfiguration",
    "listBucketInventoryConfigurations": "s3:GetInventoryConfiguration",
    "getBucketMetricsConfiguration": "s3:GetMetricsConfiguration",
    "putBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
    "deleteBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
    "listBucketMetricsConfigurations": "s3:GetMetricsConfiguration",
    "getBucketLifecycle": "s3:GetLifecycleConfiguration",
    "putBucketLifecycle": "s3:PutLifecycleConfiguration",
    "getBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "putBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "deleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "getBucketNotificationConfiguration": "s3:GetBucketNotification",
    "putBucketNotificationConfiguration": "s3:PutBucketNotification",
    "getBucketEncryption": "s3:GetEncryptionConfiguration",
    "putBucketEncryption": "s3:PutEncryptionConfiguration",
    "deleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "getPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "putPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "deletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "getBucketReplication": "s3:GetReplicationConfiguration",
    "putBucketReplication": "s3:PutReplicationConfiguration",
    "deleteBucketReplication": "s3:PutReplicationConfiguration",
    "getBucketCors": "s3:GetBucketCORS",
    "putBucketCors": "s3:PutBucketCORS",
    "deleteBucketCors": "s3:PutBucketCORS",
    "deleteBucketTagging": "s3:PutBucketTagging",
    "deleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "getObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "putObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "headBucket": "s3:ListBucket",
    "listMultipartUploads": "s3:ListBucketMultipartUploads",
    "listObjectVersions": "s3:ListBucketVersions",
}
_KEYSPACES = {  # keyspaces API -> (cassandra action, resource)
    "createKeyspace": ("cassandra:Create", "/keyspace/ks/"),
    "deleteKeyspace": ("cassandra:Drop", "/keyspace/ks/"),
    "updateKeyspace": ("cassandra:Alter", "/keyspace/ks/"),
    "getKeyspace": ("cassandra:Select", "/keyspace/ks/table/*"),
    "createType": ("cassandra:Create", "/keyspace/ks/"),
    "deleteType": ("cassandra:Drop", "/keyspace/ks/"),
    "getType": ("cassandra:Select", "/keyspace/ks/table/*"),
    "listTypes": ("cassandra:Select", "/keyspace/ks/table/*"),
    "listTables": ("cassandra:Select", "/keyspace/ks/table/*"),
    "createTable": ("cassandra:Create", "/keyspace/ks/table/t"),
    "deleteTable": ("cassandra:Drop", "/keyspace/ks/table/t"),
    "getTable": ("cassandra:Select", "/keyspace/ks/table/t"),
    "getTableAutoScalingSettings": ("cassandra:Select", "/keyspace/ks/table/t"),
    "updateTable": ("cassandra:Alter", "/keyspace/ks/table/t"),
}

OVERRIDE_ROWS: list[tuple[str, dict[str, Any], list[Request], list[Request]]] = [
    *[
        (f"s3:{api}", {"Bucket": B}, [(action, s3(B))], [(action, s3("other-bucket")), (action, s3(f"{B}/{K}"))])
        for api, action in _BUCKET_RENAMES.items()
    ],
    *[
        (
            f"keyspaces:{api}",
            {"KeyspaceName": "ks", "TableName": "t"},
            [(action, arn("cassandra", res))],
            [(action, arn("cassandra", res.replace("ks", "other")))],
        )
        for api, (action, res) in _KEYSPACES.items()
    ],
    (
        "keyspaces:listKeyspaces",
        {},
        [("cassandra:Select", arn("cassandra", "/keyspace/any/table/t"))],
        [("cassandra:Select", arn("cassandra", "/keyspace/any/table/t", account="999999999999"))],
    ),
    (
        "keyspaces:listTagsForResource",
        {"ResourceArn": arn("cassandra", "/keyspace/ks/table/t")},
        [("cassandra:Select", arn("cassandra", "/keyspace/ks/table/t"))],
        [("cassandra:Select", arn("cassandra", "/keyspace/ks/table/u"))],
    ),
    (
        "keyspaces:restoreTable",
        {"SourceKeyspaceName": "ks", "SourceTableName": "t", "TargetKeyspaceName": "ks", "TargetTableName": "t2"},
        [("cassandra:Restore", arn("cassandra", "/keyspace/ks/table/t2"))],
        [("cassandra:Restore", "*")],
    ),
    (
        "s3:listObjectsV2",
        {"Bucket": B, "Prefix": "in/"},
        [("s3:ListBucket", s3(B), {"s3:prefix": "in/"})],
        [("s3:ListBucket", s3(B), {"s3:prefix": "out/"}), ("s3:ListBucket", s3("other"), {"s3:prefix": "in/"})],
    ),
    (
        "s3:listObjects",
        {"Bucket": B},
        [("s3:ListBucket", s3(B))],
        [("s3:ListBucket", s3("other")), ("s3:GetObject", s3(f"{B}/x"))],
    ),
    ("s3:listBuckets", {}, [("s3:ListAllMyBuckets", "*")], [("s3:ListBucket", s3(B))]),
    # account-level public access block: the real actions are requested (the guardrails then refuse the writes as
    # an account-wide safety switch, tests/security/test_round_two.py), never the bucket-level ones
    ("s3control:getPublicAccessBlock", {"AccountId": ACCOUNT}, [("s3:GetAccountPublicAccessBlock", "*")],
     [("s3:PutAccountPublicAccessBlock", "*")]),
    ("s3control:putPublicAccessBlock", {"AccountId": ACCOUNT, "PublicAccessBlockConfiguration": {}},
     [("s3:PutAccountPublicAccessBlock", "*")], [("s3:PutPublicAccessBlock", "*")]),
    ("s3control:deletePublicAccessBlock", {"AccountId": ACCOUNT}, [("s3:PutAccountPublicAccessBlock", "*")],
     [("s3:DeletePublicAccessBlock", "*")]),
    ("s3:listDirectoryBuckets", {}, [("s3express:ListAllMyDirectoryBuckets", "*")], [("s3:ListAllMyBuckets", "*")]),
    (
        "s3:getObject",
        {**BK, "VersionId": "v1"},
        [("s3:GetObjectVersion", s3(f"{B}/{K}"))],
        [("s3:GetObject", s3(f"{B}/{K}"))],
    ),
    ("s3:headObject", BK, [("s3:GetObject", s3(f"{B}/{K}"))], [("s3:GetObject", s3(f"{B}/other"))]),
    (
        "s3:getObjectAttributes",
        BK,
        [("s3:GetObject", s3(f"{B}/{K}")), ("s3:GetObjectAttributes", s3(f"{B}/{K}"))],
        [("s3:GetObjectAttributes", s3(f"{B}/other"))],
    ),
    (
        "s3:copyObject",
        {**BK, "CopySource": "src-bucket/a/b.csv", "Tagging": "k=v"},
        [
            ("s3:PutObject", s3(f"{B}/{K}")),
            ("s3:GetObject", s3("src-bucket/a/b.csv")),
            ("s3:PutObjectTagging", s3(f"{B}/{K}")),
            ("s3:GetObjectTagging", s3("src-bucket/a/b.csv")),
        ],
        [
            ("s3:PutObject", s3("src-bucket/a/b.csv")),
            ("s3:GetObject", s3(f"{B}/{K}")),
            ("s3:PutObjectAcl", s3(f"{B}/{K}")),
        ],
    ),
    (
        "s3:uploadPartCopy",
        {**BK, "CopySource": "/src-bucket/a.csv?versionId=3", "UploadId": "u", "PartNumber": 1},
        [("s3:PutObject", s3(f"{B}/{K}")), ("s3:GetObjectVersion", s3("src-bucket/a.csv"))],
        [("s3:GetObject", s3("src-bucket/a.csv")), ("s3:GetObjectTagging", s3("src-bucket/a.csv"))],
    ),
    *[
        (
            f"s3:{api}",
            BK,
            [("s3:PutObject", s3(f"{B}/{K}"))],
            [("s3:PutObject", s3(f"{B}/other")), ("s3:GetObject", s3(f"{B}/{K}"))],
        )
        for api in ("createMultipartUpload", "uploadPart", "completeMultipartUpload")
    ],
    (
        "s3:listParts",
        BK,
        [("s3:ListMultipartUploadParts", s3(f"{B}/{K}"))],
        [("s3:ListMultipartUploadParts", s3(f"{B}/x"))],
    ),
    (
        "s3:deleteObjects",
        {"Bucket": B, "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}},
        [("s3:DeleteObject", s3(f"{B}/a")), ("s3:DeleteObject", s3(f"{B}/b"))],
        [("s3:DeleteObject", s3(f"{B}/c"))],
    ),
    (
        "s3:writeGetObjectResponse",
        {"RequestRoute": "r", "RequestToken": "t"},
        [("s3-object-lambda:WriteGetObjectResponse", arn("s3-object-lambda", "accesspoint/any"))],
        [
            (
                "s3-object-lambda:WriteGetObjectResponse",
                arn("s3-object-lambda", "accesspoint/any", account="999999999999"),
            )
        ],
    ),
    (
        "s3:createSession",
        {"Bucket": "dir--use1-az4--x-s3"},
        [("s3express:CreateSession", arn("s3express", "bucket/dir--use1-az4--x-s3"))],
        [("s3express:CreateSession", arn("s3express", "bucket/other--use1-az4--x-s3"))],
    ),
    (
        "lambda:invoke",
        {"FunctionName": "worker", "Qualifier": "live"},
        [("lambda:InvokeFunction", arn("lambda", "function:worker:live"))],
        [
            ("lambda:InvokeFunction", arn("lambda", "function:worker")),
            ("lambda:Invoke", arn("lambda", "function:worker:live")),
        ],
    ),
    (
        "lambda:createFunction",
        {"FunctionName": "fn", "Role": ROLE},
        [
            ("lambda:CreateFunction", arn("lambda", "function:fn")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}),
        ],
        [
            ("iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"}),
            ("lambda:CreateFunction", arn("lambda", "function:fn2")),
        ],
    ),
    (
        "lambda:updateFunctionConfiguration",
        {"FunctionName": "fn", "Role": ROLE},
        [
            ("lambda:UpdateFunctionConfiguration", arn("lambda", "function:fn")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"}),
        ],
        [("iam:PassRole", f"{ROLE}2", {"iam:PassedToService": "lambda.amazonaws.com"})],
    ),
    (
        "lambda:getLayerVersionByArn",
        {"Arn": arn("lambda", "layer:libs:3")},
        [("lambda:GetLayerVersion", arn("lambda", "layer:libs:3"))],
        [("lambda:GetLayerVersion", arn("lambda", "layer:libs:4"))],
    ),
    (
        "dynamodb:transactWriteItems",
        {"TransactItems": [{"Delete": {"TableName": "T1"}}, {"ConditionCheck": {"TableName": "T2"}}]},
        [
            ("dynamodb:DeleteItem", arn("dynamodb", "table/T1")),
            ("dynamodb:ConditionCheckItem", arn("dynamodb", "table/T2")),
        ],
        [("dynamodb:DeleteItem", arn("dynamodb", "table/T2")), ("dynamodb:PutItem", arn("dynamodb", "table/T1"))],
    ),
    (
        "dynamodb:transactGetItems",
        {"TransactItems": [{"Get": {"TableName": "T1"}}]},
        [("dynamodb:GetItem", arn("dynamodb", "table/T1"))],
        [("dynamodb:TransactGetItems", arn("dynamodb", "table/T1")), ("dynamodb:GetItem", arn("dynamodb", "table/T2"))],
    ),
    (
        "dynamodb:batchWriteItem",
        {"RequestItems": {"T1": [], "T2": []}},
        [
            ("dynamodb:BatchWriteItem", arn("dynamodb", "table/T1")),
            ("dynamodb:BatchWriteItem", arn("dynamodb", "table/T2")),
        ],
        [("dynamodb:BatchWriteItem", arn("dynamodb", "table/T3"))],
    ),
    (
        "dynamodb:batchGetItem",
        {"RequestItems": {"T1": {}}},
        [("dynamodb:BatchGetItem", arn("dynamodb", "table/T1"))],
        [("dynamodb:BatchWriteItem", arn("dynamodb", "table/T1"))],
    ),
    (
        "dynamodb:executeStatement",
        {"Statement": 'SELECT * FROM "Orders"."ByDate" WHERE d = ?'},
        [("dynamodb:PartiQLSelect", arn("dynamodb", "table/Orders/index/ByDate"))],
        [
            ("dynamodb:PartiQLSelect", arn("dynamodb", "table/Orders")),
            ("dynamodb:PartiQLUpdate", arn("dynamodb", "table/Orders/index/ByDate")),
        ],
    ),
    (
        "dynamodb:batchExecuteStatement",
        {
            "Statements": [
                {"Statement": "INSERT INTO Orders VALUE {'id': ?}"},
                {"Statement": 'UPDATE "Stock" SET n = 1 WHERE id = ?'},
            ]
        },
        [
            ("dynamodb:PartiQLInsert", arn("dynamodb", "table/Orders")),
            ("dynamodb:PartiQLUpdate", arn("dynamodb", "table/Stock")),
        ],
        [
            ("dynamodb:PartiQLInsert", arn("dynamodb", "table/Stock")),
            ("dynamodb:PartiQLDelete", arn("dynamodb", "table/Orders")),
        ],
    ),
    (
        "dynamodb:executeTransaction",
        {"TransactStatements": [{"Statement": 'DELETE FROM "Orders" WHERE id = ?'}]},
        [("dynamodb:PartiQLDelete", arn("dynamodb", "table/Orders"))],
        [("dynamodb:PartiQLSelect", arn("dynamodb", "table/Orders"))],
    ),
    (
        "sns:publishBatch",
        {"TopicArn": arn("sns", "t"), "PublishBatchRequestEntries": []},
        [("sns:Publish", arn("sns", "t"))],
        [("sns:Publish", arn("sns", "u")), ("sns:PublishBatch", arn("sns", "t"))],
    ),
    *[
        (
            f"sqs:{api}",
            {"QueueUrl": QUEUE_URL, "Entries": []},
            [(action, arn("sqs", "q"))],
            [(action, arn("sqs", "q2")), (f"sqs:{api}", arn("sqs", "q"))],
        )
        for api, action in (
            ("sendMessageBatch", "sqs:SendMessage"),
            ("deleteMessageBatch", "sqs:DeleteMessage"),
            ("changeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
        )
    ],
    (
        "emr:runJobFlow",
        {"Name": "c", "Tags": [{"Key": "owner", "Value": "etl"}]},
        [("elasticmapreduce:RunJobFlow", "*"),
         ("elasticmapreduce:AddTags", arn("elasticmapreduce", "cluster/j-1"), {"aws:TagKeys": "owner"})],
        [("elasticmapreduce:AddTags", arn("elasticmapreduce", "cluster/j-1"), {"aws:TagKeys": "team"}),
         ("elasticmapreduce:AddTags", arn("elasticmapreduce", "cluster/j-1", account="999999999999"),
          {"aws:TagKeys": "owner"})],
    ),
    (
        "emrserverless:createApplication",
        {"Name": "app", "ReleaseLabel": "emr-7.0.0", "Type": "SPARK"},
        [("emr-serverless:CreateApplication", "*"),
         ("iam:CreateServiceLinkedRole", f"arn:aws:iam::{A}:role/aws-service-role/ops.emr-serverless.amazonaws.com/"
          "AWSServiceRoleForAmazonEMRServerless", {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"})],
        [("iam:CreateServiceLinkedRole", f"arn:aws:iam::{A}:role/aws-service-role/ops.emr-serverless.amazonaws.com/"
          "AWSServiceRoleForAmazonEMRServerless", {"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"})],
    ),
    (
        "bedrockruntime:converse",
        {"ModelId": "amazon.nova-lite-v1:0"},
        [("bedrock:InvokeModel", f"arn:aws:bedrock:{R}::foundation-model/amazon.nova-lite-v1:0")],
        [
            ("bedrock:Converse", f"arn:aws:bedrock:{R}::foundation-model/amazon.nova-lite-v1:0"),
            ("bedrock:InvokeModel", f"arn:aws:bedrock:{R}::foundation-model/amazon.nova-pro-v1:0"),
        ],
    ),
    (
        "bedrockruntime:invokeModel",
        {"ModelId": "us.anthropic.claude-3-haiku-20240307-v1:0"},
        [
            ("bedrock:InvokeModel", arn("bedrock", "inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0")),
            (
                "bedrock:InvokeModel",
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            ),
        ],
        [("bedrock:InvokeModel", f"arn:aws:bedrock:{R}::foundation-model/anthropic.claude-3-opus")],
    ),
    ("sts:getCallerIdentity", {}, [], [("sts:GetCallerIdentity", "*")]),
    (
        "redshiftdata:executeStatement",
        {"ClusterIdentifier": "c1", "Database": "dev", "DbUser": "etl", "Sql": "select 1"},
        [
            ("redshift-data:ExecuteStatement", arn("redshift", "cluster:c1")),
            ("redshift:GetClusterCredentials", arn("redshift", "dbuser:c1/etl")),
            ("redshift:GetClusterCredentials", arn("redshift", "dbname:c1/dev")),
        ],
        [
            ("redshift-data:ExecuteStatement", arn("redshift", "cluster:c2")),
            ("redshift:GetClusterCredentials", arn("redshift", "dbuser:c1/admin")),
        ],
    ),
    (
        "redshiftdata:batchExecuteStatement",
        {"WorkgroupName": "wg", "SecretArn": arn("secretsmanager", "secret:rs-AbCdEf"), "Sqls": []},
        [
            ("redshift-data:BatchExecuteStatement", arn("redshift-serverless", "workgroup/0123")),
            ("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:rs-AbCdEf")),
        ],
        [
            ("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:other-AbCdEf")),
            ("redshift-data:BatchExecuteStatement", arn("redshift", "cluster:c1")),
        ],
    ),
    (
        "eventbridge:putTargets",
        {"Rule": "r", "EventBusName": "default", "Targets": [{"Id": "1", "Arn": "x", "RoleArn": ROLE}]},
        [
            ("events:PutTargets", arn("events", "rule/r")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "events.amazonaws.com"}),
        ],
        [
            ("events:PutTargets", arn("events", "rule/default/r")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "scheduler.amazonaws.com"}),
        ],
    ),
    (
        "eventbridge:putRule",
        {"Name": "r", "EventBusName": "bus", "RoleArn": ROLE},
        [
            ("events:PutRule", arn("events", "rule/bus/r")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "events.amazonaws.com"}),
        ],
        [("events:PutRule", arn("events", "rule/r"))],
    ),
    (
        "eventbridge:putEvents",
        {"Entries": [{"EventBusName": "bus"}, {"Source": "s"}]},
        [
            ("events:PutEvents", arn("events", "event-bus/bus")),
            ("events:PutEvents", arn("events", "event-bus/default")),
        ],
        [("events:PutEvents", arn("events", "event-bus/other"))],
    ),
    *[
        (
            f"scheduler:{api}",
            {"Name": "n", "Target": {"Arn": "x", "RoleArn": ROLE}},
            [(f"scheduler:{api[0].upper()}{api[1:]}", arn("scheduler", "schedule/default/n"))],
            [(f"scheduler:{api[0].upper()}{api[1:]}", arn("scheduler", "schedule/g/n"))],
        )
        for api in ("createSchedule", "updateSchedule", "deleteSchedule", "getSchedule")
    ],
    (
        "glue:createJob",
        {"Name": "j", "Role": ROLE, "Command": {}},
        [
            ("glue:CreateJob", arn("glue", "job/j")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "glue.amazonaws.com"}),
        ],
        [("glue:CreateJob", arn("glue", "job/k"))],
    ),
    (
        "glue:updateJob",
        {"JobName": "j", "JobUpdate": {"Role": ROLE}},
        [
            ("glue:UpdateJob", arn("glue", "job/j")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "glue.amazonaws.com"}),
        ],
        [("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})],
    ),
    (
        "glue:createCrawler",
        {"Name": "c", "Role": ROLE, "Targets": {}},
        [("glue:CreateCrawler", "*"), ("iam:PassRole", ROLE, {"iam:PassedToService": "glue.amazonaws.com"})],
        [("iam:PassRole", f"{ROLE}-x", {"iam:PassedToService": "glue.amazonaws.com"})],
    ),
    (
        "ecs:runTask",
        {"TaskDefinition": "etl:3", "Overrides": {"ExecutionRoleArn": ROLE}},
        [
            ("ecs:RunTask", arn("ecs", "task-definition/etl:3")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ],
        [("ecs:RunTask", arn("ecs", "task-definition/etl:4"))],
    ),
    (
        "ecs:registerTaskDefinition",
        {"Family": "etl", "TaskRoleArn": ROLE, "ContainerDefinitions": []},
        [("iam:PassRole", ROLE, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})],
        [("iam:PassRole", ROLE, {"iam:PassedToService": "ecs.amazonaws.com"})],
    ),
    (
        "sfn:createStateMachine",
        {"Name": "m", "RoleArn": ROLE, "Definition": "{}"},
        [
            ("states:CreateStateMachine", arn("states", "stateMachine:m")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "states.amazonaws.com"}),
        ],
        [("states:CreateStateMachine", arn("states", "stateMachine:n"))],
    ),
    (
        "sfn:updateStateMachine",
        {"StateMachineArn": arn("states", "stateMachine:m"), "RoleArn": ROLE},
        [
            ("states:UpdateStateMachine", arn("states", "stateMachine:m")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "states.amazonaws.com"}),
        ],
        [("states:UpdateStateMachine", arn("states", "stateMachine:n"))],
    ),
    *[
        (
            f"cloudformation:{api}",
            {"StackName": "st", "RoleARN": ROLE},
            [
                (f"cloudformation:{api[0].upper()}{api[1:]}", arn("cloudformation", "stack/st/11111111-2222")),
                ("iam:PassRole", ROLE, {"iam:PassedToService": "cloudformation.amazonaws.com"}),
            ],
            [(f"cloudformation:{api[0].upper()}{api[1:]}", arn("cloudformation", "stack/other/11111111-2222"))],
        )
        for api in ("createStack", "updateStack")
    ],
    (
        "codebuild:createProject",
        {"Name": "p", "ServiceRole": ROLE},
        [
            ("codebuild:CreateProject", arn("codebuild", "project/p")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "codebuild.amazonaws.com"}),
        ],
        [("codebuild:CreateProject", arn("codebuild", "project/q"))],
    ),
    *[
        (
            f"sagemaker:{api}",
            {key: "n", role_key: ROLE},
            [
                (f"sagemaker:{api[0].upper()}{api[1:]}", arn("sagemaker", f"{kind}/n")),
                ("iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
            ],
            [(f"sagemaker:{api[0].upper()}{api[1:]}", arn("sagemaker", f"{kind}/m"))],
        )
        for api, key, role_key, kind in (
            ("createTrainingJob", "TrainingJobName", "RoleArn", "training-job"),
            ("createProcessingJob", "ProcessingJobName", "RoleArn", "processing-job"),
            ("createModel", "ModelName", "ExecutionRoleArn", "model"),
        )
    ],
    (
        "batch:createComputeEnvironment",
        {"ComputeEnvironmentName": "ce", "ServiceRole": ROLE},
        [
            ("batch:CreateComputeEnvironment", arn("batch", "compute-environment/ce")),
            ("iam:PassRole", ROLE, {"iam:PassedToService": "batch.amazonaws.com"}),
        ],
        [("batch:CreateComputeEnvironment", arn("batch", "compute-environment/other"))],
    ),
    (
        "athena:startQueryExecution",
        {"QueryString": "q", "ResultConfiguration": {"OutputLocation": "s3://res/q/"}},
        [
            ("athena:StartQueryExecution", arn("athena", "workgroup/primary")),
            ("s3:PutObject", s3("res/q/1.csv")),
            ("s3:ListBucket", s3("res")),
        ],
        [("athena:StartQueryExecution", arn("athena", "workgroup/other")), ("s3:PutObject", s3("res/other.csv"))],
    ),
    *[
        (
            f"rekognition:{api}",
            {"Image": {"S3Object": {"Bucket": "img", "Name": "a.jpg"}}},
            [(f"rekognition:{api[0].upper()}{api[1:]}", "*"), ("s3:GetObject", s3("img/a.jpg"))],
            [("s3:GetObject", s3("img/b.jpg"))],
        )
        for api in ("detectLabels", "detectText", "detectFaces")
    ],
    *[
        (
            f"textract:{api}",
            {holder: {"S3Object": {"Bucket": "docs", "Name": "a.pdf", "Version": "2"}}},
            [(f"textract:{api[0].upper()}{api[1:]}", "*"), ("s3:GetObjectVersion", s3("docs/a.pdf"))],
            [("s3:GetObject", s3("docs/a.pdf"))],
        )
        for api, holder in (
            ("detectDocumentText", "Document"),
            ("analyzeDocument", "Document"),
            ("startDocumentTextDetection", "DocumentLocation"),
            ("startDocumentAnalysis", "DocumentLocation"),
        )
    ],
    (
        "kms:reEncrypt",
        {"SourceKeyId": arn("kms", "key/src"), "DestinationKeyId": "dst", "CiphertextBlob": "x"},
        [("kms:ReEncryptFrom", arn("kms", "key/src")), ("kms:ReEncryptTo", arn("kms", "key/dst"))],
        [("kms:ReEncryptFrom", arn("kms", "key/dst")), ("kms:ReEncryptTo", arn("kms", "key/src"))],
    ),
    *[
        (
            f"{service}:{api}",
            {sender_key: "Ops <ops@example.com>", "ConfigurationSetName": "cs"},
            [
                (action, arn("ses", "identity/example.com")),
                (action, arn("ses", "identity/ops@example.com")),
                (action, arn("ses", "configuration-set/cs")),
            ],
            [(action, arn("ses", "identity/example.org")), (action, arn("ses", "configuration-set/other"))],
        )
        for service, api, sender_key, action in (
            ("sesv2", "sendEmail", "FromEmailAddress", "ses:SendEmail"),
            ("ses", "sendEmail", "Source", "ses:SendEmail"),
            ("ses", "sendRawEmail", "Source", "ses:SendRawEmail"),
        )
    ],
]


def _row_id(row: tuple[Any, ...]) -> str:
    return row[0]


def test_every_override_has_a_request_level_row() -> None:
    covered = {row[0].lower() for row in OVERRIDE_ROWS}
    assert sorted(k for k in OVERRIDES if k.lower() not in covered) == []


@pytest.mark.parametrize(
    ("call", "params", "allowed", "denied"), OVERRIDE_ROWS, ids=[_row_id(r) for r in OVERRIDE_ROWS]
)
def test_override(call: str, params: dict[str, Any], allowed: list[Request], denied: list[Request]) -> None:
    plan = sdk_plan(call, params)
    check(plan, allowed, denied)
    assert "UNKNOWN_ACTION" not in codes(plan)


# --- a sample of services: (sdk call, parameters, allowed request, denied neighbour) ------------------------------

SERVICE_ROWS: list[tuple[str, dict[str, Any], Request, Request]] = [
    ("s3:putObject", {"Bucket": "b", "Key": "k/1"}, ("s3:PutObject", s3("b/k/1")), ("s3:PutObject", s3("b/k/2"))),
    (
        "dynamodb:getItem",
        {"TableName": "T"},
        ("dynamodb:GetItem", arn("dynamodb", "table/T")),
        ("dynamodb:GetItem", arn("dynamodb", "table/U")),
    ),
    (
        "dynamodb:query",
        {"TableName": arn("dynamodb", "table/T"), "IndexName": "I"},
        ("dynamodb:Query", arn("dynamodb", "table/T/index/I")),
        ("dynamodb:Query", arn("dynamodb", "table/T/index/J")),
    ),
    (
        "sqs:receiveMessage",
        {"QueueUrl": QUEUE_URL},
        ("sqs:ReceiveMessage", arn("sqs", "q")),
        ("sqs:ReceiveMessage", arn("sqs", "q-dlq")),
    ),
    ("sns:publish", {"TopicArn": arn("sns", "t")}, ("sns:Publish", arn("sns", "t")), ("sns:Publish", arn("sns", "t2"))),
    (
        "lambda:getFunction",
        {"FunctionName": "fn"},
        ("lambda:GetFunction", arn("lambda", "function:fn")),
        ("lambda:GetFunction", arn("lambda", "function:fn2")),
    ),
    (
        "secretsmanager:getSecretValue",
        {"SecretId": "db/pw"},
        ("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:db/pw-AbC123")),
        ("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:db/pw-admin-AbC123")),
    ),
    (
        "secretsmanager:describeSecret",
        {"SecretId": arn("secretsmanager", "secret:s-AbCdEf")},
        ("secretsmanager:DescribeSecret", arn("secretsmanager", "secret:s-AbCdEf")),
        ("secretsmanager:DescribeSecret", arn("secretsmanager", "secret:s-XyZxYz")),
    ),
    (
        "ssm:putParameter",
        {"Name": "/a/b", "Value": "v"},
        ("ssm:PutParameter", arn("ssm", "parameter/a/b")),
        ("ssm:PutParameter", arn("ssm", "parameter/a/c")),
    ),
    (
        "sfn:startExecution",
        {"StateMachineArn": arn("states", "stateMachine:sm")},
        ("states:StartExecution", arn("states", "stateMachine:sm")),
        ("states:StartExecution", arn("states", "stateMachine:sm2")),
    ),
    (
        "sfn:describeExecution",
        {"ExecutionArn": arn("states", "execution:sm:e1")},
        ("states:DescribeExecution", arn("states", "execution:sm:e1")),
        ("states:DescribeExecution", arn("states", "execution:sm:e2")),
    ),
    (
        "eventbridge:describeEventBus",
        {"Name": "bus"},
        ("events:DescribeEventBus", arn("events", "event-bus/bus")),
        ("events:DescribeEventBus", arn("events", "event-bus/default")),
    ),
    (
        "cloudwatchlogs:putRetentionPolicy",
        {"LogGroupName": "/lg", "RetentionInDays": 7},
        ("logs:PutRetentionPolicy", arn("logs", "log-group:/lg")),
        ("logs:PutRetentionPolicy", arn("logs", "log-group:/lg2")),
    ),
    (
        "ecs:deleteCluster",
        {"Cluster": "c"},
        ("ecs:DeleteCluster", arn("ecs", "cluster/c")),
        ("ecs:DeleteCluster", arn("ecs", "cluster/d")),
    ),
    (
        "kinesis:putRecord",
        {"StreamName": "s"},
        ("kinesis:PutRecord", arn("kinesis", "stream/s")),
        ("kinesis:PutRecord", arn("kinesis", "stream/t")),
    ),
    (
        "firehose:putRecord",
        {"DeliveryStreamName": "ds"},
        ("firehose:PutRecord", arn("firehose", "deliverystream/ds")),
        ("firehose:PutRecord", arn("firehose", "deliverystream/dt")),
    ),
    ("glue:getJob", {"JobName": "j"}, ("glue:GetJob", arn("glue", "job/j")), ("glue:GetJob", arn("glue", "job/k"))),
    (
        "athena:getWorkGroup",
        {"WorkGroup": "wg"},
        ("athena:GetWorkGroup", arn("athena", "workgroup/wg")),
        ("athena:GetWorkGroup", arn("athena", "workgroup/primary")),
    ),
    (
        "kms:encrypt",
        {"KeyId": arn("kms", "key/k1")},
        ("kms:Encrypt", arn("kms", "key/k1")),
        ("kms:Encrypt", arn("kms", "key/k2")),
    ),
    ("ec2:describeInstances", {}, ("ec2:DescribeInstances", "*"), ("ec2:TerminateInstances", "*")),
    (
        "iam:getRole",
        {"RoleName": "r"},
        ("iam:GetRole", f"arn:aws:iam::{A}:role/r"),
        ("iam:GetRole", f"arn:aws:iam::{A}:role/s"),
    ),
    (
        "rds:describeDBInstances",
        {"DBInstanceIdentifier": "db1"},
        ("rds:DescribeDBInstances", arn("rds", "db:db1")),
        ("rds:DescribeDBInstances", arn("rds", "db:db2")),
    ),
    (
        "redshift:describeClusters",
        {"ClusterIdentifier": "c1"},
        ("redshift:DescribeClusters", arn("redshift", "cluster:c1")),
        ("redshift:DescribeClusters", arn("redshift", "cluster:c2")),
    ),
    (
        "elasticache:describeCacheClusters",
        {"CacheClusterId": "cc"},
        ("elasticache:DescribeCacheClusters", arn("elasticache", "cluster:cc")),
        ("elasticache:DescribeCacheClusters", arn("elasticache", "cluster:cd")),
    ),
    (
        "ecr:batchGetImage",
        {"RepositoryName": "repo"},
        ("ecr:BatchGetImage", arn("ecr", "repository/repo")),
        ("ecr:BatchGetImage", arn("ecr", "repository/other")),
    ),
    (
        "codebuild:startBuild",
        {"ProjectName": "p"},
        ("codebuild:StartBuild", arn("codebuild", "project/p")),
        ("codebuild:StartBuild", arn("codebuild", "project/q")),
    ),
    (
        "codepipeline:startPipelineExecution",
        {"Name": "pl"},
        ("codepipeline:StartPipelineExecution", arn("codepipeline", "pl")),
        ("codepipeline:StartPipelineExecution", arn("codepipeline", "pm")),
    ),
    (
        "cloudformation:describeStacks",
        {"StackName": "st"},
        ("cloudformation:DescribeStacks", arn("cloudformation", "stack/st/uuid")),
        ("cloudformation:DescribeStacks", arn("cloudformation", "stack/su/uuid")),
    ),
    (
        "cloudwatch:putMetricData",
        {"Namespace": "n"},
        ("cloudwatch:PutMetricData", "*"),
        ("cloudwatch:DeleteAlarms", "*"),
    ),
    (
        "sagemaker:describeTrainingJob",
        {"TrainingJobName": "tj"},
        ("sagemaker:DescribeTrainingJob", arn("sagemaker", "training-job/tj")),
        ("sagemaker:DescribeTrainingJob", arn("sagemaker", "training-job/tk")),
    ),
    (
        "batch:submitJob",
        {"JobName": "j", "JobQueue": "q", "JobDefinition": "jd:2"},
        ("batch:SubmitJob", arn("batch", "job-queue/q")),
        ("batch:SubmitJob", arn("batch", "job-queue/r")),
    ),
    (
        "emr:describeCluster",
        {"ClusterId": "j-1"},
        ("elasticmapreduce:DescribeCluster", arn("elasticmapreduce", "cluster/j-1")),
        ("elasticmapreduce:DescribeCluster", arn("elasticmapreduce", "cluster/j-2")),
    ),
    (
        "efs:describeFileSystems",
        {"FileSystemId": "fs-1"},
        ("elasticfilesystem:DescribeFileSystems", arn("elasticfilesystem", "file-system/fs-1")),
        ("elasticfilesystem:DescribeFileSystems", arn("elasticfilesystem", "file-system/fs-2")),
    ),
    (
        "elasticloadbalancingv2:describeLoadBalancers",
        {},
        ("elasticloadbalancing:DescribeLoadBalancers", "*"),
        ("elasticloadbalancing:DeleteLoadBalancer", "*"),
    ),
    (
        "apigateway:getRestApi",
        {"RestApiId": "a1"},
        ("apigateway:GET", f"arn:aws:apigateway:{R}::/restapis/a1"),
        ("apigateway:GET", f"arn:aws:apigateway:{R}::/restapis/a2"),
    ),
    (
        "apigateway:createDeployment",
        {"RestApiId": "a1", "StageName": "prod"},
        ("apigateway:POST", f"arn:aws:apigateway:{R}::/restapis/a1/deployments"),
        ("apigateway:DELETE", f"arn:aws:apigateway:{R}::/restapis/a1/deployments"),
    ),
    (
        "apigatewayv2:getApi",
        {"ApiId": "a2"},
        ("apigateway:GET", f"arn:aws:apigateway:{R}::/apis/a2"),
        ("apigateway:GET", f"arn:aws:apigateway:{R}::/apis/a3"),
    ),
    (
        "cognitoidentityprovider:adminGetUser",
        {"UserPoolId": "us-east-1_x", "Username": "u"},
        ("cognito-idp:AdminGetUser", arn("cognito-idp", "userpool/us-east-1_x")),
        ("cognito-idp:AdminGetUser", arn("cognito-idp", "userpool/us-east-1_y")),
    ),
    (
        "backup:startBackupJob",
        {"BackupVaultName": "v", "ResourceArn": arn("dynamodb", "table/T")},
        ("backup:StartBackupJob", arn("backup", "backup-vault:v")),
        ("backup:StartBackupJob", arn("backup", "backup-vault:w")),
    ),
    (
        "transfer:describeServer",
        {"ServerId": "s-1"},
        ("transfer:DescribeServer", arn("transfer", "server/s-1")),
        ("transfer:DescribeServer", arn("transfer", "server/s-2")),
    ),
    (
        "route53:changeResourceRecordSets",
        {"HostedZoneId": "Z1"},
        ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1"),
        ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z2"),
    ),
    (
        "acm:describeCertificate",
        {"CertificateArn": arn("acm", "certificate/c1")},
        ("acm:DescribeCertificate", arn("acm", "certificate/c1")),
        ("acm:DescribeCertificate", arn("acm", "certificate/c2")),
    ),
    (
        "eks:describeCluster",
        {"Name": "k"},
        ("eks:DescribeCluster", arn("eks", "cluster/k")),
        ("eks:DescribeCluster", arn("eks", "cluster/l")),
    ),
    (
        "mediaconvert:getJob",
        {"Id": "job1"},
        ("mediaconvert:GetJob", arn("mediaconvert", "jobs/job1")),
        ("mediaconvert:GetJob", arn("mediaconvert", "jobs/job2")),
    ),
    (
        "comprehend:detectSentiment",
        {"Text": "t"},
        ("comprehend:DetectSentiment", "*"),
        ("comprehend:DetectEntities", "*"),
    ),
    ("translate:translateText", {"Text": "t"}, ("translate:TranslateText", "*"), ("translate:ImportTerminology", "*")),
    (
        "appsync:getGraphqlApi",
        {"ApiId": "g1"},
        ("appsync:GetGraphqlApi", arn("appsync", "apis/g1")),
        ("appsync:GetGraphqlApi", arn("appsync", "apis/g2")),
    ),
    (
        "sesv2:getEmailIdentity",
        {"EmailIdentity": "example.com"},
        ("ses:GetEmailIdentity", arn("ses", "identity/example.com")),
        ("ses:GetEmailIdentity", arn("ses", "identity/example.org")),
    ),
    (
        "pipes:describePipe",
        {"Name": "p"},
        ("pipes:DescribePipe", arn("pipes", "pipe/p")),
        ("pipes:DescribePipe", arn("pipes", "pipe/q")),
    ),
    (
        "opensearch:describeDomain",
        {"DomainName": "d"},
        ("es:DescribeDomain", arn("es", "domain/d")),
        ("es:DescribeDomain", arn("es", "domain/e")),
    ),
    (
        "rdsdata:executeStatement",
        {"ResourceArn": arn("rds", "cluster:aurora"), "Sql": "select 1"},
        ("rds-data:ExecuteStatement", arn("rds", "cluster:aurora")),
        ("rds-data:ExecuteStatement", arn("rds", "cluster:other")),
    ),
    (
        "bedrockagentruntime:retrieve",
        {"KnowledgeBaseId": "KB1"},
        ("bedrock:Retrieve", arn("bedrock", "knowledge-base/KB1")),
        ("bedrock:Retrieve", arn("bedrock", "knowledge-base/KB2")),
    ),
    ("sfn:sendTaskSuccess", {"TaskToken.$": "$.t"}, ("states:SendTaskSuccess", "*"), ("states:SendTaskFailure", "*")),
    (
        "kafka:describeClusterV2",
        {"ClusterArn": arn("kafka", "cluster/k/uuid-1")},
        ("kafka:DescribeClusterV2", arn("kafka", "cluster/k/uuid-1")),
        ("kafka:DescribeClusterV2", arn("kafka", "cluster/k/uuid-2")),
    ),
    (
        "datasync:startTaskExecution",
        {"TaskArn": arn("datasync", "task/task-1")},
        ("datasync:StartTaskExecution", arn("datasync", "task/task-1")),
        ("datasync:StartTaskExecution", arn("datasync", "task/task-2")),
    ),
    (
        "emrserverless:getApplication",
        {"ApplicationId": "app1"},
        ("emr-serverless:GetApplication", arn("emr-serverless", "/applications/app1")),
        ("emr-serverless:GetApplication", arn("emr-serverless", "/applications/app2")),
    ),
    (
        "servicediscovery:getNamespace",
        {"Id": "ns-1"},
        ("servicediscovery:GetNamespace", arn("servicediscovery", "namespace/ns-1")),
        ("servicediscovery:GetNamespace", arn("servicediscovery", "namespace/ns-2")),
    ),
    (
        "cloudfront:createInvalidation",
        {"DistributionId": "E1"},
        ("cloudfront:CreateInvalidation", f"arn:aws:cloudfront::{A}:distribution/E1"),
        ("cloudfront:CreateInvalidation", f"arn:aws:cloudfront::{A}:distribution/E2"),
    ),
    (
        "wafv2:getWebACL",
        {"Name": "w", "Scope": "REGIONAL", "Id": "id1"},
        ("wafv2:GetWebACL", arn("wafv2", "regional/webacl/w/id1")),
        ("wafv2:GetWebACL", arn("wafv2", "regional/webacl/w/id2")),
    ),
    (
        "dynamodbstreams:describeStream",
        {"StreamArn": arn("dynamodb", "table/T/stream/2024")},
        ("dynamodb:DescribeStream", arn("dynamodb", "table/T/stream/2024")),
        ("dynamodb:DescribeStream", arn("dynamodb", "table/U/stream/2024")),
    ),
    (
        "databrew:startJobRun",
        {"Name": "dj"},
        ("databrew:StartJobRun", arn("databrew", "job/dj")),
        ("databrew:StartJobRun", arn("databrew", "job/dk")),
    ),
    (
        "imagebuilder:startImagePipelineExecution",
        {"ImagePipelineArn": arn("imagebuilder", "image-pipeline/p")},
        ("imagebuilder:StartImagePipelineExecution", arn("imagebuilder", "image-pipeline/p")),
        ("imagebuilder:StartImagePipelineExecution", arn("imagebuilder", "image-pipeline/q")),
    ),
    (
        "timestreamwrite:writeRecords",
        {"DatabaseName": "db", "TableName": "t"},
        ("timestream:WriteRecords", arn("timestream", "database/db/table/t")),
        ("timestream:WriteRecords", arn("timestream", "database/db/table/u")),
    ),
    (
        "iam:putRolePolicy",
        {"RoleName": "r", "PolicyName": "p", "PolicyDocument": "{}"},
        ("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/r"),
        ("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/s"),
    ),
]


@pytest.mark.parametrize(("call", "params", "allowed", "denied"), SERVICE_ROWS, ids=[_row_id(r) for r in SERVICE_ROWS])
def test_service_sample(call: str, params: dict[str, Any], allowed: Request, denied: Request) -> None:
    check(sdk_plan(call, params), [allowed], [denied])


def test_service_sample_covers_at_least_fifty_services() -> None:
    assert len({row[0].split(":")[0] for row in SERVICE_ROWS}) >= 50


# --- names, prefixes and unknowns --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "prefix"),
    [
        ("sfn", "states"),
        ("cloudwatchlogs", "logs"),
        ("elasticloadbalancingv2", "elasticloadbalancing"),
        ("efs", "elasticfilesystem"),
        ("eventbridge", "events"),
        ("sesv2", "ses"),
        ("apigatewayv2", "apigateway"),
        ("bedrockruntime", "bedrock"),
        ("cloudwatch", "cloudwatch"),
        ("resourcegroupstaggingapi", "tag"),
        ("mwaa", "airflow"),
        ("mediapackagevod", "mediapackage-vod"),
        ("emr", "elasticmapreduce"),
        ("keyspaces", "cassandra"),
    ],
)
def test_sdk_service_names_map_to_their_iam_prefix(service: str, prefix: str) -> None:
    assert sdk.index()["services"][service]["prefix"] == prefix


def test_unknown_service_unknown_operation_and_unsupported_operation_grant_nothing() -> None:
    for call, code in (
        ("notaservice:doIt", "UNKNOWN_INTEGRATION"),
        ("s3:doesNotExist", "UNKNOWN_INTEGRATION"),
        ("lambda:invokeWithResponseStream", "UNKNOWN_INTEGRATION"),
        ("sts:assumeRole", "UNKNOWN_INTEGRATION"),
    ):
        plan = sdk_plan(call, {"FunctionName": "f"})
        assert code in codes(plan), call
        assert plan.requirements == (), call


def test_an_action_the_iam_reference_does_not_know_is_never_granted() -> None:
    op = sdk.operation("glue", "getGlossary")
    assert op is not None and "q" in op and not known_action(op["q"])
    plan = sdk_plan("glue:getGlossary", {"Identifier": "g"})
    assert "UNKNOWN_ACTION" in codes(plan)
    assert not allows(plan, op["q"], "*")
    assert plan.requirements == ()


def test_operation_names_are_matched_case_insensitively() -> None:
    assert sdk.operation("dynamodb", "GetItem") == sdk.operation("dynamodb", "getItem")


# --- dynamic values and PassRole ---------------------------------------------------------------------------------


@pytest.mark.parametrize("jsonata", [False, True])
def test_dynamic_resource_gets_account_scoped_pattern_and_finding(jsonata: bool) -> None:
    params = {"TableName": "{% $states.input.t %}"} if jsonata else {"TableName.$": "$.t"}
    plan = sdk_plan("dynamodb:getItem", params, jsonata=jsonata)
    assert_allows(plan, "dynamodb:GetItem", arn("dynamodb", "table/any"))
    assert_denies(plan, "dynamodb:GetItem", arn("dynamodb", "table/any", account="999999999999"))
    assert_denies(plan, "dynamodb:GetItem", arn("dynamodb", "table/any", region="eu-west-1"))
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_parameters_that_do_not_name_the_resource_get_a_pattern_not_star() -> None:
    plan = sdk_plan("sqs:sendMessage", {"MessageBody": "m"})
    assert_allows(plan, "sqs:SendMessage", arn("sqs", "any"))
    assert_denies(plan, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:999999999999:any")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_whole_input_as_parameters_is_dynamic() -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish", "End": True}},
    }
    plan = plan_for(definition)
    assert_allows(plan, "sns:Publish", arn("sns", "any"))
    assert_denies(plan, "sns:Publish", "arn:aws:sns:us-west-2:999999999999:any")
    assert "DYNAMIC_RESOURCE" in codes(plan)


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("lambda:createFunction", {"FunctionName": "f", "Role.$": "$.role"}),
        ("eventbridge:putTargets", {"Rule": "r", "Targets": [{"Id": "1", "Arn": "a", "RoleArn.$": "$.role"}]}),
        ("scheduler:createSchedule", {"Name": "n", "Target": {"Arn": "a", "RoleArn.$": "$.role"}}),
        ("ecs:runTask", {"TaskDefinition": "t", "Overrides": {"TaskRoleArn.$": "$.role"}}),
        ("glue:createJob", {"Name": "j", "Role.$": "$.role", "Command": {}}),
    ],
)
def test_dynamic_role_is_reported_and_never_passed(call: str, params: dict[str, Any]) -> None:
    plan = sdk_plan(call, params)
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert all(r.action != "iam:PassRole" for r in plan.requirements)


def test_role_name_instead_of_arn_is_not_passed() -> None:
    plan = sdk_plan("lambda:createFunction", {"FunctionName": "f", "Role": "my-role"})
    assert "INVALID_VALUE" in codes(plan)
    assert all(r.action != "iam:PassRole" for r in plan.requirements)


# --- fixtures, the peer corpus, and the generated data -----------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_requests(path: Path) -> None:
    fixture = json.loads(path.read_text())
    plan = plan_for(fixture["definition"])
    check(plan, [tuple(r) for r in fixture["allowed"]], [tuple(r) for r in fixture["denied"]])  # type: ignore[misc]


def _sdk_tasks() -> list[tuple[str, str, dict[str, Any]]]:
    """(source, state path, one-Task definition) for every aws-sdk Task in the peer cases, probes and fixtures."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    peer = shared_folder("peer-cases")
    sources = (sorted(peer.glob("*.json")) + sorted(peer.glob("probes/*.json")) if peer else []) + FIXTURES
    for source in sources:
        definition = json.loads(source.read_text())["definition"]
        language = definition.get("QueryLanguage", "JSONPath")
        stack = [("States", definition["States"], language)]
        while stack:
            prefix, states, lang = stack.pop()
            for name, state in states.items():
                lang_here = state.get("QueryLanguage", lang)
                resource = state.get("Resource", "")
                if state.get("Type") == "Task" and isinstance(resource, str) and ":aws-sdk:" in resource:
                    one = {
                        "StartAt": name,
                        "QueryLanguage": lang_here,
                        "States": {name: {**state, "End": True, "Next": None}},
                    }
                    one["States"][name].pop("Next")
                    out.append((source.stem, f"{prefix}.{name}", one))
                for branch in state.get("Branches", []):
                    stack.append((f"{prefix}.{name}", branch["States"], lang_here))
                for key in ("Iterator", "ItemProcessor"):
                    if key in state:
                        stack.append((f"{prefix}.{name}", state[key]["States"], lang_here))
    return out


SDK_TASKS = _sdk_tasks()


def test_the_corpus_has_sdk_tasks() -> None:
    assert FIXTURES and SDK_TASKS, "tests/fixtures/sdk holds no aws-sdk Task"
    if shared_folder("peer-cases") is None:
        pytest.skip("public test data not present next to the repository (../shared/peer-cases); CI has it")
    assert len(SDK_TASKS) >= 60


@pytest.mark.parametrize(("source", "path", "definition"), SDK_TASKS, ids=[f"{s}:{p}" for s, p, _ in SDK_TASKS])
def test_every_corpus_sdk_task_gets_known_actions_and_narrow_resources(
    source: str, path: str, definition: dict[str, Any]
) -> None:
    plan = plan_for(definition)
    assert plan.requirements, f"{source} {path}: nothing required"
    for req in plan.requirements:
        assert known_action(req.action), f"{req.action} is not in Policies.json"
    if not ({"DYNAMIC_RESOURCE", "OUT_OF_BAND_PERMISSION"} & codes(plan)):
        # the parameters name every resource: nothing may be wider than what they name
        for req in plan.requirements:
            if req.resource == "*":
                op = sdk.operation(*re.findall(r"aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)", json.dumps(definition))[0])
                assert op is not None
                assert all(not a["r"] for a in op["a"] if a["x"] == req.action) or req.action.startswith("s3:List"), (
                    f"{req.action} granted on * although it has resource types"
                )


def test_every_action_in_the_table_exists_in_policies_json() -> None:
    bad: list[str] = []
    total = 0
    for path in sorted(DATA.glob("*.json")):
        if path.name == "index.json":
            continue
        for name, op in json.loads(path.read_text())["ops"].items():
            for act in op.get("a", ()):
                total += 1
                if not known_action(act["x"]):
                    bad.append(f"{path.stem}:{name} -> {act['x']}")
    assert total > 15000
    assert bad == []


def test_the_table_maps_every_service_name_step_functions_accepts() -> None:
    accepted = json.loads((ROOT / "scripts" / "sdk_sources" / "stepfunctions_sdk_services.json").read_text())["names"]
    assert sorted(set(accepted) - set(sdk.index()["services"])) == []


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_sdk_data", ROOT / "scripts" / "generate_sdk_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_table_reproduces_the_committed_data() -> None:
    gen = _generator()
    try:
        sources = gen.Sources()
    except ImportError as exc:  # pragma: no cover - the generator's dev-time sources are in requirements-dev.txt
        pytest.fail(f"generator sources missing: {exc}")
    recorded = sdk.index()["sources"]
    assert sources.versions == recorded, "install the source versions the table records (requirements-dev.txt)"
    files = gen.build(sources)
    on_disk = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()}
    assert on_disk == set(files)
    differ = [name for name, text in files.items() if (DATA / name).read_text(encoding="utf-8") != text]
    assert differ == []


def test_the_runtime_loads_only_the_services_a_definition_uses() -> None:
    sdk.service_table.cache_clear()
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "Parameters": BK, "Next": "B"},
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": "T"},
                "End": True,
            },
        },
    }
    plan_for(definition)
    assert sdk.service_table.cache_info().currsize == 2


def test_data_files_are_compact_and_sorted() -> None:
    for path in [DATA / "index.json", DATA / "s3.json", DATA / "ec2.json"]:
        text = path.read_text()
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")) + "\n"
