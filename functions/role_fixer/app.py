"""Role fixer Lambda: the composition root. EventBridge (CloudTrail) event → RoleFixer → outcome.

Logs carry the EventBridge event id as correlation id; every outcome is logged, counted and published to
EventBridge (docs/events.md). Unexpected errors propagate: Lambda retries the event, then the on-failure queue
keeps it. Clients, settings and the tracer are built once per execution environment, on the first event: the import
(Lambda's init phase) loads neither the X-Ray SDK nor the engine's planner (bench/cold_start.py).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from sfn_iam.aws.publisher import EventBridgePublisher
from sfn_iam.aws.wiring import Wiring, wire
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Outcome
from sfn_iam.fixing.service import RoleFixer

logger = Logger()
metrics = Metrics()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LazyTracer:
    """Powertools' Tracer, built by :func:`runtime` with the clients (importing the X-Ray SDK and patching botocore
    is part of the first event, not of the module import); ``capture_lambda_handler`` wraps the handler then."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            # only what we call: patching every supported library costs ~100 ms
            self._tracer = Tracer(patch_modules=("botocore",))
        return self._tracer

    @property
    def disabled(self) -> bool:
        return bool(self.tracer.disabled)

    def put_annotation(self, key: str, value: str) -> None:
        self.tracer.put_annotation(key, value)

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        captured: list[Handler] = []

        @functools.wraps(handler)
        def traced(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if not captured:
                captured.append(self.tracer.capture_lambda_handler(handler))
            return captured[0](event, context)

        return traced


tracer = LazyTracer()


class Runtime(NamedTuple):
    wiring: Wiring
    fixer: RoleFixer
    publisher: EventBridgePublisher


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        tracer.tracer  # noqa: B018 -- built (and botocore patched) before the clients
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
