"""Run the role fixer handler locally, without Docker, against moto's server (shared by demo and invoke_local)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scripts import sandbox


@dataclass
class Local(sandbox.Harness):
    endpoint: str = ""

    def use_own_ceiling(self) -> None:
        """Deploy again with CeilingPolicyArn = the ceiling policy as it is now: the handler reads it from IAM."""
        os.environ["CUSTOM_CEILING"] = "true"
        self.app._runtime = None


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
        h = sandbox.harness(endpoint_url=endpoint)
        yield Local(h.app, h.iam, h.sfn, h.sqs, h.outcomes_url, endpoint=endpoint)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
