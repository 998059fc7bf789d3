"""What the wildcard rule accepts for resources a machine creates itself, request by request (the request allowed,
its neighbour denied):

* a cluster or application action on the account's pattern, scoped by a literal tag the same machine sets when it
  creates them (EMR ``elasticmapreduce:ResourceTag/KEY``, EMR Serverless ``aws:ResourceTag/KEY``);
* EMR's tag-on-create (``elasticmapreduce:AddTags`` with ``ForAllValues:StringEquals aws:TagKeys`` beside
  ``RunJobFlow``) and EMR Serverless' documented cleanup of ``createApplication.sync``;
* the names CloudFormation generates for a template's unnamed resources (``StateMachine.patterns``), each one
  resource; ``iam:PassRole`` stays literal-only;
* a pass refused with the call it serves, whatever refused the call.
"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy, covers_container
from sfn_iam.engine.guardrails.shape import created_tags, generated_names
from sfn_iam.model import Condition, Requirement
from tests.engine.integrations.optimized_helpers import assert_requests
from tests.helpers import ACCOUNT, REGION, admin_guard, assert_allows, assert_denies, plan_for, task

EMR = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}"
CLUSTERS = f"{EMR}:cluster/*"
APPS = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/*"
RUN = Requirement("elasticmapreduce:RunJobFlow", "*", path="States.Create")
TAG_ON_CREATE = Requirement("elasticmapreduce:AddTags", CLUSTERS,
                            (Condition("ForAllValues:StringEquals", "aws:TagKeys", ("owner",)),), "States.Create")
CREATE_APP = Requirement("emr-serverless:CreateApplication", "*", path="States.Create")
OWNER = Condition("StringEquals", "elasticmapreduce:ResourceTag/owner", ("etl",))


# The second line alone (an administrator's ceiling allowing the services by wildcard, naming no action): what the
# wildcard rule refuses stays refused whatever the ceiling allows.
ADMIN = admin_guard("elasticmapreduce:*", "emr-serverless:*", "dynamodb:*", "iam:PassRole")


def _kept(*reqs: Requirement, patterns: tuple[str, ...] = (), guard: GuardPolicy | None = None
          ) -> tuple[list[Requirement], set[str]]:
    kept, findings = guardrails.apply(reqs, guard or GuardPolicy(), account=ACCOUNT, patterns=patterns)
    return kept, {f.code for f in findings}


def _terminate(resource: str = CLUSTERS, *conditions: Condition, action: str = "elasticmapreduce:TerminateJobFlows"
               ) -> Requirement:
    return Requirement(action, resource, conditions, "States.Terminate")


# --- tag-scoped actions on what the machine creates -----------------------------------------------------------------

@pytest.mark.parametrize("action", ["elasticmapreduce:TerminateJobFlows", "elasticmapreduce:AddJobFlowSteps",
                                    "elasticmapreduce:CancelSteps", "elasticmapreduce:SetTerminationProtection",
                                    "elasticmapreduce:ModifyInstanceFleet"])
def test_a_cluster_action_scoped_by_the_tag_the_machine_sets_on_create_is_granted(action: str) -> None:
    req = _terminate(CLUSTERS, OWNER, action=action)
    kept, found = _kept(RUN, TAG_ON_CREATE, req)
    assert req in kept and not found


@pytest.mark.parametrize(("others", "req"), [
    # no cluster created by this machine: a tag scopes nothing of its own
    ((), _terminate(CLUSTERS, OWNER)),
    # created, but the tag key is not one it sets
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "elasticmapreduce:ResourceTag/env",
                                                          ("prod",)))),
    # tag keys set, but nothing created (an AddTags of its own, say)
    ((TAG_ON_CREATE,), _terminate(CLUSTERS, OWNER)),
    # a value pattern, several values, an empty value, another operator
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "elasticmapreduce:ResourceTag/owner",
                                                          ("*",)))),
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "elasticmapreduce:ResourceTag/owner",
                                                          ("etl", "other")))),
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "elasticmapreduce:ResourceTag/owner",
                                                          ("",)))),
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringLike", "elasticmapreduce:ResourceTag/owner",
                                                          ("etl",)))),
    # the tag key of another service's namespace, or none
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "aws:ResourceTag/owner", ("etl",)))),
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, Condition("StringEquals", "elasticmapreduce:ResourceTag/",
                                                          ("etl",)))),
    # other accounts, Regions or resource types
    ((RUN, TAG_ON_CREATE), _terminate("arn:aws:elasticmapreduce:*:*:cluster/*", OWNER)),
    ((RUN, TAG_ON_CREATE), _terminate(f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:*", OWNER)),
    ((RUN, TAG_ON_CREATE), _terminate("*", OWNER)),
    # an action the tag-scoped list does not name (it takes no cluster ID)
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, OWNER, action="elasticmapreduce:ModifyInstanceGroups")),
    ((RUN, TAG_ON_CREATE), _terminate(CLUSTERS, OWNER, action="elasticmapreduce:RemoveTags")),
])
def test_a_tag_scope_the_machine_does_not_create_is_refused(others: tuple[Requirement, ...], req: Requirement
                                                            ) -> None:
    kept, found = _kept(*others, req, guard=ADMIN)
    assert req not in kept and "WILDCARD_WRITE" in found


@pytest.mark.parametrize("action", ["emr-serverless:StartApplication", "emr-serverless:StopApplication",
                                    "emr-serverless:DeleteApplication"])
def test_an_application_action_scoped_by_a_tag_is_granted_beside_its_creation_only(action: str) -> None:
    req = Requirement(action, APPS, (Condition("StringEquals", "aws:ResourceTag/owner", ("etl",)),), "States.Act")
    kept, _ = _kept(CREATE_APP, req)
    assert req in kept
    kept, found = _kept(req)
    assert req not in kept and "WILDCARD_WRITE" in found
    wrong_key = Requirement(action, APPS, (Condition("StringEquals", "elasticmapreduce:ResourceTag/owner",
                                                     ("etl",)),), "States.Act")
    assert wrong_key not in _kept(CREATE_APP, wrong_key)[0]


def test_tagging_on_create_is_granted_beside_run_job_flow_only() -> None:
    kept, found = _kept(RUN, TAG_ON_CREATE)
    assert TAG_ON_CREATE in kept and not found
    assert TAG_ON_CREATE not in _kept(TAG_ON_CREATE)[0]
    on_star = Requirement("elasticmapreduce:AddTags", "*", TAG_ON_CREATE.conditions, "States.Create")
    any_key = Requirement("elasticmapreduce:AddTags", CLUSTERS,
                          (Condition("ForAllValues:StringEquals", "aws:TagKeys", ("*",)),), "States.Create")
    unlimited = Requirement("elasticmapreduce:AddTags", CLUSTERS, (), "States.Create")
    for req in (on_star, any_key, unlimited):
        assert req not in _kept(RUN, req)[0], req


def test_created_tags_reads_the_creating_requirements() -> None:
    assert created_tags([RUN, TAG_ON_CREATE]) == {("elasticmapreduce", "owner")}
    assert created_tags([TAG_ON_CREATE]) == set()
    assert created_tags([RUN]) == set()
    assert created_tags([CREATE_APP]) == {("emr-serverless", "*")}


# --- through the engine: the documented create -> act -> delete workflows -------------------------------------------

def _states(*states: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (name, resource, params) in enumerate(states):
        nxt: dict[str, Any] = {"Next": states[i + 1][0]} if i + 1 < len(states) else {"End": True}
        out[name] = {"Type": "Task", "Resource": resource, "Parameters": params, **nxt}
    return {"StartAt": states[0][0], "States": out}


APP_ARGS = {"Name": "a", "ReleaseLabel": "emr-6.9.0", "Type": "SPARK", "ClientToken": "t"}


def test_create_application_sync_deletes_what_it_created_on_abort() -> None:
    """createApplication.sync's documented cleanup (Step Functions guide, emr-serverless-iam.html): GetApplication
    and DeleteApplication on the generated application, granted beside the creation only."""
    plan = plan_for(task("arn:aws:states:::emr-serverless:createApplication.sync", APP_ARGS))
    app = APPS.replace("*", "00abc")
    assert_allows(plan, "emr-serverless:DeleteApplication", app)
    assert_allows(plan, "emr-serverless:GetApplication", app)
    assert_denies(plan, "emr-serverless:DeleteApplication", f"arn:aws:emr-serverless:{REGION}:999999999999:"
                                                            "/applications/00abc")
    assert_denies(plan, "emr-serverless:StopApplication", app)
    # tagged: the cleanup is scoped by the tags it sets
    tagged = plan_for(task("arn:aws:states:::emr-serverless:createApplication.sync",
                           {**APP_ARGS, "Tags": {"owner": "etl"}}))
    assert_allows(tagged, "emr-serverless:DeleteApplication", app, {"aws:ResourceTag/owner": "etl"})
    assert_denies(tagged, "emr-serverless:DeleteApplication", app, {"aws:ResourceTag/owner": "other"})


def test_the_stop_alone_is_not_a_cleanup() -> None:
    """DeleteApplication on every application without its creation in the same state is refused."""
    kept, found = _kept(Requirement("emr-serverless:DeleteApplication", APPS, path="States.Delete"),
                        Requirement("emr-serverless:CreateApplication", "*", path="States.Other"))
    assert not any(r.action == "emr-serverless:DeleteApplication" for r in kept) and "WILDCARD_WRITE" in found


# --- generated names ------------------------------------------------------------------------------------------------

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-Orders-*"


@pytest.mark.parametrize(("resource", "patterns", "covers"), [
    (TABLE, ("shop-Orders-*",), False),
    (TABLE, (), True),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*-Orders-*", ("*-Orders-*",), False),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-Orders-*/index/*", ("shop-Orders-*",), False),
    ("arn:aws:s3:::shop-data-*", ("shop-data-*",), False),
    ("arn:aws:s3:::shop-data-*/*", ("shop-data-*",), False),
    (f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-Task-*:*", ("shop-Task-*",), False),
    (f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Child-*", ("Child-*",), False),
    # a pattern names one resource only where it stands: a wildcard beside it still covers others
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*shop-Orders-*", ("shop-Orders-*",), True),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*", ("shop-Orders-*",), True),
    # never in the partition, service, Region or account
    ("arn:aws:dynamodb:*-Orders-*:123456789012:table/t", ("*-Orders-*",), True),
    # only the shape of a generated name is trusted: not "*", not a bare wildcard prefix, not "?"
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*", ("*",), True),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*-*", ("*-*",), True),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders?", ("Orders?",), True),
    (f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop*", ("shop*",), True),
])
def test_a_generated_name_is_one_container(resource: str, patterns: tuple[str, ...], covers: bool) -> None:
    assert covers_container(resource, frozenset(patterns)) is covers


def test_generated_names_keep_only_their_shape() -> None:
    assert generated_names(["shop-Orders-*", "*-Orders-*", "Child-*", "*", "a*", "x-*-*", "shop-data-*"]) == {
        "shop-Orders-*", "*-Orders-*", "Child-*", "shop-data-*"}


def test_a_write_on_a_generated_table_is_granted_and_its_neighbour_is_not() -> None:
    definition = task("arn:aws:states:::dynamodb:putItem", {"TableName": "shop-Orders-*", "Item": {}})
    plan = plan_for(definition, patterns=("shop-Orders-*",))
    assert_allows(plan, "dynamodb:PutItem", TABLE.replace("*", "1A2B3C"))
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/shop-Other-1A2B3C")
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/prod-Orders-1A2B3C")
    # the same definition without the template's word is a write on a pattern: refused
    assert_denies(plan_for(definition), "dynamodb:PutItem", TABLE.replace("*", "1A2B3C"))


def test_passrole_on_a_generated_role_name_stays_refused() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/shop-TaskRole-*"
    req = Requirement("iam:PassRole", role, (Condition("StringEquals", "iam:PassedToService",
                                                       ("ecs-tasks.amazonaws.com",)),), "States.Run")
    kept, found = _kept(req, patterns=("shop-TaskRole-*",))
    assert req not in kept and "BLOCKED_ACTION" in found


# --- a pass refused with its call -------------------------------------------------------------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TaskRole"
PASS = Requirement("iam:PassRole", ROLE, (Condition("StringEquals", "iam:PassedToService",
                                                    ("ecs-tasks.amazonaws.com",)),), "States.Run")


def test_a_pass_for_a_call_the_wildcard_rule_refuses_is_refused_with_it() -> None:
    run = Requirement("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*", path="States.Run")
    kept, found = guardrails.apply([run, PASS], GuardPolicy(), account=ACCOUNT)
    assert kept == []
    assert any(f.code == "BLOCKED_ACTION" and f.message.startswith("iam:PassRole") for f in found)
    assert "WILDCARD_WRITE" in {f.code for f in found}
    # the call granted: the pass stays
    literal = Requirement("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app:*", path="States.Run")
    kept, _ = guardrails.apply([literal, PASS], GuardPolicy(), account=ACCOUNT)
    assert PASS in kept
    # a refusal in another state does not touch this one's pass
    other = Requirement("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*", path="States.Other")
    kept, _ = guardrails.apply([literal, PASS, other], GuardPolicy(), account=ACCOUNT)
    assert PASS in kept


def test_a_refused_role_refuses_its_own_pass_only() -> None:
    """A role refused (admin-equivalent) is the pass's own refusal, not its call's: the call's other roles are
    decided on their own."""
    bad = Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Admin", PASS.conditions, "States.Run")
    run = Requirement("ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app:*", path="States.Run")
    guard = GuardPolicy().refusing_roles([(bad.resource, "admin-equivalent")])
    kept, found = guardrails.apply([run, PASS, bad], guard, account=ACCOUNT)
    assert PASS in kept and bad not in kept and run in kept
    assert "ROLE_NOT_PASSABLE" in {f.code for f in found} and "BLOCKED_ACTION" not in {f.code for f in found}


def test_the_ecs_pass_for_a_generated_task_definition_follows_the_call() -> None:
    """ecs:runTask on a template's unnamed task definition: granted with its pass under the generated name,
    refused with it without."""
    definition = task("arn:aws:states:::ecs:runTask", {
        "TaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-Task-*", "Cluster": "c",
        "Overrides": {"TaskRoleArn": ROLE}})
    granted = plan_for(definition, patterns=("shop-Task-*",))
    refused = plan_for(definition)
    context = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    generated = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-Task-1A:3"
    cluster = {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"}
    assert_allows(granted, "ecs:RunTask", generated, cluster)
    assert_allows(granted, "iam:PassRole", ROLE, context)
    assert_denies(granted, "ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/other-Task-1A:3", cluster)
    assert_requests(refused, "iam:PassRole", ROLE, context)
    assert_denies(refused, "ecs:RunTask", generated, cluster)
    assert_denies(refused, "iam:PassRole", ROLE, context)
