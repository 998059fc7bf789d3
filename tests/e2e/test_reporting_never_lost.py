"""Reporting is never lost, on moto through the real sweep handlers: an outcome counts as reported only once
EventBridge accepted its event; requests respect PutEvents' count (10) and size (256 KB) limits, emulated here as
the IAM quotas are (scripts/sandbox.py); a refused request or entry (``FailedEntryCount``) skips nothing else (the
other events, the summary, SNS, Security Hub), and the next sweep publishes what was not accepted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts import sandbox
from sfn_iam.aws.ledger import create_table
from tests.e2e.lambda_env import handler_env

from .test_role_sweeper import subscribe_queue

MACHINES = 12
# EventBridge counts an entry as the UTF-8 bytes of Source, DetailType, Detail and each Resources entry, plus 14 for
# Time; a request's entries must total less than 256 KB, and a request carries at most 10 entries
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
LIMIT = 256 * 1024


def _size(entry: dict[str, Any]) -> int:
    return (14 if entry.get("Time") else 0) + sum(len(str(entry.get(k, "")).encode()) for k in
                                                  ("Source", "DetailType", "Detail")) + \
        sum(len(r.encode()) for r in entry.get("Resources", []))


def _invalid(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutEvents")


def enforce_put_events_limits(client: Any, real: Any, refuse: Callable[[dict[str, Any]], bool],
                              log: list[int]) -> None:
    """Make moto refuse what EventBridge refuses (more than 10 entries, 256 KB or more of entries: the whole request,
    ``ValidationException``), and fail the entries ``refuse`` picks inside an accepted request (``FailedEntryCount``,
    the others are put through ``real``, an uninstrumented client)."""

    def limits(params: dict[str, Any], **_: Any) -> None:
        entries = params["Entries"]
        log.append(sum(_size(e) for e in entries))
        if len(entries) > 10:
            raise _invalid("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member "
                           "must have length less than or equal to 10")
        if sum(_size(e) for e in entries) >= LIMIT:
            raise _invalid("Total size of the entries in the request is over the limit.")

    def partial(params: dict[str, Any], **_: Any) -> Any:
        entries = json.loads(params["body"])["Entries"]
        if not any(refuse(e) for e in entries):
            return None
        results = []
        for e in entries:
            if refuse(e):
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "emulated"})
            else:
                results.append({"EventId": real.put_events(Entries=[e])["Entries"][0]["EventId"]})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return AWSResponse("https://events", 200, {}, None), {"FailedEntryCount": failed, "Entries": results}

    client.meta.events.register("before-parameter-build.events.PutEvents", limits)
    client.meta.events.register("before-call.events.PutEvents", partial)


def big_definition(n: int) -> str:
    """A machine whose policy is large (managed overflow), so that its outcome event weighs tens of KB."""
    states = {f"S{i:03d}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": f"arn:aws:lambda:{sandbox.REGION}:{sandbox.ACCOUNT}:"
                                                           f"function:team-{n:02d}-a-rather-long-function-name-{i:03d}",
                                           "Payload.$": "$"},
                            **({"Next": f"S{i + 1:03d}"} if i < 299 else {"End": True})} for i in range(300)}
    return json.dumps({"StartAt": "S000", "States": states})


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # One worker: moto in-process is not thread-safe (two threads attaching policies at once can make its IAM
    # backend raise "dictionary changed size during iteration"); these tests are about delivery, not concurrency.
    handler_env(monkeypatch, "sfn-iam-role-sweeper", IAM_CALLS_PER_SECOND="100", SWEEP_WORKERS="1")
    with mock_aws():
        c = {s: boto3.client(s, region_name=sandbox.REGION)
             for s in ("stepfunctions", "iam", "sqs", "sns", "events", "securityhub")}
        topic, inbox = subscribe_queue(c["sns"], c["sqs"])
        monkeypatch.setenv("FINDINGS_TOPIC_ARN", topic)
        monkeypatch.setenv("SECURITY_HUB_FINDINGS", "true")
        outcomes = sandbox.capture_outcomes(c["events"], c["sqs"])
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        sandbox.create_ceiling(c["iam"])
        arns = {}
        for i in range(MACHINES):
            role = sandbox.create_role(c["iam"], f"big-role-{i:02d}")
            arns[f"big-{i:02d}"] = c["stepfunctions"].create_state_machine(
                name=f"big-{i:02d}", definition=big_definition(i), roleArn=role)["stateMachineArn"]
        refused: set[str] = set()
        sizes: list[int] = []
        original = boto3.session.Session.client

        def instrumented(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(self, *args, **kwargs)
            if client.meta.service_model.service_name == "events":
                enforce_put_events_limits(client, c["events"], lambda e: any(
                    m in json.loads(e["Detail"]).get("stateMachineArn", "") for m in refused), sizes)
            return client

        monkeypatch.setattr(boto3.session.Session, "client", instrumented)
        yield {"c": c, "arns": arns, "inbox": inbox, "outcomes": outcomes, "refused": refused, "sizes": sizes,
               "app": sandbox.load_handler("role_sweeper")}


def sweep(w: dict[str, Any]) -> tuple[dict[str, Any] | Exception, list[dict[str, Any]]]:
    try:
        result: dict[str, Any] | Exception = w["app"].lambda_handler({}, sandbox.FakeContext())
    except Exception as exc:  # the handler fails visibly once everything was delivered
        result = exc
    return result, sandbox.read_outcomes(w["c"]["sqs"], w["outcomes"])


def machines_in(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["detail"]["stateMachineArn"].rsplit(":", 1)[-1] for e in events
                  if e["detail-type"] != "Sweep Completed")


def test_a_refused_entry_skips_nothing_else_and_is_published_by_the_next_sweep(world: dict[str, Any]) -> None:
    c = world["c"]
    world["refused"].add(":big-03")
    result, events = sweep(world)
    # every machine was written (the IAM state does not depend on the reporting)
    for i in range(MACHINES):
        attached = c["iam"].list_attached_role_policies(RoleName=f"big-role-{i:02d}")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached][:1] == [f"sfn-iam.us-east-1.big-{i:02d}.1"]
    # the events are big: ten of them would pass 256 KB, so requests were packed by size, all under the limit
    assert world["sizes"] and max(world["sizes"]) < LIMIT
    assert sum(world["sizes"][:2]) >= LIMIT  # the first two requests: fewer than 11 events, yet over 256 KB
    # every other machine's event, and the summary, went out; the refused one did not
    assert machines_in(events) == sorted(f"big-{i:02d}" for i in range(MACHINES) if i != 3)
    assert [e["detail-type"] for e in events].count("Sweep Completed") == 1
    # SNS and Security Hub were delivered all the same
    note = json.loads(c["sqs"].receive_message(QueueUrl=world["inbox"])["Messages"][0]["Body"])
    assert note["Subject"].startswith("sfn-iam sweep")
    assert c["securityhub"].get_findings()["Findings"]
    # and the sweep failed visibly, naming what was not delivered
    assert isinstance(result, Exception) and type(result).__name__ == "SweepDeliveryError"
    assert "EventBridge did not accept 1 of" in str(result)

    # The next sweep: nothing changed, so no machine is news, except the one whose event was not accepted.
    world["refused"].clear()
    result, events = sweep(world)
    assert isinstance(result, dict), result
    assert machines_in(events) == ["big-03"]
    [again] = [e for e in events if e["detail-type"] != "Sweep Completed"]
    assert again["detail-type"] == "Policy Written" and again["detail"]["status"] == "written"  # as it happened
    assert [e["detail-type"] for e in events].count("Sweep Completed") == 1
    # and once published, it is not published a third time
    result, events = sweep(world)
    assert isinstance(result, dict) and machines_in(events) == []


def test_a_refused_request_skips_no_other_request(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """EventBridge down for one request (a throttle, an outage): the other requests, SNS and Security Hub still go,
    and the events of the refused request come with the next sweep."""
    c = world["c"]
    calls = {"n": 0}

    def first_request_fails(params: dict[str, Any], **_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutEvents")

    original = boto3.session.Session.client

    def failing(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if client.meta.service_model.service_name == "events":
            client.meta.config.retries = {"max_attempts": 1}
            client.meta.events.register("before-parameter-build.events.PutEvents", first_request_fails)
        return client

    monkeypatch.setattr(boto3.session.Session, "client", failing)
    result, events = sweep(world)
    assert type(result).__name__ == "SweepDeliveryError"
    first = machines_in(events)
    assert 0 < len(first) < MACHINES and [e["detail-type"] for e in events].count("Sweep Completed") == 1
    assert c["securityhub"].get_findings()["Findings"]
    assert c["sqs"].receive_message(QueueUrl=world["inbox"]).get("Messages")
    result, events = sweep(world)
    assert isinstance(result, dict), result
    assert sorted(first + machines_in(events)) == sorted(f"big-{i:02d}" for i in range(MACHINES))
