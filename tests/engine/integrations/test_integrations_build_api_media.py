"""CodeBuild, API Gateway and MediaConvert: run-time requests allowed, neighbours denied."""

from __future__ import annotations

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

CB = f"arn:aws:codebuild:{REGION}:{ACCOUNT}"
EVENTS = f"arn:aws:events:{REGION}:{ACCOUNT}:rule"


@pytest.mark.parametrize(("api", "action", "sync_actions", "rule"), [
    ("startBuild", "StartBuild", ["StopBuild", "BatchGetBuilds"], "StepFunctionsGetEventForCodeBuildStartBuildRule"),
    ("startBuildBatch", "StartBuildBatch", ["StopBuildBatch", "BatchGetBuildBatches"],
     "StepFunctionsGetEventForCodeBuildStartBuildBatchRule"),
])
@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_codebuild_start_on_the_project(api: str, action: str, sync_actions: list[str], rule: str,
                                        pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::codebuild:{api}{pattern}", {"ProjectName": "web"}))
    assert_allows(plan, f"codebuild:{action}", f"{CB}:project/web")
    assert_denies(plan, f"codebuild:{action}", f"{CB}:project/api")
    assert_denies(plan, f"codebuild:{action}", f"arn:aws:codebuild:{REGION}:999999999999:project/web")
    for sync_action in sync_actions:
        (assert_allows if pattern else assert_denies)(plan, f"codebuild:{sync_action}", f"{CB}:project/web")
    (assert_allows if pattern else assert_denies)(plan, "events:PutTargets", f"{EVENTS}/{rule}")


@pytest.mark.parametrize(("api", "params", "action"), [
    ("stopBuild", {"Id": "web:0b1c2d3e"}, "StopBuild"),
    ("stopBuild", {"Id": f"{CB}:build/web:0b1c2d3e"}, "StopBuild"),
    ("batchDeleteBuilds", {"Ids": ["web:1", "web:2"]}, "BatchDeleteBuilds"),
    ("stopBuildBatch", {"Id": "web:0b1c"}, "StopBuildBatch"),
    ("deleteBuildBatch", {"Id": f"{CB}:build-batch/web:0b1c"}, "DeleteBuildBatch"),
    ("retryBuildBatch", {"Id": "web:0b1c"}, "RetryBuildBatch"),
])
def test_codebuild_build_ids_name_their_project(api: str, params: dict[str, object], action: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::codebuild:{api}", params))
    assert_allows(plan, f"codebuild:{action}", f"{CB}:project/web")
    assert_denies(plan, f"codebuild:{action}", f"{CB}:project/api")


def test_codebuild_retry_build_batch_sync_polls_without_a_rule() -> None:
    plan = plan_for(task("arn:aws:states:::codebuild:retryBuildBatch.sync", {"Id": "web:0b1c"}))
    assert_allows(plan, "codebuild:BatchGetBuildBatches", f"{CB}:project/web")
    assert_allows(plan, "codebuild:StopBuildBatch", f"{CB}:project/web")
    assert_denies(plan, "events:PutRule", f"{EVENTS}/StepFunctionsGetEventForCodeBuildStartBuildBatchRule")


def test_codebuild_batch_get_reports_on_the_report_groups() -> None:
    plan = plan_for(task("arn:aws:states:::codebuild:batchGetReports", {
        "ReportArns": [f"{CB}:report/unit:11aa", f"{CB}:report/lint:22bb"]}))
    for group in ("unit", "lint"):
        assert_allows(plan, "codebuild:BatchGetReports", f"{CB}:report-group/{group}")
    assert_denies(plan, "codebuild:BatchGetReports", f"{CB}:report-group/other")


@pytest.mark.parametrize("jsonata", [False, True])
def test_codebuild_dynamic_project_stays_in_this_account(jsonata: bool) -> None:
    params = {"ProjectName": "{% $states.input.p %}"} if jsonata else {"ProjectName.$": "$.p"}
    plan = plan_for(task("arn:aws:states:::codebuild:startBuild.sync", params, jsonata=jsonata))
    # The docs' dynamic form is R:*:project/*; this account is enough.
    assert_requests(plan, "codebuild:StartBuild", f"{CB}:project/any")
    assert_not_requested(plan, "codebuild:StartBuild", f"arn:aws:codebuild:{REGION}:999999999999:project/any")
    assert_allows(plan, "codebuild:BatchGetBuilds", f"{CB}:project/any")
    assert_denies(plan, "codebuild:BatchGetBuilds", f"arn:aws:codebuild:{REGION}:999999999999:project/any")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_codebuild_without_project_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::codebuild:startBuild", {"SourceVersion": "main"}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


API = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5"


def invoke(pattern: str = "", jsonata: bool = False, **params: object) -> dict[str, object]:
    return task(f"arn:aws:states:::apigateway:invoke{pattern}",
                {"ApiEndpoint": f"a1b2c3d4e5.execute-api.{REGION}.amazonaws.com", **params}, jsonata=jsonata)


@pytest.mark.parametrize("pattern", ["", ".waitForTaskToken"])
def test_api_gateway_iam_auth_invokes_exactly_the_stage_method_and_path(pattern: str) -> None:
    plan = plan_for(invoke(pattern, Method="GET", Stage="prod", Path="/pets", AuthType="IAM_ROLE"))
    assert_allows(plan, "execute-api:Invoke", f"{API}/prod/GET/pets")
    assert_denies(plan, "execute-api:Invoke", f"{API}/prod/POST/pets")
    assert_denies(plan, "execute-api:Invoke", f"{API}/dev/GET/pets")
    assert_denies(plan, "execute-api:Invoke", f"{API}/prod/GET/users")
    assert_denies(plan, "execute-api:Invoke", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:zzzzzzzzzz/prod/GET/pets")


@pytest.mark.parametrize("auth", [None, "NO_AUTH", "RESOURCE_POLICY"])
def test_api_gateway_without_iam_auth_needs_nothing(auth: str | None) -> None:
    params = {"Method": "GET", "Stage": "prod"} | ({"AuthType": auth} if auth else {})
    plan = plan_for(invoke(**params))
    assert plan.documents == ()


def test_api_gateway_dynamic_path_jsonata() -> None:
    plan = plan_for(invoke(jsonata=True, Method="POST", Stage="prod", Path="{% 'orders/' & $states.input.id %}",
                           AuthType="IAM_ROLE"))
    assert_allows(plan, "execute-api:Invoke", f"{API}/prod/POST/orders/42")
    assert_denies(plan, "execute-api:Invoke", f"{API}/prod/DELETE/orders/42")
    assert "DYNAMIC_RESOURCE" in codes(plan)


def test_api_gateway_http_api_default_stage_and_bad_endpoint() -> None:
    plan = plan_for(invoke(Method="GET", Path="items", AuthType="IAM_ROLE"))
    assert_allows(plan, "execute-api:Invoke", f"{API}/$default/GET/items")
    assert_denies(plan, "execute-api:Invoke", f"{API}/$default/GET/other")
    bad = plan_for(task("arn:aws:states:::apigateway:invoke", {
        "ApiEndpoint": "api.example.com", "Method": "GET", "AuthType": "IAM_ROLE"}))
    assert bad.documents == ()
    assert "INVALID_VALUE" in codes(bad)


MC = f"arn:aws:mediaconvert:{REGION}:{ACCOUNT}"
TO_MC = {"iam:PassedToService": "mediaconvert.amazonaws.com"}
MANAGED = {"aws:ResourceTag/ManagedByService": "AWSStepFunctions"}


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_mediaconvert_create_job(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::mediaconvert:createJob{pattern}", {
        "Role": f"arn:aws:iam::{ACCOUNT}:role/mc", "Queue": "fast", "JobTemplate": "hd",
        "Settings": {"OutputGroups": [{"Outputs": [{"Preset": "p720"}, {"Preset": f"{MC}:presets/p1080"}]}]}}))
    for resource in ("queues/fast", "jobTemplates/hd", "presets/p720", "presets/p1080"):
        assert_allows(plan, "mediaconvert:CreateJob", f"{MC}:{resource}")
    assert_denies(plan, "mediaconvert:CreateJob", f"{MC}:queues/Default")
    assert_denies(plan, "mediaconvert:CreateJob", f"{MC}:presets/p4k")
    assert_allows(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/mc", TO_MC)
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/other", TO_MC)
    job = f"{MC}:jobs/1700000000-abc"
    rule = f"{EVENTS}/StepFunctionsGetEventsForMediaConvertJobRule"
    if pattern:
        assert_allows(plan, "mediaconvert:GetJob", job, MANAGED)
        assert_requests(plan, "mediaconvert:CancelJob", job, MANAGED)
        assert_denies(plan, "mediaconvert:GetJob", job, {"aws:ResourceTag/ManagedByService": "someone"})
        assert_allows(plan, "events:PutRule", rule)
    else:
        assert_denies(plan, "mediaconvert:GetJob", job, MANAGED)
        assert_denies(plan, "events:PutRule", rule)


def test_mediaconvert_default_queue_and_dynamic_role() -> None:
    plan = plan_for(task("arn:aws:states:::mediaconvert:createJob", {"Role.$": "$.role", "Settings": {}}))
    assert_allows(plan, "mediaconvert:CreateJob", f"{MC}:queues/Default")
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/mc", TO_MC)


def test_mediaconvert_without_role_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::mediaconvert:createJob", {"Settings": {}}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)
