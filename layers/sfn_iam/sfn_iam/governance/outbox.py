"""The sweep's outbox: outcome events not yet accepted by EventBridge, kept until a later sweep publishes them.
Pure core: standard library only, over the ledger port's named values (``get_cursor``/``put_cursor``).

An outcome counts as reported only once EventBridge accepted its event. Before a sweep publishes, it saves in the
outbox every event it is about to send (with those a previous sweep could not send); once it has sent them, the
outbox keeps only the events that were not accepted. A sweep that crashes in between leaves them all for the next
one, which sends them again: delivery is at least once, never at most once. Without a ledger (the CLI), the outbox
is empty and a failure is only reported.

Storage: the value ``<name>`` names the current generation and its number of chunks (``"<generation> <n>"``),
``<name>.<generation>.<i>`` holds a JSON list of events, each chunk under :data:`CHUNK_BYTES` (a DynamoDB item holds
at most 400 KB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html). A save writes
a new generation, then points the name at it, then deletes the previous one: a reader (or a sweep that stops midway)
always meets a complete generation, and no item is ever rewritten in place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sfn_iam.fixing.ports import PolicyLedger

CHUNK_BYTES = 300_000

Event = tuple[str, dict[str, Any], list[str]]  # (detail-type, detail, resources), as the publisher takes them


def _event(value: Any) -> Event | None:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], Mapping) and isinstance(value[2], list)):
        return None
    return value[0], dict(value[1]), [str(r) for r in value[2]]


def _chunks(events: Sequence[Event]) -> list[str]:
    out: list[list[str]] = []
    size = 0
    for e in events:
        text = json.dumps(list(e), separators=(",", ":"), sort_keys=True)
        if out and size + len(text.encode()) + 1 < CHUNK_BYTES:
            out[-1].append(text)
            size += len(text.encode()) + 1
        else:
            out.append([text])
            size = len(text.encode()) + 2
    return ["[" + ",".join(c) + "]" for c in out]


class Outbox:
    def __init__(self, ledger: PolicyLedger, name: str) -> None:
        self.ledger = ledger
        self.name = name
        self._generation, self._stored = 0, 0  # as last read or written

    def _pointer(self) -> tuple[int, int]:
        parts = self.ledger.get_cursor(self.name).split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return 0, 0
        return int(parts[0]), int(parts[1])

    def load(self) -> list[Event]:
        """The events a previous sweep could not publish (a malformed chunk or event is skipped)."""
        self._generation, self._stored = self._pointer()
        out: list[Event] = []
        for i in range(self._stored):
            try:
                values = json.loads(self.ledger.get_cursor(f"{self.name}.{self._generation}.{i}") or "[]")
            except ValueError:
                continue
            out.extend(e for v in (values if isinstance(values, list) else []) if (e := _event(v)) is not None)
        return out

    def save(self, events: Sequence[Event]) -> None:
        """Keep exactly ``events`` (none: clear the outbox)."""
        chunks = _chunks(events)
        if not chunks and not self._stored:
            return
        old, stored = self._generation, self._stored
        new = old + 1
        for i, chunk in enumerate(chunks):
            self.ledger.put_cursor(f"{self.name}.{new}.{i}", chunk)
        self.ledger.put_cursor(self.name, f"{new} {len(chunks)}" if chunks else "")
        for i in range(stored):
            self.ledger.put_cursor(f"{self.name}.{old}.{i}", "")
        self._generation, self._stored = (new, len(chunks)) if chunks else (0, 0)
