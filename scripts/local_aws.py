"""Run the role fixer handler locally, without Docker, against moto's server (shared by demo and invoke_local)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from scripts import sandbox


@dataclass
class Local:
    endpoint: str
    app: Any
    iam: Any
    sfn: Any
    sqs: Any
    outcomes_url: str
    counter: sandbox.CallCounter

    def deliver(self, event: dict[str, Any], *, quiet: bool = True) -> dict[str, Any]:
        """Invoke the real handler; its Powertools log and metric lines go to a buffer unless ``quiet`` is off."""
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer) if quiet else contextlib.nullcontext():
            result: dict[str, Any] = self.app.lambda_handler(event, sandbox.FakeContext())
        return result

    def published(self) -> list[dict[str, Any]]:
        return sandbox.read_outcomes(self.sqs, self.outcomes_url)


@contextlib.contextmanager
def moto_server(env: dict[str, str]) -> Iterator[Local]:
    """A ThreadedMotoServer on 127.0.0.1 (free port), the fixer's environment pointing at it, the handler loaded."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines between our output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_ENDPOINT_URL": endpoint, **env})
    os.environ.pop("AWS_PROFILE", None)
    try:
        kw = {"region_name": sandbox.REGION, "endpoint_url": endpoint}
        sqs = boto3.client("sqs", **kw)
        url = sandbox.capture_outcomes(boto3.client("events", **kw), sqs)
        app = sandbox.load_handler()
        app._runtime = None
        runtime = app.runtime()
        counter = sandbox.CallCounter().attach(runtime.clients.sfn, runtime.clients.iam)
        sandbox.enforce_iam_quotas(runtime.clients.iam)
        yield Local(endpoint, app, boto3.client("iam", **kw), boto3.client("stepfunctions", **kw), sqs, url, counter)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
