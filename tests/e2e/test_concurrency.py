"""Correct under concurrency, on moto: concurrent events for one machine, quota contention, retries of calls that
took effect, faults, sweeps racing events, foreign regions, outcome size. Each test asserts the final IAM state at
the level of the requests the state machine will make (tests/evaluate.py), not only the outcome status."""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from scripts import sandbox
from sfn_iam import engine
from sfn_iam.aws.stepfunctions import StepFunctionsReader
from sfn_iam.engine import policy
from sfn_iam.fixing.ports import DescribedStateMachine, OldExecutions
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.model import StateMachine
from tests.e2e.moto_serial import serialise_moto
from tests.evaluate import is_allowed

from .conftest import World

ACCOUNT, REGION = sandbox.ACCOUNT, sandbox.REGION
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fulfilment"  # only order_processing_v2 sends to it
V2 = (sandbox.EXAMPLES / "order_processing_v2.asl.json").read_text(encoding="utf-8")


def _event(file: str, sm: str, role: str | None = None) -> dict[str, Any]:
    return sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm, role_arn=role)


def documents(world: World, role: str, machine: str = "OrderProcessing") -> list[dict[str, Any]]:
    """What the role grants through this machine's policies: inline and attached overflow documents."""
    base = f"sfn-iam.{REGION}.{machine}"
    p = world.policies(role)
    docs = [d for n, d in p["inline"].items() if n == base]
    for name in p["attached"]:
        if name.startswith(base + "."):
            arn = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{name}"
            version = world.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            docs.append(world.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    return docs


def expected(world: World, sm: str) -> list[dict[str, Any]]:
    d = world.sfn.describe_state_machine(stateMachineArn=sm)
    return list(engine.plan(StateMachine(sm, json.loads(d["definition"]), d["roleArn"])).documents)


def ledger_item(base: str) -> dict[str, Any] | None:
    table = sandbox.FIXER_ENV["LEDGER_TABLE_NAME"]
    item: dict[str, Any] | None = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=table, Key={"pk": {"S": base}}, ConsistentRead=True).get("Item")
    return item


class HeldReader:
    """Step Functions, except that the first describe is held (after it answered) until ``go`` is set: the window
    between a fixer's DescribeStateMachine and its write, which throttling stretches to seconds."""

    def __init__(self, inner: StepFunctionsReader) -> None:
        self.inner = inner
        self.described = threading.Event()
        self.go = threading.Event()
        self.calls = 0

    def describe(self, arn: str) -> DescribedStateMachine | None:
        answer = self.inner.describe(arn)
        self.calls += 1
        if self.calls == 1:
            self.described.set()
            assert self.go.wait(30)
        return answer

    def list_arns(self) -> Iterator[str]:
        return self.inner.list_arns()

    def list_aliases(self, arn: str) -> list[str]:
        return self.inner.list_aliases(arn)

    def describe_alias(self, alias_arn: str) -> list[str]:
        return self.inner.describe_alias(alias_arn)

    def running_before(self, arn: str, cutoff: str) -> OldExecutions:
        return self.inner.running_before(arn, cutoff)


def held_create(world: World, sm: str, role: str, meanwhile: Callable[[], None]) -> dict[str, Any]:
    """Deliver the create through a fixer held after its describe; run ``meanwhile`` to the end; release it."""
    rt = world.app.runtime()
    reader = HeldReader(rt.wiring.machines)
    held = RoleFixer(reader, rt.wiring.roles, rt.wiring.settings, ledger=rt.wiring.ledger, region=REGION)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(held.handle_event, _event("create_state_machine.json", sm, role))
        assert reader.described.wait(30)
        meanwhile()
        reader.go.set()
        return future.result(timeout=60).to_dict()


# -- 1. two events for the same machine at once ----------------------------------------------------------------------

def test_a_create_held_while_an_update_runs_ends_with_the_new_definition(world: World) -> None:
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)

    def update() -> None:
        world.sfn.update_state_machine(stateMachineArn=sm, definition=V2)
        assert world.invoke(_event("update_state_machine_definition.json", sm))["status"] == "written"

    result = held_create(world, sm, role, update)
    assert "CONCURRENT_CHANGE" in {f["code"] for f in result["findings"]}
    docs = documents(world, "OrderProcessingRole")
    assert docs == expected(world, sm)
    assert is_allowed(docs, "sqs:SendMessage", QUEUE, {})  # v2's new request is granted


def test_a_create_held_while_a_delete_runs_leaves_nothing(world: World) -> None:
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)

    def delete() -> None:
        world.sfn.delete_state_machine(stateMachineArn=sm)
        world.invoke(_event("delete_state_machine.json", sm))

    result = held_create(world, sm, role, delete)
    assert result["status"] == "removed"
    assert world.policies("OrderProcessingRole") == {"inline": {}, "attached": []}
    world.iam.delete_role(RoleName="OrderProcessingRole")  # CloudFormation can delete the role again
    assert ledger_item("sfn-iam.us-east-1.OrderProcessing") is None


def test_a_create_held_while_the_role_moves_ends_on_the_new_role_only(world: World) -> None:
    role = world.role("OrderProcessingRole")
    role2 = world.role("OrderProcessingRoleV2")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)

    def move() -> None:
        world.sfn.update_state_machine(stateMachineArn=sm, roleArn=role2)
        world.invoke(_event("update_state_machine_role.json", sm, role2))

    held_create(world, sm, role, move)
    assert documents(world, "OrderProcessingRole") == []
    docs = documents(world, "OrderProcessingRoleV2")
    assert docs == expected(world, sm)
    assert not is_allowed(documents(world, "OrderProcessingRole"), "dynamodb:PutItem",
                          f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders", {})
    item = ledger_item("sfn-iam.us-east-1.OrderProcessing")
    assert item is not None and item["roles"]["SS"] == ["OrderProcessingRoleV2"]


# -- 2. role quotas under concurrency ---------------------------------------------------------------------------------

def _topics(machine: int, n: int) -> str:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:m{machine}-topic-"
    states = {f"P{i}": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": f"P{i + 1}",
                        "Parameters": {"TopicArn": f"{topic}{i:04d}-{'x' * 24}", "Message": "m"}} for i in range(n)}
    states[f"P{n - 1}"].pop("Next")
    states[f"P{n - 1}"]["End"] = True
    return json.dumps({"StartAt": "P0", "States": states})


def _atomic_attach_quota(iam: Any, limit: int) -> None:
    """IAM's attached-policy quota, checked and applied atomically (moto enforces none)."""
    lock = threading.Lock()
    reader = boto3.client("iam", region_name=REGION)

    def before(params: dict[str, Any], **_: Any) -> None:
        lock.acquire()
        attached = reader.list_attached_role_policies(RoleName=params["RoleName"])["AttachedPolicies"]
        if len(attached) >= limit and params["PolicyArn"] not in {p["PolicyArn"] for p in attached}:
            lock.release()
            raise sandbox._limit_exceeded("AttachRolePolicy", f"Cannot exceed quota for PoliciesPerRole: {limit}")

    def after(**_: Any) -> None:
        lock.release()

    iam.meta.events.register("before-parameter-build.iam.AttachRolePolicy", before)
    iam.meta.events.register("after-call.iam.AttachRolePolicy", after)


def test_five_machines_overflowing_one_role_at_once_are_each_placed_whole_or_not_at_all(world: World) -> None:
    rt = world.app.runtime()
    _atomic_attach_quota(rt.wiring.clients.iam, 10)
    role = world.role("SharedRole")
    world.iam.put_role_policy(RoleName="SharedRole", PolicyName="hand-written", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": [f"arn:aws:s3:::b{i:04d}/*" for i in range(300)]}]}))
    machines = [world.sfn.create_state_machine(name=f"Wide{m}", definition=_topics(m, 160), roleArn=role)
                ["stateMachineArn"] for m in range(5)]
    sizes = [len(engine.plan(StateMachine(a, json.loads(_topics(m, 160)), role), None, policy.MANAGED_LIMIT)
                 .documents) for m, a in enumerate(machines)]
    assert all(s >= 2 for s in sizes) and sum(sizes) > 10  # they cannot all fit: the quota decides
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda a: rt.fixer.handle_event(_event("create_state_machine.json", a, role)),
                                machines))
    attached = world.policies("SharedRole")["attached"]
    assert len(attached) <= 10
    placed = 0
    for m, (arn, outcome) in enumerate(zip(machines, results, strict=True)):
        mine = [n for n in attached if n.startswith(f"sfn-iam.{REGION}.Wide{m}.")]
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:m{m}-topic-0000-{'x' * 24}"
        if outcome.status.value == "written":
            placed += 1
            assert len(mine) == sizes[m] and documents(world, "SharedRole", f"Wide{m}") == expected_managed(arn, m)
            assert is_allowed(documents(world, "SharedRole", f"Wide{m}"), "sns:Publish", topic, {})
        else:
            assert (outcome.status.value, outcome.reason) == ("skipped", "POLICY_TOO_LARGE")
            assert mine == [] and not is_allowed(documents(world, "SharedRole", f"Wide{m}"), "sns:Publish", topic, {})
    assert placed >= 1
    # no managed policy of ours is left attached to nothing
    ours = [p for p in world.iam.list_policies(Scope="Local", PathPrefix="/sfn-iam/")["Policies"]
            if p["Arn"] != sandbox.FIXER_ENV["CEILING_POLICY_ARN"]]  # the ceiling lives there too: not an overflow
    assert sorted(p["PolicyName"] for p in ours) == sorted(attached)
    # a retry of a skipped machine stays clean (no partial attachments appear)
    for arn, outcome in zip(machines, results, strict=True):
        if outcome.status.value != "written":
            assert rt.fixer.handle_event(_event("create_state_machine.json", arn, role)).status.value == "skipped"
    assert world.policies("SharedRole")["attached"] == attached


def expected_managed(arn: str, m: int) -> list[dict[str, Any]]:
    role = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/SharedRole"
    return list(engine.plan(StateMachine(arn, json.loads(_topics(m, 160)), role), None, policy.MANAGED_LIMIT)
                .documents)


# -- 3. stale grants --------------------------------------------------------------------------------------------------

def test_an_update_that_cannot_be_placed_removes_the_previous_grants(world: World) -> None:
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    world.invoke(_event("create_state_machine.json", sm, role))
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
    assert is_allowed(documents(world, "OrderProcessingRole"), "dynamodb:PutItem", table, {})
    world.sfn.update_state_machine(stateMachineArn=sm, definition=_topics(0, 2000))  # fits nowhere
    result = world.invoke(_event("update_state_machine_definition.json", sm))
    assert (result["status"], result["reason"]) == ("skipped", "POLICY_TOO_LARGE")
    assert "STALE_GRANTS_REMOVED" in {f["code"] for f in result["findings"]}
    assert not is_allowed(documents(world, "OrderProcessingRole"), "dynamodb:PutItem", table, {})
    assert world.policies("OrderProcessingRole") == {"inline": {}, "attached": []}


# -- 5. events from another region or partition ----------------------------------------------------------------------

@pytest.mark.parametrize("arn", [
    f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:stateMachine:OrderProcessing",
    f"arn:aws:states:us-west-2:{ACCOUNT}:stateMachine:OrderProcessing",
])
def test_a_delete_for_another_region_or_partition_touches_nothing(world: World, arn: str) -> None:
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    world.invoke(_event("create_state_machine.json", sm, role))
    before = world.policies("OrderProcessingRole")
    world.counter.reset()
    event = json.loads(json.dumps(_event("delete_state_machine.json", sm)).replace(sm, arn))
    result = world.invoke(event)
    assert (result["status"], result["reason"]) == ("ignored", "FOREIGN_REGION")
    assert world.counter.total() == 0
    assert world.policies("OrderProcessingRole") == before


# -- 6. outcome events too large for EventBridge ---------------------------------------------------------------------

def test_an_outcome_with_thousands_of_findings_is_published_within_the_entry_limit(world: World) -> None:
    role = world.role("DynamicRole")
    states = {f"S{i}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": f"S{i + 1}",
                        "Parameters": {"FunctionName.$": f"$.fn{i}", "Payload.$": "$"}} for i in range(1400)}
    states["S1399"].pop("Next")
    states["S1399"]["End"] = True
    definition = json.dumps({"StartAt": "S0", "States": states})
    sm = world.sfn.create_state_machine(name="Dynamic", definition=definition, roleArn=role)["stateMachineArn"]
    result = world.invoke(_event("create_state_machine.json", sm, role))
    [published] = world.published()
    entry = len(json.dumps(published["detail"])) + len(published["detail-type"]) + len("sfn-iam")
    assert entry < 256 * 1024
    counts = published["detail"]["findingCounts"]
    assert counts["byCode"]["DYNAMIC_RESOURCE"] >= 1400
    assert published["detail"]["truncated"]["findings"] == sum(counts["byCode"].values()) - len(
        published["detail"]["findings"])
    assert result["status"] == "written"


# -- 7. retries of calls that already took effect, and faults -------------------------------------------------------

def _faults(client: Any, seed: int, rate: float = 0.3) -> list[str]:
    """Seeded faults on ``client``: throttling before a call reaches IAM, and a lost response after a call took
    effect (botocore then sends it again: DeletePolicyVersion meets NoSuchEntity, CreatePolicy EntityAlreadyExists)."""
    rng = random.Random(seed)
    lock = threading.Lock()
    seen: list[str] = []
    body = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>")

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield body

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        with lock:
            hit = rng.random() < rate / 2
        if hit:
            seen.append("throttled")
            return AWSResponse(request.url, 400, {}, Raw())
        return None

    def lost_response(response: Any, attempts: int, operation: Any, **_: Any) -> float | None:
        if response is None or attempts > 1 or response[0].status_code != 200:
            return None
        with lock:
            hit = rng.random() < rate / 2
        if hit:
            seen.append(f"repeated {operation.name}")
            return 0.0  # "retry": the call already took effect
        return None

    client.meta.events.register_first("before-send.iam", throttle)
    client.meta.events.register("needs-retry.iam", lost_response)
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lifecycle_under_faults_ends_in_the_right_state(world: World, seed: int, no_backoff: list[float]) -> None:
    rt = world.app.runtime()
    seen = _faults(rt.wiring.clients.iam, seed)
    role = world.role("OrderProcessingRole")
    role2 = world.role("OrderProcessingRoleV2")
    sm = world.sfn.create_state_machine(name="OrderProcessing", definition=_topics(7, 160), roleArn=role)[
        "stateMachineArn"]
    world.invoke(_event("create_state_machine.json", sm, role))  # overflows: managed policies with versions
    assert documents(world, "OrderProcessingRole") == expected_managed_on(sm, 7, 160, role)
    world.sfn.update_state_machine(stateMachineArn=sm, definition=_topics(7, 170))
    world.invoke(_event("update_state_machine_definition.json", sm))  # new versions, old ones pruned
    assert documents(world, "OrderProcessingRole") == expected_managed_on(sm, 7, 170, role)
    world.sfn.update_state_machine(stateMachineArn=sm, roleArn=role2, definition=V2)
    world.invoke(_event("update_state_machine_role.json", sm, role2))
    assert documents(world, "OrderProcessingRole") == []
    assert documents(world, "OrderProcessingRoleV2") == expected(world, sm)
    world.sfn.delete_state_machine(stateMachineArn=sm)
    world.invoke(_event("delete_state_machine.json", sm))
    for r in ("OrderProcessingRole", "OrderProcessingRoleV2"):
        assert world.policies(r) == {"inline": {}, "attached": []}
    assert [p["Arn"] for p in world.iam.list_policies(Scope="Local", PathPrefix="/sfn-iam/")["Policies"]] == [
        sandbox.FIXER_ENV["CEILING_POLICY_ARN"]]  # only the ceiling: no overflow policy of ours is left
    assert any(s.startswith("repeated") for s in seen) and "throttled" in seen


def expected_managed_on(arn: str, m: int, n: int, role: str) -> list[dict[str, Any]]:
    return list(engine.plan(StateMachine(arn, json.loads(_topics(m, n)), role), None, policy.MANAGED_LIMIT).documents)


# -- 8. sweep and events at once ------------------------------------------------------------------------------------

def test_a_sweep_racing_events_on_the_same_roles_converges(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's backends are not thread-safe: it answers one request at a time (tests/e2e/moto_serial.py), while the
    # sweep's workers and the events keep their threads. No lock of this test is held across a request.
    seen = serialise_moto(monkeypatch)
    rt = world.app.runtime()
    roles = [world.role(f"Shared{r}") for r in range(3)]
    examples = ["order_processing.asl.json", "inventory_sync.asl.json"]
    arns = [world.machine(f"M{i}", examples[i % 2], roles[i % 3]) for i in range(9)]
    for a, i in zip(arns, range(9), strict=True):
        world.invoke(_event("create_state_machine.json", a, roles[i % 3]))
    # The world changes: definitions, roles and deletions, with their events racing a sweep.
    for i in (0, 3):
        world.sfn.update_state_machine(stateMachineArn=arns[i], definition=V2)
    world.sfn.update_state_machine(stateMachineArn=arns[1], roleArn=roles[2])
    world.sfn.delete_state_machine(stateMachineArn=arns[2])
    pending = [_event("update_state_machine_definition.json", arns[0]),
               _event("update_state_machine_definition.json", arns[3]),
               _event("update_state_machine_role.json", arns[1], roles[2]),
               _event("delete_state_machine.json", arns[2])]
    sweeper = rt.wiring.sweeper(workers=3, sleep=lambda _: None)
    with ThreadPoolExecutor(5) as pool:
        sweep = pool.submit(sweeper.run)
        list(pool.map(rt.fixer.handle_event, pending))
        assert not sweep.result(timeout=120).errors
    assert len({t for t in seen.threads if t.startswith("sweep")}) > 1  # the sweep's pool was really used
    for i, a in enumerate(arns):
        if i == 2:
            assert all(documents(world, f"Shared{r}", "M2") == [] for r in range(3))
            continue
        role = world.sfn.describe_state_machine(stateMachineArn=a)["roleArn"].rsplit("/", 1)[1]
        assert documents(world, role, f"M{i}") == expected(world, a)
        assert all(documents(world, f"Shared{r}", f"M{i}") == [] for r in range(3) if f"Shared{r}" != role)


# -- 4. cost per event independent of the account's size --------------------------------------------------------------

@pytest.mark.parametrize("fillers", [10, 300])
def test_update_with_role_arn_and_delete_cost_the_same_at_any_number_of_roles(world: World, fillers: int) -> None:
    for i in range(fillers):
        world.role(f"filler-{i:04d}")
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    world.invoke(_event("create_state_machine.json", sm, role))
    world.sfn.update_state_machine(stateMachineArn=sm, definition=V2)
    world.counter.reset()
    world.invoke(_event("update_state_machine_role.json", sm, role))  # CloudFormation always sends roleArn
    # DescribeStateMachine, the ledger claim (it says the machine had no aliases: none listed), GetRole,
    # ListRolePolicies, PutRolePolicy, DescribeStateMachine (re-check)
    assert world.counter.own() <= 6, dict(world.counter.calls)
    assert world.counter.calls["iam:GetAccountAuthorizationDetails"] == 0
    assert world.counter.calls["stepfunctions:ListStateMachineAliases"] == 0
    assert is_allowed(documents(world, "OrderProcessingRole"), "sqs:SendMessage", QUEUE, {})
    # a role move: the claim, GetRole and PutRolePolicy on the new role (the ledger does not name it: nothing of the
    # machine is there), GetRole of the old role (still in scope?), ListExecutions (older executions run under it),
    # DeleteRolePolicy there (the ledger says it carries the machine's policy only), the ledger's release, and the two
    # descriptions; and PutRolePermissionsBoundary, the first write to the new role (the ceiling as its boundary)
    role2 = world.role("OrderProcessingRoleV2")
    world.sfn.update_state_machine(stateMachineArn=sm, roleArn=role2)
    world.counter.reset()
    world.invoke(_event("update_state_machine_role.json", sm, role2))
    assert world.counter.own() <= 10, dict(world.counter.calls)
    assert world.counter.calls["iam:PutRolePermissionsBoundary"] == 1
    assert world.counter.calls["iam:GetAccountAuthorizationDetails"] == 0
    assert documents(world, "OrderProcessingRole") == []
    assert is_allowed(documents(world, "OrderProcessingRoleV2"), "sqs:SendMessage", QUEUE, {})
    world.sfn.delete_state_machine(stateMachineArn=sm)
    world.counter.reset()
    assert world.invoke(_event("delete_state_machine.json", sm))["status"] == "removed"
    # DescribeStateMachine (gone), the ledger entry taken (DeleteItem), GetRole, DeleteRolePolicy, DescribeStateMachine
    # (still gone)
    assert world.counter.own() <= 5, dict(world.counter.calls)
    assert world.counter.calls["iam:GetAccountAuthorizationDetails"] == 0
    assert world.policies("OrderProcessingRoleV2") == {"inline": {}, "attached": []}
    assert ledger_item("sfn-iam.us-east-1.OrderProcessing") is None


def test_without_a_ledger_entry_a_delete_still_finds_the_policy(world: World) -> None:
    role = world.role("OrderProcessingRole")
    sm = world.machine("OrderProcessing", "order_processing.asl.json", role)
    world.invoke(_event("create_state_machine.json", sm, role))
    boto3.client("dynamodb", region_name=REGION).delete_item(  # a machine fixed before the ledger existed
        TableName=sandbox.FIXER_ENV["LEDGER_TABLE_NAME"], Key={"pk": {"S": "sfn-iam.us-east-1.OrderProcessing"}})
    world.sfn.delete_state_machine(stateMachineArn=sm)
    assert world.invoke(_event("delete_state_machine.json", sm))["status"] == "removed"
    assert world.counter.calls["iam:GetAccountAuthorizationDetails"] == 1
    assert world.policies("OrderProcessingRole") == {"inline": {}, "attached": []}


# -- 9. the call counter the benches and these tests read -------------------------------------------------------------

def test_the_call_counter_counts_every_call_of_many_threads_while_totals_are_read() -> None:
    """A sweep's workers send calls at once while its budget reads the totals (bench/sweep.py): no call is lost and
    no total fails because another thread counted a new operation meanwhile."""
    client = boto3.client("iam", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    counter = sandbox.CallCounter().attach(client)
    threads, calls = 4, 3000
    done = threading.Event()
    totals: list[int] = []

    def send(t: int) -> None:  # what botocore emits once per call, before it sends anything
        for i in range(calls):
            client.meta.events.emit(f"provide-client-params.iam.Op{t}x{i}", params={}, context={},
                                    model=SimpleNamespace(name=f"Op{t}x{i}"))

    def read() -> None:
        while not done.is_set():
            totals.append(counter.total("iam"))
            counter.own()
            counter.writes()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython can: the races show within a few calls
    try:
        with ThreadPoolExecutor(threads + 1) as pool:
            reader = pool.submit(read)
            list(pool.map(send, range(threads)))
            done.set()
            reader.result(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert counter.total("iam") == counter.own() == threads * calls
    assert len(counter.calls) == threads * calls and set(counter.calls.values()) == {1}
    assert totals and totals == sorted(totals) and totals[-1] <= threads * calls  # each read a true snapshot
