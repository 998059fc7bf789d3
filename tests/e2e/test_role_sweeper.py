"""The scheduled role sweeper Lambda and the `sfn-iam sweep` CLI on moto: where the findings go (EventBridge
events in the fixer's schema, the SNS summary, Security Hub in ASFF) and the posture reports."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from scripts import sandbox
from sfn_iam import cli
from sfn_iam.aws.ledger import create_table
from tests.e2e.lambda_env import handler_env

ROOT = Path(__file__).resolve().parents[2]
DYNAMIC = json.dumps({"StartAt": "P", "States": {"P": {
    "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
    "Parameters": {"TopicArn.$": "$.topic", "Message": "m"}}}})


def populate(sfn: Any, iam: Any) -> dict[str, str]:
    """Three machines: a static one, one with a dynamic topic (a wildcard with a finding), one broken; plus a
    hand-edited policy and an orphaned one."""
    role = sandbox.create_role(iam, "gov-role")
    arns = {
        "orders": sandbox.create_state_machine(sfn, "orders", "order_processing.asl.json", role),
        "dynamic": sfn.create_state_machine(name="dynamic", definition=DYNAMIC, roleArn=role)["stateMachineArn"],
    }
    iam.put_role_policy(RoleName="gov-role", PolicyName="sfn-iam.us-east-1.orders", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    iam.put_role_policy(RoleName="gov-role", PolicyName="sfn-iam.us-east-1.deleted-long-ago", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    return arns


def subscribe_queue(sns: Any, sqs: Any) -> tuple[str, str]:
    topic = sns.create_topic(Name="governance")["TopicArn"]
    url = sqs.create_queue(QueueName="governance-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, url


@pytest.fixture
def lambda_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # One worker: moto in-process is not thread-safe (tests/e2e/moto_serial.py); these tests are not about concurrency.
    handler_env(monkeypatch, "sfn-iam-role-sweeper", SWEEP_WORKERS="1")
    with mock_aws():
        clients = {s: boto3.client(s, region_name=sandbox.REGION)
                   for s in ("stepfunctions", "iam", "sqs", "sns", "events", "securityhub")}
        topic, inbox = subscribe_queue(clients["sns"], clients["sqs"])
        monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)
        monkeypatch.setenv("SECURITY_HUB_FINDINGS", "true")
        monkeypatch.setenv("IAM_CALLS_PER_SECOND", "100")
        outcomes = sandbox.capture_outcomes(clients["events"], clients["sqs"])
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        yield {"clients": clients, "inbox": inbox, "outcomes": outcomes, "arns": populate(clients["stepfunctions"],
                                                                                          clients["iam"])}


def test_scheduled_sweep_repairs_and_reports_everywhere(lambda_world: dict[str, Any]) -> None:
    c = lambda_world["clients"]
    app = sandbox.load_handler("role_sweeper")
    result = app.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, sandbox.FakeContext())
    totals = result["totals"]
    assert totals["stateMachines"] == 2 and totals["drift"] == 1 and totals["orphansRemoved"] == 1
    names = set(c["iam"].list_role_policies(RoleName="gov-role")["PolicyNames"])
    assert names == {"sfn-iam.us-east-1.orders", "sfn-iam.us-east-1.dynamic"}
    restored = c["iam"].get_role_policy(RoleName="gov-role", PolicyName="sfn-iam.us-east-1.orders")
    assert "*" not in json.dumps(restored["PolicyDocument"]["Statement"][0]["Action"])

    events = sandbox.read_outcomes(c["sqs"], lambda_world["outcomes"])
    kinds = sorted(e["detail-type"] for e in events)
    assert kinds.count("Sweep Completed") == 1 and kinds.count("Policy Removed") == 1
    drift_event = next(e for e in events if e["detail"].get("stateMachineArn") == lambda_world["arns"]["orders"])
    assert any(f["code"] == "DRIFT" for f in drift_event["detail"]["findings"])
    assert drift_event["detail"]["action"] == "sweep"

    messages = c["sqs"].receive_message(QueueUrl=lambda_world["inbox"], MaxNumberOfMessages=10)["Messages"]
    note = json.loads(messages[0]["Body"])
    assert note["Subject"].startswith("sfn-iam sweep 123456789012 us-east-1") and "drift: 1" in note["Message"]

    findings = c["securityhub"].get_findings()["Findings"]
    assert result["securityHubFindings"] == len(findings) > 0
    assert {"sfn-iam/DRIFT", "sfn-iam/DYNAMIC_RESOURCE"} <= {f["GeneratorId"] for f in findings}

    again = app.lambda_handler({}, sandbox.FakeContext())
    assert again["totals"]["writes"] == 0 and again["totals"]["drift"] == 0
    assert len(c["securityhub"].get_findings()["Findings"]) == len(findings)  # same ids: updated, not duplicated


# -- the CLI against a moto server ------------------------------------------------------------------------------------

@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        yield endpoint
    finally:
        server.stop()


def test_cli_sweep_writes_reports_and_draws_progress(moto_server: str, tmp_path: Path) -> None:
    sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
    iam = boto3.client("iam", region_name=sandbox.REGION)
    arns = populate(sfn, iam)
    out, err = io.StringIO(), io.StringIO()
    js, md = tmp_path / "posture.json", tmp_path / "posture.md"
    code = cli.main(["sweep", "--region", sandbox.REGION, "--role-path", sandbox.ROLE_PATH, "--report-json", str(js),
                     "--report-md", str(md), "--progress", "--workers", "1"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "[" + "#" * 30 + "] 2/2" in err.getvalue()
    assert "(report)" in out.getvalue() and "0 writes" in out.getvalue()
    report = json.loads(js.read_text())
    assert report["totals"]["drift"] == 1 and report["totals"]["orphansProposed"] == 1
    dynamic = next(m for m in report["stateMachines"] if m["stateMachineArn"] == arns["dynamic"])
    assert dynamic["wildcards"] and dynamic["wildcards"][0]["why"]
    text = md.read_text()
    assert text.startswith("# sfn-iam posture report: account 123456789012, us-east-1") and "DRIFT" in text
    # report mode wrote nothing
    doc = iam.get_role_policy(RoleName="gov-role", PolicyName="sfn-iam.us-east-1.orders")["PolicyDocument"]
    assert doc["Statement"][0]["Action"] == "*"

    code = cli.main(["sweep", "--region", sandbox.REGION, "--role-path", sandbox.ROLE_PATH, "--mode", "enforce",
                     "--fail-on", "high", "--workers", "1"], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    names = set(iam.list_role_policies(RoleName="gov-role")["PolicyNames"])
    assert names == {"sfn-iam.us-east-1.orders", "sfn-iam.us-east-1.dynamic"}
    # DYNAMIC_RESOURCE is medium: exit 3 (findings)
    assert cli.main(["sweep", "--region", sandbox.REGION, "--role-path", sandbox.ROLE_PATH, "--fail-on", "medium",
                     "--workers", "1"], out=io.StringIO(), err=io.StringIO()) == 3


def test_cli_sweep_without_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    err = io.StringIO()
    assert cli.main(["sweep", "--region", "eu-west-1"], out=io.StringIO(), err=err) == 1
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("sfn-iam: error: no AWS credentials")


def test_cli_sweep_without_region_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    err = io.StringIO()
    assert cli.main(["sweep"], out=io.StringIO(), err=err) == 1
    assert err.getvalue() == "sfn-iam: error: no AWS region: pass --region or set AWS_REGION\n"


def test_every_iam_request_takes_a_token(lambda_world: dict[str, Any]) -> None:
    """The pacing hook fires on each IAM request the sweep sends (pages included), and on no other client's."""
    from sfn_iam.aws.clients import TokenBucket, rate_limit
    from sfn_iam.aws.iam import IamRolePolicyStore
    from sfn_iam.aws.stepfunctions import StepFunctionsReader
    from sfn_iam.fixing import settings as config
    from sfn_iam.governance.sweep import Sweeper

    class Counting(TokenBucket):
        taken = 0

        def acquire(self) -> None:
            Counting.taken += 1
            super().acquire()

    iam = boto3.client("iam", region_name=sandbox.REGION)
    sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
    counter = sandbox.CallCounter().attach(iam, sfn)
    rate_limit(iam, Counting(1000, burst=1000))
    store = IamRolePolicyStore(iam, partition="aws", account=sandbox.ACCOUNT, role_path=sandbox.ROLE_PATH)
    Sweeper(StepFunctionsReader(sfn), store, config.from_env(dict(sandbox.FIXER_ENV)), sandbox.REGION,
            workers=1).run()
    assert Counting.taken == counter.total("iam") >= 5  # GetRole, the listing's pages, writes: every one paced


def test_cli_sweep_refuses_an_unwritable_report_before_touching_aws(tmp_path: Path) -> None:
    err = io.StringIO()
    target = tmp_path / "missing-dir" / "posture.json"
    assert cli.main(["sweep", "--region", "us-east-1", "--report-json", str(target)], out=io.StringIO(), err=err) == 1
    assert err.getvalue() == f"sfn-iam: error: cannot write {target}\n"


def test_overflow_to_managed_policies_is_stable_across_sweeps_under_iam_quotas(lambda_world: dict[str, Any]) -> None:
    """With IAM's inline quota enforced, a machine whose role is full goes to managed policies; the next sweep
    finds them through the holders listing and the attached list, and writes nothing."""
    from sfn_iam.aws.iam import IamRolePolicyStore
    from sfn_iam.aws.stepfunctions import StepFunctionsReader
    from sfn_iam.fixing import settings as config
    from sfn_iam.governance.sweep import Sweeper

    iam = boto3.client("iam", region_name=sandbox.REGION)
    sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
    sandbox.enforce_iam_quotas(iam)
    role = sandbox.create_role(iam, "full-role")
    iam.put_role_policy(RoleName="full-role", PolicyName="team-owned", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": [f"arn:aws:s3:::b{i:05d}/*" for i in range(420)]}]}))
    sandbox.create_state_machine(sfn, "big", "order_processing.asl.json", role)
    counter = sandbox.CallCounter().attach(iam)

    def sweep() -> Any:
        counter.reset()
        store = IamRolePolicyStore(iam, partition="aws", account=sandbox.ACCOUNT, role_path=sandbox.ROLE_PATH)
        return Sweeper(StepFunctionsReader(sfn), store, config.from_env(dict(sandbox.FIXER_ENV)),
                       sandbox.REGION, workers=1).run()

    first = sweep()
    big = next(o for o in first.outcomes if o.state_machine_arn.endswith(":big"))
    assert (big.status.value, big.placement) == ("written", "managed")
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="full-role")["AttachedPolicies"]]
    assert attached == ["sfn-iam.us-east-1.big.1"]
    second = sweep()
    assert second.writes == 0 and counter.writes() == 0 and not second.orphans
