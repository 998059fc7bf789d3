"""Our optimized integrations against the peer's (serverless-step-functions) cases for the same services.

For each case: every request a real run makes must be allowed by ours (or, where the value is only known at
run time, requested by the handler on an account-scoped pattern — the guardrails then decide); wherever the peer
grants a wildcard, a neighbouring request the peer allows must be denied by ours; and every action the peer
grants is either one we need or a deliberate difference explained here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, REGION, allows, codes, plan_for, require_shared

OTHER = "999999999999"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
RULES = f"arn:aws:events:{REGION}:{ACCOUNT}:rule"
Request = tuple[str, str, dict[str, str]]


def r(action: str, resource: str, **context: str) -> Request:
    return action, resource, {k.replace("__", ":").replace("_SLASH_", "/"): v for k, v in context.items()}


@dataclass(frozen=True)
class Case:
    allowed: list[Request]  # a real run's requests, granted after the guardrails
    outside: list[Request]  # neighbours the peer allows and ours must deny (at request level too)
    requested: list[Request] = field(default_factory=list)  # run-time values: requested, guardrails decide
    deliberate: dict[str, str] = field(default_factory=dict)  # peer action -> why ours does not grant it
    findings: set[str] = field(default_factory=set)


ATHENA = f"arn:aws:athena:{REGION}:{ACCOUNT}"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
EMR = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}"
CLUSTER = f"{EMR}:cluster/j-123456789ABC"
OWN = {"s3:ResourceAccount": ACCOUNT}
ATHENA_DELIBERATE = {
    "s3:CreateBucket": "Athena creates a results bucket only for console users; a run writes to an existing one",
    **{f"glue:{a}": "the query is a literal SELECT: no DDL runs" for a in (
        "CreateDatabase", "UpdateDatabase", "DeleteDatabase", "CreateTable", "UpdateTable", "DeleteTable",
        "BatchDeleteTable", "BatchCreatePartition", "CreatePartition", "UpdatePartition", "DeletePartition",
        "BatchDeletePartition")},
}
ATHENA_S3 = [("s3:PutObject", "arn:aws:s3:::query-results/q/1.csv", OWN),
             ("s3:GetObject", "arn:aws:s3:::query-results/q/1.csv", OWN),
             ("s3:ListBucket", "arn:aws:s3:::query-results", OWN),
             ("s3:GetBucketLocation", "arn:aws:s3:::query-results", OWN),
             ("s3:ListBucketMultipartUploads", "arn:aws:s3:::query-results", OWN),
             ("s3:ListMultipartUploadParts", "arn:aws:s3:::query-results/q/1.csv", OWN),
             ("s3:AbortMultipartUpload", "arn:aws:s3:::query-results/q/1.csv", OWN)]
# GetDatabase(s) is authorized on the catalog and the database only (no table resource type in IAM).
ATHENA_CATALOG = [r(f"glue:{a}", res) for a in ("GetDatabase", "GetDatabases", "GetTable", "GetTables",
                                                   "GetPartition", "GetPartitions", "BatchGetPartition")
                  for res in (f"{GLUE}:catalog", f"{GLUE}:database/db", f"{GLUE}:table/db/t")
                  if not (a.startswith("GetDatabase") and ":table/" in res)]
ATHENA_OUTSIDE = [("s3:PutObject", "arn:aws:s3:::someone-elses-bucket/x", {"s3:ResourceAccount": OTHER}),
                  ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x", {"s3:ResourceAccount": OTHER}),
                  r("glue:DeleteTable", f"{GLUE}:table/db/t")]

CASES: dict[str, Case] = {
    # No OutputLocation: the workgroup's location is unknown, so S3 is requested on this account's buckets
    # (s3:ResourceAccount) instead of the peer's arn:aws:s3:::* — and the wildcard rule may still refuse it.
    "athena-start-query-static-workgroup": Case(
        allowed=[r("athena:StartQueryExecution", f"{ATHENA}:workgroup/analytics"),
                 r("athena:GetDataCatalog", f"{ATHENA}:datacatalog/AwsDataCatalog"),
                 r("lakeformation:GetDataAccess", "*"), *ATHENA_CATALOG],
        requested=ATHENA_S3,
        outside=ATHENA_OUTSIDE,
        deliberate=ATHENA_DELIBERATE, findings={"DYNAMIC_RESOURCE"}),  # SELECT 1 reads no table
    "athena-start-query-sync-dynamic-workgroup": Case(
        allowed=[*(r(f"athena:{a}", f"{ATHENA}:workgroup/team-a") for a in (
            "StartQueryExecution", "StopQueryExecution", "GetQueryExecution", "GetWorkGroup",
            "BatchGetQueryExecution", "GetQueryResults", "ListQueryExecutions")),
            r("athena:GetDataCatalog", f"{ATHENA}:datacatalog/AwsDataCatalog"),
            r("lakeformation:GetDataAccess", "*"), *ATHENA_CATALOG],
        requested=ATHENA_S3, outside=ATHENA_OUTSIDE, deliberate=ATHENA_DELIBERATE,
        findings={"DYNAMIC_RESOURCE"}),
    "athena-stop-get-execution-get-results": Case(
        allowed=[r(f"athena:{a}", f"{ATHENA}:workgroup/primary")
                 for a in ("StopQueryExecution", "GetQueryExecution", "GetQueryResults")],
        requested=[("s3:GetObject", "arn:aws:s3:::query-results/q/1.csv", OWN)],
        outside=[("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x", {"s3:ResourceAccount": OTHER})]),
    # No Parameters: the whole input is sent, so queue, definition and job are run-time values.
    "batch-submit-job": Case(
        allowed=[r("batch:DescribeJobs", "*"),
                 *(r(f"events:{a}", f"{RULES}/StepFunctionsGetEventsForBatchJobsRule")
                   for a in ("PutTargets", "PutRule", "DescribeRule"))],
        requested=[r("batch:SubmitJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/q"),
                   r("batch:SubmitJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/d:1"),
                   r("batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/0b1c")],
        outside=[r("batch:SubmitJob", f"arn:aws:batch:{REGION}:{OTHER}:job-queue/q"),
                 r("batch:TerminateJob", f"arn:aws:batch:{REGION}:{OTHER}:job/0b1c")],
        findings={"DYNAMIC_RESOURCE"}),
    "bedrock-invoke-model-id-and-arn": Case(
        allowed=[r("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-v2:1"),
                 r("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/meta.llama2-70b-chat-v1")],
        outside=[]),
    "codebuild-start-build": Case(
        allowed=[*(r(f"codebuild:{a}", f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/HelloProject")
                   for a in ("StartBuild", "StopBuild", "BatchGetBuilds")),
                 *(r(f"events:{a}", f"{RULES}/StepFunctionsGetEventForCodeBuildStartBuildRule")
                   for a in ("PutTargets", "PutRule", "DescribeRule"))],
        outside=[]),
    # No Parameters: task definition and cluster are run-time values; the role in the task definition is unknown.
    "ecs-run-task": Case(
        allowed=[r("ecs:DescribeTasks", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/main/0b1c"),
                 *(r(f"events:{a}", f"{RULES}/StepFunctionsGetEventsForECSTaskRule")
                   for a in ("PutTargets", "PutRule", "DescribeRule"))],
        requested=[r("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/job:3"),
                   r("ecs:StopTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/main/0b1c")],
        outside=[r("ecs:RunTask", f"arn:aws:ecs:{REGION}:{OTHER}:task-definition/job:3"),
                 r("iam:PassRole", f"{ROLE}/Admin", iam__PassedToService="ecs-tasks.amazonaws.com")],
        deliberate={"iam:PassRole": "never on '*': no literal role in the definition (PASSROLE_UNSCOPED)",
                    "ecs:TagResource": "only needed when the request carries Tags/PropagateTags"},
        findings={"PASSROLE_UNSCOPED", "DYNAMIC_RESOURCE", "OUT_OF_BAND_PERMISSION"}),
    "emr-add-step": Case(
        allowed=[r(f"elasticmapreduce:{a}", CLUSTER) for a in ("AddJobFlowSteps", "DescribeStep", "CancelSteps")],
        outside=[r(f"elasticmapreduce:{a}", f"{EMR}:cluster/j-OTHER")
                 for a in ("AddJobFlowSteps", "DescribeStep", "CancelSteps")]),
    "emr-cluster-management-misc": Case(
        allowed=[r(f"elasticmapreduce:{a}", CLUSTER) for a in (
            "CancelSteps", "SetTerminationProtection", "ModifyInstanceFleet", "ListInstanceFleets",
            "ModifyInstanceGroups", "ListInstanceGroups")],
        outside=[r(f"elasticmapreduce:{a}", f"{EMR}:cluster/j-OTHER") for a in (
            "CancelSteps", "SetTerminationProtection", "ModifyInstanceFleet", "ModifyInstanceGroups")]),
    # RunJobFlow has no resource type: "*" is the only grant that works, so it is requested as the peer does.
    "emr-create-cluster-sync": Case(
        allowed=[r("elasticmapreduce:DescribeCluster", f"{EMR}:cluster/j-NEW"),
                 r("iam:PassRole", f"{ROLE}/EMR_DefaultRole", iam__PassedToService="elasticmapreduce.amazonaws.com"),
                 r("iam:PassRole", f"{ROLE}/EMR_EC2_DefaultRole", iam__PassedToService="ec2.amazonaws.com")],
        requested=[r("elasticmapreduce:RunJobFlow", "*"),
                   r("elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-NEW")],
        outside=[r("iam:PassRole", f"{ROLE}/Admin", iam__PassedToService="elasticmapreduce.amazonaws.com"),
                 r("elasticmapreduce:DescribeCluster", f"arn:aws:elasticmapreduce:{REGION}:{OTHER}:cluster/j-X")],
        findings={"OUT_OF_BAND_PERMISSION"}),
    "emr-create-cluster": Case(
        allowed=[r("iam:PassRole", f"{ROLE}/EMR_DefaultRole", iam__PassedToService="elasticmapreduce.amazonaws.com"),
                 r("iam:PassRole", f"{ROLE}/EMR_EC2_DefaultRole", iam__PassedToService="ec2.amazonaws.com")],
        requested=[r("elasticmapreduce:RunJobFlow", "*")],
        outside=[r("iam:PassRole", f"{ROLE}/Admin", iam__PassedToService="elasticmapreduce.amazonaws.com"),
                 r("iam:PassRole", f"{ROLE}/EMR_DefaultRole", iam__PassedToService="lambda.amazonaws.com")]),
    "emr-terminate-cluster": Case(
        allowed=[r(f"elasticmapreduce:{a}", CLUSTER) for a in ("TerminateJobFlows", "DescribeCluster")],
        outside=[r("elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-OTHER")]),
    # No Parameters: the job name is a run-time value.
    "glue-start-job-run": Case(
        allowed=[r(f"glue:{a}", f"{GLUE}:job/etl") for a in ("GetJobRun", "GetJobRuns")],
        requested=[r(f"glue:{a}", f"{GLUE}:job/etl") for a in ("StartJobRun", "BatchStopJobRun")],
        outside=[r("glue:StartJobRun", f"arn:aws:glue:{REGION}:{OTHER}:job/etl"),
                 r("glue:GetJobRun", f"arn:aws:glue:{REGION}:{OTHER}:job/etl")],
        findings={"DYNAMIC_RESOURCE"}),
    # Exact job ARN instead of the peer's "your-job-name*", and ListTags on the job rather than on "*".
    "sagemaker-create-transform-job-sync": Case(
        allowed=[*(r(f"sagemaker:{a}", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/your-job-name")
                   for a in ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "ListTags")),
                 *(r(f"events:{a}", f"{RULES}/StepFunctionsGetEventsForSageMakerTransformJobsRule")
                   for a in ("PutTargets", "PutRule", "DescribeRule"))],
        outside=[r("sagemaker:ListTags", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/other"),
                 r("sagemaker:StopTransformJob",
                   f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/your-job-name-2")]),
    # Probes: the peer ignores Cluster/TaskDefinition (and throws on JSONata Arguments).
    "probes/probe-ecs-run-task-unscoped": Case(
        allowed=[r("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/job:3",
                   ecs__cluster=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main"),
                 r("ecs:StopTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/main/0b1c"),
                 r("ecs:DescribeTasks", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/main/0b1c"),
                 *(r(f"events:{a}", f"{RULES}/StepFunctionsGetEventsForECSTaskRule")
                   for a in ("PutTargets", "PutRule", "DescribeRule"))],
        outside=[r("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/other:1",
                   ecs__cluster=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/main"),
                 r("ecs:StopTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/0b1c"),
                 r("iam:PassRole", f"{ROLE}/Admin", iam__PassedToService="ecs-tasks.amazonaws.com")],
        deliberate={"iam:PassRole": "the task definition's roles are not in the definition: reported, not granted",
                    "ecs:TagResource": "no Tags/PropagateTags in the request"},
        findings={"OUT_OF_BAND_PERMISSION"}),
    "probes/probe-bedrock-invoke-jsonata-arguments": Case(
        allowed=[r("bedrock:InvokeModel",
                   f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0")],
        outside=[r("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-v2")]),
}


def load(name: str) -> dict[str, Any]:
    path = require_shared("peer-cases") / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def peer_documents(case: dict[str, Any]) -> list[dict[str, Any]]:
    statements = case["peer_output"].get("statements", [])
    return [{"Version": "2012-10-17", "Statement": statements}] if statements else []


def peer_actions(case: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for stmt in case["peer_output"].get("statements", []):
        acts = stmt["Action"]
        found |= {a.lower() for a in ([acts] if isinstance(acts, str) else acts)}
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_peer_case(name: str) -> None:
    case, expected = load(name), CASES[name]
    plan = plan_for(case["definition"])
    for action, resource, context in expected.allowed:
        assert allows(plan, action, resource, context), f"{name}: a run needs {action} on {resource} {context}"
    for action, resource, context in expected.requested:
        assert_requests(plan, action, resource, context)
    for action, resource, context in expected.outside:
        if peer_documents(case):
            assert is_allowed(peer_documents(case), action, resource, context), f"peer does not allow {action}"
        assert not allows(plan, action, resource, context), f"{name}: ours should deny {action} on {resource}"
        assert_not_requested(plan, action, resource, context)
    covered = {a.lower() for a, _, _ in expected.allowed + expected.requested} | {
        a.lower() for a in expected.deliberate}
    assert peer_actions(case) <= covered, f"{name}: peer actions not considered: {peer_actions(case) - covered}"
    assert expected.findings <= codes(plan)
