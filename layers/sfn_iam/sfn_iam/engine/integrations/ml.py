"""Machine learning: Amazon SageMaker AI and Amazon Bedrock. Pure core."""

from __future__ import annotations

import re
from typing import NamedTuple

from sfn_iam.engine.asl import Args, Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import pass_role, s3_arn, s3_uri
from sfn_iam.engine.integrations.registry import register

SAGEMAKER = "sagemaker.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


# --- Amazon SageMaker AI -------------------------------------------------------------------------------------------


class SageMakerApi(NamedTuple):
    action: str
    resources: tuple[tuple[str, str], ...]  # (name parameter, ARN resource type); the first is the created one
    sync: tuple[str, ...] = ()
    rule: str = ""
    roles: tuple[str, ...] = ()  # dotted parameters holding a role passed to SageMaker


def _rule(kind: str) -> str:
    return f"StepFunctionsGetEventsForSageMaker{kind}JobsRule"


_SAGEMAKER: dict[str, SageMakerApi] = {
    "createendpoint": SageMakerApi(
        "CreateEndpoint", (("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"))),
    "createendpointconfig": SageMakerApi("CreateEndpointConfig", (("EndpointConfigName", "endpoint-config"),)),
    "updateendpoint": SageMakerApi(
        "UpdateEndpoint", (("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"))),
    "createmodel": SageMakerApi("CreateModel", (("ModelName", "model"),), roles=("ExecutionRoleArn",)),
    "createtrainingjob": SageMakerApi(
        "CreateTrainingJob", (("TrainingJobName", "training-job"),),
        ("DescribeTrainingJob", "StopTrainingJob"), _rule("Training"), ("RoleArn",)),
    "createtransformjob": SageMakerApi(
        "CreateTransformJob", (("TransformJobName", "transform-job"),),
        ("DescribeTransformJob", "StopTransformJob"), _rule("Transform")),
    "createprocessingjob": SageMakerApi(
        "CreateProcessingJob", (("ProcessingJobName", "processing-job"),),
        ("DescribeProcessingJob", "StopProcessingJob"), _rule("Processing"), ("RoleArn",)),
    "createhyperparametertuningjob": SageMakerApi(
        "CreateHyperParameterTuningJob", (("HyperParameterTuningJobName", "hyper-parameter-tuning-job"),),
        ("DescribeHyperParameterTuningJob", "StopHyperParameterTuningJob"), _rule("Tuning"),
        ("TrainingJobDefinition.RoleArn", "TrainingJobDefinitions[].RoleArn")),
    # No managed rule is documented for labeling jobs: Step Functions polls DescribeLabelingJob.
    "createlabelingjob": SageMakerApi(
        "CreateLabelingJob", (("LabelingJobName", "labeling-job"),), ("DescribeLabelingJob", "StopLabelingJob"),
        roles=("RoleArn",)),
}


def _sagemaker_arn(call: Call, key: str, kind: str) -> str | None:
    """SageMaker ARNs carry the resource name lower-cased."""
    return call.named(key, "sagemaker", f"{kind}/{{}}", normalize=str.lower)


def _roles(call: Call, dotted: str) -> list[str | Dynamic | None]:
    """The values of ``A.B`` or of ``A[].B`` (one per element of array ``A``)."""
    head, _, last = dotted.rpartition(".")
    if head.endswith("[]"):
        items = call.args.items(head[:-2])
        if isinstance(items, Dynamic):
            return [items]
        return [item.get(last) for item in items or []]
    args: Args = call.args.sub(head) if head else call.args
    return [args.get(last)]


@register("sagemaker", "createEndpoint", "createEndpointConfig", "createModel", "updateEndpoint")
@register("sagemaker", "createTrainingJob", "createTransformJob", "createProcessingJob",
          "createHyperParameterTuningJob", "createLabelingJob", patterns=(REQUEST_RESPONSE, SYNC))
def sagemaker(call: Call) -> None:
    api = _SAGEMAKER[call.api.lower()]
    arns = [_sagemaker_arn(call, key, kind) for key, kind in api.resources]
    present = [a for a in arns if a is not None]
    if len(present) != len(arns):
        return
    created = present[0]
    call.allow(f"sagemaker:{api.action}", present)
    # AddTags authorizes tags sent with the create call; ListTags is what the documented template grants on "*". Both
    # on the created job only, tags or not (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html
    # adds AddTags to every create-job template; docs/adr/0009). Job names are lower-cased, without the page's "*".
    call.allow(("sagemaker:AddTags", "sagemaker:ListTags"), created)
    if call.sync and api.sync:
        call.allow([f"sagemaker:{a}" for a in api.sync], created)
        if api.rule:
            call.managed_rule(api.rule)
    for dotted in api.roles:
        for value in _roles(call, dotted):
            pass_role(call, value, dotted, (SAGEMAKER,))


# --- Amazon Bedrock ------------------------------------------------------------------------------------------------

# Cross-region (system) inference profile IDs are a geography prefix on a model ID: "us.anthropic.claude-...".
_PROFILE_PREFIX_RE = re.compile(r"^(?:us|eu|apac|us-gov|global|jp|au|ca)\.(?P<model>[a-z0-9-]+\..+)$")


def _model_arns(call: Call, model: str) -> list[str]:
    partition, region = call.ctx.partition, call.ctx.region
    if model.startswith("arn:"):
        if ":inference-profile/" in model:
            return [model, *_profile_models(call, model.split(":inference-profile/", 1)[1])]
        return [model]
    if _PROFILE_PREFIX_RE.match(model):
        return [call.arn("bedrock", f"inference-profile/{model}"), *_profile_models(call, model)]
    return [f"arn:{partition}:bedrock:{region}::foundation-model/{model}"]


def _profile_models(call: Call, profile: str) -> list[str]:
    """An inference profile routes to its model in several regions: InvokeModel is checked on each of them."""
    m = _PROFILE_PREFIX_RE.match(profile)
    if not m:
        call.finding("OUT_OF_BAND_PERMISSION",
                     f"inference profile {profile[:200]!r}: grant InvokeModel on the models it routes to")
        return []
    return [f"arn:{call.ctx.partition}:bedrock:*::foundation-model/{m['model']}"]


def model_resources(call: Call) -> list[str]:
    """What a model invocation (``InvokeModel``, ``Converse``, ...) is authorized on, from ``ModelId``.

    One implementation for the optimized ``bedrock:invokeModel`` and the ``aws-sdk:bedrockruntime`` calls: a model ID
    or ARN, an inference profile (ID or ARN) with the foundation models it routes to, or, for a run-time value,
    every foundation model of the region with a ``DYNAMIC_RESOURCE`` finding. Empty when ``ModelId`` is missing.
    """
    model = call.args.get("ModelId")
    if isinstance(model, Dynamic):
        return [call.dynamic("ModelId", f"arn:{call.ctx.partition}:bedrock:{call.ctx.region}::foundation-model/*")]
    if not model:
        call.missing("ModelId")
        return []
    return _model_arns(call, model)


# A model invoked with a guardrail applies it with the caller's credentials: bedrock:ApplyGuardrail on the guardrail
# (https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-permissions.html, "Permissions for invoking
# guardrails to filter content"). InvokeModel names it in GuardrailIdentifier (optimized and SDK forms), Converse in
# GuardrailConfig.GuardrailIdentifier; an ID or an ARN, never with its version (GuardrailVersion is separate).
_GUARDRAIL_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):guardrail/(?P<id>[a-z0-9]+)(?::[A-Za-z0-9]+)?$"
)
_GUARDRAIL_ID_RE = re.compile(r"^[a-z0-9]{1,64}$")


def guardrail(call: Call) -> None:
    """``bedrock:ApplyGuardrail`` on the guardrail a model invocation names, if it names one."""
    value = call.args.get("GuardrailIdentifier")
    key = "GuardrailIdentifier"
    if value is None:
        value, key = call.args.sub("GuardrailConfig").get("GuardrailIdentifier"), "GuardrailConfig.GuardrailIdentifier"
    if value is None or value == "":
        return
    if isinstance(value, Dynamic):
        call.allow("bedrock:ApplyGuardrail", call.dynamic(key, call.arn("bedrock", "guardrail/*")))
        return
    m = _GUARDRAIL_ARN_RE.match(value)
    if m is not None:
        if (m["region"], m["account"]) != (call.ctx.region, call.ctx.account):
            call.finding("CROSS_ACCOUNT_RESOURCE", f"{key} {value[:200]!r} is a guardrail of another account or "
                                                   "Region")
        call.allow("bedrock:ApplyGuardrail", value.rsplit(":", 1)[0] if value.count(":") > 5 else value)
        return
    if _GUARDRAIL_ID_RE.match(value):
        call.allow("bedrock:ApplyGuardrail", call.arn("bedrock", f"guardrail/{value}"))
        return
    call.finding("INVALID_VALUE", f"{key} {value[:200]!r} is not a guardrail ID or ARN; bedrock:ApplyGuardrail not "
                                  "granted")


@register("bedrock", "invokeModel", patterns=(REQUEST_RESPONSE, CALLBACK))
def invoke_model(call: Call) -> None:
    resources = model_resources(call)
    if not resources:
        return
    call.allow("bedrock:InvokeModel", resources)
    guardrail(call)
    for holder, action in (("Input", "s3:GetObject"), ("Output", "s3:PutObject")):
        parsed = s3_uri(call, call.args.sub(holder).get("S3Uri"), f"{holder}.S3Uri")
        if parsed is not None:
            call.allow(action, s3_arn(call, *parsed))


@register("bedrock", "createModelCustomizationJob", patterns=(REQUEST_RESPONSE, SYNC))
def model_customization(call: Call) -> None:
    base = call.args.get("BaseModelIdentifier")
    role = call.args.get("RoleArn")
    for key, value in (("BaseModelIdentifier", base), ("RoleArn", role)):
        if not value:
            call.missing(key)
    if not base or not role:
        return
    if isinstance(base, Dynamic):
        base_arns = [call.dynamic("BaseModelIdentifier",
                                  f"arn:{call.ctx.partition}:bedrock:{call.ctx.region}::foundation-model/*")]
    else:
        base_arns = _model_arns(call, base)
    # The custom model and the job get generated IDs: this account's custom models and customization jobs.
    jobs = call.arn("bedrock", "model-customization-job/*")
    call.allow("bedrock:CreateModelCustomizationJob", [*base_arns, call.arn("bedrock", "custom-model/*"), jobs])
    pass_role(call, role, "RoleArn", (BEDROCK,))
    if call.sync:
        call.allow(("bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"), jobs)


# --- Amazon Bedrock AgentCore harness ------------------------------------------------------------------------------

_HARNESS_RE = re.compile(r"^arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:\d{12}:harness/[A-Za-z0-9_-]+$")
HARNESS_ACTIONS = ("bedrock-agentcore:InvokeAgentRuntime", "bedrock-agentcore:InvokeHarness")


@register("bedrockagentcore", "invokeHarness")
def invoke_harness(call: Call) -> None:
    """InvokeHarness is authorized as both InvokeHarness and InvokeAgentRuntime on the harness ARN (AgentCore's
    harness security page); a named endpoint (``Qualifier``) is its own resource below the harness."""
    harness = call.args.get("HarnessArn")
    if isinstance(harness, Dynamic):
        call.allow(HARNESS_ACTIONS, call.dynamic("HarnessArn", call.arn("bedrock-agentcore", "harness/*")))
        return
    if not harness:
        call.missing("HarnessArn")
        return
    if not _HARNESS_RE.match(harness):
        call.finding("INVALID_VALUE", f"HarnessArn {harness[:200]!r} is not a harness ARN; nothing granted")
        return
    resources = [harness]
    qualifier = call.args.get("Qualifier")
    if isinstance(qualifier, Dynamic):
        resources.append(call.dynamic("Qualifier", f"{harness}/harness-endpoint/*"))
    elif qualifier:
        resources.append(f"{harness}/harness-endpoint/{qualifier}")
    call.allow(HARNESS_ACTIONS, resources)
