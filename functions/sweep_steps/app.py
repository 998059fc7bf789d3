"""The sweep state machine's Lambda (statemachines/sweep.asl.json): one composition root, one handler per step.

- ``list``: every state machine of the account and region → the listing object in the sweep bucket, ordered by
  the role the ledger names for each machine (one ``GetItem`` each) so that a batch meets few roles; returns its
  version, which the Distributed Map's ItemReader reads;
- ``batch``: one child execution of the Map, ``{"Items": [arn, ...]}`` → ``Sweeper.run_batch`` (the same per-machine
  code as the single-Lambda sweep) → the batch's outcomes (governance/batches.py). When IAM still throttles a
  machine after botocore's retries, it raises ``IamThrottled``: the state machine retries the batch with backoff;
- ``summary``: the Map Run's result files → the sweep's result → orphans, residual removal, the report (JSON and
  Markdown, into the bucket), outcome events, the ``Sweep Completed`` event, SNS and Security Hub, as the
  single-Lambda sweep does. A sweep that could not handle some machines still reports everything, then fails.

Settings as the role sweeper's (fixing.settings, governance.sweep.options_from_env) plus ``SWEEP_BUCKET_NAME``;
``IAM_CALLS_PER_SECOND`` here paces one invocation: the Map's MaxConcurrency times it bounds the account's rate.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sfn_iam.aws.wiring import Wiring, wire
from sfn_iam.fixing import naming
from sfn_iam.fixing import settings as config
from sfn_iam.governance import batches, report, sweep

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


class IamThrottled(RuntimeError):  # the error name the state machine's Retry matches
    """IAM throttled a machine of this batch beyond botocore's retries: the state machine retries the batch."""


class UnknownStep(ValueError):  # the error name the state machine shows
    """The event names no step of the sweep."""


def _wiring() -> tuple[Wiring, sweep.SweepOptions]:
    settings = config.from_env(os.environ)
    options = sweep.options_from_env(os.environ)
    return wire(settings, iam_calls_per_second=options.iam_calls_per_second), options


def _bucket_name() -> str:
    name = os.environ.get("SWEEP_BUCKET_NAME", "").strip()
    if not name:
        raise config.ConfigError("SWEEP_BUCKET_NAME is not set")
    return name


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = event.get("step")
    if step == "list":
        return list_step()
    if step == "batch":
        return batch_step(event)
    if step == "summary":
        return summary_step(event)
    raise UnknownStep(f"unknown step {str(step)[:40]!r}; expected list, batch or summary")


def list_step() -> dict[str, Any]:
    wiring, options = _wiring()
    arns = sorted(wiring.machines.list_arns())
    ledger = wiring.ledger
    if ledger is not None:  # machines sharing a role in the same batch: the batch reads the role once
        prefix = wiring.settings.policy_prefix
        with ThreadPoolExecutor(max_workers=4 * options.workers) as pool:
            entries = dict(zip(arns, pool.map(lambda a: ledger.get(naming.policy_name(prefix, a)), arns),
                               strict=True))
        arns = batches.by_role(arns, lambda a: entry.roles if (entry := entries[a]) is not None else ())
    bucket = wiring.bucket(_bucket_name())
    version = bucket.put_listing(arns)
    logger.info("listed", extra={"stateMachines": len(arns), "versionId": version})
    metrics.add_metric(name="SweepListed", unit=MetricUnit.Count, value=len(arns))
    return {"stateMachines": len(arns), "versionId": version}


def batch_step(event: dict[str, Any]) -> dict[str, Any]:
    wiring, options = _wiring()
    items = [str(a) for a in event.get("items") or []]
    result = wiring.sweeper(workers=options.workers, sleep=time.sleep).run_batch(items)
    for o in result.outcomes:
        if o.changes or o.findings:
            logger.info(f"{o.status}: {o.policy_name}", extra={"outcome": o.to_dict()})
    for e in result.errors:
        logger.error(f"sweep error on {e.target}: {e.error}")
    throttled = [e for e in result.errors if "Throttling" in e.error]
    if throttled:
        raise IamThrottled(f"{len(throttled)} of {len(items)} machine(s) throttled; first: {throttled[0].target}")
    metrics.add_metric(name="SweepBatchWrites", unit=MetricUnit.Count, value=result.writes)
    return batches.batch_output(result)


def summary_step(event: dict[str, Any]) -> dict[str, Any]:
    wiring, options = _wiring()
    settings = wiring.settings
    bucket = wiring.bucket(_bucket_name())
    listing = bucket.get_listing(str(event.get("listing", {}).get("versionId", "")))
    manifest = bucket.read_json(str(event.get("results", {}).get("Key", "")))
    entries = [e for key in batches.result_files(manifest) for e in bucket.read_json(key)]
    merged = batches.merge(str(settings.mode), settings.account, wiring.region, listing, entries)
    sweeper = wiring.sweeper(workers=options.workers, sleep=time.sleep)
    orphans, orphan_errors = sweeper.remove_orphans(listing)
    errors = (*merged.result.errors, *orphan_errors)
    removals: tuple[Any, ...] = ()
    if not errors:
        removals = sweeper.remove_residual(tuple(o for o in merged.result.outcomes
                                                 if o.role_arn not in merged.truncated_roles))
    frozen, digests = sweeper.repeated(tuple(orphans))  # an orphan left on a role out of scope is news once
    result = sweep.SweepResult(merged.result.mode, merged.result.account, merged.result.region,
                               merged.result.outcomes, tuple(orphans), errors, merged.result.roles,
                               merged.result.repeated | frozen, removals, {**merged.result.digests, **digests})
    totals = result.totals()
    logger.info("sweep finished", extra={"totals": totals, "mapRunArn": event.get("mapRunArn", "")})
    for o in (*result.orphans, *result.residual_removals):
        logger.info(f"{o.status}: {o.policy_name}", extra={"outcome": o.to_dict()})
    for e in result.errors:
        logger.error(f"sweep error on {e.target}: {e.error}")
    for name, count in result.metric_counts().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    name = str(event.get("execution") or now)
    keys = [bucket.put_report(f"{name}.json", json.dumps(report.to_json(result, now), indent=2) + "\n",
                              "application/json"),
            bucket.put_report(f"{name}.md", report.to_markdown(result, now), "text/markdown")]
    delivery = report.deliver(result, publish_many=wiring.publisher().publish_many,
                              notifier=wiring.notifier(options.topic_arn),
                              importer=wiring.importer(options.security_hub), partition=wiring.partition, now=now,
                              outbox=sweeper.outbox(), record=sweeper.record_reported)
    for problem in delivery.errors:
        logger.error(f"sweep delivery: {problem}")
    report.fail_if_incomplete(result, delivery)
    return {"totals": totals, "securityHubFindings": delivery.imported, "published": delivery.published,
            "reports": keys}
