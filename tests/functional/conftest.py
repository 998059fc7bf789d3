"""End-to-end fixtures: moto in-process, the real handler, the same events/*.json that `sam local invoke` uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts import sandbox


@dataclass
class World:
    app: Any
    iam: Any
    sfn: Any
    sqs: Any
    outcomes_url: str
    counter: sandbox.CallCounter

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        rt = self.app.runtime()
        if not getattr(rt, "_instrumented", False):  # once per runtime: the handler builds its clients lazily
            self.counter.attach(rt.clients.sfn, rt.clients.iam)
            sandbox.enforce_iam_quotas(rt.clients.iam)
            object.__setattr__(rt, "_instrumented", True)
        result: dict[str, Any] = self.app.lambda_handler(event, sandbox.FakeContext())
        return result

    def published(self) -> list[dict[str, Any]]:
        return sandbox.read_outcomes(self.sqs, self.outcomes_url)

    def policies(self, role_name: str) -> dict[str, Any]:
        return sandbox.role_policies(self.iam, role_name)

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
        app = sandbox.load_handler()
        monkeypatch.setattr(app, "_runtime", None)
        sqs = boto3.client("sqs", region_name=sandbox.REGION)
        url = sandbox.capture_outcomes(boto3.client("events", region_name=sandbox.REGION), sqs)
        yield World(app, boto3.client("iam", region_name=sandbox.REGION),
                    boto3.client("stepfunctions", region_name=sandbox.REGION), sqs, url, sandbox.CallCounter())
