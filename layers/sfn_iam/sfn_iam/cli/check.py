"""``sfn-iam check``: the role policy a template declares against what its state machine needs.

Declared: SAM ``Policies`` (policy templates expanded from aws-sam-translator's own data, inline documents, managed
policies by name or ARN), or the ``AWS::IAM::Role`` named by ``Role``/``RoleArn`` with its inline ``Policies``,
``ManagedPolicyArns`` and the ``AWS::IAM::Policy``/``RolePolicy``/``ManagedPolicy`` resources attached to it. The
declared statements are resolved with the same resolver as the definition, so an unnamed resource is the same
pattern on both sides.

Needed: every request the engine derives (before the guardrails: a refused request is still made at run time).

* ``MISSING_GRANT`` (high): a needed request no declared statement allows — the state certainly fails there.
* ``UNVERIFIED_GRANT`` (medium): what offline reading cannot settle — a name known only at deploy time on either
  side, managed policies whose contents are not known offline, or a grant AWS documents for the integration that the
  state makes only in some runs (Glue writes of an Athena query whose text is not literal).
* ``NOTHING_TO_COMPARE`` (info): the role comes from outside the template, or the template declares no policy for it.
* ``EXCESS_GRANT``: a declared action no state needs (medium), or one broader than needed; high for a wildcard
  action, and for a write or secret read on a wildcard that covers whole containers (the guardrails' rule).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, NamedTuple

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


class Statement(NamedTuple):
    origin: str  # where the template declares it
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    sam: str = ""  # the SAM policy template ("DynamoDBCrudPolicy") or connector ("connector Write") it comes from


class Declared:
    __slots__ = ("notes", "role", "statements", "templates", "unknown_managed")

    def __init__(self, statements: list[Statement], unknown_managed: list[str], notes: list[Finding], role: str = "",
                 templates: dict[str, tuple[str, Mapping[str, Any]]] | None = None) -> None:
        self.statements = statements
        self.unknown_managed = unknown_managed
        self.notes = notes
        self.role = role  # how the role is named, for NOTHING_TO_COMPARE
        # a SAM policy template's origin ("Policies[0] (DynamoDBCrudPolicy)") -> (template, its parameters)
        self.templates: dict[str, tuple[str, Mapping[str, Any]]] = {} if templates is None else templates


# The log-delivery actions Step Functions calls with the role are the delivery ones (logs:CreateLogDelivery, ...);
# CloudWatch Logs then writes the events itself ("vended logs"), so a role with what AWS CDK generates for logging
# (the delivery actions, without logs:CreateLogStream and logs:PutLogEvents) logs fine.
# https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
_WRITTEN_BY_LOGS = frozenset({"logs:createlogstream", "logs:putlogevents"})
# Grants AWS documents for an integration that a run needs only in some cases: missing, they are a question, not a
# certain failure (https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html).
_SOMETIMES = {
    "glue:createdatabase": "only when the query creates or changes catalog objects",
    "glue:updatedatabase": "only when the query creates or changes catalog objects",
    "glue:deletedatabase": "only when the query creates or changes catalog objects",
    "glue:createtable": "only when the query creates or changes catalog objects",
    "glue:updatetable": "only when the query creates or changes catalog objects",
    "glue:deletetable": "only when the query creates or changes catalog objects",
    "glue:batchdeletetable": "only when the query creates or changes catalog objects",
    "glue:batchcreatepartition": "only when the query creates or changes catalog objects",
    "glue:createpartition": "only when the query creates or changes catalog objects",
    "glue:updatepartition": "only when the query creates or changes catalog objects",
    "glue:deletepartition": "only when the query creates or changes catalog objects",
    "glue:batchdeletepartition": "only when the query creates or changes catalog objects",
    "lakeformation:getdataaccess": "only when AWS Lake Formation governs the queried tables",
    # in the policy AWS generates for athena:startQueryExecution.sync; the run polls with athena:GetQueryExecution,
    # and AWS CDK's AthenaStartQueryExecution task grants none of these
    "athena:getworkgroup": "by the .sync pattern in AWS's generated policy, not by every run",
    "athena:listqueryexecutions": "by the .sync pattern in AWS's generated policy, not by every run",
    "athena:batchgetqueryexecution": "by the .sync pattern in AWS's generated policy, not by every run",
    # a Distributed Map's child executions (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html)
    "states:redriveexecution": "only when a Map Run is redriven",
    "states:stopexecution": "only when the execution is stopped early (a failure, an abort, a timeout)",
    # what the .sync patterns call to cancel the job when the execution is stopped while it runs
    # (https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-sync)
    **dict.fromkeys(("mediaconvert:canceljob", "ecs:stoptask", "batch:terminatejob", "glue:batchstopjobrun",
                     "athena:stopqueryexecution", "codebuild:stopbuild", "emr-containers:canceljobrun",
                     "elasticmapreduce:cancelsteps", "databrew:stopjobrun", "sagemaker:stoptrainingjob",
                     "sagemaker:stoptransformjob", "sagemaker:stopprocessingjob"),
                    "only when the execution is stopped while the job runs"),
}
# Role-level needs: what goes wrong without them (the states themselves do not fail there).
_CONSEQUENCE = {
    "loggingConfiguration": "Step Functions refuses to create or update the state machine with this logging",
    "tracingConfiguration": "no traces reach X-Ray",
}


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
    if machine.terraform_role is not None:  # a Terraform plan: the role's policies, read by cli/terraform.py
        plan_role = machine.terraform_role
        out = Declared([], [], [], f"role {plan_role.role}")
        for origin, document in plan_role.documents:
            out.statements.extend(_statements(document, origin))
        for origin, arn in plan_role.managed:
            _managed(arn, origin, out)
        out.unknown_managed.extend(f"{origin} (known only after apply)" for origin in plan_role.unknown)
        return out
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
    _connectors(machine.name, resource, resolver, out)  # SAM Connectors add policies to the role, either kind
    if role is None and sam:
        out.role = "the role SAM creates"
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
    out.role = f"role {role_id}"
    role_props = resources[role_id].get("Properties")
    role_props = role_props if isinstance(role_props, Mapping) else {}
    for i, policy in enumerate(role_props.get("Policies") or []):
        if isinstance(policy, Mapping):
            doc = resolver.resolve(policy.get("PolicyDocument"))
            out.statements.extend(_statements(doc, f"{role_id}.Policies[{i}]"))
    for i, arn in enumerate(role_props.get("ManagedPolicyArns") or []):
        _attached(arn, f"{role_id}.ManagedPolicyArns[{i}]", resolver, resources, out, role_id)
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


# SAM Connectors: the policies SAM writes for them, from aws-sam-translator's own profiles (data, not imported).
_SAM_TYPES = {"AWS::Serverless::Function": "AWS::Lambda::Function",
              "AWS::Serverless::SimpleTable": "AWS::DynamoDB::Table",
              "AWS::Serverless::StateMachine": "AWS::StepFunctions::StateMachine",
              "AWS::Serverless::Api": "AWS::ApiGateway::RestApi", "AWS::Serverless::HttpApi": "AWS::ApiGatewayV2::Api"}
_PROFILE_RE = re.compile(r"%\{Destination\.(\w+)\}")


@cache
def sam_connector_profiles() -> Mapping[str, Any]:
    """SAM's connector profiles (``samtranslator/model/connector_profiles/profiles.json``), read as data."""
    from importlib import resources

    try:
        path = resources.files("samtranslator") / "model" / "connector_profiles" / "profiles.json"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, OSError, ValueError):
        return {}
    return data if isinstance(data, Mapping) else {}


def _connectors(machine_id: str, resource: Any, resolver: Any, out: Declared) -> None:
    """Statements of the connectors whose source is this state machine: its ``Connectors`` resource attribute (next
    to ``Properties``) and ``AWS::Serverless::Connector`` resources (https://docs.aws.amazon.com/
    serverless-application-model/latest/developerguide/managing-permissions-connectors.html)."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    embedded = resource.get("Connectors") if isinstance(resource, Mapping) else None
    if isinstance(embedded, Mapping):
        for name, connector in embedded.items():
            inner = connector.get("Properties") if isinstance(connector, Mapping) else None
            if isinstance(inner, Mapping):
                found.append((f"{machine_id}.Connectors.{name}", inner))
    for logical_id, resource in resolver.resources.items():
        if isinstance(resource, Mapping) and resource.get("Type") == "AWS::Serverless::Connector":
            inner = resource.get("Properties")
            source = inner.get("Source") if isinstance(inner, Mapping) else None
            if isinstance(source, Mapping) and source.get("Id") == machine_id:
                found.append((str(logical_id), inner))  # type: ignore[arg-type]
    for origin, connector in found:
        destinations = connector.get("Destination")
        items = destinations if isinstance(destinations, list) else [destinations]
        permissions = connector.get("Permissions")
        categories = [p for p in permissions if isinstance(p, str)] if isinstance(permissions, list) else []
        for i, destination in enumerate(items):
            if isinstance(destination, Mapping):
                where = f"{origin}.Destination[{i}]" if isinstance(destinations, list) else f"{origin}.Destination"
                _connector_statements(destination, categories, where, resolver, out)


def _connector_statements(destination: Mapping[str, Any], categories: list[str], origin: str, resolver: Any,
                          out: Declared) -> None:
    profiles = sam_connector_profiles()
    target_id = destination.get("Id")
    target = resolver.resources.get(target_id) if isinstance(target_id, str) else None
    kind = target.get("Type") if isinstance(target, Mapping) else destination.get("Type")
    kind = _SAM_TYPES.get(str(kind), str(kind))
    profile = profiles.get("Permissions", {}).get("AWS::StepFunctions::StateMachine", {}).get(kind)
    if not isinstance(profile, Mapping):
        out.notes.append(Finding.of("UNRESOLVED_REFERENCE", f"a connector to a {kind} is not known to this SAM "
                                    "version: not compared", origin))
        return
    outputs = profiles.get("CfnResourceProperties", {}).get(kind, {}).get("Outputs", {})
    values: dict[str, str] = {}
    for name in ("Arn", "Name"):
        if name in destination:
            values[name] = resolver.string(destination[name])
        elif isinstance(target_id, str) and name in outputs:
            node = json.loads(json.dumps(outputs[name]).replace("%{logicalId}", target_id))
            values[name] = resolver.string(node)
    resolver.take_notes()
    access = profile.get("Properties", {}).get("AccessCategories", {})
    for category in categories:
        policy = access.get(category)
        if not isinstance(policy, Mapping):
            continue
        text = _PROFILE_RE.sub(lambda m: values.get(m.group(1), "*"), json.dumps(policy))
        document = _subs(json.loads(text), resolver)
        out.statements.extend(stmt._replace(sam=f"SAM connector {category}")
                              for stmt in _statements(document, f"{origin} ({category})"))
    resolver.take_notes()


def _subs(node: Any, resolver: Any) -> Any:
    """A profile's ``arn:${AWS::Partition}:...`` strings, substituted as ``Fn::Sub`` would."""
    if isinstance(node, list):
        return [_subs(v, resolver) for v in node]
    if isinstance(node, Mapping):
        return {k: _subs(v, resolver) for k, v in node.items()}
    if isinstance(node, str) and "${" in node:
        return resolver.string({"Fn::Sub": node})
    return node


def _attached(node: Any, origin: str, resolver: Any, resources: Mapping[str, Any], out: Declared,
              role_id: str | None = None) -> None:
    ref = _logical_id(node)
    if ref is not None and isinstance(resources.get(ref), Mapping) and \
            resources[ref].get("Type") == "AWS::IAM::ManagedPolicy":
        props = resources[ref].get("Properties")
        props = props if isinstance(props, Mapping) else {}
        roles = props.get("Roles")
        if role_id is not None and any(_logical_id(r) == role_id for r in (roles if isinstance(roles, list) else [])):
            return  # read with the resources that name the role
        out.statements.extend(_statements(resolver.resolve(props.get("PolicyDocument")), f"{origin} ({ref})"))
        return
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
            out.statements.extend(stmt._replace(sam=name)
                                  for stmt in _statements(resolver.resolve(definition), f"{origin} ({name})"))
            out.templates[f"{origin} ({name})"] = (name, values)
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


@cache
def _overlap(a: str, b: str) -> bool:
    """Some text matches both IAM patterns ``a`` and ``b`` (``*`` any text, ``?`` one character)."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return go(i + 1, j) or (j < len(b) and go(i, j + 1))
        if j < len(b) and b[j] == "*":
            return go(i, j + 1) or (i < len(a) and go(i + 1, j))
        if i < len(a) and j < len(b) and (a[i] == b[j] or "?" in (a[i], b[j])):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


def _may_allow(stmt: Statement, req: Requirement) -> bool:
    """``stmt`` allows ``req`` for some values of what is unknown offline (``*`` on either side)."""
    if stmt.not_actions is not None or stmt.not_resources is not None:
        return False
    if not any(_match(a, req.action, True) for a in stmt.actions):
        return False
    return any(_overlap(r, req.resource) for r in stmt.resources)


def compare(machine: Machine, plan: Plan) -> list[Finding]:
    found = declared(machine)
    if found is None and machine.name.startswith(("aws_sfn_state_machine.", "module.")):
        return [Finding.of("NOTHING_TO_COMPARE", "the role is not a resource of this Terraform plan: its policies "
                           "are not known offline, nothing was compared")]
    if found is None and machine.template is None:
        return [Finding.of("NOTHING_TO_COMPARE", "a definition alone declares no role policy: nothing was compared "
                           "(check the template that deploys it)")]
    if found is None:
        return [Finding.of("NOTHING_TO_COMPARE", "the role comes from outside the template (Role/RoleArn is not a "
                           "role of this template): its policies are not known offline, nothing was compared")]
    if not found.statements and not found.unknown_managed:
        return [*found.notes, Finding.of(
            "NOTHING_TO_COMPARE", f"the template declares no policy for {found.role}: nothing was compared (its "
            "policies may be attached elsewhere; sfn-iam policy prints what it needs)")]
    findings = list(found.notes)
    needs = list(plan.requirements)
    allows = [s for s in found.statements if s.effect == "Allow"]
    denies = [s for s in found.statements if s.effect == "Deny"]
    unknown = ", ".join(found.unknown_managed)
    delivers_logs = any(_allows(s, Requirement("logs:CreateLogDelivery", "*")) for s in allows)
    withheld = {(r.action, r.resource) for r in needs} - {(r.action, r.resource) for r in plan.granted}
    for req in needs:
        if any(_allows(s, req) for s in allows) and not any(_allows(s, req) for s in denies):
            continue
        action = req.action.lower()
        if req.path == "loggingConfiguration" and action in _WRITTEN_BY_LOGS and delivers_logs:
            continue  # CloudWatch Logs writes vended logs itself (the role has the delivery actions)
        children = _map_children(req, needs)
        if children and all(any(_allows(s, c) for s in allows) for c in children):
            continue  # the Map Run tracks child executions, which the role may track: AWS's sample form is not used
        if any(_allows(s, req) for s in denies):
            reason = None
        elif children:
            reason = "AWS's sample policy for a Distributed Map names it, but the child executions the Map Run " \
                     f"tracks are {children[0].resource} (see the finding for those)"
        elif unknown:
            reason = f"{unknown} may grant it (not evaluated offline)"
        elif action in _SOMETIMES:
            reason = f"AWS documents it for this integration, needed {_SOMETIMES[action]}"
        elif any(_may_allow(s, req) for s in allows):
            reason = "a declared statement grants it on a name known only at deploy time; whether they are the same " \
                     "resource cannot be told offline"
        else:
            reason = None
        also = " (sfn-iam policy withholds it too: see its findings)" if (req.action, req.resource) in withheld \
            else ""
        if reason is None:
            consequence = _CONSEQUENCE.get(req.path, "the state fails there")
            findings.append(Finding.of("MISSING_GRANT", f"{req.action} on {req.resource} is not allowed by the "
                                       f"declared role policy: {consequence}{also}", req.path or ""))
        else:
            findings.append(Finding.of("UNVERIFIED_GRANT", f"{req.action} on {req.resource} cannot be verified: "
                                       f"{reason}{also}", req.path or ""))
    # a name CloudFormation generates (``*-Orders-*``) is one resource, not a wildcard over a service's resources
    generated = set(machine.state_machine.patterns) | set(machine.resolver.generated if machine.resolver else ())
    advice: dict[str, str] = {}
    for stmt in allows:
        for finding in _excess(stmt, needs, frozenset(generated)):
            if stmt.sam:
                origin = stmt.origin.rsplit(".Statement[", 1)[0]
                if origin not in advice:
                    advice[origin] = _advice(stmt.sam, origin, found, needs, machine.resolver)
                finding = Finding.of(finding.code, f"{finding.message} ({advice[origin]})", finding.path,
                                     finding.severity)
            findings.append(finding)
    return findings


def _map_children(req: Requirement, needs: list[Requirement]) -> list[Requirement]:
    """For a Distributed Map's DescribeExecution/StopExecution on ``execution:SELF:*`` (the form of AWS's sample
    policy, https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html), the same action on
    the child executions ``execution:SELF/LABEL:*`` the state also needs: what a run actually calls it on."""
    if req.action.lower() not in ("states:describeexecution", "states:stopexecution") or \
            not req.resource.endswith(":*") or ":execution:" not in req.resource:
        return []
    prefix = req.resource.removesuffix(":*") + "/"
    return [r for r in needs if r.action == req.action and r.path == req.path and r.resource.startswith(prefix)]


def _one(resource: str, generated: frozenset[str]) -> str:
    """``resource`` with the generated names in it as literal text (``*`` of their unknown parts as ``x``): what the
    guardrails' wildcard rule should see."""
    for pattern in sorted(generated, key=len, reverse=True):
        resource = resource.replace(pattern, pattern.replace("*", "x").replace("?", "x"))
    return resource


def _advice(sam: str, origin: str, found: Declared, needs: list[Requirement], resolver: Any) -> str:
    """What to declare instead of a SAM policy template (or connector) that grants more than the states use."""
    mine = [s for s in found.statements if s.origin.rsplit(".Statement[", 1)[0] == origin]
    used = [r for r in needs if any(_allows(s, r) or _may_allow(s, r) for s in mine)]
    actions = sorted({r.action for r in used})
    if sam.startswith("SAM connector "):
        category = sam.removeprefix("SAM connector ")
        if not used:
            return f"from the SAM connector's {category} permissions, of which no state uses anything: drop " \
                   f"{category} from the connector's Permissions"
        return f"from the SAM connector's {category} permissions, which SAM grants together; the states use " \
               f"only {', '.join(actions)}: an inline statement granting only those is least privilege"
    if not used:
        return f"from the SAM policy template {sam}, of which no state uses anything: remove it"
    narrower = _narrower_template(origin, mine, used, found, resolver)
    if narrower:
        return f"from the SAM policy template {sam}; the states use only {', '.join(actions)}, which {narrower} " \
               "grants with fewer actions"
    return f"from the SAM policy template {sam}, the narrowest SAM policy template for what the states use " \
           f"({', '.join(actions)}): an inline statement granting only those is least privilege"


def _narrower_template(origin: str, mine: list[Statement], used: list[Requirement], found: Declared,
                       resolver: Any) -> str | None:
    """The SAM policy template with the fewest actions, fewer than ``origin``'s, that takes the same parameters,
    grants only on resources ``origin``'s template grants, and allows every request in ``used``."""
    name, params = found.templates[origin]
    templates = sam_policy_templates()
    own = sum(len(s.actions) for s in mine)
    best: tuple[int, str] | None = None
    for other, template in templates.items():
        if other == name or not isinstance(template, Mapping):
            continue
        wanted = template.get("Parameters")
        if not isinstance(wanted, Mapping) or not set(wanted) <= set(params):
            continue
        stmts = [s for s in _statements(resolver.resolve(_bind(template.get("Definition"), params)), other)
                 if s.effect == "Allow" and s.not_actions is None and s.not_resources is None]
        count = sum(len(s.actions) for s in stmts)
        if not stmts or count >= own or (best is not None and count >= best[0]):
            continue
        inside = all(any(_match(mine_r, r) for s2 in mine for mine_r in s2.resources) for s in stmts
                     for r in s.resources)
        if inside and all(any(_allows(s, r) or _may_allow(s, r) for s in stmts) for r in used):
            best = (count, other)
    resolver.take_notes()
    return best[1] if best else None


def _excess(stmt: Statement, needs: list[Requirement], generated: frozenset[str] = frozenset()) -> Iterator[Finding]:
    if stmt.not_actions is not None or stmt.not_resources is not None:
        yield Finding.of("EXCESS_GRANT", "NotAction/NotResource allows everything else: far beyond need",
                         stmt.origin, Severity.HIGH)
        return
    # a SAM policy template or connector scoped to named resources: its wildcard actions are SAM's, bounded by them
    scoped = bool(stmt.sam) and not any("*" in _one(r, generated) or "?" in _one(r, generated)
                                        for r in stmt.resources)
    unused: list[str] = []
    for action in stmt.actions:
        used = [r for r in needs if _match(action, r.action, True) and any(_match(p, r.resource)
                                                                            for p in stmt.resources)]
        if not used:
            if not any(_match(action, r.action, True) and any(_overlap(p, r.resource) for p in stmt.resources)
                       for r in needs):
                unused.append(action)  # a need on a name known only at deploy time may be this very grant
            continue
        if "*" in action or "?" in action:
            needed = sorted({r.action for r in used})
            yield Finding.of("EXCESS_GRANT", f"{action} grants every matching action; only {', '.join(needed)} "
                             "needed", stmt.origin, Severity.MEDIUM if scoped else Severity.HIGH)
        for pattern in stmt.resources:
            if "*" not in pattern and "?" not in pattern:
                continue
            # A needed pattern (a name known only at deployment, or at run time) the declared pattern matches as
            # text, and differs from, is narrower: ``<bucket>/*`` declared where ``<bucket>/results/*`` is needed.
            narrower = sorted({r.resource for r in used if _match(pattern, r.resource) and r.resource != pattern})
            if not narrower or any(r.resource == pattern for r in used if _match(action, r.action, True)):
                continue
            high = any(guardrails.wildcard_problem(Requirement(r.action, _one(pattern, generated))) for r in used)
            if any("*" in _one(n, generated) for n in narrower) and not high:
                continue  # both sides are patterns of an unknown name: not comparable offline
            yield Finding.of("EXCESS_GRANT", f"{action} on {pattern} where only {', '.join(narrower[:5])}"
                             f"{' ...' if len(narrower) > 5 else ''} is needed", stmt.origin,
                             Severity.HIGH if high else Severity.MEDIUM)
    if unused:
        wild = [a for a in unused if ("*" in a or "?" in a) and not scoped]
        # a write or secret read on a wildcard covering whole containers (the guardrails' rule); a name generated by
        # CloudFormation is one resource
        sensitive = [a for a in unused if "*" not in a and "?" not in a and any(
            guardrails.wildcard_problem(Requirement(a, _one(r, generated))) for r in stmt.resources)]
        severity = Severity.HIGH if wild or sensitive else Severity.MEDIUM
        shown = ", ".join(unused[:8]) + (f" (+{len(unused) - 8} more)" if len(unused) > 8 else "")
        yield Finding.of("EXCESS_GRANT", f"{shown} on {', '.join(stmt.resources[:3])} not needed by any state",
                         stmt.origin, severity)
