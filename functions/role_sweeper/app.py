"""Role sweeper Lambda: the scheduled composition root. Every state machine of the account and region → Sweeper →
posture totals, outcome events, an optional SNS summary and optional Security Hub findings.

Same library, settings and scope as the role fixer (config.from_env), plus the sweep's own settings
(sweep.options_from_env). IAM calls are paced by a token bucket on the IAM client and retried by botocore.
A sweep that could not handle some machines still reports everything, then fails so the error is visible
(CloudWatch Errors metric, on-failure queue); the next scheduled sweep retries them.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sfn_iam.aws.wiring import wire
from sfn_iam.fixing import settings as config
from sfn_iam.governance import report, sweep

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = config.from_env(os.environ)
    options = sweep.options_from_env(os.environ)
    wiring = wire(settings, iam_calls_per_second=options.iam_calls_per_second)
    sweeper = wiring.sweeper(workers=options.workers, sleep=time.sleep)
    # Stop starting machines 30 s before Lambda's timeout: the report of a partial sweep beats no report.
    result = sweeper.run(keep_going=lambda: context.get_remaining_time_in_millis() > 30_000)
    totals = result.totals()
    logger.info("sweep finished", extra={"totals": totals})
    for o in result.all_outcomes:
        if o.changes or o.findings:
            logger.info(f"{o.status}: {o.policy_name}", extra={"outcome": o.to_dict()})
    for e in result.errors:
        logger.error(f"sweep error on {e.target}: {e.error}")
    for name, count in result.metric_counts().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    publisher = wiring.publisher()
    notifier = wiring.notifier(options.topic_arn)
    importer = wiring.importer(options.security_hub)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    delivery = report.deliver(result, publish_many=publisher.publish_many, notifier=notifier, importer=importer,
                              partition=wiring.partition, now=now, outbox=sweeper.outbox(),
                              record=sweeper.record_reported)
    for problem in delivery.errors:
        logger.error(f"sweep delivery: {problem}")
    report.fail_if_incomplete(result, delivery)
    return {"totals": totals, "securityHubFindings": delivery.imported, "published": delivery.published}
