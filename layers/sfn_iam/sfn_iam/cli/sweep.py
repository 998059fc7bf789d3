"""``sfn-iam sweep``: every state machine of a live account and region, with the local credentials (or any endpoint
through ``AWS_ENDPOINT_URL``, e.g. a moto server). boto3 is imported only here, so ``policy`` and ``check`` stay
fast, offline and installable without it (``pip install 'sfn-iam[aws]'`` adds it).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from sfn_iam.cli.errors import InputError


class ProgressBar:
    """A one-line progress bar on a stream (stderr): ``sweep [#####.....] 500/1000``, redrawn when it moves."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str = "sweep") -> None:
        self.stream = stream
        self.label = label
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        if filled == self._last and done not in (0, total):
            return
        self._last = filled
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    # boto3 and the adapters are imported here, not at the top: `sfn-iam policy` must not pay for them.
    try:
        import botocore.exceptions
    except ModuleNotFoundError:
        print("sfn-iam: error: `sfn-iam sweep` needs boto3: pip install 'sfn-iam[aws]'", file=err)
        return 1

    try:
        return _sweep_live(args, out, err)
    except InputError as exc:
        print(f"sfn-iam: error: {exc}", file=err)
        return 1
    except botocore.exceptions.NoCredentialsError:
        print("sfn-iam: error: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
              file=err)
    except botocore.exceptions.NoRegionError:
        print("sfn-iam: error: no AWS region: pass --region or set AWS_REGION", file=err)
    except botocore.exceptions.ClientError as exc:
        print(f"sfn-iam: error: {str(exc).splitlines()[0][:300]}", file=err)
    except botocore.exceptions.BotoCoreError as exc:
        print(f"sfn-iam: error: {str(exc).splitlines()[0][:300]}", file=err)
    return 1


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _sweep_live(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import time
    from datetime import UTC, datetime

    from sfn_iam.aws.clients import make_client, new_session
    from sfn_iam.aws.wiring import wire
    from sfn_iam.fixing import settings as config
    from sfn_iam.governance import report

    if args.workers < 1 or args.workers > 32 or args.iam_rate <= 0:
        raise InputError("--workers must be 1..32 and --iam-rate greater than 0")
    for path in filter(None, (args.report_json, args.report_md)):  # fail before sweeping, not after writing
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(path):
            raise InputError(f"cannot write {path}")
    session = new_session(region_name=args.region or None)  # the Lambda's loader: its clients are built for less
    if session.get_credentials() is None:
        import botocore.exceptions

        raise botocore.exceptions.NoCredentialsError()
    region = session.region_name
    if not region:
        import botocore.exceptions

        raise botocore.exceptions.NoRegionError()
    account = make_client("sts", session).get_caller_identity()["Account"]
    try:
        settings = config.from_env({
            "ACCOUNT_ID": account, "MODE": args.mode, "ROLE_PATH": args.role_path,
            "POLICY_NAME_PREFIX": args.policy_prefix, "MANAGED_POLICY_PATH": args.managed_path,
            "OPT_OUT_TAG_KEY": args.opt_out_tag, "EVENT_BUS_NAME": args.event_bus})
    except config.ConfigError as exc:
        raise InputError(str(exc)) from None
    wiring = wire(settings, session, iam_calls_per_second=args.iam_rate)
    sweeper = wiring.sweeper(workers=args.workers, sleep=time.sleep)
    started = time.monotonic()
    result = sweeper.run(ProgressBar(err) if args.progress or err.isatty() else None)
    elapsed = time.monotonic() - started
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if args.report_json:
        _write(args.report_json, json.dumps(report.to_json(result, now), indent=2) + "\n")
    if args.report_md:
        _write(args.report_md, report.to_markdown(result, now))
    undelivered: tuple[str, ...] = ()
    if args.publish or args.topic_arn or args.security_hub:
        undelivered = report.deliver(
            result, publish_many=wiring.publisher().publish_many if args.publish else lambda _: None,
            notifier=wiring.notifier(args.topic_arn), importer=wiring.importer(args.security_hub),
            partition=wiring.partition, now=now, outbox=sweeper.outbox(), record=sweeper.record_reported).errors
    totals = result.totals()
    print(f"sweep of {account} {region} ({args.mode}): {totals['stateMachines']} state machines, "
          f"{totals['roles']} roles, {totals['writes']} writes, {totals['proposedChanges']} proposed changes, "
          f"{totals['drift']} drift, {totals['orphansRemoved']} orphans removed, "
          f"{totals['orphansProposed']} orphans proposed, {totals['errors']} errors in {elapsed:.1f} s", file=out)
    print(f"status: {json.dumps(totals['byStatus'], sort_keys=True)}; findings: "
          f"{json.dumps(totals['findingsBySeverity'], sort_keys=True)}", file=out)
    for e in result.errors:
        print(f"sfn-iam: error: {e.target}: {e.error}", file=err)
    for problem in undelivered:
        print(f"sfn-iam: error: {problem}", file=err)
    if result.errors or undelivered:
        return 1
    if args.fail_on is not None and any(f.severity >= args.fail_on for o in result.all_outcomes for f in o.findings):
        return 3
    return 0
