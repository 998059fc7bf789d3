"""Sweep benchmark: 1,000 state machines over 100 roles on moto (in-process), swept twice.

Run: .venv/bin/python bench/sweep.py [--machines N] [--roles N] [--workers N]
Prints, per sweep, the wall time and the AWS calls (Step Functions + IAM) per state machine, by operation.
Targets: at most 4 calls per state machine on the first sweep of a clean account, 0 writes on the second.
IAM pacing is off here (moto does not throttle); the Lambda and the CLI pace IAM calls with a token bucket.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "sfn_iam"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from scripts import sandbox  # noqa: E402
from sfn_iam.aws.iam import IamRolePolicyStore  # noqa: E402
from sfn_iam.aws.stepfunctions import StepFunctionsReader  # noqa: E402
from sfn_iam.fixing import settings as config  # noqa: E402
from sfn_iam.governance.sweep import Sweeper  # noqa: E402

EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
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
        ok = True
        for run in (1, 2):
            counter.reset()
            t0 = time.perf_counter()
            result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION, workers=args.workers).run()
            elapsed = time.perf_counter() - t0
            calls = counter.total("stepfunctions", "iam")
            per = calls / args.machines
            writes = counter.writes()
            print(f"sweep {run}: {elapsed:.1f} s, {calls} calls = {per:.2f} per state machine, {writes} writes, "
                  f"{len(result.errors)} errors, statuses {result.totals()['byStatus']}")
            print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())))
            target_ok = per <= 4 if run == 1 else (per <= 4 and writes == 0)
            ok = ok and target_ok and not result.errors
            print(f"  target {'met' if target_ok else 'MISSED'}: "
                  f"{'<= 4 calls per state machine' if run == 1 else '0 writes'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
