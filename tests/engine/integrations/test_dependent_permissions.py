"""No AccessDenied on real workflows. Request-level: the request a run makes is allowed, its neighbour
is denied, with the condition context IAM evaluates (iam:PassedToService)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam.engine.integrations.validity import problem
from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import (
    ACCOUNT,
    CORPUS,
    PEER_CASES,
    REGION,
    ROOT,
    approving_guard,
    assert_allows,
    assert_denies,
    codes,
    outside_ceiling,
    plan_for,
    task,
)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/emr-job"
EMRS = "emr-serverless.amazonaws.com"


# --- 1. every Resource form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qualifier", ["", f"{REGION}:{ACCOUNT}"])
def test_region_and_account_qualified_sdk_resource_is_understood(qualifier: str) -> None:
    plan = plan_for(task(f"arn:aws:states:{qualifier or ':'}:aws-sdk:polly:startSpeechSynthesisTask", {
        "OutputFormat": "mp3", "OutputS3BucketName": "out", "OutputS3KeyPrefix": "audio/", "Text": "hi",
         "VoiceId": "Amy"}))
    assert "UNKNOWN_INTEGRATION" not in codes(plan)
    assert_allows(plan, "polly:StartSpeechSynthesisTask", "*")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::out/audio/1.mp3")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::out/other.mp3")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::out/audio/1.mp3")


@pytest.mark.usefixtures("any_account")
def test_qualified_optimized_resource_in_another_region_is_scoped_there_with_a_finding() -> None:
    plan = plan_for(task("arn:aws:states:eu-west-1:111122223333:sqs:sendMessage",
                         {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/q", "MessageBody": "x"}))
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)
    assert_allows(plan, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:q")


def test_a_qualified_activity_is_still_an_activity() -> None:
    plan = plan_for(task(f"arn:aws:states:{REGION}:{ACCOUNT}:activity:Review"))
    assert plan.documents == () and "UNKNOWN_INTEGRATION" not in codes(plan)


# --- 2. dependent permissions: PassRole, S3, WebSocket ------------------------------------------------------


def test_emr_serverless_sdk_start_job_run_passes_its_literal_execution_role() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:emrserverless:startJobRun",
                         {"ApplicationId": "00f3", "ExecutionRoleArn": ROLE, "ClientToken": "t"}))
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": EMRS})
    assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/other", {"iam:PassedToService": EMRS})


@pytest.mark.parametrize(("call", "params", "path", "principal"), [
    ("comprehend:startEntitiesDetectionJob", {"DataAccessRoleArn": ROLE, "LanguageCode": "en",
                                              "InputDataConfig": {"S3Uri": "s3://in/"},
                                              "OutputDataConfig": {"S3Uri": "s3://out/"}},
     "DataAccessRoleArn", "comprehend.amazonaws.com"),
    ("rekognition:startSegmentDetection", {"Video": {"S3Object": {"Bucket": "v", "Name": "a.mp4"}},
                                           "SegmentTypes": ["SHOT"],
                                           "NotificationChannel": {"RoleArn": ROLE, "SNSTopicArn": "arn:aws:sns:"
                                                                   f"{REGION}:{ACCOUNT}:t"}},
     "NotificationChannel.RoleArn", "rekognition.amazonaws.com"),
    ("textract:startDocumentTextDetection", {"DocumentLocation": {"S3Object": {"Bucket": "docs", "Name": "a"}},
                                              "NotificationChannel": {"RoleArn": ROLE, "SNSTopicArn": "arn:aws:sns:"
                                                                      f"{REGION}:{ACCOUNT}:t"}},
     "NotificationChannel.RoleArn", "textract.amazonaws.com"),
])
def test_role_parameters_found_in_the_models_are_passed(call: str, params: dict[str, Any], path: str,
                                                        principal: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:{call}", params))
    if call.startswith("comprehend:"):
        # an asynchronous Comprehend job is outside the default ceiling: refused, and its role with it, until an
        # administrator approves what the finding proposes
        assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": principal})
        assert outside_ceiling(plan, "comprehend:StartEntitiesDetectionJob")
        plan = plan_for(task(f"arn:aws:states:::aws-sdk:{call}", params), guard=approving_guard(plan))
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": principal})
    assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})


def test_a_dynamic_role_is_not_passed() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:emrserverless:startJobRun",
                         {"ApplicationId": "00f3", "ExecutionRoleArn.$": "$.role", "ClientToken": "t"}))
    assert "PASSROLE_UNSCOPED" in codes(plan)
    assert_denies(plan, "iam:PassRole", ROLE, {"iam:PassedToService": EMRS})


@pytest.mark.parametrize("api", ["startSegmentDetection", "startLabelDetection", "startFaceDetection",
                                 "startTextDetection", "startContentModeration", "startPersonTracking"])
def test_rekognition_reads_the_video_with_the_callers_permissions(api: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:rekognition:{api}",
                         {"Video": {"S3Object": {"Bucket": "videos", "Name": "in/a.mp4"}}}))
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::videos/in/a.mp4")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::videos/in/b.mp4")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::videos/in/a.mp4")


def test_compare_faces_reads_both_images_and_a_version_needs_get_object_version() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:rekognition:compareFaces", {
        "SourceImage": {"S3Object": {"Bucket": "img", "Name": "a.jpg", "Version": "3"}},
        "TargetImage": {"S3Object": {"Bucket": "img", "Name": "b.jpg"}}}))
    assert_allows(plan, "s3:GetObjectVersion", "arn:aws:s3:::img/a.jpg")
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::img/b.jpg")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::img/c.jpg")


def test_textract_output_config_is_written_under_its_prefix() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:textract:startDocumentAnalysis", {
        "DocumentLocation": {"S3Object": {"Bucket": "docs", "Name": "a.pdf"}}, "FeatureTypes": ["TABLES"],
        "OutputConfig": {"S3Bucket": "out", "S3Prefix": "textract/"}}))
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::docs/a.pdf")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::out/textract/job/1")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::out/elsewhere/1")


def test_transcribe_reads_media_uri_unless_a_data_access_role_does() -> None:
    params: dict[str, Any] = {"TranscriptionJobName": "j", "Media": {"MediaFileUri": "s3://media-in/a.mp3"},
                              "OutputBucketName": "out", "OutputKey": "t/"}
    plan = plan_for(task("arn:aws:states:::aws-sdk:transcribe:startTranscriptionJob", params))
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::media-in/a.mp3")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::out/t/j.json")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::media-in/b.mp3")
    with_role = {**params, "JobExecutionSettings": {"DataAccessRoleArn": ROLE, "AllowDeferredExecution": True}}
    plan = plan_for(task("arn:aws:states:::aws-sdk:transcribe:startTranscriptionJob", with_role))
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::media-in/a.mp3")
    assert_allows(plan, "iam:PassRole", ROLE, {"iam:PassedToService": "transcribe.amazonaws.com"})


@pytest.mark.parametrize("jsonata", [False, True])
def test_websocket_connections_path_needs_manage_connections_not_invoke(jsonata: bool) -> None:
    path = ({"Path": "{% '/@connections/' & $states.input.id %}"} if jsonata
            else {"Path.$": "States.Format('/@connections/{}', $.ConnectionId)"})
    plan = plan_for(task("arn:aws:states:::apigateway:invoke", {
        "ApiEndpoint": "abcde12345.execute-api.us-east-1.amazonaws.com", "AuthType": "IAM_ROLE", "Method": "POST",
        "Stage": "Prod", **path}, jsonata=jsonata))
    api = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcde12345"
    assert_allows(plan, "execute-api:ManageConnections", f"{api}/Prod/POST/@connections/Xyz=")
    assert_denies(plan, "execute-api:ManageConnections", f"{api}/Prod/DELETE/@connections/Xyz=")
    assert_denies(plan, "execute-api:ManageConnections", f"{api}/Dev/POST/@connections/Xyz=")
    assert_denies(plan, "execute-api:Invoke", f"{api}/Prod/POST/@connections/Xyz=")
    assert_denies(plan, "execute-api:Invoke", f"{api}/Prod/POST/orders")


def test_a_dynamic_rest_path_keeps_its_literal_prefix() -> None:
    plan = plan_for(task("arn:aws:states:::apigateway:invoke", {
        "ApiEndpoint": "abcde12345.execute-api.us-east-1.amazonaws.com", "AuthType": "IAM_ROLE", "Method": "GET",
        "Stage": "Prod", "Path.$": "States.Format('/orders/{}', $.id)"}))
    api = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcde12345"
    assert_allows(plan, "execute-api:Invoke", f"{api}/Prod/GET/orders/42")
    assert_denies(plan, "execute-api:Invoke", f"{api}/Prod/GET/admin/42")


# --- 4. only valid policies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("resource", "params", "action"), [
    ("arn:aws:states:::sns:publish", {"TopicArn": "topic", "Message": "x"}, "sns:Publish"),
    ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "${Bucket}", "Key": "k"}, "s3:GetObject"),
    ("arn:aws:states:::dynamodb:getItem", {"TableName": "${Table}", "Key": {}}, "dynamodb:GetItem"),
    ("arn:aws:states:::batch:submitJob", {"JobQueue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "JobName": "n",
                                          "JobDefinition": "jd"}, "batch:SubmitJob"),
])
def test_a_value_that_is_not_a_valid_resource_is_refused_not_emitted(resource: str, params: dict[str, Any],
                                                                      action: str) -> None:
    plan = plan_for(task(resource, params))
    assert "INVALID_VALUE" in codes(plan)
    assert "NO_PERMISSIONS" not in codes(plan)
    for statement in plan.statements:
        for res in statement["Resource"]:
            for act in statement["Action"]:
                assert problem(act, res) is None, (act, res)


def test_no_permissions_only_when_nothing_is_needed() -> None:
    assert "NO_PERMISSIONS" in codes(plan_for({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    assert "NO_PERMISSIONS" not in codes(plan_for(task("arn:aws:states:::foo:bar", {})))


def _definitions() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for folder in (CORPUS, PEER_CASES, ROOT / "tests" / "fixtures", ROOT / "examples"):
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else ():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            definition = data.get("definition", data) if isinstance(data, dict) else None
            if isinstance(definition, dict) and "States" in definition:
                found.append((path.name, definition))
    return found


def test_every_emitted_resource_is_valid_for_its_action_and_no_action_is_unknown() -> None:
    definitions = _definitions()
    if not any(True for _ in CORPUS.glob("*.json")):
        pytest.skip(f"public corpus absent ({CORPUS}); checked on the {len(definitions)} in-repo definitions only")
    bad: list[str] = []
    unknown: list[str] = []
    for name, definition in definitions:
        try:
            plan = plan_for(definition)
        except ValueError:
            continue
        bad += [f"{name}: {a} {r} {problem(a, r)}" for s in plan.statements for a in s["Action"]
                for r in s["Resource"] if problem(a, r) is not None]
        unknown += [f"{name}: {f.message}" for f in plan.findings if f.code == "UNKNOWN_ACTION"]
    assert bad == [] and unknown == []


@pytest.mark.parametrize(("entry", "action", "resource", "context"), [
    ("step-functions-workflows-collection__tts-converter__TTSStateMachine.json",
     "polly:StartSpeechSynthesisTask", "*", None),
    ("serverless-patterns__sfn-emrserverless-terraform__templates__sfn_state_machine.json", "iam:PassRole",
     f"arn:aws:iam::{ACCOUNT}:role/pattern-sfn-emrserverless-dev-emr-serverless-role", {"iam:PassedToService": EMRS}),
    ("step-functions-workflows-collection__stepfunction-progress-tracking__OrderingStateMachine.json",
     "execute-api:ManageConnections",
     f"arn:aws:execute-api:{REGION}:{ACCOUNT}:dec4419ef3/Prod/POST/@connections/abc=", None),
])
def test_public_examples(entry: str, action: str, resource: str, context: dict[str, str] | None) -> None:
    path = CORPUS / entry
    if not path.exists():
        pytest.skip(f"public corpus absent: {path}")
    plan = plan_for(json.loads(path.read_text(encoding="utf-8"))["definition"])
    assert "UNKNOWN_INTEGRATION" not in codes(plan)
    assert_allows(plan, action, resource, context)


GLUE_PRINCIPAL = {"iam:PassedToService": "glue.amazonaws.com"}


@pytest.mark.parametrize(("api", "params", "role_key"), [
    ("createJob", {"Name": "etl", "Command": {"Name": "glueetl", "ScriptLocation": "s3://scripts-bucket/etl.py"}},
     "Role"),
    ("createCrawler", {"Name": "crawl", "Targets": {"S3Targets": [{"Path": "s3://data-bucket/"}]}}, "Role"),
    ("createSession", {"Id": "s1", "Command": {"Name": "glueetl"}}, "Role"),
])
@pytest.mark.parametrize("form", ["name", "arn"])
def test_glue_role_given_by_name_or_arn_is_passed_as_the_accounts_role(
        api: str, params: dict[str, Any], role_key: str, form: str) -> None:
    value = "GlueJobRole" if form == "name" else f"arn:aws:iam::{ACCOUNT}:role/GlueJobRole"
    plan = plan_for(task(f"arn:aws:states:::aws-sdk:glue:{api}", {**params, role_key: value}))
    role = f"arn:aws:iam::{ACCOUNT}:role/GlueJobRole"
    assert_requests(plan, "iam:PassRole", role, GLUE_PRINCIPAL)
    assert_not_requested(plan, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert_not_requested(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/OtherRole", GLUE_PRINCIPAL)
    assert_not_requested(plan, "iam:PassRole", "arn:aws:iam::999999999999:role/GlueJobRole", GLUE_PRINCIPAL)
    assert "INVALID_VALUE" not in codes(plan)
    # The guardrails refuse Glue job creation with a passed role (an escalation path), so the check is on the request.


def test_glue_job_update_role_by_name_and_an_arn_only_role_parameter_refuses_a_name() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:glue:updateJob", {"JobName": "etl", "JobUpdate": {
        "Role": "GlueJobRole"}}))
    assert_requests(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/GlueJobRole", GLUE_PRINCIPAL)
    endpoint = plan_for(task("arn:aws:states:::aws-sdk:glue:createDevEndpoint", {
        "EndpointName": "dev", "RoleArn": "GlueJobRole"}))
    assert_not_requested(endpoint, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/GlueJobRole", GLUE_PRINCIPAL)
    assert "INVALID_VALUE" in codes(endpoint)
