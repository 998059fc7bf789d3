"""Event cost benchmark: AWS calls and bytes read per Create, Update (with roleArn, as CloudFormation sends it), an
update taking grants away while an older execution runs and the next event once it ended (retiring policies), role
move and Delete, at 100, 1,000 and 3,000 roles in the account; then a sweep of many machines under a time
budget, resumed across runs from the ledger's cursor until every machine was reached.

Run: .venv/bin/python bench/event_cost.py [--roles 100,1000,3000] [--machines 10000] [--per-run 2500]
Everything on moto in-process (no throttling: call counts, not latency, are the point). Targets, the same at every
account size (TARGETS): a Create at most 5 calls (plus one per resolved fact; this fixer resolves none), an Update at
most 6, a role move at most 9, a Delete at most 5, each plus one ``PutRolePermissionsBoundary`` on a role sfn-iam
writes to for the first time (the ceiling as its boundary, set once per role). "Bytes read" are response bodies.
The sweep is run twice: the second, on an unchanged account, at most 2.21 calls per machine and no write.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "sfn_iam"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.stepfunctions.models import stepfunctions_backends  # noqa: E402

from scripts import sandbox  # noqa: E402
from sfn_iam.aws.iam import IamRolePolicyStore  # noqa: E402
from sfn_iam.aws.ledger import DynamoDbLedger, create_table  # noqa: E402
from sfn_iam.aws.stepfunctions import StepFunctionsReader  # noqa: E402
from sfn_iam.aws.wiring import utc_now  # noqa: E402
from sfn_iam.fixing import settings as config  # noqa: E402
from sfn_iam.fixing.service import RoleFixer  # noqa: E402
from sfn_iam.governance.sweep import Sweeper  # noqa: E402

TABLE = sandbox.FIXER_ENV["LEDGER_TABLE_NAME"]
TARGETS = {"create": 5, "update (roleArn)": 6, "role move": 9, "delete": 5}


class Meter:
    """Calls per ``service:Operation`` and response bytes, on the clients it is attached to."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.bytes = 0
        for client in clients:
            client.meta.events.register("provide-client-params", self._call)
            client.meta.events.register("after-call", self._read)

    def _call(self, model: Any, **_: Any) -> None:
        self.calls[model.service_model.service_name + ":" + model.name] += 1

    def _read(self, http_response: Any, **_: Any) -> None:
        self.bytes += len(http_response.content or b"")

    def reset(self) -> None:
        self.calls.clear()
        self.bytes = 0


def events_at(roles: int) -> dict[str, tuple[int, int, str, int]]:
    with mock_aws():
        kw = {"region_name": sandbox.REGION}
        sfn, iam, ddb = boto3.client("stepfunctions", **kw), boto3.client("iam", **kw), boto3.client("dynamodb", **kw)
        create_table(ddb, TABLE)
        arns = [sandbox.create_role(iam, f"filler-{i:05d}") for i in range(roles - 2)]
        for i, a in enumerate(arns[: roles // 2]):  # half the account's roles carry our policies already
            iam.put_role_policy(RoleName=a.rsplit("/", 1)[1], PolicyName=f"sfn-iam.{sandbox.REGION}.other-{i}",
                                PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                                               '"Action":"sns:Publish","Resource":"*"}]}')
        role, role2 = sandbox.create_role(iam, "R1"), sandbox.create_role(iam, "R2")
        settings = config.from_env(dict(sandbox.FIXER_ENV))
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path)
        fixer = RoleFixer(StepFunctionsReader(sfn), store, settings, ledger=DynamoDbLedger(ddb, TABLE),
                          region=sandbox.REGION)
        meter = Meter(sfn, iam, ddb)
        sm = sandbox.create_state_machine(sfn, "Bench", "order_processing.asl.json", role)
        v2 = (sandbox.EXAMPLES / "order_processing_v2.asl.json").read_text(encoding="utf-8")
        out: dict[str, tuple[int, int, str, int]] = {}

        def measure(name: str, file: str, role_arn: str | None = None) -> None:
            meter.reset()
            event = sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm, role_arn=role_arn)
            event["detail"]["eventTime"] = utc_now()  # after any execution started so far (retiring policies)
            outcome = fixer.handle_event(event)
            out[name] = (sum(meter.calls.values()), meter.bytes, f"{outcome.status} "
                         + ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(meter.calls.items())),
                         meter.calls["iam:PutRolePermissionsBoundary"])

        measure("create", "create_state_machine.json", role)
        sfn.update_state_machine(stateMachineArn=sm, definition=v2)
        measure("update (roleArn)", "update_state_machine_role.json", role)
        # docs/adr/0007: back to v1 (no SQS) while an execution of v2 runs, then the next event once it ended
        execution = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        sfn.update_state_machine(stateMachineArn=sm, definition=(sandbox.EXAMPLES / "order_processing.asl.json")
                                 .read_text(encoding="utf-8"))
        measure("update, retiring", "update_state_machine_role.json", role)
        sfn.stop_execution(executionArn=execution)
        measure("next, retired", "update_state_machine_role.json", role)
        sfn.update_state_machine(stateMachineArn=sm, roleArn=role2)
        measure("role move", "update_state_machine_role.json", role2)
        sfn.delete_state_machine(stateMachineArn=sm)
        measure("delete", "delete_state_machine.json")
        return out


def cursor_text(cursor: str) -> str:
    """The ledger's sweep cursor, ``"<pass start> <first machine not reached>"`` (governance/sweep.py), by machine
    names: where the pass began (and ends) and where the next run resumes."""
    if not cursor:
        return "pass complete (no cursor)"
    start, _, stopped = (arn.rsplit(":", 1)[-1] for arn in cursor.rpartition(" "))
    return (f"pass began at {start}, " if start else "") + f"next run resumes at {stopped}"


def sweep(machines: int, per_run: int) -> bool:
    with mock_aws():
        kw = {"region_name": sandbox.REGION}
        sfn, iam, ddb = boto3.client("stepfunctions", **kw), boto3.client("iam", **kw), boto3.client("dynamodb", **kw)
        create_table(ddb, TABLE)
        t0 = time.perf_counter()
        roles = [sandbox.create_role(iam, f"sweep-role-{i:03d}") for i in range(100)]
        definition = (sandbox.EXAMPLES / "order_processing.asl.json").read_text(encoding="utf-8")
        backend = stepfunctions_backends[sandbox.ACCOUNT][sandbox.REGION]  # not 10,000 requests: minutes of setup
        for i in range(machines):
            backend.create_state_machine(name=f"m-{i:05d}", definition=definition, roleArn=roles[i % 100])
        print(f"sweep setup: {machines} machines over 100 roles in {time.perf_counter() - t0:.0f} s")
        settings = config.from_env(dict(sandbox.FIXER_ENV))
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path)
        ledger = DynamoDbLedger(ddb, TABLE)
        meter = Meter(sfn, iam)
        ok = True
        for sweep_no in (1, 2):  # the second sweep finds the account as the first left it
            meter.reset()
            reached: set[str] = set()
            runs = 0
            for runs in range(1, machines // per_run + 3):
                budget = iter(range(per_run))  # the Lambda's time budget, as a number of machines per run
                t0 = time.perf_counter()
                result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION, workers=4,
                                 ledger=ledger).run(keep_going=lambda b=budget: next(b, None) is not None)
                done = {o.state_machine_arn for o in result.outcomes}
                reached |= done
                print(f"  sweep {sweep_no}, run {runs}: {len(done)} machines in {time.perf_counter() - t0:.0f} s, "
                      f"{len(reached)}/{machines} reached, "
                      f"{cursor_text(ledger.get_cursor(f'sweep.{sandbox.REGION}'))}")
                if len(reached) == machines:
                    break
            calls = sum(meter.calls.values())
            writes = sum(v for k, v in meter.calls.items() if k.split(":")[1].startswith(("Put", "Delete", "Attach",
                                                                                          "Detach", "Create")))
            print(f"sweep {sweep_no}: {runs} runs of at most {per_run} to reach {len(reached)}/{machines} machines; "
                  f"{calls} calls = {calls / machines:.2f} per machine (Step Functions and IAM), {writes} writes")
            ok = ok and len(reached) == machines
            if sweep_no == 2:
                ok = ok and calls / machines <= 2.21 and writes == 0
                print(f"  target {'met' if ok else 'MISSED'}: <= 2.21 calls per machine, 0 writes, every machine")
        return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--roles", default="100,1000,3000")
    parser.add_argument("--machines", type=int, default=10000)
    parser.add_argument("--per-run", type=int, default=2500)
    args = parser.parse_args()
    ok = True
    for n in (int(x) for x in args.roles.split(",")):
        t0 = time.perf_counter()
        for name, (calls, read, detail, boundary) in events_at(n).items():
            target = TARGETS.get(name)
            if target is not None:
                target += boundary  # the ceiling as the boundary of a role written to for the first time: once
            verdict = "" if target is None else f"  target <= {target}: {'met' if calls <= target else 'MISSED'}"
            print(f"{n:>5} roles  {name:<17} {calls:>2} calls {read:>7} bytes read{verdict}  ({detail})")
            ok = ok and (target is None or calls <= target)
        print(f"      ({time.perf_counter() - t0:.0f} s)")
    if args.machines:
        ok = sweep(args.machines, args.per_run) and ok
    print("target met" if ok else "target MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
