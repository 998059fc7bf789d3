"""boto3 clients with the retry policy every adapter relies on.

Throttling and transient errors are retried by botocore (``adaptive`` mode: exponential backoff with jitter plus
client-side rate limiting, which suits IAM's undocumented per-account token buckets). Everything else reaches the
service and, unless it is a "not found", fails the invocation so Lambda's retries and the DLQ apply.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import boto3
import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, instance_cache

from sfn_iam import __version__
from sfn_iam.aws import endpoints, models

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


class _ServiceNames:
    """What :meth:`Loader.list_available_services` answers, found out only as far as it is asked.

    botocore asks it once per kind of model (``service-2``, ``endpoint-rule-set-1``) only whether the service of a
    new client is among them; the answer lists every directory of its ~440 services (about 2,000 file system calls,
    part of every cold start). Whether one service is there is what :meth:`Loader.list_api_versions` finds out in
    that service's directory alone; the whole list is read only when someone iterates it (an error message)."""

    def __init__(self, loader: FocusedLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._names: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or os.sep in name:
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def _all(self) -> list[str]:
        if self._names is None:
            self._names = list(Loader.list_available_services(self._loader, self._type_name))
        return self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class _DictJsonFileLoader(JSONFileLoader):
    """botocore's model files read into plain dicts. botocore reads them into ``OrderedDict`` objects, which costs
    two to three times as much for the same content in the same order (a ``dict`` keeps insertion order:
    https://docs.python.org/3/library/stdtypes.html#dict); the 1.2 MB endpoints file and the IAM and DynamoDB models
    are most of a client's cost on a cold start."""

    def _load_file(self, full_path: str, open_method: Callable[..., Any]) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            payload = fp.read().decode("utf-8")
        return json.loads(payload)


class FocusedLoader(Loader):
    """botocore's data loader, except that a client for one service does not list the directories of all of them
    (:class:`_ServiceNames`), that models are read into plain dicts (:class:`_DictJsonFileLoader`), and that two of
    botocore's own files are served from the cuts the layer's build left beside botocore, when it left them:
    ``endpoints.json`` (:mod:`sfn_iam.aws.endpoints`: the same answers, ~11 ms less) and the service models of the
    functions' four clients (:mod:`sfn_iam.aws.models`: the operations the adapters call, ~25 ms less). Every other
    model is still read from the same files, found the same way; ``endpoints_cut``, ``models_cut``: where the cuts
    are (default: beside botocore)."""

    FILE_LOADER_CLASS = _DictJsonFileLoader

    def __init__(self, *args: Any, endpoints_cut: str | None = None, models_cut: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints_cut = endpoints_cut
        self.models_cut = models_cut

    def list_available_services(self, type_name: str) -> _ServiceNames:  # type: ignore[override]  # a Collection
        return _ServiceNames(self, type_name)

    def _cut(self, name: str, builtin: str) -> Any:
        if name == "endpoints":
            return endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__,
                                  lambda: self.file_loader.load_file(builtin), self.endpoints_cut)
        return models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, self.models_cut)

    @instance_cache
    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        if name == "endpoints" or name.endswith("/service-2"):
            builtin = os.path.join(self.BUILTIN_DATA_PATH, name)
            # the first search path holding the file, as Loader._potential_locations and load_data_with_path find it
            found = next((p for p in (os.path.join(d, name) for d in self.search_paths if os.path.isdir(d))
                          if self.file_loader.exists(p)), None)
            if found == builtin:  # botocore's own file, not one of AWS_DATA_PATH: the resolver still says "built in"
                data = self._cut(name, builtin)
                if data is not None:
                    return data, builtin
        found_data: tuple[Any, str] = super().load_data_with_path(name)
        return found_data


def new_session(**kwargs: Any) -> boto3.session.Session:
    """A boto3 session whose clients are built with :class:`FocusedLoader` (``AWS_DATA_PATH`` honoured as botocore
    does). Every client of one execution environment comes from one session (:func:`sfn_iam.aws.wiring.wire`)."""
    core = botocore.session.get_session()
    data_path = core.get_config_variable("data_path")
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else None
    core.register_component("data_loader", FocusedLoader(extra_search_paths=extra))
    return boto3.session.Session(botocore_session=core, **kwargs)


class Clients(NamedTuple):
    sfn: SFNClient
    iam: IAMClient
    events: EventBridgeClient


def make_clients(session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> Clients:
    """Clients for Step Functions, IAM and EventBridge; ``AWS_ENDPOINT_URL`` (e.g. a moto server) is honoured."""
    s = session or new_session()
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
    return (session or new_session()).client(service, config=config)  # type: ignore[call-overload]
