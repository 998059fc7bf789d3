"""`make invoke EVENT=events/<file>.json`: run the role fixer on one CloudTrail event, locally, without Docker.

By default an embedded moto server is started and seeded with the world the event describes (role and state
machine from examples/, earlier events delivered first), so every file in events/ does something real. With
``--endpoint URL`` the handler runs against an already-running moto server as it is (nothing is seeded).
``--mode report`` runs in report mode. Prints the outcome, the role policies before and after, the published
event and the AWS calls made.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path
from typing import Any

from scripts import sandbox
from scripts.local_aws import dumps, moto_server


def _policies(local: Any, *roles: str) -> dict[str, Any]:
    out = {}
    for role in roles:
        try:
            out[role] = sandbox.role_policies(local.iam, role)
        except local.iam.exceptions.NoSuchEntityException:
            out[role] = "(no such role)"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="invoke_local", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("event", help="an events/*.json file")
    parser.add_argument("--mode", choices=["enforce", "report"], default="enforce")
    parser.add_argument("--endpoint", help="use this running moto server (AWS_ENDPOINT_URL) instead of seeding one")
    args = parser.parse_args(argv)
    path = Path(args.event)
    event = sandbox.load_event(str(path))
    env = {**sandbox.FIXER_ENV, "MODE": args.mode}
    if args.endpoint:
        env["AWS_ENDPOINT_URL"] = args.endpoint
        os.environ.update(env)
        app = sandbox.load_handler()
        print(dumps(app.lambda_handler(event, sandbox.FakeContext())))
        return 0
    with moto_server(env) as local:
        sm, role = sandbox.stage(path.name, local.sfn, local.iam, functools.partial(local.deliver, quiet=True))
        local.published()
        event = sandbox.patch_event(event, state_machine_arn=sm, role_arn=role)
        roles = [sandbox.ROLE_NAME, sandbox.ROLE2_NAME]
        before = _policies(local, *roles)
        local.counter.reset()
        print(f"== {path.name} (mode {args.mode}, moto at {local.endpoint})")
        outcome = local.deliver(event, quiet=False)
        print("== outcome\n" + dumps(outcome))
        print("== role policies before\n" + dumps(before))
        print("== role policies after\n" + dumps(_policies(local, *roles)))
        print("== published outcome events\n" + dumps(local.published()))
        print("== AWS calls (Step Functions + IAM)\n" + dumps(dict(sorted(local.counter.calls.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
