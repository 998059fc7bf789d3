"""Residual access (fixing/residual.py): which other policies grant beyond what the role's machines need."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.findings import Severity
from sfn_iam.fixing import residual
from sfn_iam.fixing import settings as config
from tests.fakes import ACCOUNT, FakeRoles

SETTINGS = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})
ROLE = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/R"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
BASE = "sfn-iam.us-east-1.M"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


OURS = doc(allow(["dynamodb:PutItem", "dynamodb:GetItem"], TABLE))


def inspect(inline: dict[str, dict[str, Any]], managed: dict[str, dict[str, Any]] | None = None,
            own: tuple[dict[str, Any], ...] = (OURS,)) -> list[residual.Residual]:
    roles = FakeRoles()
    roles.add_role("R", inline={BASE: OURS, **inline})
    for arn, d in (managed or {}).items():
        roles.roles["R"].attached.append(arn.rsplit("/", 1)[-1])
        roles.documents[f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{arn.rsplit('/', 1)[-1]}"] = d
    return residual.inspect(roles, SETTINGS, ROLE, own, BASE)


@pytest.mark.parametrize(("outer", "inner", "expected"), [
    ("s3:*", "s3:GetObject", True), ("s3:Get*", "s3:*", False), ("*", "anything*", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/*", True), ("arn:aws:s3:::b/k*", "arn:aws:s3:::b/*", False),
    ("a?c", "a*c", False), ("a?c", "abc", True),
])
def test_pattern_containment(outer: str, inner: str, expected: bool) -> None:
    assert residual.contains(outer, inner) is expected


def test_a_policy_within_our_grants_is_not_residual() -> None:
    assert inspect({"team": doc(allow("dynamodb:PutItem", TABLE))}) == []


def test_a_wider_action_or_resource_is_residual_and_names_the_excess() -> None:
    [r] = inspect({"team": doc(allow("dynamodb:*", TABLE), allow("dynamodb:GetItem", TABLE + "*"))})
    assert r.severity is Severity.HIGH and not r.admin
    assert r.excess == (f"dynamodb:* on {TABLE}", f"dynamodb:GetItem on {TABLE}*")
    assert "team" in r.finding().message and r.finding().code == "RESIDUAL_ACCESS"


def test_a_conditioned_need_does_not_cover_an_unconditioned_grant() -> None:
    cond = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    own = (doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/task", Condition=cond)),)
    [r] = inspect({"team": doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/task"))}, own=own)
    assert r.excess and not r.admin  # one literal role: high, not admin-equivalent
    assert inspect({"team": doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/task", Condition=cond))},
                   own=own) == []


@pytest.mark.parametrize("statement", [
    allow("*", "*"),
    allow("iam:PassRole", "*"),
    allow("iam:*", f"arn:aws:iam::{ACCOUNT}:role/*"),
    allow("sts:AssumeRole", "*"),
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},  # PowerUserAccess
    allow(["s3:GetObject", "iam:Put*"], ["arn:aws:s3:::b/*", "*"]),
])
def test_admin_equivalent_grants_are_critical(statement: dict[str, Any]) -> None:
    [r] = inspect({"wide": doc(statement)})
    assert r.severity is Severity.CRITICAL and r.admin
    assert r.finding().severity is Severity.CRITICAL


def test_deny_statements_grant_nothing() -> None:
    assert inspect({"guard": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})}) == []


def test_managed_policies_are_read_and_the_aws_admin_policy_is_critical_by_name_even_unreadable() -> None:
    roles = FakeRoles()
    roles.add_role("R", inline={BASE: OURS}, attached=["AdministratorAccess"])
    admin = residual.OtherPolicy("managed", "AdministratorAccess", "arn:aws:iam::aws:policy/AdministratorAccess")
    assert residual.admin_reason(admin, ROLE) == "the AWS managed policy AdministratorAccess"
    [r] = residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE)  # the fake has no document for it
    assert r.excess == ("unknown grants (the policy could not be read)",)


def test_the_other_machines_on_the_role_count_as_needs() -> None:
    sibling = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    team = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    assert inspect({"sfn-iam.us-east-1.Sibling": sibling, "team": team}) == []
    [r] = inspect({"team": team})
    assert r.policy.name == "team"


def test_malformed_documents_never_crash() -> None:
    for bad in ({"Statement": "nope"}, {"Statement": [{"Effect": "Allow"}]}, {}):
        assert inspect({"odd": bad}) == []
