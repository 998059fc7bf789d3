"""The sweep end to end on moto (in-process): 200 state machines over 20 roles, through the real boto3 adapters.

One account is built once and walked through the life a governance sweep sees: a report-mode sweep that writes
nothing, the enforcing sweep that fixes every role, a second sweep with zero writes, then hand edits, deleted
machines, a moved role — reported, then repaired. AWS calls are counted on the clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts import sandbox
from sfn_iam import engine
from sfn_iam.aws.iam import IamRolePolicyStore
from sfn_iam.aws.stepfunctions import StepFunctionsReader
from sfn_iam.fixing import naming
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.governance.sweep import Sweeper, SweepResult
from sfn_iam.model import StateMachine
from tests.e2e.moto_serial import Serialised, serialise_moto

MACHINES, ROLES = 200, 20  # scale itself: bench/sweep.py and bench/event_cost.py (10,000 machines)
EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json",
            "hello_pass.asl.json"]
PREFIX = "sfn-iam."


@dataclass
class Account:
    sfn: Any
    iam: Any
    counter: sandbox.CallCounter
    settings: config.Settings
    moto: Serialised

    def sweep(self, mode: str = "enforce") -> SweepResult:
        self.counter.reset()
        settings = config.from_env({**sandbox.FIXER_ENV, "MODE": mode})
        store = IamRolePolicyStore(self.iam, partition="aws", account=sandbox.ACCOUNT, role_path=sandbox.ROLE_PATH)
        # four workers, as deployed: the per-role cache under concurrency (moto itself one request at a time)
        return Sweeper(StepFunctionsReader(self.sfn), store, settings, sandbox.REGION, workers=4).run()

    def machines(self) -> dict[str, tuple[str, Any]]:
        """Every state machine: ARN → (role name, parsed definition)."""
        out = {}
        for page in self.sfn.get_paginator("list_state_machines").paginate():
            for item in page["stateMachines"]:
                d = self.sfn.describe_state_machine(stateMachineArn=item["stateMachineArn"])
                out[d["stateMachineArn"]] = (d["roleArn"].rsplit("/", 1)[1], json.loads(d["definition"]))
        return out

    def inline(self) -> dict[str, dict[str, Any]]:
        """Every role under the path: {role: {policy name: document}} (only our policies)."""
        out: dict[str, dict[str, Any]] = {}
        for page in self.iam.get_paginator("list_roles").paginate(PathPrefix=sandbox.ROLE_PATH):
            for role in page["Roles"]:
                name = role["RoleName"]
                out[name] = {p: self.iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                             for p in self.iam.list_role_policies(RoleName=name)["PolicyNames"] if p.startswith(PREFIX)}
        return out

    def expected(self) -> dict[str, dict[str, Any]]:
        """What every role must carry: one policy per machine that needs permissions, the engine's document."""
        out: dict[str, dict[str, Any]] = {f"sweep-role-{r:02d}": {} for r in range(ROLES)}
        for sm_arn, (role, definition) in self.machines().items():
            plan = engine.plan(StateMachine(arn=sm_arn, definition=definition))
            if plan.documents:
                out.setdefault(role, {})[naming.policy_name(PREFIX, sm_arn)] = plan.documents[0]
        return out


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            mp.setenv(key, "testing")
        mp.setenv("AWS_DEFAULT_REGION", sandbox.REGION)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        seen = serialise_moto(mp)
        with mock_aws():
            sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
            iam = boto3.client("iam", region_name=sandbox.REGION)
            roles = [sandbox.create_role(iam, f"sweep-role-{r:02d}") for r in range(ROLES)]
            definitions = [(sandbox.EXAMPLES / e).read_text(encoding="utf-8") for e in EXAMPLES]
            for i in range(MACHINES):
                sfn.create_state_machine(name=f"sweep-{i:03d}", definition=definitions[i % len(definitions)],
                                         roleArn=roles[i % ROLES])
            yield Account(sfn, iam, sandbox.CallCounter().attach(sfn, iam),
                          config.from_env(dict(sandbox.FIXER_ENV)), seen)


def test_1_report_mode_on_a_fresh_account_writes_nothing(account: Account) -> None:
    result = account.sweep("report")
    assert account.counter.writes() == 0 and result.writes == 0
    assert len(result.outcomes) == MACHINES and not result.errors
    statuses = result.totals()["byStatus"]
    assert statuses == {"proposed": MACHINES * 3 // 4, "unchanged": MACHINES // 4}  # hello_pass needs nothing
    assert all(policies == {} for policies in account.inline().values())


def test_2_enforce_leaves_every_role_correct_within_the_call_budget(account: Account) -> None:
    account.moto.threads.clear()
    result = account.sweep("enforce")
    assert len({t for t in account.moto.threads if t.startswith("sweep")}) > 1  # the pool's threads reached moto
    calls = account.counter.total("stepfunctions", "iam")
    assert not result.errors and result.roles == ROLES
    # + ListStateMachineAliases per machine: the versions its aliases route to stay granted (fixing.versions)
    assert calls <= 5 * MACHINES, dict(account.counter.calls)
    assert account.counter.calls["stepfunctions:ListStateMachineAliases"] == MACHINES
    assert account.counter.calls["iam:GetRole"] == ROLES  # once per role, not per machine
    assert account.counter.calls["iam:ListRolePolicies"] == ROLES
    assert account.counter.calls["iam:PutRolePolicy"] == MACHINES * 3 // 4
    assert account.inline() == account.expected()


def test_3_a_second_sweep_makes_no_write(account: Account) -> None:
    result = account.sweep("enforce")
    assert account.counter.writes() == 0 and result.writes == 0
    assert result.totals()["byStatus"] == {"unchanged": MACHINES}
    # DescribeStateMachine and ListStateMachineAliases per machine; per role one GetRole; the account-wide listing
    # (GetAccountAuthorizationDetails) returns the roles' policies and documents, so none is listed or read again
    assert account.counter.total("stepfunctions", "iam") <= 2.21 * MACHINES, dict(account.counter.calls)
    assert account.counter.calls["iam:GetRolePolicy"] == 0
    # only the roles whose machines need nothing (hello_pass) carry none of our policies, so the listing leaves them out
    assert account.counter.calls["iam:ListRolePolicies"] <= ROLES // 4
    assert account.counter.calls["iam:ListAttachedRolePolicies"] <= ROLES // 4


def _damage(account: Account) -> dict[str, Any]:
    """Hand edits on 5 policies, 5 machines deleted while nobody listened, 1 machine moved to another role."""
    machines = account.machines()
    owned = sorted((a, r) for a, (r, d) in machines.items() if engine.plan(StateMachine(a, d)).documents)
    edited = owned[:5]
    for sm_arn, role in edited:
        name = naming.policy_name(PREFIX, sm_arn)
        account.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    deleted = owned[5:10]
    for sm_arn, _ in deleted:
        account.sfn.delete_state_machine(stateMachineArn=sm_arn)
    moved_arn, old_role = owned[10]
    new_role = "sweep-role-00" if old_role != "sweep-role-00" else "sweep-role-01"
    account.sfn.update_state_machine(stateMachineArn=moved_arn,
                                     roleArn=f"arn:aws:iam::{sandbox.ACCOUNT}:role{sandbox.ROLE_PATH}{new_role}")
    account.iam.put_role_policy(RoleName=old_role, PolicyName="team-owned", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    return {"edited": edited, "deleted": deleted, "moved": (moved_arn, old_role, new_role)}


def test_4_drift_orphans_and_moves_are_reported_then_repaired(account: Account) -> None:
    damage = _damage(account)
    before = account.inline()

    report = account.sweep("report")
    assert account.counter.writes() == 0 and account.inline() == before
    drift = {o.state_machine_arn for o in report.outcomes if any(f.code == "DRIFT" for f in o.findings)}
    assert drift == {a for a, _ in damage["edited"]}
    assert {o.policy_name for o in report.orphans} == {naming.policy_name(PREFIX, a) for a, _ in damage["deleted"]}
    assert {o.status for o in report.orphans} == {Status.PROPOSED}
    moved = next(o for o in report.outcomes if o.state_machine_arn == damage["moved"][0])
    assert moved.status is Status.PROPOSED

    repaired = account.sweep("enforce")
    assert not repaired.errors and repaired.totals()["drift"] == 5 and repaired.totals()["orphansRemoved"] == 5
    after = account.inline()
    assert after == account.expected()
    moved_arn, old_role, new_role = damage["moved"]
    assert naming.policy_name(PREFIX, moved_arn) in after[new_role]
    assert account.iam.get_role_policy(RoleName=old_role, PolicyName="team-owned")  # not ours: never touched

    assert account.sweep("enforce").writes == 0 and account.counter.writes() == 0
