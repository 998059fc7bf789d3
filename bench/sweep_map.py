"""Sweep state machine benchmark: 10,000 state machines over 1,000 roles on moto (in-process), one execution of
statemachines/sweep.asl.json driven as Step Functions runs it (scripts/sweep_map.py), swept twice.

Run: .venv/bin/python bench/sweep_map.py [--machines N] [--roles N] [--concurrency N] [--layout round-robin|blocks]
``round-robin`` (the default, as bench/sweep.py) gives machine i the role i mod roles, so every batch of consecutive
names meets as many roles as it has machines: the worst case for the per-batch role cache. ``blocks`` gives
consecutive names the same role, as applications that name their machines and roles alike do.
Prints, per execution, the wall time at the template's concurrency (MaxConcurrency = IamCallsPerSecond, default 10
batches at once), the AWS calls (Step Functions + IAM) per state machine by operation, the S3 calls, the batches;
then what the same execution costs on AWS at IAM's pace: IAM calls, minutes, Step Functions state transitions and
their price (docs/sweep.md, "At 10,000 state machines"). IAM is not paced here (moto does not throttle): each batch
runs at up to 100 IAM calls/s instead of the 1 call/s the template sets.
Targets: one execution reaches every machine; 0 writes on the second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "sfn_iam"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from scripts import sandbox, sweep_map  # noqa: E402
from sfn_iam.aws.ledger import create_table  # noqa: E402

BUCKET = "sfn-iam-sweepbucket-bench"
EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json"]
# Prices in us-east-1 (https://aws.amazon.com/step-functions/pricing/, https://aws.amazon.com/lambda/pricing/):
TRANSITION_USD = 0.025 / 1000  # Standard workflows, per state transition past the free tier
LAMBDA_GB_SECOND_USD = 0.0000133334  # arm64, first tier
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
TEMPLATE_IAM_RATE = 10  # IamCallsPerSecond's default: MaxConcurrency batches, each at 1 IAM call/s
LAMBDA_GB = 0.5  # SweepStepsFunction's MemorySize


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--machines", type=int, default=10_000)
    parser.add_argument("--roles", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=sweep_map.TEMPLATE_CONCURRENCY)
    parser.add_argument("--layout", choices=["round-robin", "blocks"], default="round-robin")
    args = parser.parse_args()
    os.environ.update({**sandbox.FIXER_ENV, "SWEEP_BUCKET_NAME": BUCKET, "IAM_CALLS_PER_SECOND": "100",
                       "POWERTOOLS_SERVICE_NAME": "sfn-iam-sweep-steps", "POWERTOOLS_LOG_LEVEL": "WARNING",
                       "POWERTOOLS_METRICS_DISABLED": "true", "SWEEP_WORKERS": "4"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=sandbox.REGION)
        iam = boto3.client("iam", region_name=sandbox.REGION)
        s3 = boto3.client("s3", region_name=sandbox.REGION)
        t0 = time.perf_counter()
        roles = [sandbox.create_role(iam, f"bench-role-{i:04d}") for i in range(args.roles)]
        definitions = [(sandbox.EXAMPLES / e).read_text(encoding="utf-8") for e in EXAMPLES]
        per_role = -(-args.machines // args.roles)
        for i in range(args.machines):
            role = roles[i % args.roles] if args.layout == "round-robin" else roles[i // per_role]
            sfn.create_state_machine(name=f"bench-{i:05d}", definition=definitions[i % len(definitions)],
                                     roleArn=role)
        create_table(boto3.client("dynamodb", region_name=sandbox.REGION), sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        print(f"setup: {args.machines} state machines over {args.roles} roles ({args.layout}) in "
              f"{time.perf_counter() - t0:.0f} s")
        counter = sandbox.CallCounter()
        original = boto3.session.Session.client

        def counted(self: boto3.session.Session, *a: Any, **k: Any) -> Any:
            client = original(self, *a, **k)
            counter.attach(client)
            return client

        boto3.session.Session.client = counted  # type: ignore[method-assign]
        app = sandbox.load_handler("sweep_steps")
        ok = True
        for run in (1, 2):
            counter.reset()
            t0 = time.perf_counter()
            result = sweep_map.run(app, s3, BUCKET, concurrency=args.concurrency)
            elapsed = time.perf_counter() - t0
            totals = (result.summary or {}).get("totals", {})
            calls = counter.total("stepfunctions", "iam")
            iam_calls = counter.total("iam")
            per = calls / args.machines
            writes = counter.writes()
            batches = len(result.entries)
            retries = sum(result.attempts) - batches
            print(f"execution {run}: {elapsed:.0f} s at {args.concurrency} batches at once, {batches} batches of "
                  f"{sweep_map.BATCH_SIZE}, {totals.get('stateMachines')} machines reached, {calls} calls = "
                  f"{per:.2f} per state machine ({iam_calls / args.machines:.2f} IAM), {writes} writes, "
                  f"{totals.get('errors')} errors, statuses {totals.get('byStatus')}")
            print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())))
            # On AWS at the template's pace: IAM is the bound (MaxConcurrency batches x 1 call/s).
            minutes = iam_calls / TEMPLATE_IAM_RATE / 60
            # Parent: ListStateMachines, SweepBatches, Summarize (one each); each child execution: its start (the
            # Map's transition per child) and SweepBatch; each retry one more.
            transitions = 3 + 2 * batches + retries
            seconds_per_batch = iam_calls / batches if batches else 0  # 1 IAM call/s per batch
            gb_seconds = iam_calls * LAMBDA_GB  # every batch is paced: its IAM calls are its seconds
            lambda_usd = gb_seconds * LAMBDA_GB_SECOND_USD + (batches + 2) * LAMBDA_REQUEST_USD
            print(f"  on AWS at IamCallsPerSecond={TEMPLATE_IAM_RATE}: {iam_calls} IAM calls = {minutes:.0f} min "
                  f"(about {seconds_per_batch:.0f} s per batch, under Lambda's 900 s); {transitions} state "
                  f"transitions = ${transitions * TRANSITION_USD:.4f}; Lambda {gb_seconds:.0f} GB-s = "
                  f"${lambda_usd:.2f}")
            reached = totals.get("stateMachines") == args.machines and not totals.get("errors")
            target_ok = reached if run == 1 else (reached and writes == 0)
            ok = ok and target_ok and result.error is None
            print(f"  target {'met' if target_ok else 'MISSED'}: "
                  f"{'every machine in one execution' if run == 1 else '0 writes'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
