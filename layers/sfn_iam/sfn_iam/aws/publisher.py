"""Outcome publisher: one EventBridge ``PutEvents`` entry per outcome (``source: sfn-iam``, docs/events.md).

A request carries at most 10 entries and less than 256 KB of entries, counted as EventBridge counts them
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html: ``Time`` 14 bytes when given, the
UTF-8 bytes of ``Source``, ``DetailType`` and ``Detail``, and of each ``Resources`` entry). :meth:`publish_many` packs
a sweep's events into such requests, sends every one of them whatever happened to the others, and returns the
entries that were not accepted (a refused request, or ``FailedEntryCount`` entries of an accepted one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sfn_iam.fixing.outcome import SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

REQUIRED_ACTIONS = frozenset({"events:PutEvents"})
MAX_ENTRIES = 10  # entries per PutEvents request
MAX_REQUEST_BYTES = 256 * 1024  # the entries of one request: "must be less than 256KB" (page above)

Event = tuple[str, Mapping[str, Any], list[str]]  # (detail-type, detail, resources)


class PublishError(RuntimeError):
    """EventBridge did not accept the outcome event: fail so the invocation is retried."""


def entry_size(entry: Mapping[str, Any]) -> int:
    """A ``PutEventsRequestEntry``'s size as EventBridge counts it (``EventBusName`` does not count)."""
    size = 14 if entry.get("Time") is not None else 0
    size += len(str(entry["Source"]).encode()) + len(str(entry["DetailType"]).encode())
    if entry.get("Detail") is not None:
        size += len(str(entry["Detail"]).encode())
    return size + sum(len(str(r).encode()) for r in entry.get("Resources") or () if r is not None)


def requests(sizes: Sequence[int]) -> list[list[int]]:
    """The entries (by index, in order) packed into requests of at most :data:`MAX_ENTRIES` entries whose sizes add
    up to less than :data:`MAX_REQUEST_BYTES`; an entry that alone is not less than the limit is a request of its
    own (EventBridge refuses it, and it is reported as not accepted)."""
    out: list[list[int]] = []
    total = 0
    for i, size in enumerate(sizes):
        if out and len(out[-1]) < MAX_ENTRIES and total + size < MAX_REQUEST_BYTES:
            out[-1].append(i)
            total += size
        else:
            out.append([i])
            total = size
    return out


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus: str = "default") -> None:
        self.client = client
        self.bus = bus

    def _entry(self, detail_type: str, detail: Mapping[str, Any], resources: list[str]) -> dict[str, Any]:
        return {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, sort_keys=True),
                "Resources": resources, "EventBusName": self.bus}

    def publish(self, detail_type: str, detail: Mapping[str, Any], resources: list[str]) -> None:
        r = self.client.put_events(Entries=[self._entry(detail_type, detail, resources)])  # type: ignore[list-item]
        if r.get("FailedEntryCount"):
            failed = r["Entries"][0]
            raise PublishError(f"PutEvents refused the outcome: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}")

    def publish_many(self, events: Sequence[Event]) -> list[tuple[int, str]]:
        """Many outcome events (a sweep's), packed by count and size; every request is sent. Returns the indices of
        the events EventBridge did not accept, each with why (empty: all were)."""
        entries = [self._entry(*e) for e in events]
        failed: list[tuple[int, str]] = []
        for batch in requests([entry_size(e) for e in entries]):
            try:
                r = self.client.put_events(Entries=[entries[i] for i in batch])  # type: ignore[misc]
            except (ClientError, BotoCoreError) as exc:  # this request only: the next ones are still sent
                failed.extend((i, f"{type(exc).__name__}: {str(exc)[:300]}") for i in batch)
                continue
            if r.get("FailedEntryCount"):  # the result entries are in the order of the request's entries
                results = list(r.get("Entries", []))
                for n, i in enumerate(batch):
                    result = results[n] if n < len(results) else {"ErrorCode": "Missing"}
                    if result.get("ErrorCode") or not result.get("EventId"):
                        failed.append((i, f"{result.get('ErrorCode')}: {str(result.get('ErrorMessage'))[:300]}"))
        return failed
