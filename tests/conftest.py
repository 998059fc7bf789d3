"""Test-wide settings: fake AWS credentials so that nothing can ever reach a real account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.loaders
import botocore.session
import pytest

from sfn_iam.aws import clients


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_model_cache() -> Iterator[None]:
    """Every botocore session of the test run shares one data loader, so the service models (IAM's is large) are
    parsed once per run rather than once per handler runtime that a test builds. Production code is unchanged: a
    Lambda container builds its clients once."""
    loader = botocore.loaders.create_loader()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.session.Session, "_register_data_loader",
                   lambda self: self._components.lazy_register_component("data_loader", lambda: loader))
        # The handlers' own sessions (sfn_iam.aws.clients.new_session) bring a FocusedLoader each, as a Lambda
        # container does once: in tests, every FocusedLoader with the same search path reads each model once per run.
        shared: dict[tuple[tuple[str, ...], Any], Any] = {}
        init = clients.FocusedLoader.__init__

        def shared_cache(self: clients.FocusedLoader, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            self._cache = _CacheBySearchPath(self, shared)

        mp.setattr(clients.FocusedLoader, "__init__", shared_cache)
        yield


class _CacheBySearchPath:
    """The mapping botocore's ``instance_cache`` keeps a loader's models in, shared by every loader whose search path
    is the same when it reads (boto3 appends its own data directory to a session's loader after creating it)."""

    def __init__(self, loader: botocore.loaders.Loader, shared: dict[tuple[tuple[str, ...], Any], Any]) -> None:
        self._loader = loader
        self._shared = shared

    def _key(self, key: Any) -> tuple[tuple[str, ...], Any]:
        return tuple(self._loader.search_paths), key

    def __contains__(self, key: Any) -> bool:
        return self._key(key) in self._shared

    def __getitem__(self, key: Any) -> Any:
        return self._shared[self._key(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._shared[self._key(key)] = value


@pytest.fixture
def any_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """An administrator's ceiling allowing any action in any account through wildcards (no explicit approval, so the
    second line still applies), in place of the default: for tests of what an integration asks for on another
    account's resources, which the default ceiling refuses (tests/security/test_ceiling.py pins that)."""
    from sfn_iam.engine.guardrails import ceiling, guard

    anywhere = ceiling.parse({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                             source="test administrator: any account")
    monkeypatch.setattr(guard.GuardPolicy, "ceiling_for",
                        lambda self, account: self.ceiling if self.ceiling is not None else anywhere)
