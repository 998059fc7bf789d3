"""``sfn-iam``: least-privilege IAM for AWS Step Functions state machines, offline and in pipelines.

This package is the command line, the second composition root over the same core. Its face is the argument
parser; each command's module is imported only when that command runs, so ``sfn-iam --version`` and a small
``sfn-iam policy`` load only what they use (``bench/cli_startup.py`` measures it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from sfn_iam import __version__

__all__ = ["COMMANDS", "EXIT_FINDINGS", "EXIT_INPUT", "EXIT_OK", "EXIT_USAGE", "FAIL_ON_DEFAULT", "FORMATS",
           "MAX_INPUT_CHARS", "ProgressBar", "build_parser", "main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_FINDINGS = 0, 1, 2, 3
MAX_INPUT_CHARS = 8 * 1024 * 1024  # the readers' bound (sources.MAX_INPUT_CHARS is this value)
FORMATS = ("text", "json", "sarif", "junit")
FAIL_ON_DEFAULT = "high"  # as cfn-lint and checkov: a high or critical finding fails the run
_SEVERITIES = ("info", "low", "medium", "high", "critical")
DEFAULT_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"

_DESCRIPTION = "Least-privilege IAM policies for AWS Step Functions state machines, derived from their definitions."
_EPILOG = ("exit codes: 0 no finding at or above --fail-on, 1 an input could not be used (unreadable file, invalid "
           "state machine definition), 2 usage error, 3 a finding at or above --fail-on (default high)")


def __getattr__(name: str) -> Any:
    if name == "ProgressBar":  # the sweep's progress bar, kept importable from here without loading the sweep early
        from sfn_iam.cli.sweep import ProgressBar

        return ProgressBar
    raise AttributeError(name)


def _fail_on(text: str) -> str:
    value = text.strip().lower()
    if value not in (*_SEVERITIES, "none"):
        raise argparse.ArgumentTypeError(f"unknown severity {text!r}; expected one of {', '.join(_SEVERITIES)} "
                                         "or none")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="template, definition (JSON/YAML), DescribeStateMachine response, Terraform plan "
                   "(terraform show -json), directory, or - for stdin")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    p.add_argument("--output", metavar="FILE",
                   help="write the --format report to FILE and the text report to the terminal (one run for both, "
                   "as the GitHub Action does)")
    p.add_argument("--fail-on", type=_fail_on, metavar="SEVERITY",
                   help="exit 3 when a finding is at least this severe: info, low, medium, high, critical, or none "
                   f"to never fail on findings (default {FAIL_ON_DEFAULT}, or fail-on in the settings file)")
    p.add_argument("--region", help="AWS::Region and the region of ARNs (default us-east-1, with a finding)")
    p.add_argument("--account", help="AWS::AccountId and the account of ARNs (default 123456789012, with a finding)")
    p.add_argument("--partition", help="AWS::Partition (default aws)")
    p.add_argument("--stack-name", help="AWS::StackName (default: unknown, '*' in names built from it)")
    p.add_argument("--parameter", action="append", metavar="KEY=VALUE",
                   help="a template parameter's value, a pseudo parameter (AWS::StackId=...), or the value of a "
                   "raw definition's ${KEY} placeholder (repeatable; default: the parameter's Default)")
    p.add_argument("--resolve", action="store_true",
                   help="read what the definition implies from the account with your credentials (task definition "
                        "roles, customer-managed keys, work group outputs, instance profiles; needs sfn-iam[aws]); "
                        "offline by default")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: .sfn-iam.toml, or [tool.sfn-iam] in pyproject.toml, found upwards)")
    p.add_argument("--ceiling", metavar="FILE",
                   help="the ceiling: an IAM policy document (JSON) of what may be granted at all (default: the "
                        "settings' `ceiling`, else the reviewed default that `sfn-iam ceiling` prints)")


def _ceiling(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """``sfn-iam ceiling``: the default ceiling, or (``--boundary``) the permissions boundary IAM enforces."""
    import json

    from sfn_iam.engine.guardrails import ceiling

    document = ceiling.default_boundary() if args.boundary else ceiling.default_document()
    if args.account or args.stack_name or args.partition:
        document = ceiling.filled(document, {"AWS::AccountId": args.account or "${AWS::AccountId}",
                                             "AWS::StackName": args.stack_name or "${AWS::StackName}",
                                             "AWS::Partition": args.partition or "${AWS::Partition}"})
    json.dump(document, out, indent=2)
    out.write("\n")
    return EXIT_OK


def _run(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from sfn_iam.cli import run  # the readers and the engine, loaded when a command needs them

    return run.run(args, out, err, stdin)


def _sweep(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from sfn_iam.cli import sweep

    return sweep.run(args, out, err, stdin)


def _restore(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from sfn_iam.cli import restore

    return restore.run(args, out, err, stdin)


def _severity(text: str) -> Any:
    from sfn_iam.findings import Severity

    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class UsageError(Exception):
    """A command line argparse refuses (exit 2); kept apart so ``--format json`` can still print one object."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` gives it (``COLUMNS``, the terminal, else 80)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter without ``shutil``: argparse builds one for every ``add_argument`` (to check its
    metavar), and shutil with the compression modules it imports was a tenth of the start-up of every command."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)  # the subcommands' parsers are _Parser too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse prints and exits; the caller decides how to say it
        raise UsageError(message, self.format_usage())


COMMANDS = ("policy", "check", "ceiling", "sweep", "restore")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``command`` given) every command with only that one's arguments: ``sfn-iam --help``
    lists the commands from their ``help`` alone, and each ``add_argument`` costs a help formatter and gettext look-ups
    (the other commands' ~40 arguments were a tenth of a small ``policy`` run's start-up)."""
    parser = _Parser(prog="sfn-iam", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"sfn-iam {__version__}")
    # prog given: argparse would otherwise build a help formatter (and import shutil) only to guess it
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", prog="sfn-iam")
    for name, (build, func) in _COMMANDS.items():
        p = build(sub)
        if command is None or command == name:
            _ARGUMENTS[name](p)
        p.set_defaults(func=func)
    return parser


def _policy_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "policy", help="print the least-privilege policy of each state machine (offline)",
        description="Print the least-privilege IAM policy each state machine's role needs, derived from its definition "
        "(offline: files only). Findings go to stderr; a policy with grants withheld says INCOMPLETE and what to "
        "supply.", epilog=_EPILOG)
    return p


def _policy_arguments(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--state-machine-arn", help=f"ARN for a raw definition (default {DEFAULT_ARN})")
    p.add_argument("--explain", action="store_true", help="say which states need each statement (on stderr)")


def _check_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "check", help="compare the role policy a template declares with what its state machines need",
        description="For each state machine of the templates: requests it makes that the declared role policy "
        "certainly does not allow (MISSING_GRANT, high: the workflow will fail there), requests the comparison cannot "
        "settle offline (UNVERIFIED_GRANT, medium) and declared grants beyond its needs (EXCESS_GRANT).",
        epilog=_EPILOG)
    return p


def _ceiling_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "ceiling", help="print the default ceiling: what may be granted at all",
        description="Print the reviewed default ceiling, an IAM policy document: what the engine may grant, with "
        "${AWS::...} placeholders. --boundary prints it as the template's CeilingPolicy carries it (IAM's "
        "6,144-character limit: wider wildcards; the engine enforces the exact list). Copy it, change it, and pass it "
        "with --ceiling or the `ceiling` setting.")
    return p


def _ceiling_arguments(g: argparse.ArgumentParser) -> None:
    g.add_argument("--boundary", action="store_true", help="as the permissions boundary IAM enforces")
    g.add_argument("--account", help="fill ${AWS::AccountId}")
    g.add_argument("--partition", help="fill ${AWS::Partition}")
    g.add_argument("--stack-name", help="fill ${AWS::StackName} (the product's stack: its resources are denied)")


def _sweep_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "sweep", help="fix or report every state machine of an account and region (live AWS)",
        description="Sweep every state machine of the account and region: derive each one's policy, write it "
        "(enforce) or say what would change (report), restore hand-edited policies, remove the policies of deleted "
        "state machines. Uses the local AWS credentials; AWS_ENDPOINT_URL is honoured. Needs boto3: pip install "
        "'sfn-iam[aws]'.")
    return p


def _sweep_arguments(s: argparse.ArgumentParser) -> None:
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
                   help="exit 3 when a finding is at least this severe (default: never)")


def _restore_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "restore", help="put back the residual policies a sweep removed (RemoveResidualPolicies)",
        description="Put back the residual policies a sweep removed. A FILE is anything that carries the removal: the "
        "EventBridge event (detail-type \"Policy Removed\", action \"remove-residual\"), its detail, the sweeper's log "
        "line, or the sweep's JSON report. Inline policies are put back from the saved document, managed policies "
        "attached again by ARN. Without --apply it prints what it would do; it runs with your credentials.")
    return p


def _restore_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("files", nargs="+", metavar="FILE", help="an outcome event, its detail, a log export, or a report")
    r.add_argument("--apply", action="store_true", help="restore (default: print what would be restored)")
    r.add_argument("--region", help="AWS region for the IAM client (IAM is global; any region works)")


_Command = Callable[[argparse.Namespace, TextIO, TextIO, TextIO], int]
_COMMANDS: dict[str, tuple[Callable[[Any], argparse.ArgumentParser], _Command]] = {
    "policy": (_policy_parser, _run), "check": (_check_parser, _run), "ceiling": (_ceiling_parser, _ceiling),
    "sweep": (_sweep_parser, _sweep), "restore": (_restore_parser, _restore)}
_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "policy": _policy_arguments, "check": _common, "ceiling": _ceiling_arguments, "sweep": _sweep_arguments,
    "restore": _restore_arguments}


def _command(argv: Sequence[str]) -> str | None:
    """The command a command line names, as argparse reads it: its first word that is not an option (the top level's
    options, --help and --version, take no value; argparse refuses a command after ``--``). ``""`` when it names none
    (only the top level's options: no command's arguments are needed), None when the word is not a command (the whole
    parser then says so, as before)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return ""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(_command(words)).parse_args(words)  # only the named command's arguments
    except SystemExit as exc:  # argparse: --help and --version exit 0
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except UsageError as exc:
        if "json" in words and ("--format" in words or "--format=json" in words):  # one JSON object, whatever happens
            import json

            print(json.dumps({"results": [], "errors": [{"source": "command line", "message": str(exc)}],
                              "notes": []}, indent=2), file=out or sys.stdout)
        print(f"{exc.usage}sfn-iam: error: {exc}", file=err or sys.stderr)
        return EXIT_USAGE
    code: int = args.func(args, out or sys.stdout, err or sys.stderr, stdin or sys.stdin)
    return code
