"""boto3 clients with the retry policy every adapter relies on.

Throttling and transient errors are retried by botocore (``adaptive`` mode: exponential backoff with jitter plus
client-side rate limiting, which suits IAM's undocumented per-account token buckets). Everything else reaches the
service and, unless it is a "not found", fails the invocation so Lambda's retries and the DLQ apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from .. import __version__

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
