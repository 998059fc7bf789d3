"""Residual removal never removes what another workload uses, on moto through the real sweep handler: the opt-in
removal (``REMOVE_RESIDUAL_POLICIES``) takes a role's other policies away only when it is provable that nothing
outside this Region's sweep uses the role; otherwise the policy stays and a ``RESIDUAL_KEPT`` outcome says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.iam.models import iam_backends

from scripts import sandbox
from sfn_iam.aws.ledger import create_table
from tests.e2e.lambda_env import handler_env
from tests.evaluate import is_allowed

PAYROLL = f"arn:aws:dynamodb:eu-west-1:{sandbox.ACCOUNT}:table/Payroll"
TEAM = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": PAYROLL}]}
# Only state machines of this account and us-east-1 may assume the role (IAM enforces it)
CONFINED = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": sandbox.ACCOUNT},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:states:us-east-1:{sandbox.ACCOUNT}:stateMachine:*"}}}]}
EU_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                               "Parameters": {"TableName": "Payroll", "Item": {}}, "End": True}}}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # One worker: moto in-process is not thread-safe (tests/e2e/moto_serial.py); this file is not about concurrency.
    handler_env(monkeypatch, "sfn-iam-role-sweeper", IAM_CALLS_PER_SECOND="100", REMOVE_RESIDUAL_POLICIES="true",
                SWEEP_WORKERS="1")
    with mock_aws():
        c = {s: boto3.client(s, region_name=sandbox.REGION) for s in ("stepfunctions", "iam", "sqs", "events")}
        c["sfn-eu"] = boto3.client("stepfunctions", region_name="eu-west-1")
        outcomes = sandbox.capture_outcomes(c["events"], c["sqs"])
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        sandbox.create_ceiling(c["iam"])
        yield {"c": c, "outcomes": outcomes}


def shared_role(w: dict[str, Any], trust: dict[str, Any] | None = None) -> str:
    """A role a team uses in us-east-1 (a machine the sweep fixes) that also carries a hand-written policy."""
    c = w["c"]
    role = sandbox.create_role(c["iam"], "shared-role", trust=trust)
    c["iam"].put_role_policy(RoleName="shared-role", PolicyName="team-tables", PolicyDocument=json.dumps(TEAM))
    sandbox.create_state_machine(c["stepfunctions"], "orders", "order_processing.asl.json", role)
    return role


def sweep(w: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    app = sandbox.load_handler("role_sweeper")
    result = app.lambda_handler({}, sandbox.FakeContext())
    return result, sandbox.read_outcomes(w["c"]["sqs"], w["outcomes"])


def assert_kept(w: dict[str, Any], result: dict[str, Any], events: list[dict[str, Any]], why: str) -> None:
    iam = w["c"]["iam"]
    assert result["totals"]["residualPoliciesRemoved"] == 0
    docs = [iam.get_role_policy(RoleName="shared-role", PolicyName=n)["PolicyDocument"]
            for n in iam.list_role_policies(RoleName="shared-role")["PolicyNames"]]
    assert is_allowed(docs, "dynamodb:PutItem", PAYROLL)  # what the other workload needs is still granted
    [kept] = [e for e in events if e["detail"].get("action") == "remove-residual"]
    [finding] = kept["detail"]["findings"]
    assert finding["code"] == "RESIDUAL_KEPT" and why in finding["message"], finding
    assert [e["policyName"] for e in kept["detail"]["residualAccess"]] == ["team-tables"]


def test_a_machine_of_another_region_without_sfn_iam_there_keeps_the_policy(world: dict[str, Any]) -> None:
    role = shared_role(world)
    world["c"]["sfn-eu"].create_state_machine(name="payroll", definition=json.dumps(EU_MACHINE), roleArn=role)
    result, events = sweep(world)
    assert_kept(world, result, events, "does not confine it to state machines of us-east-1")


def test_a_machine_of_another_region_in_managed_overflow_keeps_the_policy(world: dict[str, Any]) -> None:
    iam = world["c"]["iam"]
    shared_role(world, CONFINED)
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                     "Resource": f"arn:aws:sqs:eu-west-1:{sandbox.ACCOUNT}:q"}]}
    arn = iam.create_policy(PolicyName="sfn-iam.eu-west-1.payroll.1", Path="/sfn-iam/",
                            PolicyDocument=json.dumps(other))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="shared-role", PolicyArn=arn)
    result, events = sweep(world)
    assert_kept(world, result, events, "sfn-iam.eu-west-1.payroll.1, written for a state machine of another Region")


def test_a_role_iam_saw_used_in_another_region_keeps_the_policy(world: dict[str, Any]) -> None:
    role = shared_role(world, CONFINED)  # confined today; last used from eu-west-1 before that
    backend = iam_backends[sandbox.ACCOUNT]["aws"].get_role_by_arn(role)
    backend.last_used, backend.last_used_region = datetime.now(UTC), "eu-west-1"
    result, events = sweep(world)
    assert_kept(world, result, events, "IAM last saw it used in eu-west-1")


def test_a_role_confined_to_this_region_and_used_only_here_loses_the_policy(world: dict[str, Any]) -> None:
    role = shared_role(world, CONFINED)
    backend = iam_backends[sandbox.ACCOUNT]["aws"].get_role_by_arn(role)
    backend.last_used, backend.last_used_region = datetime.now(UTC), "us-east-1"
    result, events = sweep(world)
    assert result["totals"]["residualPoliciesRemoved"] == 1
    assert world["c"]["iam"].list_role_policies(RoleName="shared-role")["PolicyNames"] == ["sfn-iam.us-east-1.orders"]
    [removal] = [e for e in events if e["detail"].get("action") == "remove-residual"]
    assert removal["detail"]["residualAccess"][0]["document"] == TEAM  # what `sfn-iam restore` puts back
