"""The role fixer end to end: events/*.json → real handler → moto IAM/Step Functions → role policies + published
outcome events (captured by an EventBridge rule → SQS queue in moto) + AWS call counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from scripts import sandbox
from sfn_iam import engine
from sfn_iam.model import StateMachine

from .conftest import World

POLICY = "sfn-iam.us-east-1.OrderProcessing"
ROLE, ROLE2 = "OrderProcessingRole", "OrderProcessingRoleV2"


def _create(world: World, *, name: str = "OrderProcessing", role: str = ROLE,
            example: str = "order_processing.asl.json") -> tuple[str, str]:
    existing = {r["RoleName"]: r["Arn"] for r in world.iam.list_roles()["Roles"]}
    role_arn = existing.get(role) or world.role(role)
    return world.machine(name, example, role_arn), role_arn


def _event(file: str, sm_arn: str, role_arn: str | None = None) -> dict[str, Any]:
    return sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm_arn, role_arn=role_arn)


def _expected_document(world: World, sm_arn: str) -> dict[str, Any]:
    """The latest definition's policy, with the versions its aliases route to (that differ from it)."""
    def machine(arn: str) -> StateMachine:
        d = world.sfn.describe_state_machine(stateMachineArn=arn)
        return StateMachine(arn=arn, definition=json.loads(d["definition"]), role_arn=d["roleArn"])
    latest = machine(sm_arn)
    routed = sorted({r["stateMachineVersionArn"]
                     for a in world.sfn.list_state_machine_aliases(stateMachineArn=sm_arn)["stateMachineAliases"]
                     for r in world.sfn.describe_state_machine_alias(
                         stateMachineAliasArn=a["stateMachineAliasArn"])["routingConfiguration"]})
    versions = tuple(v for v in map(machine, routed) if v.definition != latest.definition)
    plan = engine.plan(StateMachine(arn=sm_arn, definition=latest.definition, role_arn=latest.role_arn,
                                    versions=versions))
    assert len(plan.documents) == 1
    return plan.documents[0]


def _only_published(world: World) -> dict[str, Any]:
    published = world.published()
    assert len(published) == 1, published
    return published[0]


# -- every event file ------------------------------------------------------------------------------------------

EXPECTED = {  # event file → status after the setup of test_every_event_file
    "create_state_machine.json": ("written", "Policy Written"),
    "update_state_machine_definition.json": ("written", "Policy Written"),
    "update_state_machine_role.json": ("written", "Policy Written"),
    "delete_state_machine.json": ("removed", "Policy Removed"),
    "publish_state_machine_version.json": ("written", "Policy Written"),  # version 1 still live: union with v2
    "update_state_machine_alias.json": ("written", "Policy Written"),
    "create_state_machine_failed_call.json": ("ignored", "Event Ignored"),
    "unrelated_event.json": ("ignored", "Event Ignored"),
}
EVENT_FILES = sorted(p.name for p in sandbox.EVENTS.glob("*.json") if not p.name.startswith("env."))


def test_every_event_file_is_covered() -> None:
    assert sorted(EXPECTED) == EVENT_FILES


@pytest.mark.parametrize("file", EVENT_FILES)
def test_every_event_file(world: World, file: str) -> None:
    # GIVEN the world the event describes, as it is after the recorded call
    sm, role2 = sandbox.stage(file, world.sfn, world.iam, world.invoke)
    role2 = role2 if file == "update_state_machine_role.json" else None
    world.published()
    world.counter.reset()
    # WHEN the event is delivered
    result = world.invoke(_event(file, sm, role2))
    # THEN the outcome, the role policies and the published event agree
    status, detail_type = EXPECTED[file]
    assert result["status"] == status
    published = _only_published(world)
    assert published["source"] == "sfn-iam"
    assert published["detail-type"] == detail_type
    assert published["detail"] == json.loads(json.dumps(result))
    if status == "ignored":
        assert world.counter.total("stepfunctions", "iam") == 0
        assert result["reason"] in {"FAILED_CALL", "UNHANDLED_EVENT_NAME"}
        return
    if file == "delete_state_machine.json":
        assert world.policies(ROLE) == {"inline": {}, "attached": []}
        return
    holder = ROLE2 if role2 else ROLE
    assert world.policies(holder) == {"inline": {POLICY: _expected_document(world, sm)}, "attached": []}
    if role2:
        assert world.policies(ROLE) == {"inline": {}, "attached": []}
        assert {"kind": "delete-inline", "role": ROLE, "policy": POLICY, "applied": True} in result["changes"]


# -- call budget and idempotency ---------------------------------------------------------------------------------

def test_create_costs_five_calls_and_a_duplicate_writes_nothing(world: World) -> None:
    sm, role = _create(world)
    event = _event("create_state_machine.json", sm, role)
    assert world.invoke(event)["status"] == "written"
    print("create:", dict(world.counter.calls))
    # describe, ledger claim, GetRole, PutRolePolicy, describe again (changed meanwhile?): the ledger has no entry, so
    # nothing of the machine is on the role; IAM's answer confirms the write; residual access is the sweep's. And,
    # the first time the fixer writes to a role, PutRolePermissionsBoundary (the ceiling as its boundary).
    assert world.counter.own() == 6, dict(world.counter.calls)
    assert world.counter.calls["iam:PutRolePermissionsBoundary"] == 1
    assert world.counter.calls["stepfunctions:DescribeStateMachine"] == 2
    assert world.counter.calls["dynamodb:UpdateItem"] == 1
    assert world.counter.calls["iam:GetRole"] == world.counter.calls["iam:PutRolePolicy"] == 1
    world.counter.reset()
    second = world.invoke(event)  # duplicate delivery
    print("duplicate:", dict(world.counter.calls))
    assert second["status"] == "unchanged"
    assert second["changes"] == []
    assert world.counter.writes() == 0
    assert [e["detail-type"] for e in world.published()] == ["Policy Written", "Policy Unchanged"]


def test_shared_role_carries_the_union_and_delete_keeps_the_other(world: World) -> None:
    orders, role = _create(world)
    inventory, _ = _create(world, name="InventorySync", example="inventory_sync.asl.json")
    world.invoke(_event("create_state_machine.json", orders, role))
    world.invoke(_event("create_state_machine.json", inventory, role))
    inline = world.policies(ROLE)["inline"]
    assert set(inline) == {POLICY, "sfn-iam.us-east-1.InventorySync"}
    world.sfn.delete_state_machine(stateMachineArn=orders)
    assert world.invoke(_event("delete_state_machine.json", orders))["status"] == "removed"
    assert set(world.policies(ROLE)["inline"]) == {"sfn-iam.us-east-1.InventorySync"}


def test_policies_the_fixer_did_not_write_are_never_modified(world: World) -> None:
    sm, role = _create(world)
    human = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                     "Resource": "arn:aws:s3:::reports/*"}]}
    world.iam.put_role_policy(RoleName=ROLE, PolicyName="hand-written", PolicyDocument=json.dumps(human))
    world.invoke(_event("create_state_machine.json", sm, role))
    world.sfn.delete_state_machine(stateMachineArn=sm)
    world.invoke(_event("delete_state_machine.json", sm))
    assert world.policies(ROLE)["inline"] == {"hand-written": human}


# -- things that disappeared -----------------------------------------------------------------------------------

def test_state_machine_gone_before_the_event_is_a_clean_outcome(world: World) -> None:
    sm, role = _create(world)
    world.sfn.delete_state_machine(stateMachineArn=sm)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert (result["status"], result["reason"]) == ("gone", "STATE_MACHINE_GONE")
    assert world.counter.calls["stepfunctions:DescribeStateMachine"] == 3  # retried: it may not be visible yet
    assert world.counter.writes() == 0
    assert _only_published(world)["detail-type"] == "State Machine Gone"


def test_role_gone_before_the_event_is_a_clean_outcome(world: World) -> None:
    sm, role = _create(world)
    world.iam.delete_role(RoleName=ROLE)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert (result["status"], result["reason"]) == ("gone", "ROLE_GONE")
    assert world.counter.writes() == 0


# -- throttling --------------------------------------------------------------------------------------------------

class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def test_throttling_is_retried_by_botocore(world: World, no_backoff: list[float]) -> None:
    sm, role = _create(world)
    app_iam = world.app.runtime().wiring.clients.iam
    attempts: list[str] = []
    body = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>")

    def throttle_twice(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append("PutRolePolicy")
        if len(attempts) <= 2:
            return AWSResponse(request.url, 400, {}, _Raw(body))
        return None  # let moto answer

    app_iam.meta.events.register_first("before-send.iam.PutRolePolicy", throttle_twice)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert result["status"] == "written"
    assert len(attempts) == 3  # two throttled attempts, then success, inside one API call
    assert len(no_backoff) == 2 and all(d > 0 for d in no_backoff)  # botocore backed off before each retry
    assert world.counter.calls["iam:PutRolePolicy"] == 1
    assert POLICY in world.policies(ROLE)["inline"]


def test_other_aws_errors_fail_the_invocation(world: World) -> None:
    sm, role = _create(world)
    app_iam = world.app.runtime().wiring.clients.iam
    body = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Receiver</Type>'
            b"<Code>ServiceFailure</Code><Message>boom</Message></Error><RequestId>r</RequestId></ErrorResponse>")
    app_iam.meta.events.register_first("before-send.iam.PutRolePolicy",
                                       lambda request, **_: AWSResponse(request.url, 400, {}, _Raw(body)))
    with pytest.raises(Exception, match="ServiceFailure"):
        world.invoke(_event("create_state_machine.json", sm, role))
    assert world.published() == []  # nothing claims success; Lambda retries, then the on-failure queue


# -- report mode ---------------------------------------------------------------------------------------------

def test_report_mode_writes_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "report")
    sm, role = _create(world)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert result["status"] == "proposed"
    assert result["changes"] == [
        {"kind": "set-boundary", "role": ROLE, "policy": sandbox.FIXER_ENV["CEILING_POLICY_ARN"], "applied": False},
        {"kind": "put-inline", "role": ROLE, "policy": POLICY, "applied": False}]
    assert world.counter.writes() == 0
    assert world.policies(ROLE) == {"inline": {}, "attached": []}
    assert _only_published(world)["detail-type"] == "Policy Change Proposed"


# -- scope -------------------------------------------------------------------------------------------------------

OTHER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]},
     "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"path": "/"}, "not under the path"),
    ({"trust": OTHER_TRUST}, "not trusted by states.amazonaws.com alone"),
    ({"tags": {"sfn-iam:opt-out": "true"}}, "opt-out tag"),
])
def test_roles_out_of_scope_are_reported_not_touched(world: World, kwargs: dict[str, Any], why: str) -> None:
    role = world.role("SomeRole", **kwargs)
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert (result["status"], result["reason"]) == ("skipped", "ROLE_OUT_OF_SCOPE")
    assert why in result["findings"][0]["message"]
    assert world.counter.writes() == 0
    assert world.policies("SomeRole") == {"inline": {}, "attached": []}


def test_the_fixers_own_role_is_never_touched(world: World, env: dict[str, str]) -> None:
    role = world.role("sfn-iam-role-fixer", path="/")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    assert role == env["FIXER_ROLE_ARN"]
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert result["status"] == "skipped"
    assert world.counter.total("iam") == 0


# -- size: overflow and refusal --------------------------------------------------------------------------------

def _big_policy(chars: int) -> str:
    resources = [f"arn:aws:s3:::bucket-{i:05d}/*" for i in range(chars // 30)]
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                               "Resource": resources}]})


def test_full_inline_budget_overflows_into_a_managed_policy(world: World) -> None:
    sm, role = _create(world)
    world.iam.put_role_policy(RoleName=ROLE, PolicyName="hand-written", PolicyDocument=_big_policy(9_900))
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert (result["status"], result["placement"]) == ("written", "managed")
    assert "POLICY_OVERFLOW" in {f["code"] for f in result["findings"]}
    policies = world.policies(ROLE)
    assert set(policies["inline"]) == {"hand-written"}
    assert policies["attached"] == [f"{POLICY}.1"]
    arn = f"arn:aws:iam::{sandbox.ACCOUNT}:policy/sfn-iam/{POLICY}.1"
    version = world.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = world.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    assert doc == _expected_document(world, sm)
    # a duplicate delivery writes nothing, and a delete cleans the managed policy up
    world.counter.reset()
    assert world.invoke(_event("create_state_machine.json", sm, role))["status"] == "unchanged"
    assert world.counter.writes() == 0
    world.sfn.delete_state_machine(stateMachineArn=sm)
    assert world.invoke(_event("delete_state_machine.json", sm))["status"] == "removed"
    assert world.policies(ROLE)["attached"] == []
    assert not [p for p in world.iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith(POLICY)]


def test_no_room_anywhere_is_refused_with_a_finding(world: World) -> None:
    sm, role = _create(world)
    world.iam.put_role_policy(RoleName=ROLE, PolicyName="hand-written", PolicyDocument=_big_policy(9_900))
    for i in range(10):
        arn = world.iam.create_policy(PolicyName=f"team-{i}", PolicyDocument=_big_policy(60))["Policy"]["Arn"]
        world.iam.attach_role_policy(RoleName=ROLE, PolicyArn=arn)
    result = world.invoke(_event("create_state_machine.json", sm, role))
    assert (result["status"], result["reason"]) == ("skipped", "POLICY_TOO_LARGE")
    assert world.counter.calls["iam:PutRolePolicy"] == 1  # one refused attempt, no write loop
    # residual access reads the other policies once each: the inline one, and GetPolicy + GetPolicyVersion per team-N
    assert world.counter.total("iam") - world.counter.writes() <= 6 + 1 + 2 * 10
    assert {f["code"] for f in result["findings"]} >= {"RESIDUAL_ACCESS"}
    assert set(world.policies(ROLE)["inline"]) == {"hand-written"}


def test_a_machine_that_needs_nothing_loses_its_policy(world: World) -> None:
    sm, role = _create(world)
    world.invoke(_event("create_state_machine.json", sm, role))
    world.sfn.update_state_machine(stateMachineArn=sm,
                                   definition=(sandbox.EXAMPLES / "hello_pass.asl.json").read_text())
    result = world.invoke(_event("update_state_machine_definition.json", sm))
    assert result["status"] == "removed"
    assert "NO_PERMISSIONS" in {f["code"] for f in result["findings"]}
    assert world.policies(ROLE)["inline"] == {}


# -- bad events ---------------------------------------------------------------------------------------------------

def _mutations() -> list[tuple[str, Any]]:
    def set_path(path: list[str], value: Any) -> Any:
        def apply(event: dict[str, Any]) -> dict[str, Any]:
            node = event
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            return event
        return apply
    return [
        ("detail not an object", set_path(["detail"], "oops")),
        ("eventName wrong type", set_path(["detail", "eventName"], 42)),
        ("eventName unhashable", set_path(["detail", "eventName"], ["CreateStateMachine"])),
        ("responseElements wrong type", set_path(["detail", "responseElements"], "x")),
        ("stateMachineArn wrong type", set_path(["detail", "responseElements", "stateMachineArn"], {"a": 1})),
        ("unknown event name", set_path(["detail", "eventName"], "TagResource")),
        ("foreign account", set_path(["account"], "210987654321")),
        ("malformed ARN", set_path(["detail", "responseElements", "stateMachineArn"], "arn:aws:states:nope")),
        ("no response elements", set_path(["detail", "responseElements"], None)),
        ("not an object", lambda _event: ["not", "an", "event"]),
    ]


@pytest.mark.parametrize(("case", "mutate"), _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_events_are_ignored_with_a_reason(world: World, case: str, mutate: Any) -> None:
    event = mutate(sandbox.load_event("create_state_machine.json"))
    result = world.invoke(event)
    assert result["status"] == "ignored", case
    assert result["reason"] in {"MALFORMED_EVENT", "UNRELATED_EVENT", "UNHANDLED_EVENT_NAME", "FOREIGN_ACCOUNT"}
    assert world.counter.total("stepfunctions", "iam") == 0
    assert _only_published(world)["detail-type"] == "Event Ignored"


def test_events_dir_has_no_inline_copies() -> None:
    """Guard the rule that tests load events/*.json: no test module pastes a CloudTrail record."""
    tests = Path(__file__).resolve().parent.parent
    marker = "HIDDEN_DUE_TO_" + "SECURITY_REASONS"  # the redacted definition every CloudTrail record carries
    for path in [*tests.joinpath("functional").rglob("*.py"), *tests.joinpath("contract").rglob("*.py")]:
        assert marker not in path.read_text(), path
