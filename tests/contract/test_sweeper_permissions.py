"""The sweeper's own permissions: exactly what the adapters its handler wires call (SNS and Security Hub only when
configured), the fixer's IAM scoping unchanged, never on its own role or the fixer's; settings all reach it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import sfn_iam

from .test_template_permissions import RESOURCES, ROOT, WRITES, _applies, _as_list, adapter_actions, adapters_wired_by
from .test_template_permissions import statements as fixer_statements

SWEEPER_POLICY = RESOURCES["RoleSweeperAppPolicy"]["Properties"]
# Two functions run under the sweeper's role: the single-Lambda sweep and the sweep state machine's steps.
SWEEPER_ADAPTERS = adapters_wired_by(ROOT / "functions" / "role_sweeper" / "app.py")
STEPS_ADAPTERS = adapters_wired_by(ROOT / "functions" / "sweep_steps" / "app.py")


def statements(effect: str) -> list[dict[str, Any]]:
    return [s for s in map(_applies, SWEEPER_POLICY["PolicyDocument"]["Statement"]) if s["Effect"] == effect]


def test_the_sweeper_wires_seven_adapters_and_the_steps_add_the_bucket() -> None:
    assert {"iam", "stepfunctions", "ledger", "facts", "publisher", "notify", "securityhub"} == SWEEPER_ADAPTERS
    assert SWEEPER_ADAPTERS | {"sweepbucket"} == STEPS_ADAPTERS


def test_template_grants_exactly_what_the_sweepers_adapters_declare() -> None:
    declared = set().union(*adapter_actions(SWEEPER_ADAPTERS | STEPS_ADAPTERS).values())
    granted = {a for s in statements("Allow") for a in _as_list(s["Action"])}
    assert granted == declared


def test_the_sweep_bucket_is_granted_by_prefix_only() -> None:
    from sfn_iam.aws import sweepbucket

    bucket = {s["Sid"]: (sorted(_as_list(s["Action"])), s["Resource"]["Fn::Sub"]) for s in statements("Allow")
              if any(str(a).startswith("s3:") for a in _as_list(s["Action"])) and "Condition" not in s}
    assert bucket == {
        "SweepListing": (["s3:GetObjectVersion", "s3:PutObject"], "${SweepBucket.Arn}/listing/*"),
        "SweepResults": (["s3:GetObject"], f"${{SweepBucket.Arn}}/{sweepbucket.RESULTS_PREFIX}/*"),
        "SweepReports": (["s3:PutObject"], f"${{SweepBucket.Arn}}/{sweepbucket.REPORTS_PREFIX}/*"),
    }
    assert sweepbucket.LISTING_KEY.startswith("listing/")


def test_the_sweeper_has_the_fixer_s_statements_unchanged() -> None:
    fixer = {s["Sid"]: s for s in fixer_statements("Allow")}
    sweeper = {s["Sid"]: s for s in statements("Allow")}
    assert {sid: sweeper[sid] for sid in fixer} == fixer


def test_optional_sinks_are_granted_only_when_configured() -> None:
    conditions = {s["Fn::If"][0]: s["Fn::If"][1]["Sid"] for s in SWEEPER_POLICY["PolicyDocument"]["Statement"]
                  if "Fn::If" in s}
    assert {c: sid for c, sid in conditions.items() if c != "FactsOn"} == {
        "HasFindingsTopic": "PublishSummary", "ImportToSecurityHub": "ImportFindings",
        "RemoveResidual": "DetachResidualPoliciesByTag"}  # the last one wins: two statements
    residual = [s["Fn::If"][1] for s in SWEEPER_POLICY["PolicyDocument"]["Statement"]
                if "Fn::If" in s and s["Fn::If"][0] == "RemoveResidual"]
    # Removing residual access is detaching (a reduction), on in-scope roles only: by path, or by tag.
    assert [_as_list(s["Action"]) for s in residual] == [["iam:DetachRolePolicy"]] * 2
    # ... and only while the role carries the ceiling as its boundary, like every role write
    boundary = {"StringEquals": {"iam:PermissionsBoundary": {
        "Fn::If": ["CustomCeiling", {"Ref": "CeilingPolicyArn"}, {"Ref": "CeilingPolicy"}]}}}
    assert residual[0]["Resource"]["Fn::Sub"].endswith(":role${RolePath}*") and residual[0]["Condition"] == boundary
    assert residual[1]["Condition"] == {"StringEqualsIgnoreCase": {"iam:ResourceTag/sfn-iam:managed": "true"},
                                        **boundary}
    hub = next(s for s in statements("Allow") if s["Sid"] == "ImportFindings")
    assert hub["Resource"]["Fn::Sub"].endswith(":product/${AWS::AccountId}/default")
    topic = next(s for s in statements("Allow") if s["Sid"] == "PublishSummary")
    assert topic["Resource"] == {"Ref": "FindingsTopicArn"}


def test_iam_writes_are_scoped_never_star() -> None:
    for stmt in statements("Allow"):
        writes = [a for a in _as_list(stmt["Action"]) if WRITES.match(a)]
        for resource in _as_list(stmt["Resource"]) if writes else []:
            assert resource != "*", (writes, stmt)


def test_the_sweeper_can_change_neither_its_own_role_nor_the_fixer_s() -> None:
    deny = next(s for s in statements("Deny") if _as_list(s["Action"]) == ["iam:*"])
    assert deny["Resource"] == [{"Fn::GetAtt": ["RoleSweeperRole", "Arn"]}, {"Fn::GetAtt": ["RoleFixerRole", "Arn"]},
                                {"Fn::GetAtt": ["SweepStateMachineRole", "Arn"]}]
    assert SWEEPER_POLICY["RoleName"] == {"Ref": "RoleSweeperRole"}
    for name in ("RoleSweeperFunction", "SweepStepsFunction"):
        function = RESOURCES[name]["Properties"]
        assert "Policies" not in function and function["Role"] == {"Fn::GetAtt": ["RoleSweeperRole", "Arn"]}
        assert function["Environment"]["Variables"]["FIXER_ROLE_ARN"] == {"Fn::GetAtt": ["RoleSweeperRole", "Arn"]}


def _read_settings(module: str) -> set[str]:
    source = (Path(sfn_iam.__file__).parent / f"{module}.py").read_text()
    patterns = (r'env\.get\("([A-Z_]+)"', r'number\(env, "([A-Z_]+)"', r'number\("([A-Z_]+)"')
    return set().union(*(re.findall(p, source) for p in patterns))


@pytest.mark.parametrize("function", ["RoleSweeperFunction", "SweepStepsFunction"])
def test_every_setting_reaches_the_sweeper_the_same_as_the_fixer(function: str) -> None:
    variables = RESOURCES[function]["Properties"]["Environment"]["Variables"]
    fixer = RESOURCES["RoleFixerFunction"]["Properties"]["Environment"]["Variables"]
    sweep = _read_settings("governance/sweep")
    assert sweep == {"SWEEP_WORKERS", "IAM_CALLS_PER_SECOND", "FINDINGS_TOPIC_ARN", "SECURITY_HUB_FINDINGS"}
    # Describe retries are for events racing a create; the sweeper never retries a listed machine.
    assert sweep | _read_settings("fixing/settings") - {"DESCRIBE_ATTEMPTS", "DESCRIBE_RETRY_DELAY"} <= set(variables)
    shared = set(fixer) & set(variables) - {"FIXER_ROLE_ARN", "POWERTOOLS_SERVICE_NAME"}
    assert len(shared) >= 10
    # the settings the ceiling replaced would stop the function (fixing/settings.py): none may be set
    assert not {"EXTRA_DENIED_ACTIONS", "ALLOWED_SERVICES", "PASSABLE_ROLE_PATTERNS"} & set(variables)
    assert {k: variables[k] for k in shared} == {k: fixer[k] for k in shared}


@pytest.mark.parametrize("function", ["RoleSweeperFunction", "SweepStepsFunction"])
@pytest.mark.parametrize("parameter", ["FindingsTopicArn", "SecurityHubFindings"])
def test_governance_parameters_reach_the_sweeper(function: str, parameter: str) -> None:
    text = repr(RESOURCES[function]) + repr(RESOURCES["RoleSweeperAppPolicy"])
    assert f"'Ref': '{parameter}'" in text


def test_the_schedule_starts_the_sweep_state_machine_and_the_lambda_is_not_retried() -> None:
    machine = RESOURCES["SweepStateMachine"]["Properties"]
    schedule = machine["Events"]["Schedule"]
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"] == {"Schedule": {"Ref": "SweepSchedule"},
                                      "State": {"Fn::If": ["SweepOn", "ENABLED", "DISABLED"]}}
    function = RESOURCES["RoleSweeperFunction"]["Properties"]
    assert "Events" not in function  # invoked by hand: small accounts, a sweep on demand
    assert function["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
