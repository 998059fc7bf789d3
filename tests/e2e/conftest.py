"""End-to-end fixtures: moto in-process, the real handler, the same events/*.json that `sam local invoke` uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from scripts import sandbox


class World(sandbox.Harness):
    def invoke(self, event: Any) -> dict[str, Any]:
        return self.deliver(event)

    def role(self, name: str, **kwargs: Any) -> str:
        return sandbox.create_role(self.iam, name, **kwargs)

    def machine(self, name: str, example: str, role_arn: str) -> str:
        return sandbox.create_state_machine(self.sfn, name, example, role_arn)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in sandbox.FIXER_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return dict(sandbox.FIXER_ENV)


@pytest.fixture
def world(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        h = sandbox.harness()
        yield World(h.app, h.iam, h.sfn, h.sqs, h.outcomes_url)
        h.app._runtime = None  # the next test builds clients inside its own mock
