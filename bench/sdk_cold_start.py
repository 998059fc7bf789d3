"""Cold-start cost of the AWS SDK table: fresh-process time to import the engine and plan one definition.

Run: .venv/bin/python bench/sdk_cold_start.py [--tree PATH] [--runs N]

Three fresh-interpreter measurements (median of N runs each, perf_counter inside the child, so interpreter start-up
is excluded):
  engine, no SDK Task       import sfn_iam.engine + plan a definition of optimized integrations only
  engine, 3 SDK services    the same with three aws-sdk Tasks (s3, dynamodb, sqs): loads sdk.py, index.json and
                            three service files
  sdk table first lookups   after import, the first lookup of three operations (reads index.json and three
                            service files)
``--tree`` measures another checkout's ``layers/sfn_iam`` (e.g. the commit before the SDK table) the same way; the
third line is skipped there when that tree has no SDK table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Bench"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


def _task(resource: str, params: dict[str, object], nxt: str | None) -> dict[str, object]:
    state: dict[str, object] = {"Type": "Task", "Resource": resource, "Parameters": params}
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
NO_SDK = {"StartAt": "A", "States": {
    "A": _task("arn:aws:states:::sns:publish", {"TopicArn": TOPIC, "Message": "m"}, "B"),
    "B": _task("arn:aws:states:::dynamodb:getItem", {"TableName": "T", "Key": {}}, "C"),
    "C": _task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": QUEUE, "MessageBody": "m"}, None),
}}
WITH_SDK = {"StartAt": "A", "States": {
    "A": _task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "b", "Key": "k"}, "B"),
    "B": _task("arn:aws:states:::aws-sdk:dynamodb:query", {"TableName": "T", "IndexName": "I"}, "C"),
    "C": _task("arn:aws:states:::aws-sdk:sqs:receiveMessage", {"QueueUrl": QUEUE}, None),
}}

_PLAN = """
import json, sys, time
t = time.perf_counter()
sys.path.insert(0, {path!r})
from sfn_iam import engine
from sfn_iam.model import StateMachine
plan = engine.plan(StateMachine(arn={arn!r}, definition=json.loads({definition!r})))
print(time.perf_counter() - t)
"""
_SDK_ONLY = """
import sys, time
sys.path.insert(0, {path!r})
from sfn_iam.engine.integrations import sdk
t = time.perf_counter()
for service, api in (("s3", "getObject"), ("dynamodb", "query"), ("sqs", "receiveMessage")):
    assert sdk.operation(service, api) is not None
print(time.perf_counter() - t)
"""


def _once(code: str) -> float:
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to measure (default: this one)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    path = str((args.tree / "layers" / "sfn_iam").resolve())
    rows = [
        ("engine, no SDK Task", _PLAN.format(path=path, arn=ARN, definition=json.dumps(NO_SDK))),
        ("engine, 3 SDK services", _PLAN.format(path=path, arn=ARN, definition=json.dumps(WITH_SDK))),
    ]
    if (Path(path) / "sfn_iam" / "data" / "sdk" / "index.json").exists():
        rows.append(("sdk table first lookups", _SDK_ONLY.format(path=path)))
    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _ in range(args.runs):  # interleaved, so that drift in machine load hits every row alike
        for label, code in rows:
            times[label].append(_once(code))
    print(f"tree: {args.tree.resolve()}  (median of {args.runs} fresh processes, ms)")
    for label, values in times.items():
        print(f"  {label:24} {statistics.median(values) * 1000:7.1f}   (min {min(values) * 1000:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
