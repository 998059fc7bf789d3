"""SNS, SQS and EventBridge ``putEvents``. Pure core: standard library only."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from sfn_iam import arns
from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, Call
from sfn_iam.engine.integrations.registry import register

_QUEUE_HOST_RES = (
    re.compile(r"^sqs[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$"),
    re.compile(r"^(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com(?:\.cn)?$"),
    re.compile(r"^vpce-[a-z0-9-]+\.sqs\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.vpce\.amazonaws\.com(?:\.cn)?$"),
)
_LEGACY_US_EAST_1 = ("queue.amazonaws.com", "sqs.amazonaws.com")


@lru_cache(maxsize=1024)
def queue_arn(url: str, default_partition: str, pattern: bool = False) -> str | None:
    """Turn any SQS queue URL form into the queue's ARN, or ``None`` when it is not a queue URL; with ``pattern``, the
    queue name may be the name pattern of a queue the machine's source creates (``static.Known.vouches``)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme not in ("https", "http") or len(path) != 2 or not re.fullmatch(r"\d{12}", path[0]):
        return None
    if not re.fullmatch(r"[A-Za-z0-9_*-]{1,80}(\.fifo)?" if pattern else r"[A-Za-z0-9_-]{1,80}(\.fifo)?", path[1]):
        return None
    region = None
    if host in _LEGACY_US_EAST_1:
        region = "us-east-1"
    for regex in _QUEUE_HOST_RES:
        m = regex.match(host)
        if m:
            region = m["region"]
    if region is None:
        return None
    partition = arns.partition_of_region(region) if region else default_partition
    return f"arn:{partition}:sqs:{region}:{path[0]}:{path[1]}"


@register("sns", "publish", patterns=(REQUEST_RESPONSE, CALLBACK))
def sns_publish(call: Call) -> None:
    if call.args.dynamic:
        call.allow("sns:Publish", call.dynamic("the topic", call.arn("sns", "*")))
        return
    topic = call.args.get("TopicArn")
    chosen = topic if topic is not None else call.args.get("TargetArn")  # each parameter read only when it decides
    if isinstance(chosen, Dynamic):
        call.allow("sns:Publish", call.dynamic("TopicArn" if topic is not None else "TargetArn", call.arn("sns", "*")))
    elif chosen:
        call.allow("sns:Publish", chosen)
    elif call.args.get("PhoneNumber") is not None:
        # SMS to a phone number has no resource type in IAM: sns:Publish can only be granted on "*".
        call.finding("DYNAMIC_RESOURCE", "PhoneNumber publishing (SMS) has no IAM resource; granted on *")
        call.allow("sns:Publish", "*")
    else:
        call.missing("TopicArn, TargetArn or PhoneNumber")


@register("sqs", "sendMessage", patterns=(REQUEST_RESPONSE, CALLBACK))
def sqs_send(call: Call) -> None:
    url = call.args.get("QueueUrl")
    if isinstance(url, Dynamic):
        call.allow("sqs:SendMessage", call.dynamic("QueueUrl", call.arn("sqs", "*")))
        return
    if not url:
        call.missing("QueueUrl")
        return
    arn = queue(call, url)
    if arn is not None:
        call.allow("sqs:SendMessage", arn)


def queue(call: Call, url: str) -> str | None:
    """The ARN of the queue a literal ``QueueUrl`` names, or ``None`` with an ``INVALID_VALUE`` finding when it is not
    a queue URL: the optimized ``sqs:sendMessage`` and every SDK operation taking a QueueUrl (``sdk/scoping.py``)."""
    known = call.args.context
    arn = queue_arn(url, call.ctx.partition, known is not None and known.vouches(url))
    if arn is None:
        call.finding("INVALID_VALUE", f"QueueUrl {url[:200]!r} is not an SQS queue URL; nothing granted")
    return arn


def event_bus_arn(call: Call, name: str | Dynamic | None) -> str:
    """The bus an entry goes to; no EventBusName is the default bus."""
    return call.resolve(name, "EventBusName", "events", "event-bus/{}", required=False) or call.arn(
        "events", "event-bus/default")


@register("events", "putEvents", patterns=(REQUEST_RESPONSE, CALLBACK))
def put_events(call: Call) -> None:
    entries = call.args.items("Entries")
    if isinstance(entries, Dynamic):
        call.allow("events:PutEvents", call.dynamic("Entries", call.arn("events", "event-bus/*")))
        return
    if not entries:
        call.missing("Entries")
        return
    for entry in entries:
        call.allow("events:PutEvents", event_bus_arn(call, entry.get("EventBusName")))
