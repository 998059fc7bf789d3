"""The ceiling in template.yaml: IAM itself refuses the fixer's and the sweeper's writes to a role that does not carry
the ceiling as its permissions boundary, and the template's CeilingPolicy is the reviewed default as IAM can hold it.

Request level: each write the adapters make is evaluated (tests/evaluate.py) against the template's policies with
and without ``iam:PermissionsBoundary`` = the ceiling, for the default ceiling and for an administrator's own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from sfn_iam.engine.guardrails import ceiling
from tests.evaluate import is_allowed

from .test_template_permissions import RESOURCES, ROOT, T, _applies

ACCOUNT = "123456789012"
DEFAULT_ARN = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam-ceiling"
OWN_ARN = f"arn:aws:iam::{ACCOUNT}:policy/security/ceiling"
OTHER_ARN = f"arn:aws:iam::{ACCOUNT}:policy/other/boundary"
IN_PATH = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/OrdersRole"
TAGGED = f"arn:aws:iam::{ACCOUNT}:role/OrdersRole"
OURS = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam.us-east-1.Orders.1"
WRITES = [("iam:PutRolePolicy", {}), ("iam:DeleteRolePolicy", {}), ("iam:AttachRolePolicy", {"iam:PolicyARN": OURS}),
          ("iam:DetachRolePolicy", {"iam:PolicyARN": OURS})]
POLICIES = ["RoleFixerAppPolicy", "RoleSweeperAppPolicy"]


def _values(custom: bool) -> dict[str, str]:
    return {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT, "AWS::StackName": "sfn-iam",
            **{name: str(p.get("Default", "")) for name, p in T["Parameters"].items()},
            "CeilingPolicyArn": OWN_ARN if custom else "", "CeilingPolicy": DEFAULT_ARN}


def _resolve(value: Any, custom: bool) -> Any:
    """The template's intrinsics for one choice of ceiling (``custom``: CeilingPolicyArn is set)."""
    known = _values(custom)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: known.get(m.group(1), f"resource-{m.group(1)}"), value["Fn::Sub"])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return known.get(value["Ref"], f"arn:aws:cloudformation:::resource/{value['Ref']}")
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return "arn:aws:cloudformation:::resource/" + ".".join(value["Fn::GetAtt"])
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, then, otherwise = value["Fn::If"]
        assert condition == "CustomCeiling", condition
        return _resolve(then if custom else otherwise, custom)
    if isinstance(value, dict):
        return {k: _resolve(v, custom) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, custom) for v in value]
    return value


def _policy(name: str, custom: bool) -> list[dict[str, Any]]:
    statements = [_resolve(_applies(s), custom) for s in RESOURCES[name]["Properties"]["PolicyDocument"]["Statement"]]
    return [{"Version": "2012-10-17", "Statement": statements}]


def _tagged(context: dict[str, str]) -> dict[str, str]:
    return {**context, "iam:ResourceTag/sfn-iam:managed": "true"}


@pytest.mark.parametrize("custom", [False, True], ids=["default-ceiling", "own-ceiling"])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("action,context", WRITES, ids=[a for a, _ in WRITES])
def test_a_role_write_is_allowed_only_while_the_role_carries_the_ceiling(policy: str, custom: bool, action: str,
                                                                        context: dict[str, str]) -> None:
    docs = _policy(policy, custom)
    ceiling_arn = OWN_ARN if custom else DEFAULT_ARN
    with_ceiling = {**context, "iam:PermissionsBoundary": ceiling_arn}
    assert is_allowed(docs, action, IN_PATH, with_ceiling)
    assert is_allowed(docs, action, TAGGED, _tagged(with_ceiling))
    for role, extra in ((IN_PATH, {}), (TAGGED, _tagged({}))):
        assert not is_allowed(docs, action, role, {**context, **extra}), "a role without a boundary"
        other = OWN_ARN if not custom else DEFAULT_ARN
        for boundary in (OTHER_ARN, other):
            assert not is_allowed(docs, action, role, {**context, **extra, "iam:PermissionsBoundary": boundary})
    assert not is_allowed(docs, action, TAGGED, with_ceiling), "out of scope: neither in the path nor tagged"


@pytest.mark.parametrize("custom", [False, True], ids=["default-ceiling", "own-ceiling"])
@pytest.mark.parametrize("policy", POLICIES)
def test_the_only_boundary_that_may_be_set_is_the_ceiling_and_none_may_be_removed(policy: str, custom: bool) -> None:
    docs = _policy(policy, custom)
    ceiling_arn = OWN_ARN if custom else DEFAULT_ARN
    assert is_allowed(docs, "iam:PutRolePermissionsBoundary", IN_PATH, {"iam:PermissionsBoundary": ceiling_arn})
    assert is_allowed(docs, "iam:PutRolePermissionsBoundary", TAGGED,
                      _tagged({"iam:PermissionsBoundary": ceiling_arn}))
    for boundary in (OTHER_ARN, f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"):
        assert not is_allowed(docs, "iam:PutRolePermissionsBoundary", IN_PATH, {"iam:PermissionsBoundary": boundary})
    for context in ({}, {"iam:PermissionsBoundary": ceiling_arn}):
        assert not is_allowed(docs, "iam:DeleteRolePermissionsBoundary", IN_PATH, context)


def test_the_functions_are_told_which_ceiling_to_set_and_whose_it_is() -> None:
    for function in ("RoleFixerFunction", "RoleSweeperFunction"):
        variables = RESOURCES[function]["Properties"]["Environment"]["Variables"]
        assert _resolve(variables["CEILING_POLICY_ARN"], False) == DEFAULT_ARN
        assert _resolve(variables["CEILING_POLICY_ARN"], True) == OWN_ARN
        assert _resolve(variables["CUSTOM_CEILING"], False) == "false"
        assert _resolve(variables["CUSTOM_CEILING"], True) == "true"
        assert variables["STACK_NAME"] == {"Ref": "AWS::StackName"}
    assert RESOURCES["CeilingPolicy"]["Condition"] == "DefaultCeiling"
    assert T["Conditions"]["DefaultCeiling"] == {"Fn::Equals": [{"Ref": "CeilingPolicyArn"}, ""]}


def test_the_settings_the_ceiling_replaced_are_gone_and_the_parameter_list_is_no_longer() -> None:
    assert not {"ExtraDeniedActions", "AllowedServices", "PassableRolePatterns"} & set(T["Parameters"])
    assert "CeilingPolicyArn" in T["Parameters"]
    assert len(T["Parameters"]) <= 24  # as many as before the ceiling, or fewer


# --- the document ------------------------------------------------------------------------------------------------

def _template_boundary() -> dict[str, Any]:
    document: dict[str, Any] = RESOURCES["CeilingPolicy"]["Properties"]["PolicyDocument"]
    return document


def _filled(value: Any, stack: str) -> Any:
    known = {"AWS::Partition": "aws-us-gov", "AWS::AccountId": ACCOUNT, "AWS::StackName": stack,
             "ManagedPolicyPath": "/sfn-iam/"}
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: known[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: _filled(v, stack) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, stack) for v in value]
    return value


def test_the_template_carries_the_generated_boundary() -> None:
    result = subprocess.run([sys.executable, "scripts/generate_ceiling.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert _unsubbed(_template_boundary()) == ceiling.default_boundary()


def _unsubbed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return value["Fn::Sub"]
    if isinstance(value, dict):
        return {k: _unsubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsubbed(v) for v in value]
    return value


@pytest.mark.parametrize("stack", ["sfn-iam", "s" * 24])
def test_the_boundary_fits_in_a_managed_policy(stack: str) -> None:
    filled = _filled(_template_boundary(), stack)
    assert ceiling.size(filled) <= ceiling.MANAGED_POLICY_LIMIT == 6144


def test_the_boundary_allows_everything_the_engine_may_grant_and_keeps_every_deny() -> None:
    """What IAM enforces is the engine's ceiling or wider, never narrower: a grant the engine writes always works."""
    boundary = [_filled(_template_boundary(), "sfn-iam")]
    engine = ceiling.filled(ceiling.default_document(), {"AWS::Partition": "aws-us-gov", "AWS::AccountId": ACCOUNT,
                                                         "AWS::StackName": "sfn-iam", "ManagedPolicyPath": "/sfn-iam/"})
    checked = 0
    for stmt in engine["Statement"]:
        if stmt["Effect"] != "Allow":
            assert {k: v for k, v in stmt.items() if k != "Sid"} in boundary[0]["Statement"]
            continue
        resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
        context = {"s3:ResourceAccount": ACCOUNT, "iam:PassedToService": "ecs-tasks.amazonaws.com"}
        for action in stmt["Action"]:
            for resource in resources:
                sample = resource.replace("*", "x")  # one request the engine's statement allows
                assert is_allowed(boundary, action, sample, context), (action, sample)
                checked += 1
    assert checked > 200
