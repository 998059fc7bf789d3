"""Sweep benchmark: 1,000 state machines over 100 roles on moto (in-process), swept twice.

Run: .venv/bin/python bench/sweep.py [--machines N] [--roles N] [--workers N] [--per-run N]
Prints, per sweep, the wall time and the AWS calls (Step Functions + IAM) per state machine, by operation.
Targets: at most 5 calls per state machine on the first sweep of a clean account; on the second, 0 writes and at most
2.21 calls per state machine. IAM pacing is off here (moto does not throttle); the Lambda and the CLI pace IAM calls
with a token bucket. ``--per-run N`` (a Lambda's time budget as a number of machines): the sweeps resume from the
ledger's cursor, and the runs each sweep needed to reach every machine are printed (10,000 machines, 2,500 per run:
``--machines 10000 --per-run 2500``).
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

from scripts import sandbox  # noqa: E402
from sfn_iam.aws.iam import IamRolePolicyStore  # noqa: E402
from sfn_iam.aws.ledger import DynamoDbLedger, create_table  # noqa: E402
from sfn_iam.aws.stepfunctions import StepFunctionsReader  # noqa: E402
from sfn_iam.fixing import settings as config  # noqa: E402
from sfn_iam.governance.sweep import Sweeper  # noqa: E402

EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-run", type=int, default=0, help="machines per run (resumed from the ledger's cursor)")
    args = parser.parse_args()
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
        iam = boto3.client("iam", region_name=sandbox.REGION)
        t0 = time.perf_counter()
        roles = [sandbox.create_role(iam, f"bench-role-{i:03d}") for i in range(args.roles)]
        definitions = [(sandbox.EXAMPLES / e).read_text(encoding="utf-8") for e in EXAMPLES]
        for i in range(args.machines):
            sfn.create_state_machine(name=f"bench-{i:04d}", definition=definitions[i % len(definitions)],
                                     roleArn=roles[i % args.roles])
        print(f"setup: {args.machines} state machines over {args.roles} roles in {time.perf_counter() - t0:.1f} s")
        settings = config.from_env({**sandbox.FIXER_ENV})
        counter = sandbox.CallCounter().attach(sfn, iam)
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path)
        ledger = None
        if args.per_run:
            ddb = boto3.client("dynamodb", region_name=sandbox.REGION)
            create_table(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
            ledger = DynamoDbLedger(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        ok = True
        for run in (1, 2):
            counter.reset()
            t0 = time.perf_counter()
            if ledger is None:
                result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION,
                                 workers=args.workers).run()
                errors, statuses = len(result.errors), dict(result.totals()["byStatus"])
            else:
                runs, errors, statuses = resumed(sfn, store, settings, ledger, args)
                print(f"sweep {run}: {runs} runs of at most {args.per_run} machines reached all {args.machines}")
            elapsed = time.perf_counter() - t0
            calls = counter.total("stepfunctions", "iam")
            per = calls / args.machines
            writes = counter.writes()
            print(f"sweep {run}: {elapsed:.1f} s, {calls} calls = {per:.2f} per state machine, {writes} writes, "
                  f"{errors} errors, statuses {statuses}")
            print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())))
            target_ok = per <= 5 if run == 1 else (per <= 2.21 and writes == 0)
            ok = ok and target_ok and not errors
            print(f"  target {'met' if target_ok else 'MISSED'}: "
                  f"{'<= 5 calls per state machine' if run == 1 else '<= 2.21 calls per state machine, 0 writes'}")
    return 0 if ok else 1


def resumed(sfn: Any, store: IamRolePolicyStore, settings: config.Settings, ledger: DynamoDbLedger,
            args: argparse.Namespace) -> tuple[int, int, dict[str, int]]:
    """One sweep of every machine, in runs of at most ``args.per_run`` machines resumed from the ledger's cursor:
    the number of runs, the errors of all of them, and the statuses of the machines."""
    reached: dict[str, str] = {}
    errors = runs = 0
    while len(reached) < args.machines and runs < args.machines // args.per_run + 2:
        runs += 1
        budget = iter(range(args.per_run))  # the Lambda's time budget, as a number of machines per run
        result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION, workers=args.workers,
                         ledger=ledger).run(keep_going=lambda b=budget: next(b, None) is not None)
        reached.update((o.state_machine_arn, str(o.status)) for o in result.outcomes)
        errors += sum(1 for e in result.errors if not e.error.startswith("SweepTimeoutError"))  # not reached: next run
    return runs, errors, dict(Counter(reached.values()))


if __name__ == "__main__":
    sys.exit(main())
