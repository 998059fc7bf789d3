"""Retiring policies on moto: executions that started before an update keep the previous definition's permissions.

UpdateStateMachine: "Running executions will continue to use the previous definition and roleArn". Each test asserts
at the level of the requests the executions make (tests/evaluate.py): the old Task's request stays allowed while an
execution of the old definition runs, the new definition's request is allowed, and once no old execution runs the
old request is denied again. moto keeps a started execution RUNNING until StopExecution (it lists executions newest
first, with their start dates); ListExecutions is counted per event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scripts import sandbox
from sfn_iam.aws.stepfunctions import MAX_EXECUTION_PAGES, StepFunctionsReader
from sfn_iam.aws.wiring import utc_now
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.fixing.settings import Mode
from tests.evaluate import is_allowed

from .conftest import World

REGION, ACCOUNT = sandbox.REGION, sandbox.ACCOUNT
BASE = "sfn-iam.us-east-1.Orders"
RETIRING = BASE + ",retiring"
LEGACY_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:legacy-orders"  # only the old definition sends to it
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"  # only the new definition publishes to it
OTHER_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:not-used"


def _task(name: str, resource: str, parameters: dict[str, str], last: bool) -> dict[str, Any]:
    return {name: {"Type": "Task", "Resource": resource, "Parameters": parameters,
                   **({"End": True} if last else {"Next": "Publish"})}}


SEND = ("Send", "arn:aws:states:::sqs:sendMessage",
        {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/legacy-orders", "MessageBody.$": "$"})
PUBLISH = ("Publish", "arn:aws:states:::sns:publish", {"TopicArn": TOPIC, "Message.$": "$"})
V1 = json.dumps({"StartAt": "Send", "States": _task(*SEND, last=True)})
V2 = json.dumps({"StartAt": "Publish", "States": _task(*PUBLISH, last=True)})
V1_AND_V2 = json.dumps({"StartAt": "Send", "States": {**_task(*SEND, last=False), **_task(*PUBLISH, last=True)}})


def _now(offset: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(file: str, sm: str, role: str | None = None, at: str | None = None) -> dict[str, Any]:
    event = sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm, role_arn=role)
    event["time"] = event["detail"]["eventTime"] = at or _now()
    return event


def _machine(world: World, definition: str = V1, kind: str = "STANDARD") -> tuple[str, str]:
    role = world.role("OrdersRole")
    sm = world.sfn.create_state_machine(name="Orders", definition=definition, roleArn=role,
                                        type=kind)["stateMachineArn"]
    assert world.invoke(_event("create_state_machine.json", sm, role))["status"] == "written"
    return sm, role


def _update(world: World, sm: str, definition: str, at: str | None = None) -> dict[str, Any]:
    world.sfn.update_state_machine(stateMachineArn=sm, definition=definition)
    world.counter.reset()
    return world.invoke(_event("update_state_machine_definition.json", sm, at=at))


def _docs(world: World) -> list[dict[str, Any]]:
    return list(world.policies("OrdersRole")["inline"].values())


def _codes(outcome: dict[str, Any]) -> list[str]:
    return [f["code"] for f in outcome["findings"]]


def _listings(world: World) -> int:
    return world.counter.calls["stepfunctions:ListExecutions"] + world.counter.calls["sfn:ListExecutions"]


def test_an_execution_of_the_old_definition_keeps_its_grants_until_it_ends(world: World) -> None:
    sm, _ = _machine(world)
    execution = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    outcome = _update(world, sm, V2)
    assert outcome["status"] == "written" and "RETIRING_KEPT" in _codes(outcome)
    # an update's 9 calls, plus ListExecutions, GetRolePolicy (the previous document), PutRolePolicy and its read-back
    assert _listings(world) == 1 and world.counter.own() <= 13
    docs = _docs(world)
    assert set(world.policies("OrdersRole")["inline"]) == {BASE, RETIRING}
    assert is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})  # the running execution's Task
    assert is_allowed(docs, "sns:Publish", TOPIC, {})  # the new definition's Task
    assert not is_allowed(docs, "sqs:SendMessage", OTHER_QUEUE, {})
    # the retiring policy is the previous document, stamped with the time of the update: nothing more
    retiring = world.policies("OrdersRole")["inline"][RETIRING]
    assert all(s["Sid"].startswith("Retiring") for s in retiring["Statement"])
    assert [{k: v for k, v in s.items() if k != "Sid"} for s in retiring["Statement"]] == [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [LEGACY_QUEUE]}]

    # a later event while it still runs keeps it, unchanged
    world.counter.reset()
    again = world.invoke(_event("update_state_machine_definition.json", sm))
    assert again["status"] == "unchanged" and _listings(world) == 1
    assert RETIRING in world.policies("OrdersRole")["inline"]

    world.sfn.stop_execution(executionArn=execution)
    world.counter.reset()
    after = world.invoke(_event("update_state_machine_definition.json", sm))
    assert "RETIRING_REMOVED" in _codes(after) and _listings(world) == 1
    docs = _docs(world)
    assert set(world.policies("OrdersRole")["inline"]) == {BASE}
    assert not is_allowed(docs, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(docs, "sns:Publish", TOPIC, {})


def test_the_sweep_removes_the_retiring_policy_once_the_old_executions_ended(world: World) -> None:
    sm, _ = _machine(world)
    execution = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    _update(world, sm, V2)
    sweeper = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None)
    first = sweeper.run()
    assert not first.orphans and RETIRING in world.policies("OrdersRole")["inline"]  # ours, still needed
    assert not [f for o in first.outcomes for f in o.findings if f.code == "DRIFT"]
    world.sfn.stop_execution(executionArn=execution)
    second = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert [f.code for o in second.outcomes for f in o.findings if f.code.startswith("RETIRING")] == [
        "RETIRING_REMOVED"]
    assert not is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(_docs(world), "sns:Publish", TOPIC, {})


def test_an_update_with_no_old_execution_running_keeps_nothing_after_one_listing(world: World) -> None:
    sm, _ = _machine(world)
    outcome = _update(world, sm, V2)
    assert _listings(world) == 1 and not any(c.startswith("RETIRING") for c in _codes(outcome))
    assert world.counter.own() <= 10  # an update's 9 calls and the one listing
    assert set(world.policies("OrdersRole")["inline"]) == {BASE}
    assert not is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})


def test_an_execution_started_after_the_update_does_not_keep_the_old_grants(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")  # now: after an update recorded 10 minutes ago
    _update(world, sm, V2, at=_now(-600))
    assert _listings(world) == 1 and set(world.policies("OrdersRole")["inline"]) == {BASE}
    assert not is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})


def test_an_update_that_only_adds_grants_lists_nothing(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")
    outcome = _update(world, sm, V1_AND_V2)
    assert outcome["status"] == "written" and _listings(world) == 0 and world.counter.own() <= 9
    assert set(world.policies("OrdersRole")["inline"]) == {BASE}
    assert is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(_docs(world), "sns:Publish", TOPIC, {})


def test_an_express_machine_is_not_listed_and_keeps_nothing(world: World) -> None:
    sm, _ = _machine(world, kind="EXPRESS")
    outcome = _update(world, sm, V2)
    assert outcome["status"] == "written" and _listings(world) == 0
    assert set(world.policies("OrdersRole")["inline"]) == {BASE}
    assert not is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})


def test_report_mode_writes_nothing_and_says_what_it_would_keep(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")
    before = world.policies("OrdersRole")
    rt = world.app.runtime()
    reporter = RoleFixer(rt.wiring.machines, rt.wiring.roles, rt.wiring.settings._replace(mode=Mode.REPORT),
                         ledger=rt.wiring.ledger, region=REGION, clock=utc_now)
    world.sfn.update_state_machine(stateMachineArn=sm, definition=V2)
    outcome = reporter.handle_event(_event("update_state_machine_definition.json", sm)).to_dict()
    assert outcome["status"] == "proposed" and world.policies("OrdersRole") == before
    kept = [f["message"] for f in outcome["findings"] if f["code"] == "RETIRING_KEPT"]
    assert kept and "would be kept" in kept[0] and LEGACY_QUEUE in kept[0]
    assert {"kind": "put-inline", "role": "OrdersRole", "policy": RETIRING, "applied": False} in outcome["changes"]


def test_access_denied_on_list_executions_keeps_the_previous_grants_and_says_so(world: World,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sm, _ = _machine(world)
    client = world.app.runtime().wiring.machines.client

    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListExecutions")

    monkeypatch.setattr(client, "list_executions", denied)
    outcome = _update(world, sm, V2)
    assert outcome["status"] == "written"
    assert {"EXECUTIONS_UNLISTED", "RETIRING_KEPT"} <= set(_codes(outcome))
    assert is_allowed(_docs(world), "sqs:SendMessage", LEGACY_QUEUE, {})
    assert is_allowed(_docs(world), "sns:Publish", TOPIC, {})
    # a later event while the listing still fails keeps it; once it answers (nothing running), it goes
    again = world.invoke(_event("update_state_machine_definition.json", sm))
    assert "EXECUTIONS_UNLISTED" in _codes(again) and RETIRING in world.policies("OrdersRole")["inline"]
    monkeypatch.undo()
    world.invoke(_event("update_state_machine_definition.json", sm))
    assert set(world.policies("OrdersRole")["inline"]) == {BASE}


def test_a_delete_removes_the_retiring_policy_with_the_machine_policy(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")
    _update(world, sm, V2)
    assert RETIRING in world.policies("OrdersRole")["inline"]
    world.sfn.delete_state_machine(stateMachineArn=sm)
    assert world.invoke(_event("delete_state_machine.json", sm))["status"] == "removed"
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}


def test_a_retiring_policy_left_by_a_deleted_machine_is_an_orphan_of_the_sweep(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")
    _update(world, sm, V2)
    world.iam.delete_role_policy(RoleName="OrdersRole", PolicyName=BASE)  # only the retiring policy is left
    world.sfn.delete_state_machine(stateMachineArn=sm)  # and no event arrives
    result = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert [o.policy_name for o in result.orphans] == [RETIRING]
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}


# -- the adapters: ListExecutions bounded and newest first; the ledger keeps the documents ---------------------------

class _Pages:
    """A Step Functions client answering ListExecutions from pages of start times (newest first), counting calls."""

    def __init__(self, pages: list[list[datetime]], error: Exception | None = None) -> None:
        self.pages = pages
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def list_executions(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        index = int(kwargs.get("nextToken", "0"))
        page: dict[str, Any] = {"executions": [{"startDate": d, "status": "RUNNING"} for d in self.pages[index]]}
        if index + 1 < len(self.pages):
            page["nextToken"] = str(index + 1)
        return page


UPDATE = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _reader(client: _Pages) -> StepFunctionsReader:
    return StepFunctionsReader(client)  # type: ignore[arg-type]


def test_list_executions_stops_at_the_first_older_execution_and_at_its_page_bound() -> None:
    newer = [UPDATE + timedelta(minutes=5)] * 3
    client = _Pages([newer, [UPDATE + timedelta(minutes=1), UPDATE - timedelta(days=200)], newer])
    answer = _reader(client).running_before("arn:sm", "2026-11-29T12:00:00Z")
    assert answer.running and not answer.unknown and len(client.calls) == 2
    assert client.calls[0] == {"stateMachineArn": "arn:sm", "statusFilter": "RUNNING", "maxResults": 1000}
    only_newer = _Pages([newer] * (MAX_EXECUTION_PAGES + 2))
    bounded = _reader(only_newer).running_before("arn:sm", "2026-11-29T12:00:00Z")
    assert bounded.running and "more than" in bounded.unknown and len(only_newer.calls) == MAX_EXECUTION_PAGES
    done = _Pages([newer, newer])
    assert not _reader(done).running_before("arn:sm", "2026-11-29T12:00:00Z").running and len(done.calls) == 2
    assert not _reader(_Pages([[]])).running_before("arn:sm", "2026-11-29T12:00:00Z").running


@pytest.mark.parametrize(("code", "running"), [("StateMachineDoesNotExist", False), ("AccessDeniedException", True),
                                               ("ThrottlingException", True)])
def test_list_executions_errors_are_answers_not_crashes(code: str, running: bool) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "m"}}, "ListExecutions")
    answer = _reader(_Pages([], error)).running_before("arn:sm", "2026-11-29T12:00:00Z")
    assert answer.running is running and (code in answer.unknown) is running


def test_the_ledger_returns_the_documents_it_was_claimed_with(world: World) -> None:
    _machine(world)
    book = world.app.runtime().wiring.ledger
    entry = book.get(BASE)
    assert entry is not None and entry.documents == tuple(world.policies("OrdersRole")["inline"].values())


# -- a role move: the older executions run under the role the machine left -----------------------------------------

def _move(world: World, sm: str, definition: str) -> tuple[str, dict[str, Any]]:
    role2 = world.role("OrdersRole2")
    world.sfn.update_state_machine(stateMachineArn=sm, definition=definition, roleArn=role2)
    world.counter.reset()
    return role2, world.invoke(_event("update_state_machine_role.json", sm, role2))


def _roles_in_ledger(world: World) -> set[str]:
    entry = world.app.runtime().wiring.ledger.get(BASE)
    return set(entry.roles) if entry is not None else set()


def test_a_role_move_keeps_the_previous_grants_on_the_left_role_while_older_executions_run(world: World) -> None:
    sm, _ = _machine(world)
    execution = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    _, outcome = _move(world, sm, V2)
    assert outcome["status"] == "written" and "RETIRING_KEPT" in _codes(outcome) and _listings(world) == 1
    left = list(world.policies("OrdersRole")["inline"].values())
    assert set(world.policies("OrdersRole")["inline"]) == {RETIRING}  # the machine's policy left with it
    assert is_allowed(left, "sqs:SendMessage", LEGACY_QUEUE, {})  # the older execution, under the old role
    assert not is_allowed(left, "sns:Publish", TOPIC, {})
    new = list(world.policies("OrdersRole2")["inline"].values())
    assert set(world.policies("OrdersRole2")["inline"]) == {BASE}
    assert is_allowed(new, "sns:Publish", TOPIC, {}) and not is_allowed(new, "sqs:SendMessage", LEGACY_QUEUE, {})
    assert _roles_in_ledger(world) == {"OrdersRole", "OrdersRole2"}  # the left role is still the machine's
    # a later event while it runs keeps it; once it stopped, the next one removes it and forgets the role
    world.invoke(_event("update_state_machine_definition.json", sm))
    assert set(world.policies("OrdersRole")["inline"]) == {RETIRING}
    world.sfn.stop_execution(executionArn=execution)
    after = world.invoke(_event("update_state_machine_definition.json", sm))
    assert "RETIRING_REMOVED" in _codes(after)
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}
    assert _roles_in_ledger(world) == {"OrdersRole2"}


def test_a_role_move_with_no_older_execution_running_cleans_the_left_role(world: World) -> None:
    sm, _ = _machine(world)
    _, outcome = _move(world, sm, V1)
    assert outcome["status"] == "written" and _listings(world) == 1
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}
    assert _roles_in_ledger(world) == {"OrdersRole2"}


def test_the_sweep_keeps_a_left_role_s_retiring_policy_while_it_is_needed(world: World) -> None:
    sm, _ = _machine(world)
    execution = world.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    _move(world, sm, V2)
    result = world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert not result.orphans and set(world.policies("OrdersRole")["inline"]) == {RETIRING}
    world.sfn.stop_execution(executionArn=execution)
    world.app.runtime().wiring.sweeper(workers=1, sleep=lambda _: None).run()
    assert world.policies("OrdersRole") == {"inline": {}, "attached": []}
    assert set(world.policies("OrdersRole2")["inline"]) == {BASE}


def test_a_delete_after_a_role_move_removes_the_retiring_policy_from_the_left_role_too(world: World) -> None:
    sm, _ = _machine(world)
    world.sfn.start_execution(stateMachineArn=sm, input="{}")
    _move(world, sm, V2)
    world.sfn.delete_state_machine(stateMachineArn=sm)
    assert world.invoke(_event("delete_state_machine.json", sm))["status"] == "removed"
    assert world.policies("OrdersRole") == world.policies("OrdersRole2") == {"inline": {}, "attached": []}
    assert _roles_in_ledger(world) == set()
