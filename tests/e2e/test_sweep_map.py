"""The sweep state machine on moto: its Lambda driven as Step Functions runs statemachines/sweep.asl.json
(scripts/sweep_map.py: listing, batches of the definition's size, at most MaxConcurrency at once, retries, the
ResultWriter's files, the summary). The guarantees of the single-Lambda sweep, across batches: drift repaired,
orphans removed, no write on an unchanged second run, report mode writes nothing; a batch that keeps failing is
reported with its machines, and the sweep fails visibly."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts import sandbox, sweep_map
from sfn_iam.aws.ledger import create_table
from sfn_iam.governance import sweep
from tests.e2e.lambda_env import handler_env
from tests.e2e.moto_serial import serialise_moto

from .test_residual_outside_view import CONFINED
from .test_role_sweeper import populate, subscribe_queue

BUCKET = "sfn-iam-sweepbucket-test"
EXTRA = 110  # with populate's two: three batches of at most 50


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    handler_env(monkeypatch, "sfn-iam-sweep-steps", IAM_CALLS_PER_SECOND="100", SWEEP_BUCKET_NAME=BUCKET)
    # Concurrent batches of four workers each, as deployed; moto answers one request at a time (not thread-safe).
    serialised = serialise_moto(monkeypatch)
    with mock_aws():
        c = {s: boto3.client(s, region_name=sandbox.REGION)
             for s in ("stepfunctions", "iam", "sqs", "sns", "events", "securityhub", "s3")}
        topic, inbox = subscribe_queue(c["sns"], c["sqs"])
        monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)
        monkeypatch.setenv("SECURITY_HUB_FINDINGS", "true")
        outcomes = sandbox.capture_outcomes(c["events"], c["sqs"])
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        c["s3"].create_bucket(Bucket=BUCKET)
        c["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        arns = populate(c["stepfunctions"], c["iam"])
        roles = [sandbox.create_role(c["iam"], f"map-role-{i}") for i in range(5)]
        arns |= {f"m{i:03d}": sandbox.create_state_machine(c["stepfunctions"], f"m{i:03d}", "inventory_sync.asl.json",
                                                           roles[i % len(roles)]) for i in range(EXTRA)}
        counter = sandbox.CallCounter()
        original = boto3.session.Session.client

        def counted(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
            """Every client the handler makes counts its calls (the handler builds its own, as in Lambda)."""
            client = original(self, *args, **kwargs)
            counter.attach(client)
            return client

        monkeypatch.setattr(boto3.session.Session, "client", counted)
        yield {"c": c, "arns": arns, "inbox": inbox, "outcomes": outcomes, "counter": counter,
               "app": sandbox.load_handler("sweep_steps"), "moto": serialised}


def sweep_once(w: dict[str, Any], **kwargs: Any) -> sweep_map.MapRun:
    w["counter"].reset()
    return sweep_map.run(w["app"], w["c"]["s3"], BUCKET, **kwargs)


def iam_writes(w: dict[str, Any]) -> int:
    return int(w["counter"].writes())


def test_the_map_sweeps_every_machine_in_batches_repairs_drift_and_removes_orphans(world: dict[str, Any]) -> None:
    c = world["c"]
    run = sweep_once(world)
    assert run.error is None, run.error
    assert [e["Status"] for e in run.entries] == ["SUCCEEDED"] * 3  # 112 machines: 50 + 50 + 12
    assert [len(json.loads(e["Input"])["Items"]) for e in run.entries] == [50, 50, 12]
    assert len({t for t in world["moto"].threads if t.startswith("sweep")}) > 1  # the batches' workers reached moto
    totals = run.summary["totals"] if run.summary else {}
    assert totals["stateMachines"] == EXTRA + 2 and totals["errors"] == 0
    assert totals["drift"] == 1 and totals["orphansRemoved"] == 1
    names = set(c["iam"].list_role_policies(RoleName="gov-role")["PolicyNames"])
    assert names == {"sfn-iam.us-east-1.orders", "sfn-iam.us-east-1.dynamic"}  # the orphan is gone
    restored = c["iam"].get_role_policy(RoleName="gov-role", PolicyName="sfn-iam.us-east-1.orders")
    assert "*" not in json.dumps(restored["PolicyDocument"]["Statement"][0]["Action"])  # the hand edit is repaired
    for i in (0, 49, 50, 109):  # a machine of each batch got its policy on its own role
        role = f"map-role-{i % 5}"
        assert f"sfn-iam.us-east-1.m{i:03d}" in c["iam"].list_role_policies(RoleName=role)["PolicyNames"]
    # the summary event as today, the report in the bucket, the Security Hub findings
    events = sandbox.read_outcomes(c["sqs"], world["outcomes"])
    [completed] = [e for e in events if e.get("detail-type") == "Sweep Completed"]
    assert completed["detail"]["totals"]["stateMachines"] == EXTRA + 2
    report = json.loads(c["s3"].get_object(Bucket=BUCKET, Key=run.summary["reports"][0])["Body"].read())
    assert {m["stateMachineArn"] for m in report["stateMachines"]} == set(world["arns"].values())
    assert report["orphanedPolicies"][0]["policyName"] == "sfn-iam.us-east-1.deleted-long-ago"
    markdown = c["s3"].get_object(Bucket=BUCKET, Key=run.summary["reports"][1])["Body"].read().decode()
    assert markdown.startswith("# sfn-iam posture report")


def test_an_unchanged_second_sweep_writes_nothing(world: dict[str, Any]) -> None:
    first = sweep_once(world)
    assert first.error is None and iam_writes(world) > EXTRA  # one policy per machine, and its read-back
    second = sweep_once(world)
    assert second.error is None, second.error
    assert iam_writes(world) == 0
    totals = second.summary["totals"] if second.summary else {}
    assert totals["writes"] == 0 and totals["drift"] == 0 and totals["orphansRemoved"] == 0
    assert totals["byStatus"] == {"unchanged": EXTRA + 2}
    # what the previous sweep reported, but for the drifted machine (its DRIFT finding is gone): not published again
    assert totals["unchangedSinceLastSweep"] == EXTRA + 1


def test_report_mode_writes_nothing_and_says_what_it_would_change(world: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "report")
    c = world["c"]
    before = {r: sorted(c["iam"].list_role_policies(RoleName=r)["PolicyNames"])
              for r in ("gov-role", *(f"map-role-{i}" for i in range(5)))}
    run = sweep_once(world)
    assert iam_writes(world) == 0
    assert {r: sorted(c["iam"].list_role_policies(RoleName=r)["PolicyNames"]) for r in before} == before
    totals = run.summary["totals"] if run.summary else {}
    assert totals["writes"] == 0 and totals["byStatus"] == {"proposed": EXTRA + 2}
    assert totals["orphansProposed"] == 1 and totals["drift"] == 1 and totals["proposedChanges"] >= EXTRA + 2
    # nothing but the sweep's own files: the listing, the Map's results, the report
    keys = {o["Key"].split("/")[0] for o in c["s3"].list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"listing", "results", "reports"}


def test_the_batch_step_sweeps_its_items_only_and_returns_what_the_summary_reads(world: dict[str, Any]) -> None:
    c = world["c"]
    items = [world["arns"]["m000"], world["arns"]["m001"]]
    out = world["app"].lambda_handler({"step": "batch", "items": items}, sweep_map.Context())
    assert out["version"] == "1" and out["errors"] == []
    assert [o["stateMachineArn"] for o in out["outcomes"]] == items
    assert {o["status"] for o in out["outcomes"]} == {"written"}
    # a batch neither removes orphans nor touches machines of other batches
    assert "sfn-iam.us-east-1.deleted-long-ago" in c["iam"].list_role_policies(RoleName="gov-role")["PolicyNames"]
    assert c["iam"].list_role_policies(RoleName="map-role-2")["PolicyNames"] == []
    assert len(json.dumps(out)) < 256 * 1024


def test_a_batch_throttled_past_its_retries_is_reported_with_its_machines_and_the_sweep_fails(
        world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    victim = world["arns"]["m055"]  # in the second batch
    fix = sweep.Sweeper._fix

    def throttled(self: sweep.Sweeper, arn: str) -> Any:
        if arn == victim:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "GetRole")
        return fix(self, arn)

    monkeypatch.setattr(sweep.Sweeper, "_fix", throttled)
    run = sweep_once(world)
    assert [e["Status"] for e in run.entries] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert run.entries[1]["Error"] == "IamThrottled"
    retry = next(r for r in sweep_map.RETRY if "IamThrottled" in r["ErrorEquals"])
    assert run.attempts == [1, 1 + retry["MaxAttempts"], 1]
    # the summary still reports everything, then fails the execution
    assert run.error is not None and type(run.error).__name__ == "SweepIncompleteError"
    events = sandbox.read_outcomes(world["c"]["sqs"], world["outcomes"])
    [completed] = [e for e in events if e.get("detail-type") == "Sweep Completed"]
    failed = {e["target"] for e in completed["detail"]["errors"]}
    assert victim in failed and len(failed) == 50  # the whole batch: its child execution failed
    assert all("IamThrottled" in e["error"] for e in completed["detail"]["errors"])
    assert completed["detail"]["totals"]["stateMachines"] == EXTRA + 2 - 50
    # machines of the other batches were fixed, and orphans removed all the same
    c = world["c"]
    assert "sfn-iam.us-east-1.m000" in c["iam"].list_role_policies(RoleName="map-role-0")["PolicyNames"]
    assert "sfn-iam.us-east-1.deleted-long-ago" not in c["iam"].list_role_policies(RoleName="gov-role")["PolicyNames"]


def test_the_summary_removes_residual_policies_once_every_machine_was_handled(
        world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    c = world["c"]
    star = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    # confined to this Region's state machines: the opt-in removal may prove nothing else uses it
    role = sandbox.create_role(c["iam"], "wide-role", trust=CONFINED)
    c["iam"].put_role_policy(RoleName="wide-role", PolicyName="do-anything", PolicyDocument=json.dumps(star))
    sandbox.create_state_machine(c["stepfunctions"], "wide", "inventory_sync.asl.json", role)
    first = sweep_once(world)  # off by default: reported, never removed
    assert first.summary and first.summary["totals"]["residualRoles"] >= 1
    assert "do-anything" in c["iam"].list_role_policies(RoleName="wide-role")["PolicyNames"]
    monkeypatch.setenv("REMOVE_RESIDUAL_POLICIES", "true")
    run = sweep_once(world)
    assert run.error is None and run.summary and run.summary["totals"]["residualPoliciesRemoved"] == 1
    assert c["iam"].list_role_policies(RoleName="wide-role")["PolicyNames"] == ["sfn-iam.us-east-1.wide"]
    events = sandbox.read_outcomes(c["sqs"], world["outcomes"])
    [removal] = [e for e in events if e["detail"].get("action") == "remove-residual"]
    saved = {e["policyName"]: e for e in removal["detail"]["residualAccess"]}
    assert saved["do-anything"]["document"] == star  # what `sfn-iam restore` puts back


def test_once_the_ledger_knows_the_roles_a_batch_reads_each_role_once(world: dict[str, Any]) -> None:
    # m000..m109 on map-role-0..4 in turn: by name, every batch meets all five roles; by role, a few
    def listing(run: sweep_map.MapRun) -> list[str]:
        body = world["c"]["s3"].get_object(Bucket=BUCKET, Key="listing/state-machines.json",
                                           VersionId=run.listing["versionId"])["Body"].read()
        return list(json.loads(body))

    def roles_per_batch(run: sweep_map.MapRun) -> list[int]:
        return [len({o["roleArn"] for o in json.loads(e["Output"])["outcomes"]}) for e in run.entries]

    first = sweep_once(world)
    assert listing(first) == sorted(listing(first))  # the first sweep: no ledger entry yet
    assert roles_per_batch(first) == [6, 5, 6]  # gov-role (dynamic, orders) and map-role-0..4
    reads = world["counter"].calls["iam:GetRole"]
    second = sweep_once(world)
    assert set(listing(second)) == set(world["arns"].values()) and listing(second) != sorted(listing(second))
    assert roles_per_batch(second) == [4, 3, 1]  # gov-role 2, map-role-0 22, -1 22, -2 4 | 18, 22, 10 | 12
    assert world["counter"].calls["iam:GetRole"] == 8 < reads


def test_child_executions_take_turns_in_the_one_execution_environment_the_module_is() -> None:
    # Lambda runs one invocation at a time in an environment: the emulator's batches share one module (its metrics,
    # logger keys and clients), so their invocations must not overlap
    guard = threading.Lock()
    active, most = 0, 0

    class App:
        def lambda_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
            nonlocal active, most
            with guard:
                active += 1
                most = max(most, active)
            time.sleep(0.02)
            with guard:
                active -= 1
            return {"outcomes": [], "items": event["items"]}

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda i: sweep_map.child(App(), [f"m{i}"], f"batch-{i}"), range(8)))
    assert [json.loads(e["Output"])["items"] for e, _ in done] == [[f"m{i}"] for i in range(8)]
    assert most == 1
