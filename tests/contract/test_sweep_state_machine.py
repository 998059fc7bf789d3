"""The sweep state machine (template.yaml SweepStateMachine, statemachines/sweep.asl.json): its role grants exactly
what its definition needs, proven by our own `sfn-iam check` as installed in the virtualenv (`make check-self`), and
checked here request by request; its pace derives from IamCallsPerSecond; it retries throttling with backoff."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.aws import sweepbucket
from tests.evaluate import is_allowed

from .test_template_permissions import RESOURCES, ROOT, T

ASL = ROOT / "statemachines" / "sweep.asl.json"
CONFIG = ROOT / "statemachines" / "sfn-iam.toml"
CLI = Path(sys.executable).parent / "sfn-iam"
CONTEXT = ("--region", "us-east-1", "--account", "123456789012", "--stack-name", "sfn-iam")
MACHINE = RESOURCES["SweepStateMachine"]["Properties"]
DEFINITION: dict[str, Any] = json.loads(ASL.read_text(encoding="utf-8"))
MAP = DEFINITION["States"]["SweepBatches"]
BATCH = MAP["ItemProcessor"]["States"]["SweepBatch"]


def check(template: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """`sfn-iam check` of ``template`` through the installed console script; (exit code, JSON report)."""
    r = subprocess.run([str(CLI), "check", str(template), *CONTEXT, "--format", "json", *extra],
                       capture_output=True, text=True, check=False, cwd=ROOT)
    return r.returncode, json.loads(r.stdout)


def grant_findings(report: dict[str, Any]) -> list[tuple[str, str]]:
    [result] = [r for r in report["results"] if r["stateMachine"] == "SweepStateMachine"]
    return [(f["code"], f["message"]) for f in result["findings"]
            if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT", "EXCESS_GRANT")]


def test_our_own_check_finds_no_missing_and_no_excess_grant() -> None:
    code, report = check(ROOT / "template.yaml")
    assert code == 0 and not report["errors"]
    assert grant_findings(report) == []
    # what `make check-self` runs: every other finding fails it too, but the suppressed names CloudFormation makes
    make = subprocess.run([str(CLI), "check", "template.yaml", *CONTEXT, "--config", str(CONFIG), "--fail-on", "low"],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    assert make.returncode == 0, make.stdout + make.stderr
    assert "0 missing" in make.stdout and "0 excess" in make.stdout


@pytest.mark.parametrize(("old", "new", "finding"), [
    ("            Action: states:RedriveExecution\n", "            Action: states:DescribeExecution\n",
     ("UNVERIFIED_GRANT", "states:RedriveExecution")),  # a redrive is needed only sometimes: cannot verify
    ('Resource: !Sub "${SweepBucket.Arn}/listing/state-machines.json"', 'Resource: !Sub "${SweepBucket.Arn}/*"',
     ("EXCESS_GRANT", "s3:GetObjectVersion")),
    ("              - s3:AbortMultipartUpload\n",
     "              - s3:AbortMultipartUpload\n              - s3:DeleteObject\n", ("EXCESS_GRANT", "s3:DeleteObject")),
    ('stateMachine:${AWS::StackName}-sweep"', 'stateMachine:*"', ("EXCESS_GRANT", "states:StartExecution")),
    ("              - xray:PutTraceSegments\n", "", ("MISSING_GRANT", "xray:PutTraceSegments")),
], ids=["redrive-missing", "listing-whole-bucket", "delete-results", "start-any-machine", "tracing-missing"])
def test_the_check_would_see_a_grant_too_few_or_too_many(tmp_path: Path, old: str, new: str,
                                                         finding: tuple[str, str]) -> None:
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert text.count(old) >= 1
    (tmp_path / "statemachines").mkdir()
    shutil.copy(ASL, tmp_path / "statemachines" / ASL.name)
    (tmp_path / "template.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    _, report = check(tmp_path / "template.yaml")
    found = grant_findings(report)
    assert any(code == finding[0] and finding[1] in message for code, message in found), found


# -- request level: the role's policy as IAM evaluates it --------------------------------------------------------

STACK = "sfn-iam"
BUCKET = "arn:aws:s3:::sfn-iam-sweepbucket-1a2b3c"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:sfn-iam-SweepStepsFunction-1a2b3c"
OWN = "arn:aws:states:us-east-1:123456789012:stateMachine:sfn-iam-sweep"
VALUES = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::StackName": STACK, "SweepBucket.Arn": BUCKET}


def _resolve(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: VALUES[m.group(1)], value["Fn::Sub"])
    if value == {"Fn::GetAtt": ["SweepStepsFunction", "Arn"]}:
        return FUNCTION
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


POLICY = [_resolve(RESOURCES["SweepStateMachinePolicy"]["Properties"]["PolicyDocument"])]


@pytest.mark.parametrize(("action", "resource", "allowed"), [
    ("lambda:InvokeFunction", FUNCTION, True),
    ("lambda:InvokeFunction", FUNCTION.replace("SweepSteps", "RoleFixer"), False),
    ("states:StartExecution", OWN, True),
    ("states:StartExecution", OWN + "-other", False),
    ("states:DescribeExecution", OWN.replace("stateMachine:", "execution:") + "/SweepBatches:0b1c", True),
    ("states:RedriveExecution", OWN.replace("stateMachine:", "execution:") + "/SweepBatches:0b1c", True),
    ("states:StopExecution", OWN.replace("stateMachine:", "execution:").replace("sweep", "orders") + ":x", False),
    ("s3:GetObjectVersion", f"{BUCKET}/{sweepbucket.LISTING_KEY}", True),
    ("s3:GetObject", f"{BUCKET}/{sweepbucket.LISTING_KEY}", False),
    ("s3:PutObject", f"{BUCKET}/{sweepbucket.LISTING_KEY}", False),
    ("s3:PutObject", f"{BUCKET}/{sweepbucket.RESULTS_PREFIX}/6d1e/SUCCEEDED_0.json", True),
    ("s3:PutObject", f"{BUCKET}/{sweepbucket.REPORTS_PREFIX}/today.md", False),
    ("s3:PutObject", "arn:aws:s3:::another-bucket/results/x", False),
    ("s3:DeleteObject", f"{BUCKET}/{sweepbucket.RESULTS_PREFIX}/x", False),
    ("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/stepfunctions/any", False),
])
def test_the_state_machine_role_allows_what_a_sweep_requests_and_nothing_near_it(action: str, resource: str,
                                                                                 allowed: bool) -> None:
    assert is_allowed(POLICY, action, resource) is allowed


# -- the definition: pace, batches, retries, where the results go --------------------------------------------------

def test_max_concurrency_is_the_iam_rate_over_the_pace_of_one_batch() -> None:
    # MaxConcurrency batches at once, each paced to IAM_CALLS_PER_SECOND: at most IamCallsPerSecond for the sweep.
    assert MAP["MaxConcurrency"] == "{% ${IamCallsPerSecond} %}"
    assert MACHINE["DefinitionSubstitutions"]["IamCallsPerSecond"] == {"Ref": "IamCallsPerSecond"}
    steps = RESOURCES["SweepStepsFunction"]["Properties"]
    assert steps["Environment"]["Variables"]["IAM_CALLS_PER_SECOND"] == "1"
    assert steps["ReservedConcurrentExecutions"]["Fn::If"][1] == {"Ref": "IamCallsPerSecond"}
    assert T["Parameters"]["IamCallsPerSecond"]["MinValue"] >= 1


def test_batches_of_machines_in_standard_child_executions_that_tolerate_a_few_failures() -> None:
    assert MAP["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert 10 <= MAP["ItemBatcher"]["MaxItemsPerBatch"] <= 100
    assert 0 < MAP["ToleratedFailurePercentage"] <= 10
    assert BATCH["Arguments"]["Payload"] == {"step": "batch", "items": "{% $states.input.Items %}"}


def test_throttling_and_lambda_errors_are_retried_with_backoff() -> None:
    retries = {e: r for r in BATCH["Retry"] for e in r["ErrorEquals"]}
    assert {"IamThrottled", "Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= set(retries)
    assert all(r["BackoffRate"] >= 2 and r["MaxAttempts"] >= 3 and r["JitterStrategy"] == "FULL"
               for r in retries.values())
    # the handler raises exactly the error the retry names
    assert "class IamThrottled(" in (ROOT / "functions" / "sweep_steps" / "app.py").read_text(encoding="utf-8")
    for name in ("ListStateMachines", "Summarize"):
        assert "Lambda.TooManyRequestsException" in DEFINITION["States"][name]["Retry"][0]["ErrorEquals"]


def test_the_listing_and_the_results_are_where_the_functions_look() -> None:
    reader = MAP["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject" and reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Arguments"] == {"Bucket": "${SweepBucketName}", "Key": sweepbucket.LISTING_KEY,
                                   "VersionId": "{% $listing.versionId %}"}
    assert MAP["ResultWriter"]["Arguments"] == {"Bucket": "${SweepBucketName}", "Prefix": sweepbucket.RESULTS_PREFIX}
    assert MACHINE["DefinitionSubstitutions"]["SweepBucketName"] == {"Ref": "SweepBucket"}
    summary = DEFINITION["States"]["Summarize"]["Arguments"]["Payload"]
    assert summary["results"] == "{% $states.input.ResultWriterDetails %}" and summary["listing"] == "{% $listing %}"


def test_the_bucket_is_private_encrypted_tls_only_and_emptied() -> None:
    bucket = RESOURCES["SweepBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] <= 90 and rule["NoncurrentVersionExpiration"]
    [deny] = RESOURCES["SweepBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_state_machine_role_is_assumable_by_step_functions_of_this_account_only() -> None:
    role = RESOURCES["SweepStateMachineRole"]["Properties"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    attached = [name for name, r in RESOURCES.items() if r["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy")
                and r["Properties"].get("RoleName") == {"Ref": "SweepStateMachineRole"}]
    assert attached == ["SweepStateMachinePolicy"]
