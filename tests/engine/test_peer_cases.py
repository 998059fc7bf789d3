"""Compare with the closest open-source generator (serverless-step-functions) on its own test cases.

For every case in ``shared/peer-cases``:

1. every *concrete* request the peer's test expects is allowed by our policy, unless it is listed in
   ``PEER_OVERGRANTS`` with the reason it is not a request the state machine makes;
2. for every *pattern* the peer grants, we grant the action on something inside that pattern (or
   nothing, when the whole grant is a peer over-grant) — never wider;
3. everything we grant is inside what the peer grants, unless listed in ``PEER_MISSES``, with the reason
   the peer's policy would fail the workflow.

Where our guardrails refuse a grant the peer makes (a write on a wildcard for a sensitive service, an unscoped
``iam:PassRole``, ...), checks 1 and 2 accept the refusal only when a finding reports it for that action: the
guardrail specification wins over the peer, but never silently. The default ceiling counts as a guardrail: a grant
it leaves out (a table's settings, a custom EventBridge rule, cluster credentials, schedules...) is accepted as
refused when an ``OUTSIDE_CEILING`` finding reports it.

Conditions are compared elsewhere (each integration's unit tests): here they are ignored, which only makes
checks 1 and 2 easier for us to pass and check 3 harder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.model import StateMachine
from sfn_iam.wildcards import matches
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, REGION, shared_files

CASES = shared_files("peer-cases")

# (case, action, resource): requests the peer's test expects that the state machine never makes.
PEER_OVERGRANTS: dict[tuple[str, str, str], str] = {
    ("lambda-direct-arn-with-and-without-alias", "lambda:InvokeFunction",
     f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:with-alias"):
        "the definition calls the alias-qualified ARN; Lambda authorizes exactly that ARN",
    ("lambda-invoke-dynamic-function-name-allowed-functions", "lambda:InvokeFunction",
     "arn:aws:lambda:us-west-2:123456789012:function:foo"):
        "AllowedFunctions is a peer-only hint, not part of the Lambda API; the name is dynamic",
    ("lambda-invoke-dynamic-function-name-allowed-functions", "lambda:InvokeFunction", "*limited*"):
        "AllowedFunctions is a peer-only hint, not part of the Lambda API; the name is dynamic",
}
_REFUSALS = {"BLOCKED_ACTION", "BLOCKED_SERVICE", "WILDCARD_READ", "WILDCARD_WRITE", "PASSROLE_UNSCOPED",
             "OUTSIDE_CEILING"}
_SYNC_EXECUTION = "StartSyncExecution returns the result in its response: no polling, no managed rule"
_ECS_CALLBACK = "the ECS managed rule serves .sync only; a callback task is completed by the worker's token"
_ATHENA_CATALOG = "Athena checks athena:GetDataCatalog on data catalogs, never on a workgroup ARN"
# (case, action): actions the peer grants that the state machine never uses.
PEER_OVERGRANTED_ACTIONS: dict[tuple[str, str], str] = {
    ("config-kms-encryption-key", "kms:Encrypt"): "AWS documents kms:Decrypt and kms:GenerateDataKey only",
    ("s3-distributed-map-list-objects-item-reader", "events:PutTargets"): "no managed rule for a Distributed Map",
    ("s3-distributed-map-list-objects-item-reader", "s3:Get*"):
        "a listing reader without LOAD_AND_FLATTEN reads no object (AWS CDK's S3ObjectsItemReader: ListBucket alone)",
    ("s3-distributed-map-list-objects-item-reader", "events:PutRule"): "no managed rule for a Distributed Map",
    ("s3-distributed-map-list-objects-item-reader", "events:DescribeRule"): "no managed rule for a Distributed Map",
    **{(case, action): _SYNC_EXECUTION
       for case in ("stepfunctions-start-sync-execution-sdk-jsonata", "stepfunctions-start-sync-execution-sdk-jsonpath")
       for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule", "states:DescribeExecution",
                      "states:StopExecution")},
    **{(case, action): _ECS_CALLBACK for case in ("lambda-callbacks-arn-forms", "lambda-callbacks-name-forms")
       for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule", "ecs:StopTask",
                      "ecs:DescribeTasks")},
    **{(case, "ecs:TagResource"): "ECS checks ecs:TagResource only when the request carries Tags or PropagateTags"
       for case in ("lambda-callbacks-arn-forms", "lambda-callbacks-name-forms", "ecs-run-task")},
    **{(case, "iam:PassRole"): "no role is named in the definition; the task definition's own roles are reported "
       "(OUT_OF_BAND_PERMISSION) instead of granting iam:PassRole on *"
       for case in ("lambda-callbacks-arn-forms", "lambda-callbacks-name-forms", "ecs-run-task")},
    **{(case, "s3:CreateBucket"): "Athena writes results to an existing output location; creating buckets is "
       "only the console's first-run convenience"
       for case in ("athena-start-query-static-workgroup", "athena-start-query-sync-dynamic-workgroup")},
    **{(case, f"glue:{action}"): "the query is a literal read-only statement: no Data Catalog writes"
       for case in ("athena-start-query-static-workgroup", "athena-start-query-sync-dynamic-workgroup")
       for action in ("CreateDatabase", "UpdateDatabase", "DeleteDatabase", "CreateTable", "UpdateTable",
                      "DeleteTable", "BatchDeleteTable", "BatchCreatePartition", "CreatePartition", "UpdatePartition",
                      "DeletePartition", "BatchDeletePartition")},
    ("s3-list-objects-v2-task", "s3:Get*"): "ListObjectsV2 is authorized by s3:ListBucket alone",
}
_DM_CHILDREN = "Distributed Map child executions are execution:SELF/LABEL:ID, outside the peer's execution:SELF:*"
_RESULT_WRITER = "AWS documents ResultWriter as needing GetObject, ListMultipartUploadParts, AbortMultipartUpload"
_WRITERS = ("s3-result-writer-prefix", "s3-result-writer-dynamic-bucket-and-prefix")
_LOGGING = "the current CloudWatch Logs page lists CreateLogStream and PutLogEvents too"
for _case in ("athena-start-query-static-workgroup", "athena-start-query-sync-dynamic-workgroup"):
    for _wg in ("analytics", "*"):
        PEER_OVERGRANTS[(_case, "athena:getDataCatalog", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{_wg}")] = (
            _ATHENA_CATALOG)
# (case, action): actions we grant beyond the peer's whole policy, because the peer's policy would fail.
PEER_MISSES: dict[tuple[str, str], str] = {
    ("config-kms-encryption-key", "kms:GenerateDataKey"): "AWS documents kms:GenerateDataKey for customer keys",
    ("lambda-invoke-dynamic-function-name-allowed-functions", "lambda:InvokeFunction"):
        "the peer narrows a dynamic name with its own AllowedFunctions hint, which real ASL cannot carry",
    ("sagemaker-create-transform-job-sync", "sagemaker:AddTags"): "the current SageMaker template adds AddTags",
    **{(case, "iam:CreateServiceLinkedRole"): "EMR creates the AWSServiceRoleForEMRCleanup service-linked role"
       for case in ("emr-create-cluster", "emr-create-cluster-sync")},
    ("config-logging-destinations", "logs:CreateLogStream"): _LOGGING,
    ("config-logging-destinations", "logs:PutLogEvents"): _LOGGING,
    **{(case, action): _DM_CHILDREN for case in (
        "distributed-map-custom-state-machine-name", "distributed-map-self-start-execution",
        "s3-distributed-map-list-objects-item-reader", "s3-item-reader-get-object",
        "s3-item-reader-dynamic-bucket-and-key", *_WRITERS,
    ) for action in ("states:DescribeExecution", "states:StopExecution", "states:RedriveExecution")},
    **{(case, action): _RESULT_WRITER for case in _WRITERS
       for action in ("s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")},
}


def _config(case: dict[str, Any]) -> dict[str, Any]:
    cfg = case.get("peer_state_machine_config") or {}
    out: dict[str, Any] = {}
    if "loggingConfig" in cfg:
        dests = cfg["loggingConfig"].get("destinations", [])
        out["logging"] = {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": d}}
                                                           for d in dests]}
    if "tracingConfig" in cfg:
        out["tracing"] = {"enabled": bool(cfg["tracingConfig"].get("enabled"))}
    if "encryptionConfig" in cfg:
        out["encryption"] = {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": cfg["encryptionConfig"]["KmsKeyId"]}
    return out


def _refused(plan: engine.Plan, action: str) -> bool:
    """A guardrail refused ``action`` and said so."""
    return any(f.code in _REFUSALS and action.lower().rstrip("*") in f.message.lower() for f in plan.findings)


def _plan(case: dict[str, Any]) -> engine.Plan:
    name = case.get("state_machine_name", "MyStateMachine")
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    return engine.plan(StateMachine(arn=arn, definition=case["definition"], **_config(case)))


def _unconditioned(documents: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [{**d, "Statement": [{k: v for k, v in s.items() if k != "Condition"} for s in d["Statement"]]}
            for d in documents]


def _ours(plan: engine.Plan) -> list[tuple[str, str]]:
    return [(a, r) for s in plan.statements for a in s["Action"] for r in s["Resource"]]


def _peer_pairs(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    pairs = []
    for s in statements:
        if s.get("effect", s.get("Effect")) != "Allow":
            continue
        acts = s.get("actions", s.get("Action", []))
        ress = s.get("resources", s.get("Resource", []))
        for a in [acts] if isinstance(acts, str) else acts:
            for r in [ress] if isinstance(ress, str) else ress:
                pairs.append((a, r))
    return pairs


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_peer_case_needs_are_covered_and_never_wider(path: Path) -> None:
    case = json.loads(path.read_text())
    name = case["name"]
    plan = _plan(case)
    docs = _unconditioned(plan.documents)
    ours = _ours(plan)
    patterns: dict[str, list[str]] = {}
    for action, resource in _peer_pairs(case["expected_statements"]):
        if (name, action) in PEER_OVERGRANTED_ACTIONS or (name, action, resource) in PEER_OVERGRANTS:
            continue
        patterns.setdefault(action, []).append(resource)
        if "*" not in resource + action and "?" not in resource:
            assert is_allowed(docs, action, resource) or _refused(plan, action), f"{action} on {resource} not allowed"
    for action, resources in patterns.items():
        granted = [r for a, r in ours if matches(action, a, ignore_case=True)]
        assert any(matches(p, r) for p in resources for r in granted) or _refused(plan, action), (
            f"{action} within {resources} not granted")
    peer = _peer_pairs(case["peer_output"]["statements"])
    for action, resource in ours:
        if (name, action) in PEER_MISSES:
            continue
        covered = any(matches(pa, action, ignore_case=True) and matches(pr, resource) for pa, pr in peer)
        assert covered, f"we grant {action} on {resource}, beyond the peer's whole policy"
