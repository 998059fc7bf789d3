"""moto answers in-process on the caller's thread, and its backends are not thread-safe: a sweep's worker threads
attaching managed policies at once made its IAM backend raise "dictionary changed size during iteration" (inside
``attach_role_policy``). A service applies each request on its own; :func:`serialise_moto` makes moto do the same,
one request at a time, while the code under test keeps its threads (each request still comes from the worker that
sends it, and everything around the request, our locks, caches and pacing included, runs concurrently).

For tests about concurrency (the sweep's worker pool, the sweep state machine's concurrent batches). A test that is
not about it sweeps with one worker instead (``SWEEP_WORKERS=1``, ``workers=1``, ``--workers 1``). Not for moto's
server mode (a separate thread pool behind HTTP).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber


class Serialised:
    """What passed through: the threads whose requests moto answered, one at a time."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: a request moto answers by sending another on the same thread
        self.threads: set[str] = set()


def serialise_moto(monkeypatch: pytest.MonkeyPatch) -> Serialised:
    """Until ``monkeypatch`` is undone, moto handles one request at a time (every service, every mock)."""
    seen = Serialised()
    original = BotocoreStubber.process_request

    def one_at_a_time(self: BotocoreStubber, request: Any) -> Any:
        with seen.lock:
            seen.threads.add(threading.current_thread().name)
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", one_at_a_time)
    return seen
