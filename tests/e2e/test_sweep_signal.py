"""The scheduled sweeper on moto: a second sweep with nothing new publishes no per-machine outcome; the
opt-in removal of residual access saves what it removes, and `sfn-iam restore` puts it back."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts import sandbox
from sfn_iam import cli
from sfn_iam.aws.ledger import create_table
from tests.e2e.lambda_env import handler_env
from tests.e2e.test_residual_outside_view import CONFINED
from tests.evaluate import is_allowed

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TABLE = f"arn:aws:dynamodb:{sandbox.REGION}:{sandbox.ACCOUNT}:table/Orders"
PAYROLL = f"arn:aws:dynamodb:{sandbox.REGION}:{sandbox.ACCOUNT}:table/Payroll"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # One worker: moto in-process is not thread-safe (tests/e2e/moto_serial.py); this file is not about concurrency.
    handler_env(monkeypatch, "sfn-iam-role-sweeper", IAM_CALLS_PER_SECOND="100", MOTO_IAM_LOAD_MANAGED_POLICIES="true",
                SWEEP_WORKERS="1")
    with mock_aws():
        c = {s: boto3.client(s, region_name=sandbox.REGION) for s in ("stepfunctions", "iam", "sqs", "events")}
        outcomes = sandbox.capture_outcomes(c["events"], c["sqs"])
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        # confined to this Region's state machines: the opt-in removal may prove nothing else uses it
        role = sandbox.create_role(c["iam"], "wide-role", trust=CONFINED)
        c["iam"].attach_role_policy(RoleName="wide-role", PolicyArn=ADMIN)
        c["iam"].put_role_policy(RoleName="wide-role", PolicyName="do-anything", PolicyDocument=json.dumps(STAR))
        sandbox.create_state_machine(c["stepfunctions"], "orders", "order_processing.asl.json", role)
        clean = sandbox.create_role(c["iam"], "clean-role")
        sandbox.create_state_machine(c["stepfunctions"], "inventory", "inventory_sync.asl.json", clean)
        yield {"c": c, "outcomes": outcomes}


def sweep(world: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    app = sandbox.load_handler("role_sweeper")
    result = app.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, sandbox.FakeContext())
    return result, sandbox.read_outcomes(world["c"]["sqs"], world["outcomes"])


def per_machine(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["detail-type"] != "Sweep Completed"]


def test_a_second_sweep_with_nothing_new_publishes_only_its_summary(world: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    first, events = sweep(world)
    # two policies, and the ceiling as the boundary of each of the two roles
    assert first["totals"]["writes"] == 4 and first["totals"]["residualAdminRoles"] == 1
    assert {e["detail"]["stateMachineArn"].rsplit(":", 1)[-1] for e in per_machine(events)} == {"orders", "inventory"}
    critical = next(e for e in events if e["detail"].get("stateMachineArn", "").endswith(":orders"))
    assert critical["detail"]["maxSeverity"] == "CRITICAL"
    # Nothing changed: no per-machine outcome, the daily summary only (it still counts the residual role).
    second, events = sweep(world)
    assert second["totals"]["writes"] == 0 and second["totals"]["unchangedSinceLastSweep"] == 2
    assert [e["detail-type"] for e in events] == ["Sweep Completed"]
    assert events[0]["detail"]["totals"]["residualAdminRoles"] == 1
    # A new finding is news again: another admin-equivalent policy on the role.
    world["c"]["iam"].put_role_policy(RoleName="wide-role", PolicyName="pass-anything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}))
    _, events = sweep(world)
    [news] = per_machine(events)
    assert news["detail"]["stateMachineArn"].endswith(":orders")
    assert any("pass-anything" in f["message"] for f in news["detail"]["findings"])


def test_report_mode_repeats_no_proposal_either(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "report")
    _, events = sweep(world)
    assert len(per_machine(events)) == 2 and all(e["detail"]["status"] == "proposed" for e in per_machine(events))
    _, events = sweep(world)
    assert per_machine(events) == []


def test_opt_in_removal_saves_the_documents_and_restore_puts_them_back(world: dict[str, Any], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    iam = world["c"]["iam"]
    # Off by default: reported, never removed.
    sweep(world)
    assert iam.list_attached_role_policies(RoleName="wide-role")["AttachedPolicies"]
    monkeypatch.setenv("REMOVE_RESIDUAL_POLICIES", "true")
    result, events = sweep(world)
    assert result["totals"]["residualPoliciesRemoved"] == 2
    # The role now grants what its machine requests and nothing else: no admin, no neighbour table.
    docs = [iam.get_role_policy(RoleName="wide-role", PolicyName=n)["PolicyDocument"]
            for n in iam.list_role_policies(RoleName="wide-role")["PolicyNames"]]
    assert iam.list_attached_role_policies(RoleName="wide-role")["AttachedPolicies"] == []
    assert is_allowed(docs, "dynamodb:PutItem", TABLE)
    assert not is_allowed(docs, "dynamodb:PutItem", PAYROLL) and not is_allowed(docs, "iam:CreateUser", "*")
    # The removal is an outcome event carrying the removed documents.
    [removal] = [e for e in events if e["detail"].get("action") == "remove-residual"]
    assert removal["detail-type"] == "Policy Removed"
    saved = {e["policyName"]: e for e in removal["detail"]["residualAccess"]}
    assert saved["do-anything"]["document"] == STAR and saved["AdministratorAccess"]["policyArn"] == ADMIN
    assert {f["code"] for f in removal["detail"]["findings"]} == {"RESIDUAL_REMOVED"}
    # The clean role was not touched.
    assert iam.list_role_policies(RoleName="clean-role")["PolicyNames"] == ["sfn-iam.us-east-1.inventory"]
    # Restore from the event: a dry run first, then --apply.
    event_file = tmp_path / "removal.json"
    event_file.write_text(json.dumps(removal))
    out = io.StringIO()
    assert cli.main(["restore", str(event_file)], out=out, err=io.StringIO()) == 0
    assert "would put inline policy do-anything" in out.getvalue()
    assert iam.list_attached_role_policies(RoleName="wide-role")["AttachedPolicies"] == []
    assert cli.main(["restore", str(event_file), "--apply", "--region", sandbox.REGION], out=io.StringIO(),
                    err=io.StringIO()) == 0
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="wide-role")["AttachedPolicies"]] == [
        ADMIN]
    assert iam.get_role_policy(RoleName="wide-role", PolicyName="do-anything")["PolicyDocument"] == STAR


def test_a_role_with_a_machine_of_another_region_keeps_its_other_policies(world: dict[str, Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    iam = world["c"]["iam"]
    iam.put_role_policy(RoleName="wide-role", PolicyName="sfn-iam.eu-west-1.orders", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    monkeypatch.setenv("REMOVE_RESIDUAL_POLICIES", "true")
    result, _ = sweep(world)
    assert result["totals"]["residualPoliciesRemoved"] == 0
    assert iam.list_attached_role_policies(RoleName="wide-role")["AttachedPolicies"]
