"""Sweep benchmark: 1,000 state machines over 100 roles on moto (in-process), swept twice.

Run: .venv/bin/python bench/sweep.py [--machines N] [--roles N] [--workers N] [--per-run N | --iam-budget N]
Prints, per sweep, the wall time and the AWS calls (Step Functions + IAM) per state machine, by operation, and the runs
of the role sweeper Lambda it took to reach every machine. Targets: at most 5 calls per state machine on the first
sweep of a clean account; on the second, 0 writes and at most 2.21 calls per state machine; in both, no machine swept
twice (a run resumed from the cursor ends where its pass began).

Runs: the Lambda stops starting machines 30 s before its 900 s timeout and paces IAM at ``IamCallsPerSecond`` (10):
a run may send at most (900 - 30) x 10 = 8,700 IAM requests, the default per-run budget here (``--iam-budget``; IAM's
pace is the bound, Step Functions calls are not paced). Each run resumes from the ledger's cursor (DynamoDB on moto)
until every machine was reached. ``--per-run N`` budgets a run as N machines instead. moto does not throttle, so IAM
is not actually paced here: call counts, not latency, are the point; the wall time per run is moto's and this
process's CPU, on this machine.

The account is created through moto's backends (10,000 machines through the API took minutes of the bench's own
time); the sweep itself goes through boto3 clients, the real adapters, the ledger on moto and ``Sweeper``. For
10,000 machines: ``nice .venv/bin/python -u bench/sweep.py --machines 10000``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
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
from sfn_iam.fixing import settings as config  # noqa: E402
from sfn_iam.governance.sweep import Sweeper  # noqa: E402

EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json"]
LAMBDA_TIMEOUT_S, STOP_BEFORE_S, IAM_CALLS_PER_SECOND = 900, 30, 10  # template.yaml's sweeper, sweep.options_from_env
IAM_BUDGET = (LAMBDA_TIMEOUT_S - STOP_BEFORE_S) * IAM_CALLS_PER_SECOND


def create_account(iam: Any, machines: int, roles: int) -> None:
    """``roles`` roles through the API, ``machines`` state machines straight into moto's Step Functions backend (the
    same objects ``CreateStateMachine`` makes, without a request each)."""
    arns = [sandbox.create_role(iam, f"bench-role-{i:03d}") for i in range(roles)]
    definitions = [(sandbox.EXAMPLES / e).read_text(encoding="utf-8") for e in EXAMPLES]
    backend = stepfunctions_backends[sandbox.ACCOUNT][sandbox.REGION]
    for i in range(machines):
        backend.create_state_machine(name=f"bench-{i:05d}", definition=definitions[i % len(definitions)],
                                     roleArn=arns[i % roles])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--iam-budget", type=int, default=IAM_BUDGET,
                        help=f"IAM requests per run (default {IAM_BUDGET:,}: the Lambda's time at its IAM pace)")
    budget.add_argument("--per-run", type=int, default=0, help="machines per run instead of an IAM budget")
    args = parser.parse_args()
    with mock_aws():
        kw = {"region_name": sandbox.REGION}
        sfn, iam, ddb = boto3.client("stepfunctions", **kw), boto3.client("iam", **kw), boto3.client("dynamodb", **kw)
        t0 = time.perf_counter()
        create_account(iam, args.machines, args.roles)
        create_table(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        print(f"setup: {args.machines} state machines over {args.roles} roles in {time.perf_counter() - t0:.1f} s")
        settings = config.from_env({**sandbox.FIXER_ENV})
        counter = sandbox.CallCounter().attach(sfn, iam)
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path)
        ledger = DynamoDbLedger(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        unit = f"at most {args.per_run} machines" if args.per_run else f"at most {args.iam_budget:,} IAM requests"
        ok = True
        for sweep_no in (1, 2):  # the second finds the account as the first left it
            counter.reset()
            t0 = time.perf_counter()
            runs, errors, statuses, again = resumed(sfn, store, settings, ledger, counter, args, sweep_no)
            elapsed = time.perf_counter() - t0
            calls = counter.total("stepfunctions", "iam")
            per = calls / args.machines
            writes = counter.writes()
            print(f"sweep {sweep_no}: {runs} runs of {unit} reached all {args.machines} machines; "
                  f"{elapsed:.1f} s, {calls} calls = {per:.2f} per state machine, {writes} writes, "
                  f"{errors} errors, statuses {statuses}, {again} machines swept more than once")
            print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())))
            target_ok = per <= 5 if sweep_no == 1 else (per <= 2.21 and writes == 0)
            ok = ok and target_ok and not errors and not again
            print(f"  target {'met' if target_ok else 'MISSED'}: "
                  f"{'<= 5 calls per state machine' if sweep_no == 1 else '<= 2.21 calls per state machine, 0 writes'}")
    return 0 if ok else 1


def budget(counter: sandbox.CallCounter, args: argparse.Namespace) -> Callable[[], bool]:
    """The run's ``keep_going``: asked before each machine, as the Lambda asks for its remaining time."""
    if args.per_run:
        machines = iter(range(args.per_run))
        return lambda: next(machines, None) is not None
    spent = counter.total("iam")
    return lambda: counter.total("iam") - spent < args.iam_budget


def resumed(sfn: Any, store: IamRolePolicyStore, settings: config.Settings, ledger: DynamoDbLedger,
            counter: sandbox.CallCounter, args: argparse.Namespace, sweep_no: int
            ) -> tuple[int, int, dict[str, int], int]:
    """One sweep of every machine, in runs resumed from the ledger's cursor, each stopped by its budget: the number of
    runs, the errors of all of them, the statuses of the machines, and how many machines more than one run swept (a
    resumed run ends where its pass began: 0)."""
    reached: dict[str, str] = {}
    times: Counter[str] = Counter()
    errors = runs = 0
    while len(reached) < args.machines and runs < 100:
        runs += 1
        t0, iam0 = time.perf_counter(), counter.total("iam")
        result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION, workers=args.workers,
                         ledger=ledger).run(keep_going=budget(counter, args))
        done = {o.state_machine_arn: str(o.status) for o in result.outcomes}
        reached.update(done)
        times.update(done.keys())
        errors += sum(1 for e in result.errors if not e.error.startswith("SweepTimeoutError"))  # not reached: next run
        print(f"  sweep {sweep_no}, run {runs}: {len(done)} machines in {time.perf_counter() - t0:.1f} s, "
              f"{counter.total('iam') - iam0} IAM requests, {len(reached)}/{args.machines} reached", flush=True)
    return runs, errors, dict(Counter(reached.values())), sum(1 for n in times.values() if n > 1)


if __name__ == "__main__":
    sys.exit(main())
