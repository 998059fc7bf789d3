"""End-to-end fixtures: moto in-process, the real handler, the same events/*.json that `sam local invoke` uses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import botocore.retries.bucket
import pytest
from moto import mock_aws

from scripts import sandbox
from tests.e2e.lambda_env import handler_env


class World(sandbox.Harness):
    def invoke(self, event: Any) -> dict[str, Any]:
        return self.deliver(event)

    def role(self, name: str, **kwargs: Any) -> str:
        return sandbox.create_role(self.iam, name, **kwargs)

    def machine(self, name: str, example: str, role_arn: str) -> str:
        return sandbox.create_state_machine(self.sfn, name, example, role_arn)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    handler_env(monkeypatch)
    return dict(sandbox.FIXER_ENV)


@pytest.fixture
def world(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[World]:
    if request.node.get_closest_marker("aws_managed_policies"):
        # moto ships AWS managed policies (AdministratorAccess) but loads them only when asked: ~2 s per test
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        h = sandbox.harness()
        yield World(h.app, h.iam, h.sfn, h.sqs, h.outcomes_url)
        h.app._runtime = None  # the next test builds clients inside its own mock


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry delays, recorded instead of slept: tests that inject throttling keep their retries (the
    behaviour under test) without waiting out real exponential backoff and the adaptive client-side rate limiter."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append, time=time.time))
    monkeypatch.setattr(botocore.retries.bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)
    return delays
