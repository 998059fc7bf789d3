"""boto3 clients with the retry policy every adapter relies on.

Throttling and transient errors are retried by botocore (``adaptive`` mode: exponential backoff with jitter plus
client-side rate limiting, which suits IAM's undocumented per-account token buckets). Everything else reaches the
service and, unless it is a "not found", fails the invocation so Lambda's retries and the DLQ apply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from sfn_iam import __version__

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_stepfunctions import SFNClient

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra=f"sfn-iam/{__version__}",
)


@dataclass(frozen=True, slots=True)
class Clients:
    sfn: SFNClient
    iam: IAMClient
    events: EventBridgeClient


def make_clients(session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> Clients:
    """Clients for Step Functions, IAM and EventBridge; ``AWS_ENDPOINT_URL`` (e.g. a moto server) is honoured."""
    s = session or boto3.session.Session()
    return Clients(
        sfn=s.client("stepfunctions", config=config),
        iam=s.client("iam", config=config),
        events=s.client("events", config=config),
    )


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class TokenBucket:
    """A thread-safe token bucket: at most ``rate`` acquisitions per second on average, bursts up to ``burst``.

    Client-side pacing for a sweep's IAM calls (IAM publishes no rate, its buckets are per account: docs/sweep.md);
    botocore's adaptive retries still handle the throttles that get through. ``clock`` and ``sleep`` are injectable
    for tests.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:  # callers queue here: a waiting thread holds the lock, so the order is first come first served
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self.sleep(wait)
                self._last = self.clock()
                self._tokens = 1.0
            self._tokens -= 1


def rate_limit(client: Any, bucket: TokenBucket) -> None:
    """Take a token from ``bucket`` before every request ``client`` sends (each page and each retry included)."""
    def before_sign(**_: Any) -> None:
        bucket.acquire()

    client.meta.events.register("before-sign", before_sign)


def make_client(service: str, session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> Any:
    """One more client with the same retry policy (the sweep's SNS and Security Hub clients, STS for the CLI)."""
    return (session or boto3.session.Session()).client(service, config=config)  # type: ignore[call-overload]
