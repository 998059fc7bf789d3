"""``sfn-iam``: the offline command line, the second composition root over the same core.

``sfn-iam policy FILE`` prints the policy a state machine's role needs. FILE is a raw ASL definition or a
``DescribeStateMachine`` response; ``-`` reads standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from . import __version__, arns, asl, engine
from .findings import Severity
from .model import StateMachine

DEFAULT_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"


class InputError(Exception):
    """Input the CLI cannot use; reported in one line with exit code 1."""


def _read(path: str, stdin: TextIO) -> Any:
    try:
        text = stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path} is not valid JSON: {str(exc)[:200]}") from None


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
        print(f.line(), file=err)
    if args.explain:
        for line in _explain(plan):
            print(f"explain {line}", file=err)
    if args.fail_on is not None and any(f.severity >= args.fail_on for f in plan.findings):
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
