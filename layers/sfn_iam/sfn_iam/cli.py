"""``sfn-iam``: the command line, the second composition root over the same core.

``sfn-iam policy FILE`` prints the policy a state machine's role needs (offline). FILE is a raw ASL definition or
a ``DescribeStateMachine`` response; ``-`` reads standard input.

``sfn-iam sweep`` sweeps a live account and region with the local credentials (or any endpoint through
``AWS_ENDPOINT_URL``, e.g. a moto server): report mode by default, ``--mode enforce`` to write. boto3 is imported
only by this subcommand, so ``sfn-iam policy`` stays fast and offline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from sfn_iam import __version__, arns, engine
from sfn_iam.engine import asl
from sfn_iam.findings import Severity
from sfn_iam.model import StateMachine

DEFAULT_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"
# Step Functions definitions are at most 1 MB; a DescribeStateMachine response with its escaped definition stays far
# below this. Reading stops here, so /dev/zero or a runaway pipe cannot exhaust memory.
MAX_INPUT_CHARS = 8 * 1024 * 1024


class InputError(Exception):
    """Input the CLI cannot use; reported in one line with exit code 1."""


def _printable(text: str) -> str:
    """``text`` with non-printable characters escaped. State names are attacker-chosen: a name holding terminal escape
    sequences or bidi overrides must not rewrite the reviewer's terminal or reorder what it shows."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def _read(path: str, stdin: TextIO) -> Any:
    try:
        if path == "-":
            text = stdin.read(MAX_INPUT_CHARS + 1)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_CHARS + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"{path} is larger than {MAX_INPUT_CHARS} characters (a definition is at most 1 MB)")
    try:
        return asl.loads(text)  # duplicate keys are refused: the engine must see what a reader sees
    except asl.DefinitionError as exc:
        raise InputError(f"{path}: {str(exc)[:300]}") from None


def load_state_machine(data: Any, arn: str | None) -> StateMachine:
    """A :class:`StateMachine` from a raw definition or a ``DescribeStateMachine`` response."""
    if not isinstance(data, Mapping):
        raise InputError("the input must be a JSON object (an ASL definition or a DescribeStateMachine response)")
    if "States" in data:
        return StateMachine(arn=arn or DEFAULT_ARN, definition=data)
    if "definition" in data:
        definition = data["definition"]
        if not isinstance(definition, str | Mapping):
            raise InputError("'definition' must be a JSON string or object")

        def section(key: str) -> Mapping[str, Any]:
            value = data.get(key) or {}
            if not isinstance(value, Mapping):
                raise InputError(f"'{key}' must be an object")
            return value

        return StateMachine(
            arn=arn or str(data.get("stateMachineArn") or DEFAULT_ARN),
            definition=definition,
            role_arn=str(data.get("roleArn") or ""),
            type=str(data.get("type") or "STANDARD"),
            logging=section("loggingConfiguration"),
            tracing=section("tracingConfiguration"),
            encryption=section("encryptionConfiguration"),
        )
    raise InputError("the input has neither 'States' (an ASL definition) nor 'definition' (DescribeStateMachine)")


def _explain(plan: engine.Plan) -> list[str]:
    lines = []
    for stmt in plan.statements:
        needed_by = sorted({
            r.path for r in plan.granted
            if any(a.lower() == r.action.lower() for a in stmt["Action"]) and r.resource in stmt["Resource"]
        })
        lines.append(f"{stmt['Sid']}: {', '.join(stmt['Action'])} <- {', '.join(needed_by) or '(merged)'}")
    return lines


def _policy(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    try:
        sm = load_state_machine(_read(args.file, stdin), args.state_machine_arn)
        plan = engine.plan(sm)
    except InputError as exc:
        print(f"sfn-iam: error: {exc}", file=err)
        return 1
    except (asl.DefinitionError, arns.ArnError) as exc:
        print(f"sfn-iam: error: {exc}", file=err)
        return 1
    docs = list(plan.documents) or [{"Version": "2012-10-17", "Statement": []}]
    json.dump(docs[0] if len(docs) == 1 else docs, out, indent=2)
    out.write("\n")
    for f in plan.findings:
        print(_printable(f.line()), file=err)
    if args.explain:
        for line in _explain(plan):
            print(_printable(f"explain {line}"), file=err)
    if args.fail_on is not None and any(f.severity >= args.fail_on for f in plan.findings):
        return 2
    return 0


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


def _sweep(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    # boto3 and the adapters are imported here, not at the top: `sfn-iam policy` must not pay for them.
    import botocore.exceptions

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

    import boto3

    from sfn_iam.aws.clients import make_client
    from sfn_iam.aws.wiring import wire
    from sfn_iam.fixing import settings as config
    from sfn_iam.governance import report

    if args.workers < 1 or args.workers > 32 or args.iam_rate <= 0:
        raise InputError("--workers must be 1..32 and --iam-rate greater than 0")
    for path in filter(None, (args.report_json, args.report_md)):  # fail before sweeping, not after writing
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(path):
            raise InputError(f"cannot write {path}")
    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
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
    if args.publish or args.topic_arn or args.security_hub:
        report.deliver(result, publish_many=wiring.publisher().publish_many if args.publish else lambda _: None,
                       notifier=wiring.notifier(args.topic_arn), importer=wiring.importer(args.security_hub),
                       partition=wiring.partition, now=now)
    totals = result.totals()
    print(f"sweep of {account} {region} ({args.mode}): {totals['stateMachines']} state machines, "
          f"{totals['roles']} roles, {totals['writes']} writes, {totals['proposedChanges']} proposed changes, "
          f"{totals['drift']} drift, {totals['orphansRemoved']} orphans removed, "
          f"{totals['orphansProposed']} orphans proposed, {totals['errors']} errors in {elapsed:.1f} s", file=out)
    print(f"status: {json.dumps(totals['byStatus'], sort_keys=True)}; findings: "
          f"{json.dumps(totals['findingsBySeverity'], sort_keys=True)}", file=out)
    for e in result.errors:
        print(f"sfn-iam: error: {e.target}: {e.error}", file=err)
    if result.errors:
        return 1
    if args.fail_on is not None and any(f.severity >= args.fail_on for o in result.all_outcomes for f in o.findings):
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfn-iam", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"sfn-iam {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("policy", help="print the least-privilege policy for a definition")
    p.add_argument("file", help="ASL definition or DescribeStateMachine response (JSON); - for stdin")
    p.add_argument("--state-machine-arn", help=f"ARN for a raw definition (default {DEFAULT_ARN})")
    p.add_argument("--explain", action="store_true", help="say which states need each statement (on stderr)")
    p.add_argument("--fail-on", type=_severity, metavar="SEVERITY",
                   help="exit 2 when a finding is at least this severe (info, low, medium, high, critical)")
    p.set_defaults(func=_policy)
    s = sub.add_parser("sweep", help="fix or report every state machine of an account and region (live AWS)",
                       description="Sweep every state machine of the account and region: derive each one's policy, "
                       "write it (enforce) or say what would change (report), restore hand-edited policies, remove "
                       "the policies of deleted state machines. Uses the local AWS credentials; AWS_ENDPOINT_URL is "
                       "honoured.")
    s.add_argument("--mode", choices=["report", "enforce"], default="report",
                   help="report (default) writes nothing; enforce writes")
    s.add_argument("--region", help="AWS region (default: the SDK's, e.g. AWS_REGION)")
    s.add_argument("--role-path", default="/stepfunctions/",
                   help="only roles under this IAM path are in scope (default /stepfunctions/, as the template's "
                   "RolePath; / puts every role trusted only by Step Functions in scope)")
    s.add_argument("--policy-prefix", default="sfn-iam.", help="prefix of the policies sfn-iam owns")
    s.add_argument("--managed-path", default="/sfn-iam/", help="IAM path of the overflow managed policies")
    s.add_argument("--opt-out-tag", default="sfn-iam:opt-out", help="roles with this tag key are only reported")
    s.add_argument("--workers", type=int, default=4, help="state machines handled at once (default 4)")
    s.add_argument("--iam-rate", type=float, default=10.0, help="IAM calls per second at most (default 10)")
    s.add_argument("--report-json", metavar="FILE", help="write the posture report as JSON")
    s.add_argument("--report-md", metavar="FILE", help="write the posture report as Markdown")
    s.add_argument("--publish", action="store_true",
                   help="publish the outcome events to EventBridge (source sfn-iam), as the Lambda does")
    s.add_argument("--event-bus", default="default", help="event bus for --publish (default: default)")
    s.add_argument("--topic-arn", help="publish a summary to this SNS topic")
    s.add_argument("--security-hub", action="store_true", help="import the findings into Security Hub (ASFF)")
    s.add_argument("--progress", action="store_true", help="show a progress bar on stderr even when not a TTY")
    s.add_argument("--fail-on", type=_severity, metavar="SEVERITY",
                   help="exit 2 when a finding is at least this severe")
    s.set_defaults(func=_sweep)
    return parser


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args, out or sys.stdout, err or sys.stderr, stdin or sys.stdin)
    return code


if __name__ == "__main__":
    sys.exit(main())
