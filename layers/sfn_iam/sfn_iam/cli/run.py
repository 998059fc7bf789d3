"""``sfn-iam policy`` and ``sfn-iam check``: read the inputs, plan each state machine, report, choose the exit code.

Exit codes, as linters have them: 0 when no finding is at or above the threshold, 1 when an input could not be used
(an unreadable file, a settings file in error, a definition Step Functions would refuse), 2 for usage errors
(argparse), 3 when a finding is at or above ``--fail-on`` (default ``high``; ``none`` never fails on findings).
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from sfn_iam import arns, engine
from sfn_iam.cli import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_USAGE, FAIL_ON_DEFAULT, aslschema, formats, sources
from sfn_iam.cli import config as settings
from sfn_iam.cli.errors import InputError
from sfn_iam.engine import asl, policy
from sfn_iam.findings import Finding, Severity
from sfn_iam.lazyre import compiled

if TYPE_CHECKING:
    from sfn_iam.fixing.facts import FactResolver

# Findings that say a request was made and not granted, with what to supply so it can be.
_WITHHOLDING = {
    "BLOCKED_ACTION": "a reviewed grant outside sfn-iam (the action is on the deny-list)",
    "BLOCKED_SERVICE": "a reviewed grant outside sfn-iam, or the service in the allowed services",
    "WILDCARD_READ": "the resource's literal name (a --parameter, a named resource, or a literal in the definition)",
    "WILDCARD_WRITE": "the resource's literal name (a --parameter, a named resource, or a literal in the definition)",
    "ROLE_NOT_PASSABLE": "a role that may be passed, or a reviewed grant outside sfn-iam",
    "PASSROLE_UNSCOPED": "the role's literal ARN in the definition (or a --parameter for it)",
    "UNKNOWN_INTEGRATION": "a hand-written grant for this Task (its integration is not known to sfn-iam)",
    "UNKNOWN_ACTION": "a hand-written grant for this action (IAM's reference does not list it)",
    "MISSING_PARAMETER": "the parameter the integration requires",
    "POLICY_TOO_LARGE": "a smaller statement (fewer resources per state)",
}


def threshold(args: argparse.Namespace, conf: settings.Config) -> Severity | None:
    """``--fail-on``, else the settings file's ``fail-on``, else high; ``None`` for ``none``."""
    chosen = args.fail_on if args.fail_on is not None else conf.fail_on
    if chosen is None:
        chosen = FAIL_ON_DEFAULT
    if isinstance(chosen, Severity):
        return chosen
    return None if chosen == "none" else Severity.parse(chosen)


def _options(args: argparse.Namespace, conf: settings.Config) -> sources.Options:
    parameters = {}
    for item in args.parameter or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--parameter {item!r} must be KEY=VALUE")
        parameters[key.strip()] = value
    return sources.Options(region=args.region or conf.region, account=args.account or conf.account,
                           partition=args.partition or conf.partition, stack_name=args.stack_name,
                           parameters=parameters, state_machine_arn=getattr(args, "state_machine_arn", None))


def _explain(plan: engine.Plan) -> list[str]:
    lines = []
    for stmt in plan.statements:
        needed_by = sorted({
            r.path for r in plan.granted
            if any(a.lower() == r.action.lower() for a in stmt["Action"]) and r.resource in stmt["Resource"]
        })
        lines.append(f"{stmt['Sid']}: {', '.join(stmt['Action'])} <- {', '.join(needed_by) or '(merged)'}")
    return lines


def withheld(plan: engine.Plan) -> list[str]:
    """Each request the definition makes that the policy does not grant, with what to supply so it can be."""
    granted = set(plan.granted)
    out: list[str] = []
    by_path: dict[str, list[Finding]] = {}
    for f in plan.findings:
        if f.code in _WITHHOLDING:
            by_path.setdefault(f.path, []).append(f)
    explained: set[tuple[str, str]] = set()
    for req in plan.requirements:
        if req in granted:
            continue
        reasons = by_path.get(req.path, [])
        supply = _WITHHOLDING[reasons[0].code] if reasons else "a reviewed grant outside sfn-iam"
        explained.update((f.path, f.code) for f in reasons)
        out.append(f"{req.action} on {req.resource} at {req.path or '(machine)'}: supply {supply}")
    for f in plan.findings:  # requests the engine could not even state (no action or resource to name)
        if f.code in _WITHHOLDING and (f.path, f.code) not in explained:
            out.append(f"{f.code} at {f.path or '(machine)'}: supply {_WITHHOLDING[f.code]}")
    return out


_STEP_RE = compiled(globals(), "_STEP_RE", r"States\.(.+?)(?=\.Branches\[\d+\]|\.ItemProcessor|\.Iterator|$)")


def _state_at(definition: Any, path: str) -> Any:
    """The state at a state path (``States.A.Branches[0].States.B``), or ``None``."""
    node, rest = definition, path
    while rest:
        match = _STEP_RE.match(rest)
        if match is None or not isinstance(node, Mapping) or not isinstance(node.get("States"), Mapping):
            return None
        node, rest = node["States"].get(match.group(1)), rest[match.end():]
        nested = re.match(r"\.Branches\[(\d+)\]\.|\.(ItemProcessor|Iterator)\.", rest)
        if nested is not None and isinstance(node, Mapping):
            if nested.group(1) is not None:
                branches = node.get("Branches")
                index = int(nested.group(1))
                node = branches[index] if isinstance(branches, list) and index < len(branches) else None
            else:
                node = node.get(nested.group(2))
            rest = rest[nested.end():]
        elif rest:
            return None
    return node


def deploy_time(machine: sources.Machine, findings: list[Finding]) -> list[Finding]:
    """The engine says "only known at run time" of every value it cannot see; where the value is a template reference
    sfn-iam could not resolve offline (a placeholder it handed over as unknown), it is known at deploy time."""
    refused = {f.path: f.code for f in findings if f.code in _WITHHOLDING}
    out = []
    resolved_with_stars = any(f.code == "UNRESOLVED_REFERENCE" and f.path == "Definition" for f in machine.findings)
    for f in findings:
        if "only known at run time" in f.message and f.path.startswith("States."):
            state = _state_at(machine.state_machine.definition, f.path)
            text = json.dumps(state) if state is not None else ""
            if sources.UNRESOLVED_PATH[2:] in text or (resolved_with_stars and "*" in text):
                f = Finding(f.code, f.severity, f.message.replace(
                    "is only known at run time", "is a template value known at deploy time, not offline"), f.path)
        if f.code == "DYNAMIC_RESOURCE" and f.path in refused and "granted" in f.message:
            # not "granted" here and "not granted" in the next line: say which grants the guardrails left
            f = Finding(f.code, f.severity, f"{f.message.split(';', 1)[0]}; the narrowest pattern is granted only "
                        f"where the guardrails allow it (see {refused[f.path]})", f.path)
        out.append(f)
    return out


def _plan(machine: sources.Machine, conf: settings.Config, resolver: FactResolver | None, limit: int
          ) -> tuple[engine.Plan, list[Finding]]:
    """The plan, with facts from the account when ``--resolve`` gave a resolver (and what it could not read)."""
    if resolver is None:
        from sfn_iam.cli import template_facts
        from sfn_iam.engine import facts as engine_facts

        known = (template_facts.of_template(machine.template, machine.resolver)
                 if machine.template is not None and machine.resolver is not None else engine_facts.NO_FACTS)
        plan = engine.plan(machine.state_machine, conf.guard, limit, known=known)
        return plan, template_facts.unknown_keys(plan)
    from sfn_iam.fixing import facts  # --resolve only

    return facts.plan(machine.state_machine, conf.guard, limit, resolver)


def _deployable(machine: sources.Machine, conf: settings.Config, resolver: FactResolver | None
                ) -> tuple[engine.Plan, list[Finding], str]:
    """The plan in documents IAM accepts where they will go: one inline policy when it fits a role's inline budget
    (10,240 characters for all inline policies of the role together), else customer-managed policies of at most
    6,144 characters each (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    plan, unresolved = _plan(machine, conf, resolver, policy.INLINE_LIMIT)
    if len(plan.documents) <= 1:
        return plan, unresolved, ""
    plan, unresolved = _plan(machine, conf, resolver, policy.MANAGED_LIMIT)
    return plan, unresolved, (f"the policy is larger than a role's inline budget (10,240 characters for all its "
                              f"inline policies together): attach it as {len(plan.documents)} customer-managed "
                              f"policies of at most 6,144 characters each")


def _resolver(args: argparse.Namespace, err: TextIO) -> FactResolver | int | None:
    """``--resolve``: the fixer's facts adapter with the caller's credentials (boto3 imported only then)."""
    if not getattr(args, "resolve", False):
        return None
    try:
        from sfn_iam.aws.clients import new_session
        from sfn_iam.aws.wiring import account_facts
        from sfn_iam.fixing.facts import FactResolver
    except ImportError:
        print("sfn-iam: error: --resolve needs boto3: pip install 'sfn-iam[aws]'", file=err)
        return EXIT_USAGE
    session = new_session(region_name=args.region or None)  # the Lambda's loader: its clients are built for less
    return FactResolver(account_facts(session, session.region_name or sources.DEFAULT_REGION))


def run(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    report = formats.Report(args.command)
    try:
        conf = settings.load(args.config if args.config else settings.find())
        if args.ceiling:
            conf = conf.with_ceiling(args.ceiling)
        options = _options(args, conf)
    except (settings.ConfigError, InputError) as exc:
        report.errors.append((args.config or "settings", str(exc)))
        _emit(report, args.format, None, out, err)
        return EXIT_INPUT
    resolver = _resolver(args, err)
    if isinstance(resolver, int):
        return resolver
    fail_on = threshold(args, conf)
    loaded = sources.load(args.files, options, stdin)
    report.errors.extend(loaded.errors)
    report.notes.extend(loaded.notes)
    invalid = False
    used_rules: set[int] = set()
    for machine in loaded.machines:
        if machine.error is not None:
            report.errors.append((machine.source, machine.error))
            continue
        try:
            engine.context_for(machine.state_machine.arn)  # an unusable ARN is an input error before anything else
        except arns.ArnError as exc:
            report.errors.append((machine.source, f"{machine.source}: {machine.name}: {exc}"))
            continue
        try:
            problems = aslschema.problems(machine.state_machine.definition)
        except RecursionError:  # nested deeper than the schema interpreter recurses: the engine's walker decides
            problems = []
        if problems:  # Step Functions would refuse this definition: no policy, the reasons at their paths
            invalid = True
            errors = [*machine.findings, *(Finding.of("DEFINITION_ERROR", message, path)
                                           for path, message in problems)]
            kept, suppressed = conf.split(errors, machine.name, used_rules)
            report.results.append(formats.Result(machine.source, machine.name, [], kept, machine.line, suppressed,
                                                 lines=machine.lines))
            continue
        try:
            plan, unresolved, placement = _deployable(machine, conf, resolver)
        except (asl.DefinitionError, arns.ArnError) as exc:
            report.errors.append((machine.source, f"{machine.source}: {machine.name}: {exc}"))
            continue
        findings: list[Finding] = [*machine.findings, *unresolved]
        if args.command == "check":
            from sfn_iam.cli import check  # aws-sam-translator's policy templates are read only by `check`

            findings.extend(check.compare(machine, plan))  # the comparison, with what made it approximate
        else:
            findings.extend(deploy_time(machine, list(plan.findings)))
        unique = sorted(set(findings), key=lambda f: (f.path, f.code, f.message))
        kept, suppressed = conf.split(unique, machine.name, used_rules)
        report.results.append(formats.Result(
            machine.source, machine.name, list(plan.documents), kept, machine.line, suppressed,
            _explain(plan) if getattr(args, "explain", False) else [],
            withheld=withheld(plan) if args.command == "policy" else [], placement=placement, lines=machine.lines))
    report.notes.extend(f"{conf.describe(i)} matched no finding" for i in range(len(conf.suppressions))
                        if i not in used_rules and (loaded.machines or not report.errors))
    unused = sorted(set(options.parameters) - loaded.used_parameters)
    if unused and loaded.machines:
        report.notes.append(f"--parameter {', '.join(unused)}: not used by any input (no parameter, pseudo "
                            "parameter or ${...} placeholder of that name)")
    # Which ceiling, when it decided something (a refusal names "the default ceiling" itself), and settings
    # translated into it: a happy path says nothing.
    refused = any(f.code == "OUTSIDE_CEILING" for r in report.results for f in r.findings)
    report.notes[:0] = [n for n in conf.notes if refused or not n.startswith("using the default ceiling")]
    if getattr(args, "output", None):
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                _emit(report, args.format, fail_on, handle, io.StringIO())  # errors: once, on the terminal
        except OSError as exc:
            report.errors.append((args.output, f"cannot write {args.output}: {exc.strerror or exc}"))
        _emit(report, "text", fail_on, out, err)
    else:
        _emit(report, args.format, fail_on, out, err)
    if report.errors or invalid:
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
        out.write(formats.to_junit(report, fail_on))
    else:
        formats.write_text(report, out, err)
        return
    for source, message in report.errors:  # machine formats carry the errors too; people read stderr
        print(formats.printable(f"sfn-iam: error: {message if source in message else source + ': ' + message}"),
              file=err)
    for note in report.notes:
        print(formats.printable(f"sfn-iam: note: {note}"), file=err)
