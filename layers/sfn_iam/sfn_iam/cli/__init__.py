"""``sfn-iam``: the command line, the second composition root over the same core.

``sfn-iam policy FILE...`` prints the policy each state machine's role needs (offline). A FILE is a raw ASL
definition (JSON or YAML), a ``DescribeStateMachine`` response, a SAM, CloudFormation or CDK-synthesized template,
a directory (every template and definition in it) or ``-`` for standard input.

``sfn-iam check TEMPLATE...`` compares the role policy each template declares with what its state machines need.

``sfn-iam sweep`` sweeps a live account and region (needs ``pip install 'sfn-iam[aws]'``).

``sfn-iam restore FILE...`` puts back the residual policies a sweep removed (``RemoveResidualPolicies``).

Exit codes: 0 ok, 1 invalid input, 2 usage, 3 findings at or above ``--fail-on``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from sfn_iam import __version__, arns, engine
from sfn_iam.cli import config as settings
from sfn_iam.cli import formats, sources, template_facts
from sfn_iam.cli.sweep import ProgressBar
from sfn_iam.engine import asl, policy
from sfn_iam.engine import facts as engine_facts
from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing import facts
from sfn_iam.fixing.facts import FactResolver

__all__ = ["EXIT_FINDINGS", "EXIT_INPUT", "EXIT_OK", "EXIT_USAGE", "MAX_INPUT_CHARS", "ProgressBar", "build_parser",
           "main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_FINDINGS = 0, 1, 2, 3
MAX_INPUT_CHARS = sources.MAX_INPUT_CHARS
DEFAULT_ARN = f"arn:aws:states:{sources.DEFAULT_REGION}:{sources.DEFAULT_ACCOUNT}:stateMachine:StateMachine"


def _explain(plan: engine.Plan) -> list[str]:
    lines = []
    for stmt in plan.statements:
        needed_by = sorted({
            r.path for r in plan.granted
            if any(a.lower() == r.action.lower() for a in stmt["Action"]) and r.resource in stmt["Resource"]
        })
        lines.append(f"{stmt['Sid']}: {', '.join(stmt['Action'])} <- {', '.join(needed_by) or '(merged)'}")
    return lines


def _options(args: argparse.Namespace, conf: settings.Config) -> sources.Options:
    parameters = {}
    for item in args.parameter or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise sources.InputError(f"--parameter {item!r} must be KEY=VALUE")
        parameters[key.strip()] = value
    return sources.Options(region=args.region or conf.region, account=args.account or conf.account,
                           partition=args.partition or conf.partition, stack_name=args.stack_name,
                           parameters=parameters, state_machine_arn=getattr(args, "state_machine_arn", None))


def _plan(machine: sources.Machine, conf: settings.Config, resolver: FactResolver | None = None
          ) -> tuple[engine.Plan, list[Finding]]:
    """The plan, with facts from the account when ``--resolve`` gave a resolver (and what it could not read)."""
    if resolver is None:
        known = (template_facts.of_template(machine.template, machine.resolver)
                 if machine.template is not None and machine.resolver is not None else engine_facts.NO_FACTS)
        plan = engine.plan(machine.state_machine, conf.guard, known=known)
        return plan, template_facts.unknown_keys(plan)
    return facts.plan(machine.state_machine, conf.guard, policy.INLINE_LIMIT, resolver)


def _resolver(args: argparse.Namespace, err: TextIO) -> FactResolver | int | None:
    """``--resolve``: the fixer's facts adapter with the caller's credentials (boto3 imported only then)."""
    if not getattr(args, "resolve", False):
        return None
    try:
        import boto3

        from sfn_iam.aws.wiring import account_facts
    except ImportError:
        print("sfn-iam: error: --resolve needs boto3: pip install 'sfn-iam[aws]'", file=err)
        return EXIT_USAGE
    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
    return FactResolver(account_facts(session, session.region_name or sources.DEFAULT_REGION))


def _run(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    try:
        conf = settings.load(args.config if args.config else settings.find())
        options = _options(args, conf)
    except (settings.ConfigError, sources.InputError) as exc:
        print(f"sfn-iam: error: {exc}", file=err)
        return EXIT_INPUT
    resolver = _resolver(args, err)
    if isinstance(resolver, int):
        return resolver
    loaded = sources.load(args.files, options, stdin)
    report = formats.Report(args.command, errors=list(loaded.errors))
    for machine in loaded.machines:
        try:
            plan, unresolved = _plan(machine, conf, resolver)
        except (asl.DefinitionError, arns.ArnError) as exc:
            report.errors.append((machine.source, f"{machine.source}: {machine.name}: {exc}"))
            continue
        findings: list[Finding] = [*machine.findings, *unresolved]
        if args.command == "check":
            from sfn_iam.cli import check  # aws-sam-translator's policy templates are read only by `check`

            findings.extend(check.compare(machine, plan))  # the comparison, with what made it approximate
        else:
            findings.extend(plan.findings)
        unique = sorted(set(findings), key=lambda f: (f.path, f.code, f.message))
        kept, suppressed = conf.split(unique, machine.name)
        report.results.append(formats.Result(
            machine.source, machine.name, list(plan.documents), kept, machine.line, suppressed,
            _explain(plan) if getattr(args, "explain", False) else []))
    fail_on = args.fail_on if args.fail_on is not None else conf.fail_on
    _emit(report, args.format, fail_on, out, err)
    if report.errors:
        return EXIT_INPUT
    if fail_on is not None and any(f.severity >= fail_on for r in report.results for f in r.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _emit(report: formats.Report, fmt: str, fail_on: Severity | None, out: TextIO, err: TextIO) -> None:
    if fmt == "json":
        json.dump(formats.to_json(report), out, indent=2)
        out.write("\n")
    elif fmt == "sarif":
        json.dump(formats.to_sarif(report), out, indent=2)
        out.write("\n")
    elif fmt == "junit":
        out.write(formats.to_junit(report, fail_on if fail_on is not None else Severity.HIGH))
    else:
        formats.write_text(report, out, err)
        return
    for source, message in report.errors:  # machine formats carry the errors too; people read stderr
        print(formats.printable(f"sfn-iam: error: {message if source in message else source + ': ' + message}"),
              file=err)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="template, definition (JSON/YAML), DescribeStateMachine response, directory, or - for stdin")
    p.add_argument("--format", choices=formats.FORMATS, default="text", help="output format (default text)")
    p.add_argument("--fail-on", type=_severity, metavar="SEVERITY",
                   help="exit 3 when a finding is at least this severe (info, low, medium, high, critical)")
    p.add_argument("--region", help="AWS::Region and the region of ARNs (default us-east-1, with a finding)")
    p.add_argument("--account", help="AWS::AccountId and the account of ARNs (default 123456789012, with a finding)")
    p.add_argument("--partition", help="AWS::Partition (default aws)")
    p.add_argument("--stack-name", help="AWS::StackName (default: unknown, '*' in names built from it)")
    p.add_argument("--parameter", action="append", metavar="KEY=VALUE",
                   help="a template parameter's value (repeatable; default: its Default)")
    p.add_argument("--resolve", action="store_true",
                   help="read what the definition implies from the account with your credentials (task definition "
                        "roles, customer-managed keys, work group outputs, instance profiles; needs sfn-iam[aws]); "
                        "offline by default")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: .sfn-iam.toml, or [tool.sfn-iam] in pyproject.toml, found upwards)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfn-iam", description=(__doc__ or "").splitlines()[0],
                                     epilog="exit codes: 0 ok, 1 invalid input, 2 usage, 3 findings at or above "
                                     "--fail-on")
    parser.add_argument("--version", action="version", version=f"sfn-iam {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("policy", help="print the least-privilege policy of each state machine")
    _common(p)
    p.add_argument("--state-machine-arn", help=f"ARN for a raw definition (default {DEFAULT_ARN})")
    p.add_argument("--explain", action="store_true", help="say which states need each statement (on stderr)")
    p.set_defaults(func=_run)
    c = sub.add_parser("check", help="compare the role policy a template declares with what its state machines need",
                       description="For each state machine of the templates: grants it needs that the declared "
                       "role policy lacks (MISSING_GRANT, high: the workflow will fail) and declared grants beyond "
                       "its needs (EXCESS_GRANT).")
    _common(c)
    c.set_defaults(func=_run)
    from sfn_iam.cli import sweep

    s = sub.add_parser("sweep", help="fix or report every state machine of an account and region (live AWS)",
                       description="Sweep every state machine of the account and region: derive each one's policy, "
                       "write it (enforce) or say what would change (report), restore hand-edited policies, remove "
                       "the policies of deleted state machines. Uses the local AWS credentials; AWS_ENDPOINT_URL is "
                       "honoured. Needs boto3: pip install 'sfn-iam[aws]'.")
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
                   help="exit 3 when a finding is at least this severe")
    s.set_defaults(func=sweep.run)
    from sfn_iam.cli import restore

    restore.add_parser(sub)
    return parser


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    code: int = args.func(args, out or sys.stdout, err or sys.stderr, stdin or sys.stdin)
    return code
