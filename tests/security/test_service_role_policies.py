"""Admin-equivalence and AWS's own service-role policies.

The roles a workflow passes to EMR, ECS (through EventBridge) or SageMaker usually carry AWS managed service-role
policies. Those pass roles too, but only named roles or only to named services (``iam:PassedToService``), and they
launch instances only with a role they are handed. Such a role is not admin-equivalent: refusing it would break the
most common EMR and ECS workflows. A pass of any role to any service, or a launch next to one, still is. The
documents below are written in the shape of those policies (resources, operators, keys), not copied from them.
"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine.guardrails import admin_equivalence


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _pass(resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": resource}
    if condition is not None:
        stmt["Condition"] = condition
    return stmt


RUN_INSTANCES = {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                 "Resource": "arn:aws:ec2:*:*:instance/*",
                 "Condition": {"StringEquals": {"aws:RequestTag/for-use-with-amazon-emr-managed-policies": "true"}}}
EMR_SERVICE_SHAPE = _doc(
    RUN_INSTANCES,
    _pass(["arn:aws:iam::*:role/EMR_EC2_DefaultRole", "arn:aws:iam::*:role/EMR_AutoScaling_DefaultRole"],
          {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}}),
)
ECS_EVENTS_SHAPE = _doc(
    {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"},
    _pass("*", {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
)
SAGEMAKER_SHAPE = _doc(
    {"Effect": "Allow", "Action": ["sagemaker:*", "ec2:RunInstances"], "Resource": "*"},
    _pass("*", {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "glue.amazonaws.com"]}}),
)


@pytest.mark.parametrize("document", [EMR_SERVICE_SHAPE, ECS_EVENTS_SHAPE, SAGEMAKER_SHAPE],
                         ids=["emr-service", "ecs-events", "sagemaker"])
def test_service_role_shapes_are_not_admin_equivalent(document: dict[str, Any]) -> None:
    assert admin_equivalence([document]) is None


@pytest.mark.parametrize("condition", [
    None,
    {"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},  # every other service
    {"StringLike": {"iam:PassedToService": "*"}},
    {"StringLike": {"iam:PassedToService": "*.amazonaws.com"}},
    {"StringLike": {"iam:PassedToService": ["ec2.amazonaws.com", "*"]}},
    {"ForAllValues:StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},  # vacuous when the key is absent
    {"StringEquals": {"aws:ResourceTag/team": "data"}},  # another key: any role so tagged, to any service
    {"StringEquals": {"iam:PassedToService": []}},
], ids=["none", "not-equals", "star", "star-suffix", "one-star", "for-all-values", "other-key", "empty"])
def test_a_pass_of_any_role_to_unnamed_services_counts(condition: dict[str, Any] | None) -> None:
    why = admin_equivalence([_doc(_pass("*", condition))])
    assert why is not None and "iam:PassRole" in why


@pytest.mark.parametrize("resource", ["arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:role/app-*",
                                      "arn:aws:iam::123456789012:role/a?min",
                                      ["arn:aws:iam::123456789012:role/EMR_EC2_DefaultRole", "*"]])
def test_a_pass_of_a_role_name_pattern_counts(resource: Any) -> None:
    assert admin_equivalence([_doc(_pass(resource))]) is not None


def test_a_pass_of_named_roles_only_does_not_count() -> None:
    named = _pass(["arn:aws:iam::123456789012:role/EMR_EC2_DefaultRole", "arn:aws:iam::*:role/svc/Other"])
    assert admin_equivalence([_doc(named)]) is None


@pytest.mark.parametrize("launch", ["ec2:RunInstances", "lambda:CreateFunction", "cloudformation:CreateStack"])
def test_a_launch_counts_only_next_to_a_pass_that_counts(launch: str) -> None:
    alone = _doc({"Effect": "Allow", "Action": launch, "Resource": "*"})
    assert admin_equivalence([alone]) is None
    assert admin_equivalence([alone, _doc(_pass("arn:aws:iam::123456789012:role/Named"))]) is None
    why = admin_equivalence([alone, _doc(_pass("*"))])
    assert why is not None
    # a pass to named services does not make the launch count either
    assert admin_equivalence([alone, _doc(_pass("*", {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}))]
                             ) is None


@pytest.mark.parametrize("action", ["iam:PutRolePolicy", "iam:AttachRolePolicy", "sts:AssumeRole",
                                    "lambda:UpdateFunctionCode", "ssm:SendCommand"])
def test_other_escalations_count_even_on_one_named_resource(action: str) -> None:
    named = {"Effect": "Allow", "Action": action, "Resource": "arn:aws:iam::123456789012:role/Named",
             "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    assert admin_equivalence([_doc(named)]) is not None


def test_a_statement_that_also_allows_every_action_still_counts() -> None:
    assert admin_equivalence([_doc({"Effect": "Allow", "Action": ["iam:PassRole", "*"], "Resource": "*",
                                    "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})])


@pytest.mark.parametrize("key", ["iam:ResourceTag/service", "kms:ViaService", "aws:SourceVpce"])
def test_only_the_passed_to_service_key_narrows_a_pass(key: str) -> None:
    # a value that names a service, under a key that is not iam:PassedToService, limits nothing about the pass
    assert admin_equivalence([_doc(_pass("*", {"StringEquals": {key: "ec2.amazonaws.com"}}))]) is not None


def test_the_boundary_reason_names_the_first_escalation_it_leaves_possible() -> None:
    why = admin_equivalence([_doc({"Effect": "Allow", "Action": "*", "Resource": "*"})],
                            boundary=_doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:PassRole"],
                                           "Resource": "*"}))
    assert why is not None and why.endswith("its permissions boundary allows iam:passrole")


def test_a_pass_of_one_role_name_at_any_path_does_not_count() -> None:
    # role names are unique in an account whatever the path: role/*/Name is still one role per account
    assert admin_equivalence([_doc(_pass("arn:aws:iam::*:role/*/EMR_EC2_DefaultRole"))]) is None
    assert admin_equivalence([_doc(_pass("arn:aws:iam::123456789012:role/team/app-*"))]) is not None


def test_an_unrelated_condition_operator_before_the_service_one_still_narrows() -> None:
    condition = {"Bool": {"aws:SecureTransport": "true"},
                 "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert admin_equivalence([_doc(_pass("*", condition))]) is None


def test_a_malformed_action_entry_does_not_hide_the_ones_after_it() -> None:
    stmt = {"Effect": "Allow", "Action": [{"not": "an action"}, "iam:PutRolePolicy"], "Resource": "*"}
    assert admin_equivalence([_doc(stmt)]) is not None


def test_the_reason_of_a_pass_is_the_pass_even_next_to_launches() -> None:
    why = admin_equivalence([_doc({"Effect": "Allow", "Action": ["lambda:CreateFunction", "iam:PassRole"],
                                   "Resource": "*"})])
    assert why is not None and "hands any role to a service that runs code" in why
    assert "deploys anything" not in why
