"""The guardrails' decisions (engine/guardrails/guard.py) pinned by mutation testing (docs/mutation.md), judged at
the level of requests: what the plan's documents let the state machine do, and what stays denied beside it."""

from __future__ import annotations

from typing import Any

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.model import Condition, Requirement
from tests.helpers import (
    ACCOUNT,
    REGION,
    admin_guard,
    approving_guard,
    assert_allows,
    assert_denies,
    codes,
    plan_for,
    task,
)

TABLES = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"


def _own_ceiling(*actions: str) -> GuardPolicy:
    """A deployment's own ceiling naming ``actions`` literally: the administrator's explicit approval."""
    allow: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    return GuardPolicy(ceiling.parse({"Statement": [allow]}, source="the deployment's own"))


def _drop_any_table() -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:dynamodb:deleteTable", {"TableName.$": "$.table"})


def test_an_action_the_deployments_ceiling_names_is_granted_on_the_wildcard_the_second_line_refuses() -> None:
    approved = plan_for(_drop_any_table(), guard=_own_ceiling("dynamodb:DeleteTable"))
    assert_allows(approved, "dynamodb:DeleteTable", TABLES + "orders")
    assert_denies(approved, "dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:210987654321:table/orders")
    assert_denies(approved, "dynamodb:DeleteItem", TABLES + "orders")
    assert "WILDCARD_WRITE" not in codes(approved)
    # the same ceiling through a wildcard approves nothing explicitly: the wildcard write stays refused
    wildcard = plan_for(_drop_any_table(), guard=admin_guard("dynamodb:*"))
    assert_denies(wildcard, "dynamodb:DeleteTable", TABLES + "orders")
    assert "WILDCARD_WRITE" in codes(wildcard)


INSTANCE = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify"


def test_the_proposal_carries_only_the_grants_the_ceiling_leaves_out_and_approving_it_grants_them() -> None:
    definition = {"StartAt": "Notify", "States": {
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": FUNCTION}, "Next": "Reboot"},
        "Reboot": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:rebootInstances",
                   "Parameters": {"InstanceIds": ["i-0123456789abcdef0"]}, "End": True}}}
    plan = plan_for(definition)
    assert plan.proposal == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RebootInstances"], "Resource": INSTANCE}]}
    assert_allows(plan, "lambda:InvokeFunction", FUNCTION)
    assert_denies(plan, "ec2:RebootInstances", INSTANCE)
    approved = plan_for(definition, guard=approving_guard(plan))
    assert_allows(approved, "ec2:RebootInstances", INSTANCE)
    assert_denies(approved, "ec2:RebootInstances", INSTANCE[:-1] + "1")
    assert approved.proposal is None and "OUTSIDE_CEILING" not in codes(approved)


def test_an_action_pattern_is_never_proposed_for_the_ceiling() -> None:
    outside = Requirement("ec2:RebootInstances", INSTANCE, path="States.Reboot")
    assert guardrails.proposal([Requirement("ec2:Reboot*", INSTANCE, path="States.Reboot")], GuardPolicy()) is None
    assert guardrails.proposal([outside], GuardPolicy()) == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RebootInstances"], "Resource": INSTANCE}]}


def test_policies_differing_in_a_later_setting_are_not_equal_either_way_round() -> None:
    """A warm Lambda keeps the policy it built: one that refuses a role, or trusts the roles, is another policy."""
    refusing = GuardPolicy(refused_roles=((f"arn:aws:iam::{ACCOUNT}:role/Admin", "admin-equivalent"),))
    for one, other in ((GuardPolicy(), GuardPolicy(verified_roles=True)), (GuardPolicy(), refusing)):
        assert one != other and other != one
        assert not one == other and not other == one  # noqa: SIM201 - both operators are under test


TASKS = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/*"


def test_a_refusal_outside_the_ceiling_says_the_lists_refuse_it_too_only_when_they_do() -> None:
    guard = admin_guard("ecs:RunTask")  # a ceiling without the stop: both requests below are outside it
    # a run stop on a pattern is not refused by the lists (it is granted beside its start): nothing to add
    _, (stop,) = guardrails.apply([Requirement("ecs:StopTask", TASKS, path="States.S")], guard, account=ACCOUNT)
    assert stop.code == "OUTSIDE_CEILING"
    assert stop.message == (
        f"ecs:StopTask on {TASKS} not granted: the ceiling (test administrator) does not allow it; an administrator "
        'approves it by adding to the ceiling: {"Effect":"Allow","Action":["ecs:StopTask"],"Resource":"' + TASKS + '"}')
    services = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/*"
    _, (delete,) = guardrails.apply([Requirement("ecs:DeleteService", services, path="States.D")], guard,
                                    account=ACCOUNT)
    assert delete.code == "OUTSIDE_CEILING"
    assert ("does not allow it (the built-in lists refuse it too: ecs:DeleteService writes to the sensitive service "
            "ecs; it is never granted on a wildcard that covers whole containers); an administrator approves it"
            ) in delete.message


def test_only_permissions_management_is_refused_as_such_a_list_action_is_granted() -> None:
    listing = plan_for(task("arn:aws:states:::aws-sdk:s3:listObjectsV2", {"Bucket": "data"}))
    assert_allows(listing, "s3:ListBucket", "arn:aws:s3:::data")
    assert_denies(listing, "s3:ListBucket", "arn:aws:s3:::other")
    assert codes(listing) == set()
    policy = plan_for(task("arn:aws:states:::aws-sdk:s3:putBucketPolicy", {"Bucket": "data", "Policy": "{}"}),
                      guard=admin_guard("s3:*"))
    assert_denies(policy, "s3:PutBucketPolicy", "arn:aws:s3:::data")
    assert "BLOCKED_ACTION" in codes(policy)


def _subscribe(topic: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:sns:subscribe",
                {"TopicArn": topic, "Protocol": "https", "Endpoint": "https://example.com/hook"})


def test_a_sensitive_action_on_another_accounts_resource_is_refused_and_on_this_accounts_granted() -> None:
    guard = admin_guard("sns:*")
    theirs, ours = (f"arn:aws:sns:{REGION}:{account}:alerts" for account in ("210987654321", ACCOUNT))
    refused = plan_for(_subscribe(theirs), guard=guard)
    assert_denies(refused, "sns:Subscribe", theirs)
    (finding,) = refused.findings
    assert finding.code == "BLOCKED_ACTION" and finding.message.startswith(
        f"sns:Subscribe on {theirs} not granted: a sensitive action on another account's resource (a destination "
        "outside this account keeps receiving data); if this deployment needs it, name the action in a ceiling")
    granted = plan_for(_subscribe(ours), guard=guard)
    assert_allows(granted, "sns:Subscribe", ours)
    assert_denies(granted, "sns:Subscribe", theirs)
    assert codes(granted) == set()
    # an AWS-owned or account-less resource is no other account's; without the machine's account nothing is known
    for resource, account in ((f"arn:aws:sns:{REGION}:aws:alerts", ACCOUNT), (f"arn:aws:sns:{REGION}::alerts", ACCOUNT),
                              (theirs, "")):
        kept, findings = guardrails.apply([Requirement("sns:Subscribe", resource, path="States.T")], guard,
                                          account=account)
        assert [r.resource for r in kept] == [resource] and findings == []


def _forward_logs(destination: str) -> dict[str, Any]:
    return task("arn:aws:states:::aws-sdk:cloudwatchlogs:putSubscriptionFilter",
                {"LogGroupName": "app", "FilterName": "f", "FilterPattern": "", "DestinationArn": destination})


def test_a_subscription_filter_to_another_accounts_destination_is_refused_though_its_arn_holds_colons() -> None:
    """Log group and destination ARNs carry ":" in their resource part (log-group:NAME, destination:NAME): the
    account is still the fifth field."""
    guard = admin_guard("logs:*")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app"
    theirs, ours = (f"arn:aws:logs:{REGION}:{account}:destination:central" for account in ("210987654321", ACCOUNT))
    refused = plan_for(_forward_logs(theirs), guard=guard)
    assert_denies(refused, "logs:PutSubscriptionFilter", theirs)
    assert_denies(refused, "logs:PutSubscriptionFilter", group)  # useless without its destination: refused with it
    assert any(f.code == "BLOCKED_ACTION" and f.message.startswith(
        f"logs:PutSubscriptionFilter on {theirs} not granted: a sensitive action on another account's resource")
        for f in refused.findings)
    granted = plan_for(_forward_logs(ours), guard=guard)
    assert_allows(granted, "logs:PutSubscriptionFilter", ours)
    assert_allows(granted, "logs:PutSubscriptionFilter", group)
    assert_denies(granted, "logs:PutSubscriptionFilter", theirs)
    assert codes(granted) == set()


def test_a_resource_policy_write_is_decided_per_path_whichever_comes_first() -> None:
    """logs:PutResourcePolicy on * is the logging configuration's exception only: the same grant asked by a Task
    is refused, in either order (the decision of one path is not reused for the other)."""
    logging = Requirement("logs:PutResourcePolicy", "*", path="loggingConfiguration")
    task_asks = Requirement("logs:PutResourcePolicy", "*", path="States.Put")
    for reqs in ([logging, task_asks], [task_asks, logging]):
        kept, findings = guardrails.apply(reqs, admin_guard("logs:*"), account=ACCOUNT)
        assert kept == [logging]
        assert [(f.code, f.path) for f in findings] == [("BLOCKED_ACTION", "States.Put")]


def test_the_requests_after_a_refused_role_are_still_decided() -> None:
    admin = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    guard = GuardPolicy(verified_roles=True).refusing_roles([(admin, "admin-equivalent")])
    passed = Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",))
    refused = Requirement("iam:PassRole", admin, (passed,), path="States.Run")
    invoke = Requirement("lambda:InvokeFunction", FUNCTION, path="States.Notify")
    delete = Requirement("dynamodb:DeleteTable", TABLES + "*", path="States.Drop")
    kept, findings = guardrails.apply([refused, invoke, delete], guard, account=ACCOUNT)
    assert kept == [invoke]
    assert [(f.code, f.path) for f in findings] == [("OUTSIDE_CEILING", "States.Drop"),
                                                    ("ROLE_NOT_PASSABLE", "States.Run")]


def test_a_permissions_management_action_no_list_names_is_refused_as_such() -> None:
    """lambda:RemovePermission is not deny-listed: the IAM reference's access level alone refuses it."""
    remove = task("arn:aws:states:::aws-sdk:lambda:removePermission", {"FunctionName": FUNCTION, "StatementId": "s"})
    plan = plan_for(remove, guard=admin_guard("lambda:*"))
    assert_denies(plan, "lambda:RemovePermission", FUNCTION)
    assert [(f.code, f.message) for f in plan.findings] == [("BLOCKED_ACTION", (
        f"lambda:RemovePermission on {FUNCTION} not granted: the IAM reference classifies it as Permissions "
        "management (it changes who may access a resource); never granted automatically; if this deployment needs "
        "it, name the action in a ceiling of its own (CeilingPolicyArn, or the CLI's --ceiling): an action the "
        "ceiling names literally is approved"))]
    approved = plan_for(remove, guard=_own_ceiling("lambda:RemovePermission"))
    assert_allows(approved, "lambda:RemovePermission", FUNCTION)
    assert_denies(approved, "lambda:AddPermission", FUNCTION)
