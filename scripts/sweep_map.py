"""Drive the sweep state machine's Lambda (functions/sweep_steps/app.py) as Step Functions runs
statemachines/sweep.asl.json, on moto, which does not run a Distributed Map.

What Step Functions does, and this does the same way: the ``list`` step; the ItemReader reads the listing's version
the step returned; the ItemBatcher cuts it into batches of the definition's ``MaxItemsPerBatch``; at most
``MaxConcurrency`` child executions run at once, each invoking the ``batch`` step with ``{"Items": [...]}`` as its
input and retried as the definition's ``Retry`` says (no real wait); the ResultWriter writes ``manifest.json`` and
the ``SUCCEEDED_n.json``/``FAILED_n.json`` result files under the definition's prefix
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html); then the ``summary`` step.
Used by tests/e2e/test_sweep_map.py and bench/sweep_map.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts import sandbox

ROOT = Path(__file__).resolve().parent.parent
DEFINITION: dict[str, Any] = json.loads((ROOT / "statemachines" / "sweep.asl.json").read_text(encoding="utf-8"))
MAP = DEFINITION["States"]["SweepBatches"]
BATCH_SIZE = int(MAP["ItemBatcher"]["MaxItemsPerBatch"])
RETRY = MAP["ItemProcessor"]["States"]["SweepBatch"]["Retry"]
TEMPLATE_CONCURRENCY = 10  # MaxConcurrency = IamCallsPerSecond, whose template default is 10
# ``app`` is one execution environment (one module's state: its Powertools metrics, logger keys, clients), and
# Lambda runs one invocation at a time in an environment; concurrent child executions get environments of their own.
# The child executions here share the one module, so their invocations take turns: without that, one batch's flush
# of the shared metric set could empty another's before it flushed (SchemaValidationError: "Must contain at least
# one metric"), a failure no deployed sweep can have.
_ENVIRONMENT = threading.Lock()


class Context(sandbox.FakeContext):
    function_name = "sfn-iam-SweepStepsFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class MapRun:
    """What one execution did: the listing step's output, the result entries, the summary (or its error)."""

    listing: dict[str, Any]
    entries: list[dict[str, Any]]
    manifest_key: str
    summary: dict[str, Any] | None = None
    error: Exception | None = None
    attempts: list[int] = field(default_factory=list)  # per batch: how many times its child execution ran


def child(app: Any, items: list[str], name: str) -> tuple[dict[str, Any], int]:
    """One child execution: the ``batch`` step with the definition's retries; its ResultWriter entry."""
    payload = {"Items": items}
    attempts: dict[int, int] = {}
    tries = 0
    while True:
        tries += 1
        try:
            with _ENVIRONMENT:
                output = app.lambda_handler({"step": "batch", "items": items}, Context())
        except Exception as exc:  # what the Task state sees as the error name (the exception's class name)
            error = type(exc).__name__
            rule = next((i for i, r in enumerate(RETRY) if error in r["ErrorEquals"]), None)
            if rule is not None and attempts.get(rule, 0) < RETRY[rule]["MaxAttempts"]:
                attempts[rule] = attempts.get(rule, 0) + 1
                continue
            return ({"Name": name, "Status": "FAILED", "Input": json.dumps(payload), "Error": error,
                     "Cause": json.dumps({"errorMessage": str(exc), "errorType": error})}, tries)
        return ({"Name": name, "Status": "SUCCEEDED", "Input": json.dumps(payload),
                 "Output": json.dumps(output)}, tries)


def run(app: Any, s3: Any, bucket: str, *, concurrency: int = TEMPLATE_CONCURRENCY,
        on_batch: Callable[[int, list[str]], None] | None = None) -> MapRun:
    """One execution of the sweep state machine against the moto world ``s3`` lives in."""
    listing = app.lambda_handler({"step": "list"}, Context())
    body = s3.get_object(Bucket=bucket, Key="listing/state-machines.json", VersionId=listing["versionId"])["Body"]
    arns: list[str] = json.loads(body.read())
    batches = [arns[i:i + BATCH_SIZE] for i in range(0, len(arns), BATCH_SIZE)]

    def one(index: int) -> tuple[dict[str, Any], int]:
        if on_batch is not None:
            on_batch(index, batches[index])
        return child(app, batches[index], f"batch-{index:05d}")

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="map") as pool:
        done = list(pool.map(one, range(len(batches))))
    entries = [e for e, _ in done]
    run_id = uuid.uuid4().hex
    prefix = f"{MAP['ResultWriter']['Arguments']['Prefix']}/{run_id}"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [e for e in entries if e["Status"] == status]
        if chosen:
            key = f"{prefix}/{status}_0.json"
            data = json.dumps(chosen).encode()
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            files[status].append({"Key": key, "Size": len(data)})
    manifest_key = f"{prefix}/manifest.json"
    map_run = f"arn:aws:states:{sandbox.REGION}:{sandbox.ACCOUNT}:mapRun:sfn-iam-sweep/SweepBatches:{run_id}"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(
        {"DestinationBucket": bucket, "MapRunArn": map_run, "ResultFiles": files}).encode())
    out = MapRun(listing, entries, manifest_key, attempts=[n for _, n in done])
    try:
        out.summary = app.lambda_handler({"step": "summary", "execution": f"sweep-{run_id[:8]}", "listing": listing,
                                          "results": {"Bucket": bucket, "Key": manifest_key},
                                          "mapRunArn": map_run}, Context())
    except Exception as exc:  # the execution fails at Summarize (errors are in the report and the logs)
        out.error = exc
    return out
