"""Helpers shared by the job-running integrations: roles passed to a service, S3 URIs, names inside ARNs. Pure core."""

from __future__ import annotations

from collections.abc import Iterable

from sfn_iam.arns import is_role_arn
from sfn_iam.engine import facts
from sfn_iam.engine.asl import Args, Dynamic
from sfn_iam.engine.integrations.base import Call
from sfn_iam.lazyre import compiled
from sfn_iam.model import Condition

_ROLE_NAME_RE = compiled(globals(), "_ROLE_NAME_RE", r"^[\w+=,.@-]{1,64}$")
_PROFILE_RE = compiled(globals(), "_PROFILE_RE",
                       r"^arn:aws[a-z-]*:iam::\d{12}:instance-profile/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]{1,128})$")
_S3_URI_RE = compiled(globals(), "_S3_URI_RE", r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")


def role_arn(call: Call, value: str) -> str | None:
    """A literal role ARN as is, a bare role name as a role of this account, anything else ``None``."""
    if is_role_arn(value):
        return value
    if _ROLE_NAME_RE.match(value):
        return f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/{value}"
    return None


def pass_role(call: Call, value: str | Dynamic | None, key: str, services: Iterable[str]) -> None:
    """``iam:PassRole`` on a literal role only, pinned to the service it is passed to.

    A role known only at run time is never granted: the guardrails refuse PassRole on patterns, so it is
    reported as ``PASSROLE_UNSCOPED`` for a human to grant by hand.
    """
    if value is None or value == "":
        return
    if isinstance(value, Dynamic):
        call.finding(
            "PASSROLE_UNSCOPED", f"{key} is only known at run time: iam:PassRole is not granted, add it by hand"
        )
        return
    arn = role_arn(call, value)
    if arn is None:
        call.finding("INVALID_VALUE", f"{key} {value[:200]!r} is not a role ARN or name; iam:PassRole not granted")
        return
    call.allow("iam:PassRole", arn, Condition("StringEquals", "iam:PassedToService", tuple(sorted(services))))


def instance_profile_role(call: Call, value: str | Dynamic | None, key: str, service: str) -> None:
    """An EC2 instance profile passes the role it contains. The account says which (``iam:GetInstanceProfile``);
    offline, by convention (EMR defaults) a role of the same name, with a finding."""
    if isinstance(value, str) and value:
        m = _PROFILE_RE.match(value)
        name = m["name"] if m else value
        profile = value if m else (f"arn:{call.ctx.partition}:iam::{call.ctx.account}:instance-profile/{value}"
                                   if _ROLE_NAME_RE.match(value) else None)
        answer = call.fact(facts.INSTANCE_PROFILE, profile) if profile else None
        if answer is not None:
            if not answer.values:
                call.finding("INVALID_VALUE", f"{key} {name!r} is an instance profile without a role: "
                             "iam:PassRole not granted, the cluster's instances would have no credentials")
            for role in answer.values:
                pass_role(call, role, f"{key} (the role in instance profile {name})", (service,))
            return
        call.finding(
            "OUT_OF_BAND_PERMISSION",
            f"{key} is an instance profile: iam:PassRole granted on the role named {name!r}; "
            "if the profile holds a differently named role, grant PassRole on that role instead",
        )
        value = name
    pass_role(call, value, key, (service,))


def nested(args: Args, dotted: str) -> str | Dynamic | None:
    """``args.get`` for a dotted path such as ``Overrides.TaskRoleArn``."""
    *parents, last = dotted.split(".")
    for part in parents:
        args = args.sub(part)
    return args.get(last)


def s3_uri(call: Call, value: str | Dynamic | None, key: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of an ``s3://bucket/key`` URI; a dynamic part becomes ``*`` with a finding."""
    if value is None or value == "":
        return None
    if isinstance(value, Dynamic):
        call.finding("DYNAMIC_RESOURCE", f"{key} is only known at run time; granted on any object")
        return "*", "*"
    m = _S3_URI_RE.match(value)
    if not m:
        call.finding("INVALID_VALUE", f"{key} {value[:200]!r} is not an s3:// URI; nothing granted for it")
        return None
    return m["bucket"], m["key"] or ""


def s3_arn(call: Call, bucket: str | Dynamic, key: str | Dynamic | None = None, *, prefix: bool = False) -> str:
    """The one builder of S3 ARNs: a bucket (``key is None``), an object, or with ``prefix`` every key under ``key``.

    A run-time bucket or key becomes ``*``; the findings for it are the caller's (it knows the parameter's name).
    Buckets carry no account in their ARN: :meth:`Call.allow` pins every grant on them with ``s3:ResourceAccount``.
    """
    base = f"arn:{call.ctx.partition}:s3:::{'*' if isinstance(bucket, Dynamic) else bucket}"
    if key is None:
        return base
    if isinstance(key, Dynamic):
        return f"{base}/*"
    return f"{base}/{key}*" if prefix else f"{base}/{key}"


def last_segment(value: str, marker: str) -> str:
    """The part of an ARN after ``marker`` (``'cluster/'``), or the value itself when it is not an ARN."""
    if value.startswith("arn:") and marker in value:
        return value.split(marker, 1)[1]
    return value


_KEY_ID_RE = compiled(globals(), "_KEY_ID_RE",
                      r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KMS_ARN_RE = compiled(globals(), "_KMS_ARN_RE",
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<kind>key|alias)/(?P<name>.+)$"
)


def caller_key(call: Call, value: str | Dynamic | None, what: str, actions: Iterable[str], via: Iterable[str]) -> None:
    """KMS ``actions`` on the key parameter ``what`` names, for a service that calls KMS with the caller's
    credentials (S3 SSE-KMS, Secrets Manager, Parameter Store, Athena results), bounded by ``kms:ViaService``.

    A key ID or key ARN is granted as is; an alias (``alias/NAME`` or its ARN) on this account's keys that carry the
    alias (``kms:ResourceAliases``), because IAM authorizes the key behind an alias, never the alias; an AWS managed
    key (``alias/aws/...``) needs nothing (its key policy allows every principal of the account through the
    service); a run-time key on this account's keys with a finding.
    """
    if value is None or value == "":
        return
    acts = sorted(actions)
    through = Condition("StringEquals", "kms:ViaService",
                        tuple(sorted(f"{v}.{call.ctx.region}.amazonaws.com" for v in via)))
    if isinstance(value, Dynamic):
        call.allow(acts, call.dynamic(what, call.arn("kms", "key/*")), through)
        return
    m = _KMS_ARN_RE.match(value)
    if m is not None and (m["account"], m["region"]) != (call.ctx.account, call.ctx.region):
        call.finding("CROSS_ACCOUNT_RESOURCE", f"{what} {value[:200]!r} is a key of another account or Region: its "
                                               "key policy must also allow this role")
    if m is not None and m["kind"] == "key":
        call.allow(acts, value, through)
        return
    alias = f"alias/{m['name']}" if m is not None else value
    if alias.startswith("alias/aws/"):
        return  # an AWS managed key: its key policy allows every principal of its account through the service
    if alias.startswith("alias/"):
        keys = call.ctx.arn("kms", "key/*", region=m["region"] if m else None, account=m["account"] if m else None)
        call.allow(acts, keys, through, Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", (alias,)))
        return
    if _KEY_ID_RE.match(value):
        call.allow(acts, call.arn("kms", f"key/{value}"), through)
        return
    call.finding("INVALID_VALUE", f"{what} {value[:200]!r} is not a KMS key ID, key ARN or alias; "
                                  f"{', '.join(acts)} not granted")
