"""Bad input never raises in the optimized integrations: every handler and pattern, odd shapes everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine.integrations import load_all
from sfn_iam.engine.integrations.registry import HANDLERS
from tests.helpers import plan_for, task

load_all()  # the modules register their handlers when first used: all of them here

SERVICES = {"ecs", "batch", "eks", "glue", "databrew", "athena", "elasticmapreduce", "emr-containers",
            "emr-serverless", "sagemaker", "bedrock", "codebuild", "apigateway", "mediaconvert"}
KEYS = ["TaskDefinition", "Cluster", "Overrides", "JobQueue", "JobDefinition", "Name", "ClusterName",
        "NodegroupName", "NodeRole", "FargateProfileName", "PodExecutionRoleArn", "RoleArn", "JobName",
        "QueryString", "WorkGroup", "ResultConfiguration", "QueryExecutionId", "ClusterId", "Step",
        "ExecutionRoleArn", "ServiceRole", "JobFlowRole", "AutoScalingRole", "Id", "VirtualClusterId",
        "ApplicationId", "JobRunId", "TrainingJobName", "TransformJobName", "ModelName", "EndpointName",
        "EndpointConfigName", "TrainingJobDefinitions", "ModelId", "Input", "Output", "BaseModelIdentifier",
        "ProjectName", "Ids", "ReportArns", "ApiEndpoint", "AuthType", "Method", "Stage", "Path", "Role", "Queue",
        "JobTemplate", "Settings", "Tags"]
ODD: list[Any] = [None, 7, True, [], {}, "", "arn:", "s3://", ["a", 1, None], {"x": {"Preset": 3}}, "{% $x %}"]
CALLS = sorted((svc, api, pattern) for (svc, api), entry in HANDLERS.items() if svc in SERVICES
               for pattern in entry.patterns)


def test_every_optimized_service_is_registered() -> None:
    assert {svc for svc, _, _ in CALLS} == SERVICES


@pytest.mark.parametrize(("service", "api", "pattern"), CALLS)
def test_odd_arguments_never_raise(service: str, api: str, pattern: str) -> None:
    resource = f"arn:aws:states:::{service}:{api}{pattern}"
    whole_expression = task(resource, {}, jsonata=True)
    whole_expression["States"]["T"]["Arguments"] = "{% $states.input %}"
    definitions = [task(resource), task(resource, {}), whole_expression,
                   task(resource, {f"{k}.$": "$.x" for k in KEYS})]
    definitions += [task(resource, dict.fromkeys(KEYS, value), jsonata=js) for value in ODD for js in (False, True)]
    for definition in definitions:
        plan = plan_for(definition)
        assert all(f.code != "UNKNOWN_INTEGRATION" for f in plan.findings)
