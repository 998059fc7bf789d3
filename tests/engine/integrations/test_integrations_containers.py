"""ECS/Fargate, AWS Batch and Amazon EKS: the requests a run makes are allowed, their neighbours denied."""

from __future__ import annotations

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

ECS = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForECSTaskRule"
TO_ECS = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}


def run_task(pattern: str = "", *, jsonata: bool = False, **params: object) -> dict[str, object]:
    return task(f"arn:aws:states:::ecs:runTask{pattern}", params, jsonata=jsonata)


@pytest.mark.parametrize("pattern", ["", ".waitForTaskToken", ".sync"])
def test_ecs_run_task_on_its_task_definition_revision_in_its_cluster(pattern: str) -> None:
    plan = plan_for(run_task(pattern, Cluster="main", TaskDefinition="job:3", LaunchType="FARGATE"))
    in_main = {"ecs:cluster": f"{ECS}:cluster/main"}
    assert_allows(plan, "ecs:RunTask", f"{ECS}:task-definition/job:3", in_main)
    assert_denies(plan, "ecs:RunTask", f"{ECS}:task-definition/job:4", in_main)
    assert_denies(plan, "ecs:RunTask", f"{ECS}:task-definition/other:3", in_main)
    assert_denies(plan, "ecs:RunTask", f"{ECS}:task-definition/job:3", {"ecs:cluster": f"{ECS}:cluster/prod"})
    if pattern == ".sync":
        for action in ("ecs:DescribeTasks", "ecs:StopTask"):
            assert_allows(plan, action, f"{ECS}:task/main/0f3a2b")
            assert_denies(plan, action, f"{ECS}:task/prod/0f3a2b")
        for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
            assert_allows(plan, action, RULE)
    else:
        assert_denies(plan, "ecs:StopTask", f"{ECS}:task/main/0f3a2b")
        assert_denies(plan, "events:PutRule", RULE)


def test_ecs_bare_family_means_any_revision_and_default_cluster_has_no_condition() -> None:
    plan = plan_for(run_task(".sync", TaskDefinition="job"))
    assert_allows(plan, "ecs:RunTask", f"{ECS}:task-definition/job:17")
    assert_denies(plan, "ecs:RunTask", f"{ECS}:task-definition/jobs:1")
    assert_allows(plan, "ecs:DescribeTasks", f"{ECS}:task/default/abc")
    assert_denies(plan, "ecs:DescribeTasks", f"{ECS}:task/main/abc")


@pytest.mark.usefixtures("any_account")
def test_ecs_full_arns_are_used_as_written() -> None:
    other = "arn:aws:ecs:eu-west-1:210987654321"
    plan = plan_for(run_task(".sync", Cluster=f"{other}:cluster/c", TaskDefinition=f"{other}:task-definition/t:2"))
    assert_allows(plan, "ecs:RunTask", f"{other}:task-definition/t:2", {"ecs:cluster": f"{other}:cluster/c"})
    assert_allows(plan, "ecs:StopTask", f"{other}:task/c/123")
    assert_denies(plan, "ecs:StopTask", f"{ECS}:task/c/123")


def test_ecs_override_roles_are_passed_only_to_ecs_tasks() -> None:
    plan = plan_for(run_task(TaskDefinition="job:1", Overrides={
        "TaskRoleArn": f"{ROLE}/app-task", "ExecutionRoleArn": f"{ROLE}/app-exec"}))
    for role in ("app-task", "app-exec"):
        assert_allows(plan, "iam:PassRole", f"{ROLE}/{role}", TO_ECS)
        assert_denies(plan, "iam:PassRole", f"{ROLE}/{role}", {"iam:PassedToService": "lambda.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"{ROLE}/admin", TO_ECS)
    assert "OUT_OF_BAND_PERMISSION" not in codes(plan)


@pytest.mark.parametrize("jsonata", [False, True])
def test_ecs_dynamic_role_is_never_passed(jsonata: bool) -> None:
    role = {"TaskRoleArn": "{% $states.input.role %}"} if jsonata else {"TaskRoleArn.$": "$.role"}
    plan = plan_for(run_task(TaskDefinition="job:1", Overrides=role, jsonata=jsonata))
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/anything", TO_ECS)
    assert_allows(plan, "ecs:RunTask", f"{ECS}:task-definition/job:1")


def test_ecs_task_definition_roles_are_reported_out_of_band() -> None:
    plan = plan_for(run_task(TaskDefinition="job:1"))
    assert "OUT_OF_BAND_PERMISSION" in codes(plan)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/anything", TO_ECS)


@pytest.mark.parametrize("jsonata", [False, True])
def test_ecs_dynamic_task_definition_and_cluster_stay_in_the_account(jsonata: bool) -> None:
    params = ({"TaskDefinition": "{% $states.input.td %}", "Cluster": "{% $c %}"} if jsonata
              else {"TaskDefinition.$": "$.td", "Cluster.$": "$.c"})
    plan = plan_for(run_task(".sync", jsonata=jsonata, **params))
    assert_requests(plan, "ecs:RunTask", f"{ECS}:task-definition/any:9")
    assert_not_requested(plan, "ecs:RunTask", "arn:aws:ecs:us-east-1:999999999999:task-definition/any:9")
    assert_allows(plan, "ecs:DescribeTasks", f"{ECS}:task/any/1")
    assert_denies(plan, "ecs:DescribeTasks", "arn:aws:ecs:eu-west-1:123456789012:task/any/1")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_ecs_tags_need_tag_on_create() -> None:
    plan = plan_for(run_task(TaskDefinition="job:1", Cluster="main", Tags=[{"Key": "k", "Value": "v"}]))
    assert_allows(plan, "ecs:TagResource", f"{ECS}:task/main/1", {"ecs:CreateAction": "RunTask"})
    assert_denies(plan, "ecs:TagResource", f"{ECS}:task/main/1", {"ecs:CreateAction": "CreateService"})
    untagged = plan_for(run_task(TaskDefinition="job:1", Cluster="main"))
    assert_denies(untagged, "ecs:TagResource", f"{ECS}:task/main/1", {"ecs:CreateAction": "RunTask"})


def test_ecs_without_task_definition_grants_nothing() -> None:
    plan = plan_for(run_task(".sync", Cluster="main"))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


BATCH = f"arn:aws:batch:{REGION}:{ACCOUNT}"


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_batch_submit_job_on_queue_and_definition(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::batch:submitJob{pattern}",
                         {"JobName": "n", "JobQueue": "q", "JobDefinition": "d:2"}))
    assert_allows(plan, "batch:SubmitJob", f"{BATCH}:job-queue/q")
    assert_allows(plan, "batch:SubmitJob", f"{BATCH}:job-definition/d:2")
    assert_denies(plan, "batch:SubmitJob", f"{BATCH}:job-queue/other")
    assert_denies(plan, "batch:SubmitJob", f"{BATCH}:job-definition/d:3")
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule"
    if pattern:
        assert_allows(plan, "batch:DescribeJobs", "*")
        # The job ID is generated at run time: an account-scoped pattern (the wildcard rule may refuse it).
        assert_requests(plan, "batch:TerminateJob", f"{BATCH}:job/8a6f-11")
        assert_not_requested(plan, "batch:TerminateJob", "arn:aws:batch:us-east-1:999999999999:job/8a6f-11")
        assert_allows(plan, "events:PutRule", rule)
    else:
        assert_denies(plan, "batch:TerminateJob", f"{BATCH}:job/8a6f-11")
        assert_denies(plan, "events:PutRule", rule)


def test_batch_arns_and_latest_revision() -> None:
    queue = f"{BATCH}:job-queue/high"
    plan = plan_for(task("arn:aws:states:::batch:submitJob", {"JobName": "n", "JobQueue": queue,
                                                              "JobDefinition": "d"}))
    assert_allows(plan, "batch:SubmitJob", queue)
    assert_allows(plan, "batch:SubmitJob", f"{BATCH}:job-definition/d:12")
    assert_allows(plan, "batch:SubmitJob", f"{BATCH}:job-definition/d")
    assert_denies(plan, "batch:SubmitJob", f"{BATCH}:job-definition/dx:1")


def test_batch_dynamic_queue_is_account_scoped_and_missing_definition_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::batch:submitJob", {"JobName": "n", "JobQueue.$": "$.q",
                                                              "JobDefinition": "d:1"}))
    assert_requests(plan, "batch:SubmitJob", f"{BATCH}:job-queue/whatever")
    assert_not_requested(plan, "batch:SubmitJob", "arn:aws:batch:us-east-1:999999999999:job-queue/whatever")
    assert "DYNAMIC_RESOURCE" in codes(plan)
    missing = plan_for(task("arn:aws:states:::batch:submitJob", {"JobName": "n", "JobQueue": "q"}))
    assert missing.documents == ()
    assert "MISSING_PARAMETER" in codes(missing)


EKS = f"arn:aws:eks:{REGION}:{ACCOUNT}"
TO_EKS = {"iam:PassedToService": "eks.amazonaws.com"}


@pytest.mark.parametrize(("api", "pattern"), [("runJob", ""), ("runJob", ".sync"), ("call", "")])
def test_eks_kubernetes_calls_need_no_iam(api: str, pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::eks:{api}{pattern}", {
        "ClusterName": "c", "CertificateAuthority": "x", "Endpoint": "https://x", "Method": "GET", "Path": "/"}))
    assert plan.documents == ()
    assert "OUT_OF_BAND_PERMISSION" in codes(plan)


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_eks_create_cluster(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::eks:createCluster{pattern}", {
        "Name": "c1", "RoleArn": f"{ROLE}/eks-cluster", "ResourcesVpcConfig": {"SubnetIds": ["s"]}}))
    assert_requests(plan, "eks:CreateCluster", "*")  # no resource type: the guardrails decide on "*"
    assert_allows(plan, "iam:PassRole", f"{ROLE}/eks-cluster", TO_EKS)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/eks-cluster", {"iam:PassedToService": "ec2.amazonaws.com"})
    if pattern:
        assert_allows(plan, "eks:DescribeCluster", f"{EKS}:cluster/c1")
        assert_allows(plan, "eks:DeleteCluster", f"{EKS}:cluster/c1")
        assert_denies(plan, "eks:DeleteCluster", f"{EKS}:cluster/c2")
    else:
        assert_denies(plan, "eks:DeleteCluster", f"{EKS}:cluster/c1")


def test_eks_delete_cluster_and_dynamic_name() -> None:
    plan = plan_for(task("arn:aws:states:::eks:deleteCluster.sync", {"Name": "c1"}))
    assert_allows(plan, "eks:DeleteCluster", f"{EKS}:cluster/c1")
    assert_allows(plan, "eks:DescribeCluster", f"{EKS}:cluster/c1")
    assert_denies(plan, "eks:DeleteCluster", f"{EKS}:cluster/c2")
    dynamic = plan_for(task("arn:aws:states:::eks:deleteCluster", {"Name.$": "$.name"}))
    assert "DYNAMIC_RESOURCE" in codes(dynamic)
    assert_denies(dynamic, "eks:DeleteCluster", "arn:aws:eks:us-east-1:999999999999:cluster/c1")


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_eks_node_group_lifecycle(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::eks:createNodegroup{pattern}", {
        "ClusterName": "c1", "NodegroupName": "ng", "NodeRole": f"{ROLE}/nodes", "Subnets": ["s"]}))
    assert_allows(plan, "eks:CreateNodegroup", f"{EKS}:cluster/c1")
    assert_denies(plan, "eks:CreateNodegroup", f"{EKS}:cluster/c2")
    assert_allows(plan, "ec2:DescribeSubnets", "*")
    assert_allows(plan, "iam:GetRole", f"{ROLE}/nodes")
    assert_allows(plan, "iam:ListAttachedRolePolicies", f"{ROLE}/nodes")
    assert_denies(plan, "iam:GetRole", f"{ROLE}/admin")
    assert_allows(plan, "iam:PassRole", f"{ROLE}/nodes", TO_EKS)
    nodegroup = f"{EKS}:nodegroup/c1/ng/6ec5-aa"
    if pattern:
        assert_allows(plan, "eks:DescribeNodegroup", nodegroup)
        assert_allows(plan, "eks:DeleteNodegroup", nodegroup)
        assert_denies(plan, "eks:DeleteNodegroup", f"{EKS}:nodegroup/c1/other/6ec5-aa")
    delete = plan_for(task(f"arn:aws:states:::eks:deleteNodegroup{pattern}", {
        "ClusterName": "c1", "NodegroupName": "ng"}))
    assert_allows(delete, "eks:DeleteNodegroup", nodegroup)
    assert_denies(delete, "eks:DeleteNodegroup", f"{EKS}:nodegroup/c2/ng/6ec5-aa")


def test_eks_fargate_profile_lifecycle() -> None:
    plan = plan_for(task("arn:aws:states:::eks:createFargateProfile.sync", {
        "ClusterName": "c1", "FargateProfileName": "fp", "PodExecutionRoleArn": f"{ROLE}/pods"}))
    assert_allows(plan, "eks:CreateFargateProfile", f"{EKS}:cluster/c1")
    assert_allows(plan, "iam:PassRole", f"{ROLE}/pods", TO_EKS)
    assert_allows(plan, "eks:DescribeFargateProfile", f"{EKS}:fargateprofile/c1/fp/1a2b")
    assert_denies(plan, "eks:DescribeFargateProfile", f"{EKS}:fargateprofile/c1/other/1a2b")
    delete = plan_for(task("arn:aws:states:::eks:deleteFargateProfile", {
        "ClusterName": "c1", "FargateProfileName": "fp"}))
    assert_allows(delete, "eks:DeleteFargateProfile", f"{EKS}:fargateprofile/c1/fp/1a2b")
    assert_denies(delete, "eks:DescribeFargateProfile", f"{EKS}:fargateprofile/c1/fp/1a2b")


def test_eks_node_group_without_role_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::eks:createNodegroup", {"ClusterName": "c1", "NodegroupName": "ng"}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)
