"""Class 7: passing and assuming literal roles.

A literal role is granted (``iam:PassRole``, ``sts:AssumeRole``) only inside the ceiling (the default: roles of
this account; the passable-role patterns of earlier releases are a Deny statement of it) and when the deployment did
not refuse it (admin-equivalent, beyond the ceiling); offline, nobody can check, so the grant carries
``UNVERIFIED_ROLE``.
Checked at the level of requests: the role the workflow uses, and the neighbouring role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.cli import config as cli_config
from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy, admin_equivalence
from sfn_iam.fixing import settings as fixer_settings
from sfn_iam.fixing.passable import RolePolicies, refused_roles
from sfn_iam.model import StateMachine
from tests.helpers import ACCOUNT, SM_ARN, allows, codes, task

OTHER = "210987654321"
SCOPE = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/*"
IN_SCOPE = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/EmrInstances"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/AdministratorRole"
TO_EC2 = {"iam:PassedToService": "ec2.amazonaws.com"}
TO_EVENTS = {"iam:PassedToService": "events.amazonaws.com"}


def _plan(definition: Mapping[str, Any], guard: GuardPolicy) -> engine.Plan:
    return engine.plan(StateMachine(arn=SM_ARN, definition=definition), guard)


def _emr(job_flow_role: str) -> dict[str, Any]:
    return task("arn:aws:states:::elasticmapreduce:createCluster.sync", {
        "Name": "c", "ReleaseLabel": "emr-7.0.0",
        "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/EmrService",
        "JobFlowRole": job_flow_role, "Instances": {}})


def _targets(role: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:eventbridge:putTargets", {"Rule": "r", "Targets": [
        {"Id": "1", "Arn": "arn:aws:ssm:us-east-1::document/AWS-RunShellScript", "RoleArn": role}]})


def _as(role: str) -> dict[str, Any]:
    return task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"}, Credentials={"RoleArn": role})


# --- offline: granted, reported as unverified -------------------------------------------------------------------

def test_offline_a_literal_job_flow_role_is_granted_and_reported_unverified() -> None:
    plan = _plan(_emr("AdministratorRole"), GuardPolicy())
    assert allows(plan, "iam:PassRole", ADMIN, TO_EC2)
    assert not allows(plan, "iam:PassRole", ADMIN, TO_EVENTS)
    unverified = [f for f in plan.findings if f.code == "UNVERIFIED_ROLE"]
    assert any(ADMIN in f.message for f in unverified)


def test_offline_an_assumed_role_is_reported_unverified() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/Other"
    plan = _plan(_as(role), GuardPolicy())
    assert allows(plan, "sts:AssumeRole", role)
    assert "UNVERIFIED_ROLE" in codes(plan)


# --- a deployment's passable roles ------------------------------------------------------------------------------

SCOPED = GuardPolicy.build(passable_roles=[SCOPE])


@pytest.mark.parametrize("definition,role,context", [
    (_emr("AdministratorRole"), ADMIN, TO_EC2),
    (_targets(f"arn:aws:iam::{ACCOUNT}:role/Admin"), f"arn:aws:iam::{ACCOUNT}:role/Admin", TO_EVENTS),
    (_as(f"arn:aws:iam::{ACCOUNT}:role/Other"), f"arn:aws:iam::{ACCOUNT}:role/Other", None),
    (_as(f"arn:aws:iam::{OTHER}:role/stepfunctions/X"), f"arn:aws:iam::{OTHER}:role/stepfunctions/X", None),
])
def test_a_role_outside_the_passable_roles_is_refused(definition: dict[str, Any], role: str,
                                                      context: dict[str, str] | None) -> None:
    plan = _plan(definition, SCOPED)
    action = "sts:AssumeRole" if context is None else "iam:PassRole"
    assert not allows(plan, action, role, context)
    # the passable roles are now a Deny statement of the ceiling (GuardPolicy.build: OnlyTheseRoles, NotResource the
    # patterns): a role outside them is outside the ceiling
    refusals = [f for f in plan.findings if f.code in ("ROLE_NOT_PASSABLE", "OUTSIDE_CEILING") and role in f.message]
    assert refusals and all(f.severity.name == "HIGH" for f in refusals)
    assert any("OnlyTheseRoles" in f.message for f in refusals)
    assert "UNVERIFIED_ROLE" not in codes(plan)


def test_a_role_inside_the_passable_roles_is_granted_for_its_service_only() -> None:
    plan = _plan(_emr(IN_SCOPE), SCOPED)
    assert allows(plan, "iam:PassRole", IN_SCOPE, TO_EC2)
    assert not allows(plan, "iam:PassRole", IN_SCOPE, TO_EVENTS)
    assert not allows(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/stepfunctions2/EmrInstances", TO_EC2)
    assert "ROLE_NOT_PASSABLE" not in codes(plan) and "UNVERIFIED_ROLE" not in codes(plan)


def test_a_listed_cross_account_role_may_be_assumed() -> None:
    role = f"arn:aws:iam::{OTHER}:role/Reader"
    plan = _plan(_as(role), GuardPolicy.build(passable_roles=[SCOPE, role]))
    assert allows(plan, "sts:AssumeRole", role)
    assert not allows(plan, "sts:AssumeRole", f"arn:aws:iam::{OTHER}:role/Writer")


def test_an_admin_equivalent_role_is_refused_even_inside_the_patterns() -> None:
    guard = SCOPED.refusing_roles([(IN_SCOPE, "the role is admin-equivalent: it allows every action (*)")])
    plan = _plan(_emr(IN_SCOPE), guard)
    assert not allows(plan, "iam:PassRole", IN_SCOPE, TO_EC2)
    assert any(f.code == "ROLE_NOT_PASSABLE" and "admin-equivalent" in f.message for f in plan.findings)


def test_the_deployment_deny_list_still_wins() -> None:
    guard = GuardPolicy.build(["iam:PassRole"], passable_roles=[SCOPE])
    plan = _plan(_emr(IN_SCOPE), guard)
    assert not allows(plan, "iam:PassRole", IN_SCOPE, TO_EC2)


# --- admin-equivalence, from the role's policies ----------------------------------------------------------------

def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("document", [
    _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    _doc({"Effect": "Allow", "Action": ["s3:GetObject", "iam:*"], "Resource": "*"}),
    _doc({"Effect": "Allow", "Action": "iam:Pass*", "Resource": "*"}),
    _doc({"Effect": "Allow", "Action": "iam:putrolepolicy", "Resource": f"arn:aws:iam::{ACCOUNT}:role/x"}),
    _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
    {"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}},
])
def test_escalation_primitives_make_a_role_admin_equivalent(document: dict[str, Any]) -> None:
    assert admin_equivalence([document]) is not None


@pytest.mark.parametrize("document", [
    _doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}),
    _doc({"Effect": "Deny", "Action": "*", "Resource": "*"}),
    _doc({"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}),
    {"Statement": "not a list"},
])
def test_ordinary_roles_are_not_admin_equivalent(document: dict[str, Any]) -> None:
    assert admin_equivalence([document]) is None


def test_an_attached_administrator_policy_is_admin_equivalent() -> None:
    assert admin_equivalence([], ["arn:aws:iam::aws:policy/AdministratorAccess"]) is not None
    # a customer policy of the same name is judged by its documents, not its name
    assert admin_equivalence([], [f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"]) is None


class _Reader:
    def __init__(self, roles: dict[str, RolePolicies]) -> None:
        self.roles = roles
        self.asked: list[str] = []

    def role_permissions(self, name: str) -> RolePolicies | None:
        self.asked.append(name)
        return self.roles.get(name)


def test_the_fixer_reads_each_role_and_plans_without_the_admin_ones() -> None:
    reader = _Reader({
        "EmrInstances": RolePolicies((_doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),)),
        "EmrService": RolePolicies((), ("arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2",)),
    })
    first = _plan(_emr(IN_SCOPE), SCOPED)
    roles = guardrails.roles_to_verify(first.requirements)
    assert IN_SCOPE in roles
    extra = [f"arn:aws:iam::{OTHER}:role/Elsewhere", f"arn:aws:iam::{ACCOUNT}:role/Gone"]
    refused = refused_roles(reader, [*roles, *extra], ACCOUNT)
    assert dict(refused).keys() == {IN_SCOPE, f"arn:aws:iam::{ACCOUNT}:role/Gone"}
    assert "Elsewhere" not in reader.asked  # another account's role is left to the patterns
    final = _plan(_emr(IN_SCOPE), SCOPED.refusing_roles(refused))
    assert not allows(final, "iam:PassRole", IN_SCOPE, TO_EC2)
    assert allows(final, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/EmrService",
                  {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})


# --- settings: the Lambda and the CLI --------------------------------------------------------------------------

def test_the_fixer_defaults_to_the_roles_of_its_account_that_it_verified() -> None:
    """The fixer's default ceiling lets roles of its own account be passed (never another account's, never the
    product's own); which of them are fit is what the fixer reads from IAM (refused_roles): an admin-equivalent
    role it refused is not granted."""
    s = fixer_settings.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})
    assert s.guard.verified_roles
    refused = s.guard.refusing_roles([(ADMIN, "the role is admin-equivalent: it allows every action (*)")])
    plan = _plan(_emr("AdministratorRole"), refused)
    assert not allows(plan, "iam:PassRole", ADMIN, TO_EC2)
    assert "ROLE_NOT_PASSABLE" in codes(plan)
    plan = _plan(_emr(IN_SCOPE), s.guard)
    assert allows(plan, "iam:PassRole", IN_SCOPE, TO_EC2)
    elsewhere = f"arn:aws:iam::{OTHER}:role/stepfunctions/EmrInstances"
    plan = _plan(_emr(elsewhere), s.guard)
    assert not allows(plan, "iam:PassRole", elsewhere, TO_EC2)
    assert any(f.code == "OUTSIDE_CEILING" and elsewhere in f.message for f in plan.findings)
    own = f"arn:aws:iam::{ACCOUNT}:role/sfn-iam-fixer"
    plan = _plan(_emr(own), s.guard)
    assert not allows(plan, "iam:PassRole", own, TO_EC2)
    assert any(f.code == "OUTSIDE_CEILING" and own in f.message for f in plan.findings)


def test_the_fixer_refuses_the_passable_role_setting_and_points_to_the_ceiling() -> None:
    """PASSABLE_ROLE_PATTERNS is replaced by the ceiling: set, good or bad, it stops the function with the way."""
    for value in (f" {ADMIN} , ", "*", "AdministratorRole", f"arn:aws:iam::{ACCOUNT}:user/x"):
        with pytest.raises(fixer_settings.ConfigError, match="PASSABLE_ROLE_PATTERNS is replaced by the ceiling"):
            fixer_settings.from_env({"ACCOUNT_ID": ACCOUNT, "PASSABLE_ROLE_PATTERNS": value})
    assert fixer_settings.from_env({"ACCOUNT_ID": ACCOUNT, "PASSABLE_ROLE_PATTERNS": "  "}).guard.verified_roles


def test_the_cli_config_takes_passable_roles() -> None:
    config = cli_config.parse({"passable-roles": [SCOPE]}, "x.toml")
    plan = _plan(_emr("AdministratorRole"), config.guard)
    # still read, translated into a Deny statement of the ceiling (with a note): outside the ceiling
    assert not allows(plan, "iam:PassRole", ADMIN, TO_EC2)
    assert any(f.code == "OUTSIDE_CEILING" and ADMIN in f.message and "OnlyTheseRoles" in f.message
               for f in plan.findings)
    assert any("passable-roles" in note for note in config.notes)
    with pytest.raises(cli_config.ConfigError, match="passable-roles"):
        cli_config.parse({"passable-roles": ["*"]}, "x.toml")
    assert not any(s.sid == "OnlyTheseRoles" for s in cli_config.parse({}, "x.toml").guard.ceiling.statements)
