"""The environment a handler of the product sees when a test runs it in-process against moto (``mock_aws``)."""

from __future__ import annotations

import pytest

from scripts import sandbox


def handler_env(monkeypatch: pytest.MonkeyPatch, service: str | None = None, **settings: str) -> None:
    """The deployed fixer's settings (``scripts/sandbox.FIXER_ENV``) without an endpoint override (moto answers
    in-process), the handler's Powertools service name when given, and ``settings`` on top."""
    for key, value in {**sandbox.FIXER_ENV, **settings}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    if service is not None:
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
