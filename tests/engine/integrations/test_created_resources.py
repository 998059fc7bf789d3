"""Resources a machine creates and then acts on by their run-time ID (create a cluster, run steps, terminate it):
the IDs are generated, a literal tag the creating state sets marks them; and the tags a creation sets.

The tag-scoped grants on cluster/* and /applications/* pass the guardrails because the same machine creates the
resources with that tag (guardrails.shape.created_tags): these tests read the policy written, request by request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.integrations.optimized_helpers import assert_requests
from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, codes, plan_for

EMR = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}"
APPS = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications"
ROLES = {"ServiceRole": "EMR_DefaultRole", "JobFlowRole": "EMR_EC2_DefaultRole"}


def machine(*states: tuple[str, str, dict[str, Any]], jsonata: bool = False) -> dict[str, Any]:
    names = [name for name, _, _ in states]
    out: dict[str, Any] = {}
    for i, (name, resource, params) in enumerate(states):
        state: dict[str, Any] = {"Type": "Task", "Resource": resource,
                                 ("Arguments" if jsonata else "Parameters"): params}
        state.update({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True})
        out[name] = state
    definition: dict[str, Any] = {"StartAt": names[0], "States": out}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def create_cluster(tags: Any, resource: str = "arn:aws:states:::elasticmapreduce:createCluster.sync"
                   ) -> tuple[str, str, dict[str, Any]]:
    params: dict[str, Any] = {"Name": "c", **ROLES}
    if tags is not None:
        params["Tags"] = tags
    return ("Create", resource, params)


TERMINATE = ("Terminate", "arn:aws:states:::elasticmapreduce:terminateCluster", {"ClusterId.$": "$.ClusterId"})
OWNED = {"elasticmapreduce:ResourceTag/owner": "etl"}


@pytest.mark.parametrize("creator", ["arn:aws:states:::elasticmapreduce:createCluster",
                                     "arn:aws:states:::elasticmapreduce:createCluster.sync",
                                     "arn:aws:states:::aws-sdk:emr:runJobFlow"])
def test_terminating_the_cluster_the_machine_created_is_scoped_by_the_tag_it_sets(creator: str) -> None:
    plan = plan_for(machine(create_cluster([{"Key": "owner", "Value": "etl"}], creator), TERMINATE))
    assert_allows(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-GENERATED", OWNED)
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-GENERATED",
                         {"elasticmapreduce:ResourceTag/owner": "other"})
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-GENERATED")
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows",
                         f"arn:aws:elasticmapreduce:{REGION}:999999999999:cluster/j-GENERATED", OWNED)


def test_steps_on_the_created_cluster_are_scoped_by_its_tag_too() -> None:
    plan = plan_for(machine(create_cluster([{"Key": "owner", "Value": "etl"}]),
                            ("Step", "arn:aws:states:::elasticmapreduce:addStep.sync",
                             {"ClusterId.$": "$.ClusterId", "Step": {"Name": "s"}}), TERMINATE))
    for action in ("elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep"):
        assert_allows(plan, action, f"{EMR}:cluster/j-GENERATED", OWNED)
        assert_denies(plan, action, f"{EMR}:cluster/j-GENERATED")


def test_only_the_tags_every_creator_sets_scope_the_grant() -> None:
    plan = plan_for(machine(
        create_cluster([{"Key": "owner", "Value": "etl"}, {"Key": "team", "Value": "a"}]),
        ("Again", "arn:aws:states:::elasticmapreduce:createCluster",
         {"Name": "d", **ROLES, "Tags": [{"Key": "owner", "Value": "etl"}, {"Key": "team", "Value": "b"}]}),
        TERMINATE))
    assert_allows(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1", {**OWNED,
                    "elasticmapreduce:ResourceTag/team": "b"})
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1",
                         {"elasticmapreduce:ResourceTag/team": "a"})


@pytest.mark.parametrize("tags", [None, [{"Key": "owner", "Value.$": "$.owner"}]])
def test_without_a_literal_tag_the_terminate_is_unscoped_and_says_how_to_scope_it(tags: Any) -> None:
    plan = plan_for(machine(create_cluster(tags, "arn:aws:states:::elasticmapreduce:createCluster"), TERMINATE))
    messages = [f.message for f in plan.findings if f.code == "DYNAMIC_RESOURCE" and f.path == "States.Terminate"]
    assert any("sets no literal tag" in m for m in messages), messages
    # requested on every cluster of the account, which the wildcard rule refuses (EMR is a sensitive service)
    assert_requests(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1")
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1")
    assert any(f.code == "WILDCARD_WRITE" and f.path == "States.Terminate" for f in plan.findings)


def test_a_terminate_without_a_creator_in_the_machine_is_unchanged() -> None:
    plan = plan_for(machine(TERMINATE))
    assert_requests(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1")
    assert_denies(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-1")  # the wildcard rule
    assert not any("tag" in f.message for f in plan.findings)


def test_a_literal_cluster_is_not_scoped_by_tags() -> None:
    plan = plan_for(machine(create_cluster([{"Key": "owner", "Value": "etl"}]),
                            ("Terminate", "arn:aws:states:::elasticmapreduce:terminateCluster",
                             {"ClusterId": "j-FIXED"})))
    assert_allows(plan, "elasticmapreduce:TerminateJobFlows", f"{EMR}:cluster/j-FIXED")


@pytest.mark.parametrize("creator", ["arn:aws:states:::elasticmapreduce:createCluster",
                                     "arn:aws:states:::aws-sdk:emr:runJobFlow"])
@pytest.mark.parametrize("jsonata", [False, True])
def test_creating_a_cluster_with_tags_may_tag_it_with_those_keys_only(creator: str, jsonata: bool) -> None:
    """RunJobFlow with Tags needs elasticmapreduce:AddTags (AWS CDK's EmrCreateCluster grants it with tags)."""
    plan = plan_for(machine(("Create", creator, {"Name": "c", **ROLES, "Tags": [{"Key": "owner", "Value": "etl"}]}),
                            jsonata=jsonata))
    assert_allows(plan, "elasticmapreduce:AddTags", f"{EMR}:cluster/j-1", {"aws:TagKeys": ["owner"]})
    assert_denies(plan, "elasticmapreduce:AddTags", f"{EMR}:cluster/j-1", {"aws:TagKeys": ["owner", "x"]})
    assert_denies(plan, "elasticmapreduce:AddTags", f"arn:aws:elasticmapreduce:{REGION}:999999999999:"
                                                         "cluster/j-1", {"aws:TagKeys": ["owner"]})
    untagged = plan_for(machine(("Create", creator, {"Name": "c", **ROLES})))
    assert_denies(untagged, "elasticmapreduce:AddTags", f"{EMR}:cluster/j-1", {"aws:TagKeys": ["owner"]})


def test_tags_whose_keys_are_known_at_run_time_only_tag_with_a_finding() -> None:
    plan = plan_for(machine(("Create", "arn:aws:states:::elasticmapreduce:createCluster",
                             {"Name": "c", **ROLES, "Tags.$": "$.tags"})))
    assert_requests(plan, "elasticmapreduce:AddTags", f"{EMR}:cluster/j-1", {"aws:TagKeys": ["any"]})
    assert "DYNAMIC_RESOURCE" in codes(plan)
    # tagging any cluster with any key is not tagging on create: refused, and the roles RunJobFlow would pass with it
    assert_denies(plan, "elasticmapreduce:AddTags", f"{EMR}:cluster/j-1", {"aws:TagKeys": ["any"]})
    assert "WILDCARD_WRITE" in codes(plan)
    assert_denies(plan, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/EMR_DefaultRole",
                  {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})


@pytest.mark.parametrize("creator", ["arn:aws:states:::emr-serverless:createApplication.sync",
                                     "arn:aws:states:::aws-sdk:emrserverless:createApplication"])
@pytest.mark.parametrize("api", ["startApplication", "stopApplication", "deleteApplication.sync"])
def test_the_application_the_machine_created_is_acted_on_by_its_tag(creator: str, api: str) -> None:
    plan = plan_for(machine(("Create", creator, {"Name": "a", "ReleaseLabel": "emr-6.9.0", "Type": "SPARK",
                                                  "ClientToken": "t", "Tags": {"owner": "etl"}}),
                            ("Act", f"arn:aws:states:::emr-serverless:{api}", {"ApplicationId.$": "$.id"})))
    action = "emr-serverless:" + api[0].upper() + api[1:].split(".")[0]
    assert_allows(plan, action, f"{APPS}/00abc", {"aws:ResourceTag/owner": "etl"})
    assert_denies(plan, action, f"{APPS}/00abc", {"aws:ResourceTag/owner": "x"})
    assert_denies(plan, action, f"{APPS}/00abc")


def test_creating_an_application_is_authorized_on_star() -> None:
    plan = plan_for(machine(("Create", "arn:aws:states:::emr-serverless:createApplication",
                             {"Name": "a", "ReleaseLabel": "emr-6.9.0", "Type": "SPARK"})))
    assert_allows(plan, "emr-serverless:CreateApplication", "*")


# --- the SDK forms of the same create -> act flows ----------------------------------------------------------------

SDK_CLUSTER_CALLS = [
    ("terminateJobFlows", {"JobFlowIds.$": "States.Array($.ClusterId)"}, "elasticmapreduce:TerminateJobFlows"),
    ("addJobFlowSteps", {"JobFlowId.$": "$.ClusterId", "Steps": []}, "elasticmapreduce:AddJobFlowSteps"),
    ("cancelSteps", {"ClusterId.$": "$.ClusterId", "StepIds": ["s-1"]}, "elasticmapreduce:CancelSteps"),
    ("setTerminationProtection", {"JobFlowIds.$": "$.ids", "TerminationProtected": False},
     "elasticmapreduce:SetTerminationProtection"),
]


@pytest.mark.parametrize("creator", ["arn:aws:states:::aws-sdk:emr:runJobFlow",
                                     "arn:aws:states:::elasticmapreduce:createCluster"])
@pytest.mark.parametrize(("api", "params", "action"), SDK_CLUSTER_CALLS)
def test_sdk_cluster_calls_on_the_created_cluster_are_scoped_by_its_tag(creator: str, api: str,
                                                                         params: dict[str, Any], action: str) -> None:
    act = ("Act", f"arn:aws:states:::aws-sdk:emr:{api}", params)
    plan = plan_for(machine(create_cluster([{"Key": "owner", "Value": "etl"}], creator), act))
    assert_allows(plan, action, f"{EMR}:cluster/j-GENERATED", OWNED)
    assert_denies(plan, action, f"{EMR}:cluster/j-GENERATED", {"elasticmapreduce:ResourceTag/owner": "other"})
    assert_denies(plan, action, f"{EMR}:cluster/j-GENERATED")
    assert any(f.path == "States.Act" and "carrying the tags" in f.message for f in plan.findings)
    assert not any(f.path == "States.Act" and "narrowest pattern" in f.message for f in plan.findings)
    # no tag to scope by: requested on every cluster, refused by the wildcard rule, with a finding saying what to set
    untagged = plan_for(machine(create_cluster(None, creator), act))
    assert_requests(untagged, action, f"{EMR}:cluster/j-GENERATED")
    assert_denies(untagged, action, f"{EMR}:cluster/j-GENERATED")
    assert any("sets no literal tag" in f.message for f in untagged.findings if f.path == "States.Act")
    # no creator in the machine: unchanged (a cluster of the account, refused)
    alone = plan_for(machine(act))
    assert_requests(alone, action, f"{EMR}:cluster/j-GENERATED")
    assert_denies(alone, action, f"{EMR}:cluster/j-GENERATED", OWNED)


def test_an_sdk_read_of_a_cluster_is_not_narrowed_by_the_creators_tags() -> None:
    plan = plan_for(machine(create_cluster([{"Key": "owner", "Value": "etl"}]),
                            ("Act", "arn:aws:states:::aws-sdk:emr:describeCluster", {"ClusterId.$": "$.c"})))
    assert_allows(plan, "elasticmapreduce:DescribeCluster", f"{EMR}:cluster/j-OTHER")


@pytest.mark.parametrize("creator", ["arn:aws:states:::aws-sdk:emrserverless:createApplication",
                                     "arn:aws:states:::emr-serverless:createApplication"])
@pytest.mark.parametrize("api", ["startApplication", "stopApplication", "deleteApplication"])
def test_sdk_application_calls_on_the_created_application_are_scoped_by_its_tag(creator: str, api: str) -> None:
    create = ("Create", creator, {"Name": "a", "ReleaseLabel": "emr-6.9.0", "Type": "SPARK", "ClientToken": "t",
                                  "Tags": {"owner": "etl"}})
    act = ("Act", f"arn:aws:states:::aws-sdk:emrserverless:{api}", {"ApplicationId.$": "$.id"})
    action = "emr-serverless:" + api[0].upper() + api[1:]
    plan = plan_for(machine(create, act))
    assert_allows(plan, action, f"{APPS}/00abc", {"aws:ResourceTag/owner": "etl"})
    assert_denies(plan, action, f"{APPS}/00abc", {"aws:ResourceTag/owner": "x"})
    assert_denies(plan, action, f"{APPS}/00abc")
    alone = plan_for(machine(act))
    assert_denies(alone, action, f"{APPS}/00abc", {"aws:ResourceTag/owner": "etl"})
