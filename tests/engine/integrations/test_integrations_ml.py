"""SageMaker AI and Bedrock: run-time requests allowed, neighbours denied."""

from __future__ import annotations

import pytest

from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for, task

SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
TO_SM = {"iam:PassedToService": "sagemaker.amazonaws.com"}


def rule(kind: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForSageMaker{kind}JobsRule"


JOBS = [
    # api, name parameter, resource type, sync actions, managed rule kind, role parameters
    ("createTrainingJob", "TrainingJobName", "training-job", ["DescribeTrainingJob", "StopTrainingJob"], "Training",
     {"RoleArn": f"{ROLE}/sm"}),
    ("createTransformJob", "TransformJobName", "transform-job", ["DescribeTransformJob", "StopTransformJob"],
     "Transform", {}),
    ("createProcessingJob", "ProcessingJobName", "processing-job", ["DescribeProcessingJob", "StopProcessingJob"],
     "Processing", {"RoleArn": f"{ROLE}/sm"}),
    ("createHyperParameterTuningJob", "HyperParameterTuningJobName", "hyper-parameter-tuning-job",
     ["DescribeHyperParameterTuningJob", "StopHyperParameterTuningJob"], "Tuning",
     {"TrainingJobDefinition": {"RoleArn": f"{ROLE}/sm"}}),
    ("createLabelingJob", "LabelingJobName", "labeling-job", ["DescribeLabelingJob", "StopLabelingJob"], None,
     {"RoleArn": f"{ROLE}/sm"}),
]


@pytest.mark.parametrize(("api", "key", "kind", "sync_actions", "rule_kind", "roles"), JOBS)
@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_sagemaker_jobs_use_the_lower_cased_job_arn(
    api: str, key: str, kind: str, sync_actions: list[str], rule_kind: str | None, roles: dict[str, object],
    pattern: str,
) -> None:
    plan = plan_for(task(f"arn:aws:states:::sagemaker:{api}{pattern}", {key: "MyJob", **roles}))
    job = f"{SM}:{kind}/myjob"
    action = "sagemaker:" + api[0].upper() + api[1:]
    assert_allows(plan, action, job)
    assert_denies(plan, action, f"{SM}:{kind}/myjob2")
    assert_denies(plan, action, f"{SM}:{kind}/MyJob")
    assert_allows(plan, "sagemaker:AddTags", job)
    assert_allows(plan, "sagemaker:ListTags", job)
    assert_denies(plan, "sagemaker:AddTags", f"{SM}:{kind}/other")
    for sync_action in sync_actions:
        (assert_allows if pattern else assert_denies)(plan, f"sagemaker:{sync_action}", job)
    if rule_kind:
        (assert_allows if pattern else assert_denies)(plan, "events:PutRule", rule(rule_kind))
    if roles:
        assert_allows(plan, "iam:PassRole", f"{ROLE}/sm", TO_SM)
        assert_denies(plan, "iam:PassRole", f"{ROLE}/sm", {"iam:PassedToService": "ec2.amazonaws.com"})
        assert_denies(plan, "iam:PassRole", f"{ROLE}/other", TO_SM)
    else:
        assert_denies(plan, "iam:PassRole", f"{ROLE}/sm", TO_SM)


@pytest.mark.parametrize(("api", "params", "allowed"), [
    ("createEndpoint", {"EndpointName": "Ep", "EndpointConfigName": "Cfg"}, ["endpoint/ep", "endpoint-config/cfg"]),
    ("updateEndpoint", {"EndpointName": "Ep", "EndpointConfigName": "Cfg"}, ["endpoint/ep", "endpoint-config/cfg"]),
    ("createEndpointConfig", {"EndpointConfigName": "Cfg", "ProductionVariants": []}, ["endpoint-config/cfg"]),
    ("createModel", {"ModelName": "M", "ExecutionRoleArn": f"{ROLE}/model"}, ["model/m"]),
])
def test_sagemaker_endpoint_and_model_apis(api: str, params: dict[str, str], allowed: list[str]) -> None:
    plan = plan_for(task(f"arn:aws:states:::sagemaker:{api}", params))
    action = "sagemaker:" + api[0].upper() + api[1:]
    for resource in allowed:
        assert_allows(plan, action, f"{SM}:{resource}")
        assert_denies(plan, action, f"{SM}:{resource}x")
    if api == "createModel":
        assert_allows(plan, "iam:PassRole", f"{ROLE}/model", TO_SM)


def test_sagemaker_tuning_job_with_several_definitions_passes_each_role() -> None:
    plan = plan_for(task("arn:aws:states:::sagemaker:createHyperParameterTuningJob", {
        "HyperParameterTuningJobName": "t", "TrainingJobDefinitions": [
            {"RoleArn": f"{ROLE}/a"}, {"RoleArn": f"{ROLE}/b"}]}))
    for name in ("a", "b"):
        assert_allows(plan, "iam:PassRole", f"{ROLE}/{name}", TO_SM)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/c", TO_SM)


@pytest.mark.parametrize("jsonata", [False, True])
def test_sagemaker_dynamic_name_and_role(jsonata: bool) -> None:
    params = ({"TrainingJobName": "{% $states.input.name %}", "RoleArn": "{% $states.input.role %}"} if jsonata
              else {"TrainingJobName.$": "$.name", "RoleArn.$": "$.role"})
    plan = plan_for(task("arn:aws:states:::sagemaker:createTrainingJob.sync", params, jsonata=jsonata))
    assert_requests(plan, "sagemaker:CreateTrainingJob", f"{SM}:training-job/anything")
    assert_allows(plan, "sagemaker:DescribeTrainingJob", f"{SM}:training-job/anything")
    assert_denies(plan, "sagemaker:DescribeTrainingJob", f"arn:aws:sagemaker:{REGION}:999999999999:training-job/x")
    assert {"DYNAMIC_RESOURCE", "PASSROLE_UNSCOPED"} <= codes(plan)
    assert_denies(plan, "iam:PassRole", f"{ROLE}/anything", TO_SM)


def test_sagemaker_missing_job_name_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::sagemaker:createTrainingJob", {"RoleArn": f"{ROLE}/sm"}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


FM = f"arn:aws:bedrock:{REGION}::foundation-model"


@pytest.mark.parametrize("jsonata", [False, True])
def test_bedrock_model_id_becomes_a_foundation_model_arn_without_account(jsonata: bool) -> None:
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId": model, "Body": {"p": 1}},
                         jsonata=jsonata))
    assert_allows(plan, "bedrock:InvokeModel", f"{FM}/{model}")
    assert_denies(plan, "bedrock:InvokeModel", f"{FM}/anthropic.claude-v2")
    assert_denies(plan, "bedrock:InvokeModel", f"arn:aws:bedrock:eu-west-1::foundation-model/{model}")


def test_bedrock_provisioned_model_arn_as_written_and_s3_input_output() -> None:
    provisioned = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abc123"
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {
        "ModelId": provisioned, "Input": {"S3Uri": "s3://in-bucket/prompts/p1.json"},
        "Output": {"S3Uri": "s3://out-bucket/answers/a1.json"}}))
    assert_allows(plan, "bedrock:InvokeModel", provisioned)
    assert_denies(plan, "bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/other")
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::in-bucket/prompts/p1.json")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::in-bucket/prompts/p2.json")
    assert_allows(plan, "s3:PutObject", "arn:aws:s3:::out-bucket/answers/a1.json")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::in-bucket/prompts/p1.json")


def test_bedrock_cross_region_inference_profile_and_its_models() -> None:
    profile = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId": profile, "Body": {}}))
    assert_allows(plan, "bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile}")
    for region in ("us-east-1", "us-west-2"):
        assert_allows(plan, "bedrock:InvokeModel",
                      f"arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert_denies(plan, "bedrock:InvokeModel", "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-v2")


def test_bedrock_dynamic_model_is_a_foundation_model_pattern_in_this_region() -> None:
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId.$": "$.model", "Body": {}}))
    assert_allows(plan, "bedrock:InvokeModel", f"{FM}/any.model")
    assert_denies(plan, "bedrock:InvokeModel", "arn:aws:bedrock:eu-west-1::foundation-model/any.model")
    assert "DYNAMIC_RESOURCE" in codes(plan)


@pytest.mark.parametrize("pattern", ["", ".sync"])
def test_bedrock_model_customization_job(pattern: str) -> None:
    plan = plan_for(task(f"arn:aws:states:::bedrock:createModelCustomizationJob{pattern}", {
        "BaseModelIdentifier": "amazon.titan-text-express-v1", "RoleArn": f"{ROLE}/tune",
        "JobName": "j", "CustomModelName": "m", "TrainingDataConfig": {"S3Uri": "s3://d/t.jsonl"},
        "OutputDataConfig": {"S3Uri": "s3://d/out/"}, "HyperParameters": {}}))
    job = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.titan/abc"
    for resource in (f"{FM}/amazon.titan-text-express-v1", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/m/x",
                     job):
        assert_requests(plan, "bedrock:CreateModelCustomizationJob", resource)
    assert_allows(plan, "bedrock:CreateModelCustomizationJob", f"{FM}/amazon.titan-text-express-v1")
    assert_denies(plan, "bedrock:CreateModelCustomizationJob", f"{FM}/amazon.titan-text-lite-v1")
    assert_allows(plan, "iam:PassRole", f"{ROLE}/tune", {"iam:PassedToService": "bedrock.amazonaws.com"})
    assert_denies(plan, "iam:PassRole", f"{ROLE}/tune", TO_SM)
    (assert_allows if pattern else assert_denies)(plan, "bedrock:GetModelCustomizationJob", job)
    assert_denies(plan, "bedrock:GetModelCustomizationJob",
                  f"arn:aws:bedrock:{REGION}:999999999999:model-customization-job/amazon.titan/abc")


def test_bedrock_customization_without_role_grants_nothing() -> None:
    plan = plan_for(task("arn:aws:states:::bedrock:createModelCustomizationJob", {
        "BaseModelIdentifier": "amazon.titan-text-express-v1", "JobName": "j", "CustomModelName": "m"}))
    assert plan.documents == ()
    assert "MISSING_PARAMETER" in codes(plan)


@pytest.mark.parametrize("resource", ["arn:aws:states:::bedrock:invokeModel",
                                      "arn:aws:states:::aws-sdk:bedrockruntime:invokeModel",
                                      "arn:aws:states:::aws-sdk:bedrockruntime:converse"])
@pytest.mark.parametrize("model_id", [
    "us.anthropic.claude-3-haiku-20240307-v1:0",
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
])
def test_one_bedrock_model_scoping_for_the_optimized_and_the_sdk_integrations(resource: str, model_id: str) -> None:
    """An inference profile, by ID or ARN, is invoked on the profile and on the model in every region it routes to."""
    plan = plan_for(task(resource, {"ModelId": model_id, "Body": {}, "Messages": []}))
    profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    assert_allows(plan, "bedrock:InvokeModel", profile)
    for region in (REGION, "us-west-2"):
        assert_allows(plan, "bedrock:InvokeModel",
                      f"arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0")
    assert_denies(plan, "bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-v2")
    assert_denies(plan, "bedrock:InvokeModel",
                  f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0")


HARNESS = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:harness/Reviewer-XyZ123"


def test_agentcore_harness_is_invoked_as_harness_and_runtime_on_its_arn_only() -> None:
    plan = plan_for(task("arn:aws:states:::bedrockagentcore:invokeHarness", {
        "HarnessArn": HARNESS, "RuntimeSessionId.$": "$$.Execution.Name",
        "Messages": [{"Content": [{"Text.$": "$.prompt"}], "Role": "user"}]}))
    for action in ("bedrock-agentcore:InvokeHarness", "bedrock-agentcore:InvokeAgentRuntime"):
        assert_allows(plan, action, HARNESS)
        assert_denies(plan, action, f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}:harness/Other-AbC987")
    assert_denies(plan, "bedrock-agentcore:InvokeAgentRuntimeCommand", HARNESS)
    assert_denies(plan, "bedrock-agentcore:UpdateHarness", HARNESS)


def test_agentcore_harness_endpoint_and_run_time_harness() -> None:
    plan = plan_for(task("arn:aws:states:::bedrockagentcore:invokeHarness",
                         {"HarnessArn": HARNESS, "Qualifier": "prod"}))
    assert_allows(plan, "bedrock-agentcore:InvokeHarness", f"{HARNESS}/harness-endpoint/prod")
    assert_denies(plan, "bedrock-agentcore:InvokeHarness", f"{HARNESS}/harness-endpoint/dev")
    dynamic = plan_for(task("arn:aws:states:::bedrockagentcore:invokeHarness", {"HarnessArn.$": "$.harness"}))
    assert_requests(dynamic, "bedrock-agentcore:InvokeHarness", HARNESS)
    assert_not_requested(dynamic, "bedrock-agentcore:InvokeHarness", HARNESS.replace(ACCOUNT, "999999999999"))
    assert "DYNAMIC_RESOURCE" in codes(dynamic)
    bad = plan_for(task("arn:aws:states:::bedrockagentcore:invokeHarness", {"HarnessArn": "Reviewer"}))
    assert "INVALID_VALUE" in codes(bad) and not bad.documents


GUARDRAIL = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail"


@pytest.mark.parametrize(("resource", "config"), [
    ("arn:aws:states:::bedrock:invokeModel", False),
    ("arn:aws:states:::bedrock:invokeModel.waitForTaskToken", False),
    ("arn:aws:states:::aws-sdk:bedrockruntime:invokeModel", False),
    ("arn:aws:states:::aws-sdk:bedrockruntime:converse", True),
])
@pytest.mark.parametrize("identifier", ["gr1abc", f"{GUARDRAIL}/gr1abc", f"{GUARDRAIL}/gr1abc:3"])
@pytest.mark.parametrize("jsonata", [False, True])
def test_a_model_invoked_with_a_guardrail_may_apply_that_guardrail(
        resource: str, config: bool, identifier: str, jsonata: bool) -> None:
    """guardrails-permissions.html: a model invoked with a guardrail needs bedrock:ApplyGuardrail on it."""
    named = ({"GuardrailConfig": {"GuardrailIdentifier": identifier, "GuardrailVersion": "3"}} if config
             else {"GuardrailIdentifier": identifier, "GuardrailVersion": "3"})
    plan = plan_for(task(resource, {"ModelId": "amazon.titan-text-express-v1", "Body": {}, **named},
                         jsonata=jsonata))
    assert_allows(plan, "bedrock:ApplyGuardrail", f"{GUARDRAIL}/gr1abc")
    assert_denies(plan, "bedrock:ApplyGuardrail", f"{GUARDRAIL}/gr2abc")
    assert_denies(plan, "bedrock:ApplyGuardrail", f"arn:aws:bedrock:{REGION}:999999999999:guardrail/gr1abc")


def test_a_model_invoked_without_a_guardrail_applies_none() -> None:
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId": "amazon.titan-text-express-v1"}))
    assert_denies(plan, "bedrock:ApplyGuardrail", f"{GUARDRAIL}/gr1abc")


@pytest.mark.parametrize(("params", "code"), [
    ({"GuardrailIdentifier.$": "$.guardrail"}, "DYNAMIC_RESOURCE"),
    ({"GuardrailIdentifier": "not a guardrail!"}, "INVALID_VALUE"),
])
def test_a_run_time_or_unusable_guardrail(params: dict[str, str], code: str) -> None:
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId": "amazon.titan-text-express-v1",
                                                                    **params}))
    assert code in codes(plan)
    (assert_allows if code == "DYNAMIC_RESOURCE" else assert_denies)(plan, "bedrock:ApplyGuardrail",
                                                                      f"{GUARDRAIL}/any1")
    assert_denies(plan, "bedrock:ApplyGuardrail", f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:guardrail/any1")


@pytest.mark.usefixtures("any_account")
def test_a_guardrail_of_another_account_is_granted_where_it_is_with_a_finding() -> None:
    other = "arn:aws:bedrock:eu-west-1:999999999999:guardrail/gr1abc"
    plan = plan_for(task("arn:aws:states:::bedrock:invokeModel", {"ModelId": "amazon.titan-text-express-v1",
                                                                    "GuardrailIdentifier": other}))
    assert_allows(plan, "bedrock:ApplyGuardrail", other)
    assert "CROSS_ACCOUNT_RESOURCE" in codes(plan)
