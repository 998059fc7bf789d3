"""Role fixer Lambda: the composition root. EventBridge (CloudTrail) event → RoleFixer → outcome.

Logs carry the EventBridge event id as correlation id; every outcome is logged, counted and published to
EventBridge (docs/events.md). Unexpected errors propagate: Lambda retries the event, then the on-failure queue
keeps it. Clients and settings are built once per execution environment, on the first event.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from sfn_iam.aws.publisher import EventBridgePublisher
from sfn_iam.aws.wiring import Wiring, wire
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Outcome
from sfn_iam.fixing.service import RoleFixer

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))  # only what we call: patching every supported library costs ~100 ms
metrics = Metrics()


@dataclass(frozen=True)
class Runtime:
    wiring: Wiring
    fixer: RoleFixer
    publisher: EventBridgePublisher


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        wiring = wire(config.from_env(os.environ))
        _runtime = Runtime(wiring, wiring.fixer(sleep=time.sleep), wiring.publisher())
    return _runtime


def report(outcome: Outcome, publisher: EventBridgePublisher) -> None:
    logger.info(f"{outcome.status}: {outcome.message or outcome.reason or outcome.policy_name}",
                extra={"outcome": outcome.to_dict()})
    metrics.add_metric(name=outcome.metric_name, unit=MetricUnit.Count, value=1)
    for name, count in outcome.finding_counts().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    # Bounded (PutEvents' 256 KB entry limit): counts and the first findings; the log line above has them all.
    publisher.publish(outcome.detail_type, outcome.to_event(), outcome.resources())


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rt = runtime()
    outcome = rt.fixer.handle_event(event)
    tracer.put_annotation("status", str(outcome.status))
    report(outcome, rt.publisher)
    return outcome.to_event()
