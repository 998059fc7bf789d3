"""Outcome publisher: one EventBridge ``PutEvents`` entry per outcome (``source: sfn-iam``, docs/events.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sfn_iam.fixing.outcome import SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

REQUIRED_ACTIONS = frozenset({"events:PutEvents"})


class PublishError(RuntimeError):
    """EventBridge did not accept the outcome event: fail so the invocation is retried."""


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus: str = "default") -> None:
        self.client = client
        self.bus = bus

    def publish(self, detail_type: str, detail: Mapping[str, Any], resources: list[str]) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, sort_keys=True),
                 "Resources": resources, "EventBusName": self.bus}
        r = self.client.put_events(Entries=[entry])  # type: ignore[list-item]
        if r.get("FailedEntryCount"):
            failed = r["Entries"][0]
            raise PublishError(f"PutEvents refused the outcome: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}")

    def publish_many(self, events: Sequence[tuple[str, Mapping[str, Any], list[str]]]) -> None:
        """Many outcome events (a sweep's), ten per ``PutEvents`` call (its limit); same entries as :meth:`publish`."""
        for start in range(0, len(events), 10):
            entries = [{"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail, sort_keys=True),
                        "Resources": resources, "EventBusName": self.bus}
                       for detail_type, detail, resources in events[start:start + 10]]
            r = self.client.put_events(Entries=entries)  # type: ignore[arg-type]
            if r.get("FailedEntryCount"):
                failed = next(e for e in r["Entries"] if e.get("ErrorCode"))
                raise PublishError(f"PutEvents refused {r['FailedEntryCount']} outcome(s): {failed.get('ErrorCode')} "
                                   f"{failed.get('ErrorMessage')}")
