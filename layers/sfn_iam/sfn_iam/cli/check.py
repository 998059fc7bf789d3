"""``sfn-iam check``: the role policy a template declares against what its state machine needs.

Declared: SAM ``Policies`` (policy templates expanded from aws-sam-translator's own data, inline documents, managed
policies by name or ARN), or the ``AWS::IAM::Role`` named by ``Role``/``RoleArn`` with its inline ``Policies``,
``ManagedPolicyArns`` and the ``AWS::IAM::Policy``/``RolePolicy``/``ManagedPolicy`` resources attached to it. The
declared statements are resolved with the same resolver as the definition, so an unnamed resource is the same
pattern on both sides.

Needed: every request the engine derives (before the guardrails: a refused request is still made at run time).

* ``MISSING_GRANT`` (high): a needed request no declared statement allows — the state fails there. Medium when the
  role also has managed policies whose contents are not known offline.
* ``EXCESS_GRANT``: a declared action no state needs (medium), or one broader than needed; high for a wildcard
  action, and for a write or secret read on a wildcard that covers whole containers (the guardrails' rule).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sfn_iam.cli.sources import Machine
from sfn_iam.engine import Plan, guardrails
from sfn_iam.findings import Finding, Severity
from sfn_iam.model import Requirement

# AWS managed policies often attached to state machine roles, reduced to the grants that matter here (from the AWS
# Managed Policy Reference Guide, https://docs.aws.amazon.com/aws-managed-policy/latest/reference/). Others are
# reported as not evaluated.
MANAGED: dict[str, list[dict[str, Any]]] = {
    "AWSXrayWriteOnlyAccess": [{"Effect": "Allow", "Resource": "*", "Action": [
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries"]}],
    "AWSLambdaRole": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "*"}],
    "CloudWatchLogsFullAccess": [{"Effect": "Allow", "Action": ["logs:*", "cloudwatch:GenerateQuery"],
                                  "Resource": "*"}],
    "AmazonSNSFullAccess": [{"Effect": "Allow", "Action": ["sns:*"], "Resource": "*"}],
    "AmazonSQSFullAccess": [{"Effect": "Allow", "Action": ["sqs:*"], "Resource": "*"}],
    "AmazonS3FullAccess": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}],
    "AmazonDynamoDBFullAccess": [{"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "*"}],
    "AWSStepFunctionsFullAccess": [{"Effect": "Allow", "Action": ["states:*"], "Resource": "*"}],
    "AmazonEventBridgeFullAccess": [{"Effect": "Allow", "Action": ["events:*", "schemas:*", "scheduler:*",
                                                                   "pipes:*"], "Resource": "*"}],
    "AWSLambda_FullAccess": [{"Effect": "Allow", "Action": ["lambda:*"], "Resource": "*"}],
    "AdministratorAccess": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@cache
def sam_policy_templates() -> Mapping[str, Any]:
    """SAM's policy templates, from the aws-sam-translator package's data file (read, not imported)."""
    from importlib import resources

    try:
        path = resources.files("samtranslator") / "policy_templates_data" / "policy_templates.json"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, OSError, ValueError):
        return {}
    templates = data.get("Templates") if isinstance(data, Mapping) else None
    return templates if isinstance(templates, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Statement:
    origin: str  # where the template declares it
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None


@dataclass(slots=True)
class Declared:
    statements: list[Statement]
    unknown_managed: list[str]
    notes: list[Finding]


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return tuple(re.sub(r"\*+", "*", str(v)) for v in value if isinstance(v, str | int))
    return ()


def _statements(document: Any, origin: str) -> Iterator[Statement]:
    stmts = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(stmts, Mapping):
        stmts = [stmts]
    for i, s in enumerate(stmts if isinstance(stmts, list) else []):
        if not isinstance(s, Mapping):
            continue
        sid = f" ({s['Sid']})" if isinstance(s.get("Sid"), str) else ""
        yield Statement(
            f"{origin}.Statement[{i}]{sid}", str(s.get("Effect", "Allow")), _strings(s.get("Action")),
            _strings(s.get("NotAction")) if "NotAction" in s else None, _strings(s.get("Resource")),
            _strings(s.get("NotResource")) if "NotResource" in s else None)


def _managed(arn: str, origin: str, declared: Declared) -> None:
    name = arn.rsplit("/", 1)[-1]
    if arn.startswith("arn:") and ":iam::aws:policy/" not in arn:
        declared.unknown_managed.append(arn)
        return
    known = MANAGED.get(name)
    if known is None:
        declared.unknown_managed.append(arn)
        return
    declared.statements.extend(_statements({"Statement": known}, f"{origin} (managed {name})"))


def _logical_id(node: Any) -> str | None:
    if isinstance(node, Mapping) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and parts:
                return str(parts[0])
    return None


def declared(machine: Machine) -> Declared | None:
    """The statements the template gives the state machine's role; ``None`` when the role is not in the template."""
    template, resolver = machine.template, machine.resolver
    if template is None or resolver is None:
        return None
    resources = resolver.resources
    resource = resources.get(machine.name)
    props = resource.get("Properties") if isinstance(resource, Mapping) else None
    props = props if isinstance(props, Mapping) else {}
    out = Declared([], [], [])
    sam = resource.get("Type") == "AWS::Serverless::StateMachine" if isinstance(resource, Mapping) else False
    role = props.get("Role") if sam else props.get("RoleArn")
    if role is None and sam:
        policies = props.get("Policies")
        items = policies if isinstance(policies, list) else [policies] if policies is not None else []
        for i, item in enumerate(items):
            _sam_policy(item, f"Policies[{i}]", resolver, out)
        tracing = props.get("Tracing")
        if isinstance(tracing, Mapping) and tracing.get("Enabled") in (True, "true", "True"):
            _managed("arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess", "Tracing", out)  # SAM adds it
        return out
    role_id = _logical_id(role)
    if role_id is None or not isinstance(resources.get(role_id), Mapping):
        return None  # a role from outside the template: nothing to compare with
    role_props = resources[role_id].get("Properties")
    role_props = role_props if isinstance(role_props, Mapping) else {}
    for i, policy in enumerate(role_props.get("Policies") or []):
        if isinstance(policy, Mapping):
            doc = resolver.resolve(policy.get("PolicyDocument"))
            out.statements.extend(_statements(doc, f"{role_id}.Policies[{i}]"))
    for i, arn in enumerate(role_props.get("ManagedPolicyArns") or []):
        _attached(arn, f"{role_id}.ManagedPolicyArns[{i}]", resolver, resources, out)
    for logical_id, other in resources.items():
        if not isinstance(other, Mapping):
            continue
        kind, other_props = other.get("Type"), other.get("Properties")
        if not isinstance(other_props, Mapping):
            continue
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = other_props.get("Roles") or []
            if any(_logical_id(r) == role_id for r in (roles if isinstance(roles, list) else [])):
                out.statements.extend(_statements(resolver.resolve(other_props.get("PolicyDocument")),
                                                  str(logical_id)))
        elif kind == "AWS::IAM::RolePolicy" and _logical_id(other_props.get("RoleName")) == role_id:
            out.statements.extend(_statements(resolver.resolve(other_props.get("PolicyDocument")), str(logical_id)))
    resolver.take_notes()
    return out


def _attached(node: Any, origin: str, resolver: Any, resources: Mapping[str, Any], out: Declared) -> None:
    ref = _logical_id(node)
    if ref is not None and isinstance(resources.get(ref), Mapping) and \
            resources[ref].get("Type") == "AWS::IAM::ManagedPolicy":
        return  # read with the resources that name the role
    value = resolver.resolve(node)
    if isinstance(value, str):
        _managed(value, origin, out)


def _sam_policy(item: Any, origin: str, resolver: Any, out: Declared) -> None:
    if isinstance(item, str):
        _managed(item if item.startswith("arn:") else f"arn:aws:iam::aws:policy/{item}", origin, out)
        return
    if not isinstance(item, Mapping):
        return
    if "Statement" in item:
        out.statements.extend(_statements(resolver.resolve(item), origin))
        return
    if len(item) == 1:
        (name, params), = item.items()
        if name in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If"):
            _attached(item, origin, resolver, resolver.resources, out)
            return
        template = sam_policy_templates().get(name)
        if isinstance(template, Mapping):
            values = params if isinstance(params, Mapping) else {}
            definition = _bind(template.get("Definition"), values)
            out.statements.extend(_statements(resolver.resolve(definition), f"{origin} ({name})"))
            return
        out.notes.append(Finding.of("UNRESOLVED_REFERENCE", f"{name} is not a SAM policy template this version "
                                    "knows: not compared", origin))


def _bind(node: Any, values: Mapping[str, Any]) -> Any:
    """A SAM policy template with its parameters (``{"Ref": "TableName"}``) replaced by the values given."""
    if isinstance(node, list):
        return [_bind(v, values) for v in node]
    if isinstance(node, Mapping):
        if len(node) == 1 and isinstance(node.get("Ref"), str) and node["Ref"] in values:
            return values[node["Ref"]]
        return {k: _bind(v, values) for k, v in node.items()}
    return node


def _allows(stmt: Statement, req: Requirement) -> bool:
    if stmt.not_actions is not None:
        action_ok = not any(_match(a, req.action, True) for a in stmt.not_actions)
    else:
        action_ok = any(_match(a, req.action, True) for a in stmt.actions)
    if not action_ok:
        return False
    if stmt.not_resources is not None:
        return not any(_match(r, req.resource) for r in stmt.not_resources)
    return any(_match(r, req.resource) for r in stmt.resources)


def compare(machine: Machine, plan: Plan) -> list[Finding]:
    found = declared(machine)
    if found is None:
        return []
    findings = list(found.notes)
    needs = list(plan.requirements)
    allows = [s for s in found.statements if s.effect == "Allow"]
    denies = [s for s in found.statements if s.effect == "Deny"]
    unknown = ", ".join(found.unknown_managed)
    for req in needs:
        if any(_allows(s, req) for s in allows) and not any(_allows(s, req) for s in denies):
            continue
        message = f"{req.action} on {req.resource} is not granted by the declared role policy: the state fails there"
        severity = None
        if unknown:
            message += f" (unless {unknown} grants it: not evaluated offline)"
            severity = Severity.MEDIUM
        findings.append(Finding.of("MISSING_GRANT", message, req.path or "", severity))
    for stmt in allows:
        findings.extend(_excess(stmt, needs))
    return findings


def _excess(stmt: Statement, needs: list[Requirement]) -> Iterator[Finding]:
    if stmt.not_actions is not None or stmt.not_resources is not None:
        yield Finding.of("EXCESS_GRANT", "NotAction/NotResource allows everything else: far beyond need",
                         stmt.origin, Severity.HIGH)
        return
    unused: list[str] = []
    for action in stmt.actions:
        used = [r for r in needs if _match(action, r.action, True) and any(_match(p, r.resource)
                                                                            for p in stmt.resources)]
        if not used:
            unused.append(action)
            continue
        if "*" in action or "?" in action:
            needed = sorted({r.action for r in used})
            yield Finding.of("EXCESS_GRANT", f"{action} grants every matching action; only {', '.join(needed)} "
                             "needed", stmt.origin, Severity.HIGH)
        for pattern in stmt.resources:
            if "*" not in pattern and "?" not in pattern:
                continue
            # A needed pattern (a name known only at deployment, or at run time) the declared pattern matches as
            # text, and differs from, is narrower: ``<bucket>/*`` declared where ``<bucket>/results/*`` is needed.
            narrower = sorted({r.resource for r in used if _match(pattern, r.resource) and r.resource != pattern})
            if not narrower or any(r.resource == pattern for r in used if _match(action, r.action, True)):
                continue
            high = any(guardrails.wildcard_problem(Requirement(r.action, pattern)) for r in used)
            yield Finding.of("EXCESS_GRANT", f"{action} on {pattern} where only {', '.join(narrower[:5])}"
                             f"{' ...' if len(narrower) > 5 else ''} is needed", stmt.origin,
                             Severity.HIGH if high else Severity.MEDIUM)
    if unused:
        wild = [a for a in unused if "*" in a or "?" in a]
        sensitive = [a for a in unused if (a not in wild and any(
            guardrails.wildcard_problem(Requirement(a, r)) for r in stmt.resources))
            or guardrails.access_class(a) in ("secret-read",)]
        severity = Severity.HIGH if wild or sensitive else Severity.MEDIUM
        shown = ", ".join(unused[:8]) + (f" (+{len(unused) - 8} more)" if len(unused) > 8 else "")
        yield Finding.of("EXCESS_GRANT", f"{shown} on {', '.join(stmt.resources[:3])} not needed by any state",
                         stmt.origin, severity)
