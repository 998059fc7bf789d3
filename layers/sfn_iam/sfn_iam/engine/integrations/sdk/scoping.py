"""Generic scoping of an SDK operation from the generated table, and PassRole on role-carrying parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sfn_iam.arns import is_role_arn
from sfn_iam.engine.asl import DYNAMIC, Args, Dynamic
from sfn_iam.engine.integrations.base import Call
from sfn_iam.engine.integrations.common import role_arn, s3_uri
from sfn_iam.engine.integrations.messaging import queue
from sfn_iam.engine.integrations.s3io import s3_object
from sfn_iam.model import Condition
from sfn_iam.wildcards import matches

_PLACEHOLDER_RE = re.compile(r"\$\{([^}]+)\}")
_CTX = ("Partition", "Region", "Account")
_SECRET_SUFFIX = "-??????"  # Secrets Manager appends six random characters to a secret's name in its ARN

Value = str | Dynamic | None
# Parameters whose value may carry the next placeholder too: ECS TaskDefinition is "family" or "family:revision".
_JOINED = {"TaskDefinitionFamilyName": (":", "TaskDefinitionRevisionNumber")}


# --- generic scoping -----------------------------------------------------------------------------------------


class _Filled(NamedTuple):
    rt: str
    resource: str
    present: frozenset[str]  # members that named a part of the resource (literal or dynamic)
    dynamic: tuple[str, ...] = ()
    missing: int = 0

    @property
    def complete(self) -> bool:
        return self.missing == 0


def _wild(template: str) -> str:
    return _PLACEHOLDER_RE.sub("*", template)


def _fill(call: Call, template: str, bind: Mapping[str, str], op: Mapping[str, Any], rt: str,
          elements: Mapping[str, Value] | None = None) -> _Filled | None:
    """Fill ``template`` from the call's parameters; ``None`` when a parameter names a resource of another type.

    ``elements`` holds the value of each list member (``InstanceIds[]``) for this filling: one element each.
    """
    ctx = {"Partition": call.ctx.partition, "Region": call.ctx.region, "Account": call.ctx.account}
    defaults: Mapping[str, str] = op.get("d", {})
    out: list[str] = []
    present: set[str] = set()
    dynamic: list[str] = []
    missing = 0
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(template):
        if m.start() < pos:
            continue  # consumed with the previous value
        out.append(template[pos : m.start()])
        pos = m.end()
        ph = m.group(1)
        if ph in _CTX:
            out.append(ctx[ph])
            continue
        member = bind.get(ph)
        arn_only = bool(member and member.startswith("@"))  # e.g. WorkgroupName for ${WorkgroupId}: an ARN or nothing
        member = member[1:] if member and arn_only else member
        value: Value = (elements or {}).get(member) if member and member.endswith("[]") else (
            call.args.get(member) if member else None)
        if arn_only and isinstance(value, str) and not value.startswith("arn:"):
            dynamic.append(f"the {ph} behind {member} {value!r}")
            present.add(member or ph)
            out.append("*")
            continue
        if member and value is None and member in defaults:
            value = defaults[member]
        if member and value is not None and op.get("i", {}).get(member) == value:
            value = None  # e.g. EventBusName "default": the default bus's rules have no bus in their ARN
        if member == "QueueUrl" and isinstance(value, str):
            value = queue(call, value)  # reported as the optimized sqs:sendMessage reports it
            if value is None:
                return None
        if isinstance(value, str) and value.startswith("arn:"):
            # an ARN covers every placeholder up to this one: whatever came before is superseded
            if matches(_wild(template), value):
                return _Filled(rt, value, frozenset({member or ph}))
            if not matches(_wild(template[: m.end()]), value):
                # an ARN of another type, unless a later parameter holds an ARN of this whole type: MediaConnect's
                # entitlement template takes its flow id from FlowArn, and its EntitlementArn names it
                return _named_whole(call, template, bind, rt, pos)
            out, present, dynamic, missing = [value], {member or ph}, [], 0
            continue
        if isinstance(value, Dynamic):
            dynamic.append(member or ph)
            present.add(member or ph)
            out.append("*")
        elif value:
            present.add(member or ph)
            if ph.endswith("WithoutLeadingSlash"):
                value = value.lstrip("/")
            if ph == "Scope":  # WAFv2: the API says REGIONAL / CLOUDFRONT, the ARN regional / global
                value = {"REGIONAL": "regional", "CLOUDFRONT": "global"}.get(value, value)
            if ph == "SecretId":
                value += _SECRET_SUFFIX
            out.append(value)
            joined = _JOINED.get(ph)
            if joined and joined[0] in value and template[pos:].startswith(joined[0] + "${" + joined[1] + "}"):
                pos += len(joined[0]) + len(joined[1]) + 3  # "family:revision" fills both placeholders
        else:
            missing += 1
            out.append("*")
    out.append(template[pos:])
    return _Filled(rt, "".join(out), frozenset(present), tuple(dynamic), missing)


def _named_whole(call: Call, template: str, bind: Mapping[str, str], rt: str, pos: int) -> _Filled | None:
    """The filling of ``template`` by an ARN of the whole type in a parameter bound after ``pos``, or ``None``."""
    for m in _PLACEHOLDER_RE.finditer(template, pos):
        member = bind.get(m.group(1), "")
        value = call.args.get(member)
        if isinstance(value, str) and matches(_wild(template), value):
            return _Filled(rt, value, frozenset({member}))
    return None


_MAX_ELEMENTS = 100  # resources from one list parameter; a longer literal list is granted as its pattern


def _elements(call: Call, bind: Mapping[str, str]) -> list[dict[str, Value]]:
    """One assignment per element of each list member a template binds (``InstanceIds[]``): a literal list of
    ids names exactly those resources; a run-time list (or element) is DYNAMIC; an absent one is None."""
    combos: list[dict[str, Value]] = [{}]
    for member in sorted({m for m in bind.values() if m.endswith("[]")}):
        items = call.args.items(member[:-2])
        values: list[Value]
        if isinstance(items, Dynamic):
            values = [DYNAMIC]
        elif not items:
            values = [None]
        else:
            values = list(dict.fromkeys(
                DYNAMIC if item.dynamic else item.raw if isinstance(item.raw, str) and item.raw else None
                for item in items))
        if len(combos) * len(values) > _MAX_ELEMENTS:
            values = [DYNAMIC]
        combos = [{**c, member: v} for c in combos for v in values]
    return combos


def scope(call: Call, action: str, rts: list[list[Any]], op: Mapping[str, Any]) -> list[str]:
    """The resources to grant ``action`` on, with findings for whatever is not exact."""
    if not rts:
        return ["*"]
    noted = len(call.findings)
    filled = [(f, required) for rt, template, bind, required in rts for elements in _elements(call, bind)
              if (f := _fill(call, template, bind, op, rt, elements))]
    complete = [(f, required) for f, required in filled if f.complete]
    if complete:
        if not call.args.dynamic:
            # A type the parameters name more of replaces a less specific one (a Query with IndexName is authorized
            # against the index, not the table), but never one required type another: IAM authorizes the request
            # against each required resource type, so each needs its ARN (AppFabric's app bundle beside its app
            # authorization; "the caller must have permission to use the action with those resources ... an ARN or
            # pattern for each required resource type", Service Authorization Reference, e.g.
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsappfabric.html).
            complete = [(f, req) for f, req in complete
                        if not any(f.present < g.present and not (req and g_req) for g, g_req in complete)]
        for f, _ in complete:
            if f.dynamic:
                call.dynamic(", ".join(sorted(set(f.dynamic))), f.resource)
        return sorted({f.resource for f, _ in complete})
    partial = [f for f, _ in filled if f.present]
    if partial:
        chosen = partial
    elif all(not required and all(m.endswith("[]") for m in bind.values()) for _, _, bind, required in rts):
        # only optional resource types that no parameter of this operation can name, or that only an absent list
        # (Polly's LexiconNames) names: the request carries none
        return ["*"]
    else:
        required = [f for f, req in filled if req]
        chosen = required or [f for f, _ in filled]
    if not chosen:  # every resource type was contradicted by an ARN of another type, or by a value already reported
        if len(call.findings) == noted:
            call.finding("INVALID_VALUE", f"no parameter names a resource {action} applies to; nothing granted")
        return []
    for f in chosen:
        call.finding("DYNAMIC_RESOURCE", f"the parameters do not name the {f.rt} of {action}; granted on {f.resource}")
    return sorted({f.resource for f in chosen})


def kms_alias(call: Call, key: Value) -> tuple[str, Condition] | None:
    """A KMS key named by an alias (``alias/NAME`` or an alias ARN): the key pattern of the alias's account and
    Region with ``kms:RequestAlias`` = the alias name, or ``None`` for anything else.

    IAM never matches an alias in ``Resource`` against the key behind it (an alias ARN there names the alias
    resource, which no cryptographic operation is authorized on), so a key operation called with an alias is
    granted on the keys it may resolve to, only when the request names that alias (AWS KMS Developer Guide,
    "Use aliases to control access to KMS keys").
    """
    if not isinstance(key, str):
        return None
    if key.startswith("alias/"):
        return call.arn("kms", "key/*"), Condition("StringEquals", "kms:RequestAlias", (key,))
    parts = key.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms" and parts[5].startswith("alias/"):
        pattern = f"arn:{parts[1]}:kms:{parts[3]}:{parts[4]}:key/*"
        return pattern, Condition("StringEquals", "kms:RequestAlias", (parts[5],))
    return None


def _alias_bound(act: Mapping[str, Any]) -> str | None:
    """The parameter that fills the ``key`` resource type of a KMS action, when it is its only resource type."""
    rts = act["r"]
    if not act["x"].lower().startswith("kms:") or len(rts) != 1 or rts[0][0] != "key":
        return None
    member: str | None = rts[0][2].get("KeyId")
    return member


# Creating a queue or a topic is Permissions management in the IAM reference because the request may carry the new
# resource's policy (Attributes.Policy). Without one, nobody's access changes, and the guardrails grant it (reviewed
# exception); with one, or when the attributes are only known at run time, the call is refused here.
_POLICY_AT_CREATION = {"sqs:createqueue": "Attributes", "sns:createtopic": "Attributes"}


def _sets_policy(call: Call, action: str) -> bool:
    holder = _POLICY_AT_CREATION.get(action.lower())
    if holder is None:
        return False
    attributes = call.args.sub(holder)
    return attributes.dynamic or attributes.has("Policy")


def generic(call: Call, op: Mapping[str, Any]) -> None:
    for act in op.get("a", ()):
        if _sets_policy(call, act["x"]):
            call.finding("BLOCKED_ACTION", f"{act['x']} not granted: the request sets (or may set at run time) the new "
                                           "resource's access policy (Attributes.Policy); never granted automatically")
            continue
        member = _alias_bound(act)
        aliased = kms_alias(call, call.args.get(member)) if member else None
        if aliased is not None:
            call.allow(act["x"], aliased[0], aliased[1])
            continue
        res = scope(call, act["x"], act["r"], op)
        if res:
            call.allow(act["x"], res)


# --- PassRole ------------------------------------------------------------------------------------------------


def _values(args: Args, path: str) -> list[Value]:
    """The values at ``path`` (``A.B``, ``A[].B``): literal strings, DYNAMIC, or None."""
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        items = args.items(head[:-2])
        if isinstance(items, Dynamic):
            return [DYNAMIC]
        return [v for item in items or () for v in (_values(item, rest) if rest else [None])]
    if not rest:
        return [args.get(head)]
    return _values(args.sub(head), rest)


def pass_role(call: Call, path: str, principal: str, by_name: bool = False) -> None:
    """iam:PassRole on each literal role at ``path``; ``by_name``: the parameter also takes a bare role name, which
    the service resolves in this account (``role/NAME``: a role with a path needs its ARN in the definition)."""
    for role in _values(call.args, path):
        if role is None:
            continue
        if isinstance(role, Dynamic):
            call.finding("PASSROLE_UNSCOPED", f"{path} is only known at run time; iam:PassRole is not granted")
            continue
        arn = role_arn(call, role) if by_name else (role if is_role_arn(role) else None)
        if arn is not None:
            call.allow("iam:PassRole", arn, Condition("StringEquals", "iam:PassedToService", (principal,)))
        else:
            call.finding("INVALID_VALUE", f"{path} {role[:200]!r} is not a role ARN; iam:PassRole is not granted")


# --- S3 objects the service reads or writes with the caller's credentials -----------------------------------


def _holders(args: Args, path: str) -> list[Args]:
    """The structures at ``path`` (``''`` is the request itself; ``A.B``, ``A[].B``)."""
    if not path:
        return [args]
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        items = args.items(head[:-2])
        if isinstance(items, Dynamic):
            return [Args(DYNAMIC, args.jsonata, args.context)]
        return [h for item in items or () for h in (_holders(item, rest) if rest else [item])]
    if not args.dynamic and not args.has(head):
        return []
    return _holders(args.sub(head), rest)


def _uses_data_access_role(call: Call, op: Mapping[str, Any]) -> bool:
    """A data-access role in the request: the service reads and writes S3 with that role, not the caller's."""
    return any(path.endswith("DataAccessRoleArn") and any(v is not None for v in _values(call.args, path))
               for path, _ in op.get("p", ()))


def s3_dependent(call: Call, op: Mapping[str, Any]) -> None:
    """s3:GetObject / s3:PutObject on exactly the objects (or key prefix) the request names, for services that
    use the caller's credentials (reviewed per service in scripts/sdk_sources/dependent_parameters.json)."""
    if _uses_data_access_role(call, op):
        return
    for path, spec in op.get("s", ()):
        for holder in _holders(call.args, path):
            if not holder.dynamic and not holder.keys():
                continue
            _s3_grant(call, holder, spec, path or "the request")


def _s3_grant(call: Call, holder: Args, spec: Mapping[str, str], where: str) -> None:
    write = spec["access"] == "write-prefix"
    if "uri" in spec:
        parsed = s3_uri(call, holder.get(spec["uri"]), spec["uri"])
        if parsed is None:
            return
        bucket: str | Dynamic = DYNAMIC if parsed[0] == "*" else parsed[0]
        key: str | Dynamic = DYNAMIC if parsed[1] == "*" else parsed[1]
    else:
        found = holder.get(spec["bucket"])
        if found is None or found == "":
            if not write:  # an output location is optional; a read needs its bucket
                call.missing(f"{where}.{spec['bucket']}")
            return
        bucket = found
        raw_key = holder.get(spec["key"])
        key = raw_key if raw_key is not None else ""
        if not write and key == "":
            key = DYNAMIC
    if write:
        call.allow("s3:PutObject", s3_object(call, bucket, key, key_is_prefix=True))
        return
    versioned = "version" in spec and holder.has(spec["version"])
    call.allow("s3:GetObjectVersion" if versioned else "s3:GetObject", s3_object(call, bucket, key))
