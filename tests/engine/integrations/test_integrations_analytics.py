"""Glue, DataBrew, Athena, EMR, EMR on EKS and EMR Serverless: run-time requests allowed, neighbours denied."""

from __future__ import annotations

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

OTHER = "999999999999"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_glue_job_run_is_scoped_to_the_job(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::glue:startJobRun{pattern}", {"JobName": "etl"}))
    job = f"arn:aws:glue:{REGION}:{ACCOUNT}:job/etl"
    assert_allows(plan, "glue:StartJobRun", job)
    assert_denies(plan, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/etl2")
    for action in ("glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"):
        (assert_allows if pattern else assert_denies)(plan, action, job)


@pytest.mark.parametrize("jsonata", [False, True])
def test_glue_dynamic_job_name_stays_in_the_account(jsonata: bool) -> None:
    params = {"JobName": "{% $states.input.job %}"} if jsonata else {"JobName.$": "$.job"}
    plan = plan_for(task("arn:aws:states:::glue:startJobRun.sync", params, jsonata=jsonata))
    # StartJobRun on a pattern is the guardrails' call (WILDCARD_WRITE); the request itself is account-scoped.
    assert_requests(plan, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/anything")
    assert_not_requested(plan, "glue:StartJobRun", f"arn:aws:glue:{REGION}:{OTHER}:job/anything")
    assert_allows(plan, "glue:GetJobRun", f"arn:aws:glue:{REGION}:{ACCOUNT}:job/anything")
    assert_denies(plan, "glue:GetJobRun", f"arn:aws:glue:{REGION}:{OTHER}:job/anything")
    assert "DYNAMIC_RESOURCE" in codes(plan)


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_databrew_job_run(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::databrew:startJobRun{pattern}", {"Name": "clean"}))
    job = f"arn:aws:databrew:{REGION}:{ACCOUNT}:job/clean"
    assert_allows(plan, "databrew:StartJobRun", job)
    assert_denies(plan, "databrew:StartJobRun", f"arn:aws:databrew:{REGION}:{ACCOUNT}:job/other")
    for action in ("databrew:ListJobRuns", "databrew:StopJobRun"):
        (assert_allows if pattern else assert_denies)(plan, action, job)


def test_glue_without_job_name_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::glue:startJobRun", {"Arguments": {}}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


ATHENA = f"arn:aws:athena:{REGION}:{ACCOUNT}"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def athena(pattern: str = "", **params: object) -> dict[str, object]:
    return task(f"arn:aws:states:::athena:startQueryExecution{pattern}", {"QueryString": "SELECT 1", **params})


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_athena_query_in_its_workgroup_writing_to_its_output_location(pattern: str) -> None:
    plan = plan_for(athena(pattern, WorkGroup="analytics",
                           ResultConfiguration={"OutputLocation": "s3://results-bucket/athena/"}))
    assert_allows(plan, "athena:StartQueryExecution", f"{ATHENA}:workgroup/analytics")
    assert_denies(plan, "athena:StartQueryExecution", f"{ATHENA}:workgroup/primary")
    assert_allows(plan, "athena:GetDataCatalog", f"{ATHENA}:datacatalog/AwsDataCatalog")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::results-bucket/athena/0b1c.csv")
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::results-bucket/athena/0b1c.csv")
    assert_allows(plan, "s3:GetBucketLocation", "arn:aws:s3:::results-bucket")
    assert_allows(plan, "s3:ListBucket", "arn:aws:s3:::results-bucket")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::results-bucket/other/x.csv")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::other-bucket/athena/x.csv")
    assert_denies(plan, "s3:CreateBucket", "arn:aws:s3:::results-bucket")
    assert_allows(plan, "glue:GetTable", f"{GLUE}:table/db/t")
    assert_allows(plan, "glue:GetDatabase", f"{GLUE}:catalog")
    assert_allows(plan, "lakeformation:GetDataAccess", "*")
    for action in ("athena:GetQueryExecution", "athena:StopQueryExecution", "athena:GetQueryResults"):
        (assert_allows if pattern else assert_denies)(plan, action, f"{ATHENA}:workgroup/analytics")


def test_athena_read_only_query_gets_no_catalog_writes_but_ddl_does() -> None:
    select = plan_for(athena(ResultConfiguration={"OutputLocation": "s3://r/p/"}))
    assert_denies(select, "glue:DeleteTable", f"{GLUE}:table/db/t")
    assert_denies(select, "glue:CreateTable", f"{GLUE}:table/db/t")
    ddl = plan_for(athena(QueryString="CREATE EXTERNAL TABLE t (a int) LOCATION 's3://d/'",
                          ResultConfiguration={"OutputLocation": "s3://r/p/"}))
    assert_requests(ddl, "glue:CreateTable", f"{GLUE}:table/db/t")
    assert_not_requested(ddl, "glue:CreateTable", f"arn:aws:glue:{REGION}:{OTHER}:table/db/t")


def test_athena_default_workgroup_and_unknown_output_location() -> None:
    plan = plan_for(athena())
    assert_allows(plan, "athena:StartQueryExecution", f"{ATHENA}:workgroup/primary")
    assert_denies(plan, "athena:StartQueryExecution", f"{ATHENA}:workgroup/analytics")
    assert "DYNAMIC_RESOURCE" in codes(plan)
    own = {"s3:ResourceAccount": ACCOUNT}
    assert_requests(plan, "s3:PutObject", "arn:aws:s3:::wg-results/q.csv", own)
    assert_not_requested(plan, "s3:PutObject", "arn:aws:s3:::wg-results/q.csv", {"s3:ResourceAccount": OTHER})


def test_athena_dynamic_workgroup_jsonata() -> None:
    plan = plan_for(task("arn:aws:states:::athena:startQueryExecution.sync", {
        "QueryString": "{% $states.input.sql %}", "WorkGroup": "{% $states.input.wg %}",
        "ResultConfiguration": {"OutputLocation": "s3://r/p/"}}, jsonata=True))
    assert_allows(plan, "athena:StartQueryExecution", f"{ATHENA}:workgroup/team-a")
    assert_denies(plan, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{OTHER}:workgroup/team-a")
    assert_requests(plan, "glue:CreateTable", f"{GLUE}:table/db/t")  # the SQL is unknown: DDL may run
    assert "DYNAMIC_RESOURCE" in codes(plan)


@pytest.mark.parametrize("api", ["stopQueryExecution", "getQueryExecution", "getQueryResults"])
def test_athena_query_id_apis(api: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::athena:{api}", {"QueryExecutionId.$": "$.id"}))
    action = "athena:" + api[0].upper() + api[1:]
    assert_allows(plan, action, f"{ATHENA}:workgroup/any")
    assert_denies(plan, action, f"arn:aws:athena:{REGION}:{OTHER}:workgroup/any")
    others = {"athena:StopQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"} - {action}
    for other in others:
        assert_denies(plan, other, f"{ATHENA}:workgroup/any")
    read = ("s3:GetObject", "arn:aws:s3:::results/q.csv", {"s3:ResourceAccount": ACCOUNT})
    (assert_requests if api == "getQueryResults" else assert_not_requested)(plan, *read)


EMR = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}"
CLUSTER = f"{EMR}:cluster/j-123456789ABC"


@pytest.mark.parametrize(("api", "actions", "sync_actions"), [
    ("setClusterTerminationProtection", ["elasticmapreduce:SetTerminationProtection"], []),
    ("terminateCluster", ["elasticmapreduce:TerminateJobFlows"], ["elasticmapreduce:DescribeCluster"]),
    ("terminateCluster.sync", ["elasticmapreduce:TerminateJobFlows", "elasticmapreduce:DescribeCluster"], []),
    ("addStep", ["elasticmapreduce:AddJobFlowSteps"], ["elasticmapreduce:DescribeStep"]),
    ("addStep.sync", ["elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep",
                      "elasticmapreduce:CancelSteps"], []),
    ("cancelStep", ["elasticmapreduce:CancelSteps"], []),
    ("modifyInstanceFleetByName", ["elasticmapreduce:ModifyInstanceFleet", "elasticmapreduce:ListInstanceFleets"], []),
    ("modifyInstanceGroupByName", ["elasticmapreduce:ModifyInstanceGroups", "elasticmapreduce:ListInstanceGroups"],
     []),
])
def test_emr_cluster_apis_are_scoped_to_the_cluster(api: str, actions: list[str], sync_actions: list[str]) -> None:
    plan = plan_for(task(f"arn:aws:states:::elasticmapreduce:{api}", {
        "ClusterId": "j-123456789ABC", "StepId": "s-1", "Step": {"Name": "s"}, "InstanceFleetName": "core",
        "InstanceGroupName": "core", "TerminationProtected": True}))
    for action in actions:
        assert_allows(plan, action, CLUSTER)
        assert_denies(plan, action, f"{EMR}:cluster/j-OTHER")
        assert_denies(plan, action, f"arn:aws:elasticmapreduce:eu-west-1:{ACCOUNT}:cluster/j-123456789ABC")
    for action in sync_actions:  # only the .sync form polls
        assert_denies(plan, action, CLUSTER)


def test_emr_dynamic_cluster_is_narrowed_to_this_region_and_account() -> None:
    plan = plan_for(task("arn:aws:states:::elasticmapreduce:addStep.sync", {"ClusterId.$": "$.cluster",
                                                                            "Step": {"Name": "s"}}))
    assert_allows(plan, "elasticmapreduce:DescribeStep", f"{EMR}:cluster/j-ANY")
    assert_denies(plan, "elasticmapreduce:DescribeStep", f"arn:aws:elasticmapreduce:{REGION}:{OTHER}:cluster/j-ANY")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_emr_dynamic_step_without_runtime_role_reports_no_passrole() -> None:
    plan = plan_for(task("arn:aws:states:::elasticmapreduce:addStep", {"ClusterId": "j-1", "Step.$": "$.step"}))
    assert "PASSROLE_UNSCOPED" not in codes(plan)
    assert_allows(plan, "elasticmapreduce:AddJobFlowSteps", f"{EMR}:cluster/j-1")


def test_emr_add_step_runtime_role_is_passed_to_emr() -> None:
    plan = plan_for(task("arn:aws:states:::elasticmapreduce:addStep", {
        "ClusterId": "j-1", "Step": {"Name": "s"}, "ExecutionRoleArn": f"{ROLE}/runtime"}))
    assert_allows(plan, "iam:PassRole", f"{ROLE}/runtime", {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"{ROLE}/other", {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_emr_create_cluster_passes_each_role_to_its_service(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::elasticmapreduce:createCluster{pattern}", {
        "Name": "c", "ReleaseLabel": "emr-6.15.0", "Instances": {}, "ServiceRole": "EMR_DefaultRole",
        "JobFlowRole": "EMR_EC2_DefaultRole", "AutoScalingRole": f"{ROLE}/EMR_AutoScaling_DefaultRole"}))
    # RunJobFlow has no resource type, so "*" is the only grant that works (the wildcard rule may refuse it).
    assert_requests(plan, "elasticmapreduce:RunJobFlow", "*")
    emr, ec2 = "elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"
    assert_allows(plan, "iam:PassRole", f"{ROLE}/EMR_DefaultRole", {"iam:PassedToService": emr})
    assert_denies(plan, "iam:PassRole", f"{ROLE}/EMR_DefaultRole", {"iam:PassedToService": ec2})
    assert_allows(plan, "iam:PassRole", f"{ROLE}/EMR_EC2_DefaultRole", {"iam:PassedToService": ec2})
    assert_allows(plan, "iam:PassRole", f"{ROLE}/EMR_AutoScaling_DefaultRole",
                  {"iam:PassedToService": "application-autoscaling.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"{ROLE}/Admin", {"iam:PassedToService": emr})
    slr = f"{ROLE}/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup"
    assert_allows(plan, "iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": emr})
    assert_denies(plan, "iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "ec2.amazonaws.com"})
    assert "OUT_OF_BAND_PERMISSION" in codes(plan)  # the instance profile's role name is assumed
    sync = (assert_allows if pattern else assert_denies)
    sync(plan, "elasticmapreduce:DescribeCluster", f"{EMR}:cluster/j-NEW")
    (assert_requests if pattern else assert_not_requested)(
        plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-NEW")
    assert_not_requested(plan, "elasticmapreduce:TerminateJobFlows",
                         f"arn:aws:elasticmapreduce:{REGION}:{OTHER}:cluster/j")


def test_emr_create_cluster_with_dynamic_role_passes_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::elasticmapreduce:createCluster", {
        "Name": "c", "ServiceRole.$": "$.role", "Instances": {}}))
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/EMR_DefaultRole",
                  {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})


EKS_EMR = f"arn:aws:emr-containers:{REGION}:{ACCOUNT}:/virtualclusters"


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_emr_on_eks_job_run_is_pinned_to_its_execution_role(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::emr-containers:startJobRun{pattern}", {
        "VirtualClusterId": "vc1", "ExecutionRoleArn": f"{ROLE}/job", "ReleaseLabel": "emr-6.2.0-latest",
        "JobDriver": {}}))
    ok = {"emr-containers:ExecutionRoleArn": f"{ROLE}/job"}
    assert_allows(plan, "emr-containers:StartJobRun", f"{EKS_EMR}/vc1", ok)
    wrong_role = {"emr-containers:ExecutionRoleArn": f"{ROLE}/x"}
    assert_denies(plan, "emr-containers:StartJobRun", f"{EKS_EMR}/vc1", wrong_role)
    assert_denies(plan, "emr-containers:StartJobRun", f"{EKS_EMR}/vc2", ok)
    sync = assert_allows if pattern else assert_denies
    sync(plan, "emr-containers:DescribeJobRun", f"{EKS_EMR}/vc1/jobruns/run1")
    (assert_requests if pattern else assert_not_requested)(
        plan, "emr-containers:CancelJobRun", f"{EKS_EMR}/vc1/jobruns/run1")
    assert_not_requested(plan, "emr-containers:CancelJobRun", f"{EKS_EMR}/vc2/jobruns/run1")


def test_emr_on_eks_dynamic_execution_role_is_not_granted() -> None:
    plan = plan_for(task("arn:aws:states:::emr-containers:startJobRun", {
        "VirtualClusterId": "vc1", "ExecutionRoleArn.$": "$.role"}))
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert_denies(plan, "emr-containers:StartJobRun", f"{EKS_EMR}/vc1", {"emr-containers:ExecutionRoleArn": "x"})


def test_emr_on_eks_virtual_clusters() -> None:
    create = plan_for(task("arn:aws:states:::emr-containers:createVirtualCluster", {
        "Name": "v", "ContainerProvider": {"Id": "eks", "Type": "EKS"}}))
    assert_requests(create, "emr-containers:CreateVirtualCluster", "*")
    slr = f"{ROLE}/aws-service-role/emr-containers.amazonaws.com/AWSServiceRoleForAmazonEMRContainers"
    assert_allows(create, "iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "emr-containers.amazonaws.com"})
    assert_denies(create, "iam:CreateServiceLinkedRole", f"{ROLE}/aws-service-role/x.amazonaws.com/Other",
                  {"iam:AWSServiceName": "emr-containers.amazonaws.com"})
    delete = plan_for(task("arn:aws:states:::emr-containers:deleteVirtualCluster.sync", {"Id": "vc1"}))
    assert_allows(delete, "emr-containers:DeleteVirtualCluster", f"{EKS_EMR}/vc1")
    assert_allows(delete, "emr-containers:DescribeVirtualCluster", f"{EKS_EMR}/vc1")
    assert_denies(delete, "emr-containers:DeleteVirtualCluster", f"{EKS_EMR}/vc2")


APPS = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications"
APP_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForEMRServerlessApplicationRule"
JOB_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForEMRServerlessJobRule"


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_emr_serverless_job_run(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::emr-serverless:startJobRun{pattern}", {
        "ApplicationId": "app1", "ExecutionRoleArn": f"{ROLE}/spark", "JobDriver": {}}))
    assert_allows(plan, "emr-serverless:StartJobRun", f"{APPS}/app1")
    assert_denies(plan, "emr-serverless:StartJobRun", f"{APPS}/app2")
    to = {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    assert_allows(plan, "iam:PassRole", f"{ROLE}/spark", to)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/other", to)
    sync = assert_allows if pattern else assert_denies
    sync(plan, "emr-serverless:GetJobRun", f"{APPS}/app1/jobruns/r1")
    (assert_requests if pattern else assert_not_requested)(
        plan, "emr-serverless:CancelJobRun", f"{APPS}/app1/jobruns/r1")
    sync(plan, "events:PutRule", JOB_RULE)
    assert_denies(plan, "emr-serverless:GetJobRun", f"{APPS}/app2/jobruns/r1")


@pytest.mark.parametrize(("api", "action", "extra"), [
    ("startApplication", "StartApplication", ["GetApplication", "StopApplication"]),
    ("stopApplication", "StopApplication", ["GetApplication"]),
    ("deleteApplication", "DeleteApplication", ["GetApplication"]),
])
@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_emr_serverless_application_lifecycle(api: str, action: str, extra: list[str], pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::emr-serverless:{api}{pattern}", {"ApplicationId": "app1"}))
    assert_allows(plan, f"emr-serverless:{action}", f"{APPS}/app1")
    assert_denies(plan, f"emr-serverless:{action}", f"{APPS}/app2")
    for other in extra:
        (assert_allows if pattern else assert_denies)(plan, f"emr-serverless:{other}", f"{APPS}/app1")
    (assert_allows if pattern else assert_denies)(plan, "events:PutTargets", APP_RULE)


def test_emr_serverless_create_application_and_cancel_job_run() -> None:
    create = plan_for(task("arn:aws:states:::emr-serverless:createApplication.sync", {
        "Name": "a", "ReleaseLabel": "emr-6.9.0", "Type": "SPARK"}))
    # CreateApplication has no resource type (Service Authorization Reference): IAM authorizes it on "*" only.
    assert_allows(create, "emr-serverless:CreateApplication", "*")
    slr = f"{ROLE}/aws-service-role/ops.emr-serverless.amazonaws.com/AWSServiceRoleForAmazonEMRServerless"
    assert_allows(create, "iam:CreateServiceLinkedRole", slr,
                  {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"})
    assert_allows(create, "emr-serverless:GetApplication", f"{APPS}/new")
    assert_allows(create, "events:DescribeRule", APP_RULE)
    cancel = plan_for(task("arn:aws:states:::emr-serverless:cancelJobRun.sync", {
        "ApplicationId": "app1", "JobRunId": "r1"}))
    assert_allows(cancel, "emr-serverless:CancelJobRun", f"{APPS}/app1/jobruns/r1")
    assert_allows(cancel, "emr-serverless:GetJobRun", f"{APPS}/app1/jobruns/r1")
    assert_denies(cancel, "emr-serverless:CancelJobRun", f"{APPS}/app1/jobruns/r2")
    assert_allows(cancel, "events:PutRule", JOB_RULE)


def test_emr_serverless_without_application_or_role_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::emr-serverless:startJobRun", {"ApplicationId": "app1"}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


GLUE_WRITES = ("glue:CreateTable", "glue:DeleteTable", "glue:UpdateTable", "glue:CreateDatabase",
               "glue:DeleteDatabase", "glue:BatchCreatePartition", "glue:DeletePartition")


@pytest.mark.parametrize(("query", "jsonata"), [
    ({"QueryString.$": "States.Format('SELECT * FROM sales WHERE day = \\'{}\\'', $.day)"}, False),
    ({"QueryString.$": "States.Format('  with d AS (SELECT {} FROM t) SELECT * FROM d', $.col)"}, False),
    ({"QueryString.$": "States.Format('SHOW PARTITIONS {}', $.table)"}, False),
    ({"QueryString.$": "States.Format('EXPLAIN SELECT count(*) FROM {}', $.table)"}, False),
    ({"QueryString": "{% 'SELECT * FROM ' & $states.input.table %}"}, True),
    ({"QueryString": "{% \"DESCRIBE \" & $table %}"}, True),
    ({"QueryString": "-- daily report\nSELECT 1"}, False),
])
def test_athena_run_time_query_that_can_only_read_gets_no_catalog_writes(query: dict[str, str], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::athena:startQueryExecution.sync",
                         {**query, "ResultConfiguration": {"OutputLocation": "s3://r/p/"}}, jsonata=jsonata))
    assert_allows(plan, "glue:GetTable", f"{GLUE}:table/db/t")
    assert_allows(plan, "glue:GetPartitions", f"{GLUE}:table/db/t")
    for action in GLUE_WRITES:
        assert_not_requested(plan, action, f"{GLUE}:table/db/t")
        assert_not_requested(plan, action, f"{GLUE}:database/db")


@pytest.mark.parametrize(("query", "jsonata"), [
    ({"QueryString.$": "States.Format('{}', $.sql)"}, False),  # nothing literal before the value
    ({"QueryString.$": "States.Format('SELECT{}', $.rest)"}, False),  # the keyword is not complete yet
    ({"QueryString.$": "States.Format('EXPLAIN ANALYZE {}', $.sql)"}, False),  # ANALYZE runs the statement
    ({"QueryString.$": "States.Format('INSERT INTO t SELECT * FROM {}', $.src)"}, False),
    ({"QueryString.$": "$.sql"}, False),
    ({"QueryString": "{% $states.input.sql %}"}, True),
    ({"QueryString": "{% 'CREATE TABLE ' & $name & ' AS SELECT 1' %}"}, True),
    ({"QueryString": "EXPLAIN ANALYZE INSERT INTO t VALUES (1)"}, False),
])
def test_athena_query_that_may_write_keeps_catalog_writes(query: dict[str, str], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::athena:startQueryExecution.sync",
                         {**query, "ResultConfiguration": {"OutputLocation": "s3://r/p/"}}, jsonata=jsonata))
    assert_requests(plan, "glue:CreateTable", f"{GLUE}:table/db/t")
    assert_requests(plan, "glue:DeletePartition", f"{GLUE}:table/db/t")
    assert_not_requested(plan, "glue:CreateTable", f"arn:aws:glue:{REGION}:{OTHER}:table/db/t")
