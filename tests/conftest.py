"""Test-wide settings: fake AWS credentials so that nothing can ever reach a real account."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest


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
        yield


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
