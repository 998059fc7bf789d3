"""Residual access: what a role's other policies grant beyond what the state machines on it need. Pure core.

The fixer's promise is "no fewer permissions than the workflow needs, no more"; it writes only its own policies, so
a role that also carries ``AdministratorAccess`` or a hand-written ``Action: "*"`` can still do anything. This module
reads the role's other policies (inline policies without our prefix, attached managed policies that are not our
overflow policies, AWS managed ones included) and reports each one that grants a request none of our policies on
the role grants: ``RESIDUAL_ACCESS``, high, critical when the grant is admin-equivalent (every action, or a
privilege-escalation action such as ``iam:PassRole``, ``iam:*`` or ``sts:AssumeRole`` on any role).

"What the machines need" is what our policies on the role grant: the current machine's planned documents, and
the policies of the other machines on the role (read only when the current machine's documents do not already
cover everything, which keeps the common case at one extra call). A grant is covered when one of our statements
grants every action and every resource it names (pattern containment) under no condition, or under the same
conditions. Deny statements only take away and are ignored; an Allow with ``NotAction`` or ``NotResource`` is
never covered. Conditions of the other policy are kept in the reasoning only as "narrower": a conditioned grant
we also grant unconditioned is covered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing import naming, scope
from sfn_iam.fixing.ports import AttachedPolicy, Document, Role, RolePolicyStore
from sfn_iam.fixing.settings import Settings
from sfn_iam.wildcards import matches

MAX_LISTED = 5  # excess grants named per policy in a finding (the count says how many more)

# Actions that let a principal give itself (or anyone) more permissions: granted on any role, user or policy they
# make the role admin-equivalent. IAM Service Authorization Reference, "Permissions management" actions of IAM and
# STS; the list follows the privilege-escalation paths AWS documents for PassRole and policy versions.
ESCALATION: tuple[str, ...] = (
    "iam:PassRole", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
    "iam:AddUserToGroup", "iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
    "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary", "sts:AssumeRole",
)
# AWS managed policies that are admin-equivalent by their documented purpose: critical even when unreadable.
ADMIN_MANAGED = frozenset({"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"})


class OtherPolicy(NamedTuple):
    """A policy on the role that the fixer does not own."""

    kind: str  # "inline" | "managed"
    name: str
    arn: str = ""  # managed policies only
    document: Document | None = None  # None: it could not be read; not compared

    # Equal and hashed by kind, name and ARN: the document read is not the policy's identity.
    def __eq__(self, other: object) -> bool:
        return self[:_COMPARED] == other[:_COMPARED] if isinstance(other, OtherPolicy) else NotImplemented

    def __ne__(self, other: object) -> bool:
        return self[:_COMPARED] != other[:_COMPARED] if isinstance(other, OtherPolicy) else NotImplemented

    def __hash__(self) -> int:
        return hash(self[:_COMPARED])

    @property
    def label(self) -> str:
        return f"inline policy {self.name}" if self.kind == "inline" else f"managed policy {self.arn or self.name}"


# OtherPolicy's fields up to the first one left out of its equality
_COMPARED = OtherPolicy._fields.index("document")


class Residual(NamedTuple):
    """One other policy of a role that grants more than the role's machines need."""

    role_arn: str
    policy: OtherPolicy
    excess: tuple[str, ...]  # what it grants beyond, one "action on resource" line each
    admin: str = ""  # why it is admin-equivalent; empty when it is not
    removed: bool = False  # the sweep removed it (enforce, RemoveResidualPolicies): ``document`` restores it

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self.admin else Severity.HIGH

    def finding(self) -> Finding:
        listed = ", ".join(self.excess[:MAX_LISTED])
        more = f" and {len(self.excess) - MAX_LISTED} more" if len(self.excess) > MAX_LISTED else ""
        why = f"; admin-equivalent: {self.admin}" if self.admin else ""
        return Finding.of("RESIDUAL_ACCESS", f"role {self.role_arn} also carries {self.policy.label}, which grants "
                          f"more than its state machines need: {listed}{more}{why}", severity=self.severity)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"roleArn": self.role_arn, "kind": self.policy.kind, "policyName": self.policy.name,
                               "policyArn": self.policy.arn, "severity": self.severity.name,
                               "adminEquivalent": bool(self.admin), "why": self.admin, "excess": list(self.excess),
                               "removed": self.removed}
        if self.removed:  # what restores it (docs/deploy.md, `sfn-iam restore`)
            out["document"] = self.policy.document if self.policy.kind == "inline" else None
        return out


# -- statements ---------------------------------------------------------------------------------------------------

class _Grant(NamedTuple):
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str  # canonical JSON of the Condition block; "" when none
    not_action: bool = False
    not_resource: bool = False


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def grants(document: Mapping[str, Any] | None) -> list[_Grant]:
    """The Allow statements of a policy document, normalised (a malformed statement grants nothing)."""
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    out = []
    for s in statements:
        if not isinstance(s, Mapping) or s.get("Effect") != "Allow":
            continue
        cond = s.get("Condition")
        text = json.dumps(cond, sort_keys=True) if cond else ""
        out.append(_Grant(_strings(s.get("NotAction", s.get("Action"))), _strings(s.get("NotResource",
                          s.get("Resource"))), text, "NotAction" in s, "NotResource" in s))
    return out


@lru_cache(maxsize=4096)
def _containment(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # '*' in the covering pattern covers anything, wildcards included; '?' one character that is not a wildcard.
    body = "".join(".*" if ch == "*" else "[^*?]" if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def contains(outer: str, inner: str, *, ignore_case: bool = False) -> bool:
    """Does every string IAM pattern ``inner`` matches also match ``outer``?"""
    return outer == inner or _containment(outer, ignore_case).match(inner) is not None


def _covered(action: str, resource: str, condition: str, needs: Sequence[_Grant]) -> bool:
    return any(not n.not_action and not n.not_resource and (not n.condition or n.condition == condition)
               and any(contains(a, action, ignore_case=True) for a in n.actions)
               and any(contains(r, resource) for r in n.resources) for n in needs)


def excess(document: Mapping[str, Any] | None, needs: Sequence[_Grant]) -> list[str]:
    """What ``document`` allows that ``needs`` does not, one line per uncovered action and resource pair."""
    out: list[str] = []
    for g in grants(document):
        resources = "every resource" if g.not_resource and not g.resources else (
            f"every resource except {', '.join(g.resources)}" if g.not_resource else None)
        if g.not_action:
            out.append(f"every action except {', '.join(g.actions) or 'none'} on "
                       f"{resources or ', '.join(g.resources)}")
            continue
        for action in g.actions:
            if resources:
                out.append(f"{action} on {resources}")
                continue
            out.extend(f"{action} on {r}" for r in g.resources if not _covered(action, r, g.condition, needs))
    return sorted(dict.fromkeys(out))


def _probes(role_arn: str) -> tuple[str, ...]:
    """ARNs any grant on "every role, user or policy" matches (the role's partition and account)."""
    parts = role_arn.split(":")
    partition, account = (parts[1], parts[4]) if len(parts) > 5 else ("aws", "")
    base = f"arn:{partition}:iam::{account}:"
    return (f"{base}role/sfn-iam-probe/x", f"{base}user/sfn-iam-probe/x", f"{base}policy/sfn-iam-probe/x")


def admin_reason(policy: OtherPolicy, role_arn: str) -> str:
    """Why ``policy`` is admin-equivalent, or ``""``."""
    if policy.kind == "managed" and policy.arn.endswith(":policy/" + policy.name) and policy.name in ADMIN_MANAGED \
            and ":iam::aws:" in policy.arn:
        return f"the AWS managed policy {policy.name}"
    probes = _probes(role_arn)
    for g in grants(policy.document):
        anywhere = g.not_resource or any(r == "*" or any(matches(r, p) for p in probes) for r in g.resources)
        if not anywhere:
            continue
        if g.not_action:
            allowed = [a for a in ("*", *ESCALATION) if not any(matches(x, a, ignore_case=True) for x in g.actions)]
            if allowed:
                return f"every action except {', '.join(g.actions)}, on every resource"
            continue
        if any(a == "*" or a == "*:*" for a in g.actions):
            return "every action on every resource"
        hit = [e for e in ESCALATION if any(matches(a, e, ignore_case=True) for a in g.actions)]
        if hit:
            return f"{', '.join(hit[:3])}{' ...' if len(hit) > 3 else ''} on any role, user or policy"
    return ""


# -- reading a role ---------------------------------------------------------------------------------------------------

def _ours_managed(a: AttachedPolicy, settings: Settings) -> bool:
    return a.name.startswith(settings.policy_prefix) and f":policy{settings.managed_path}" in a.arn


def other_policies(roles: RolePolicyStore, settings: Settings, role: str, inline: Iterable[str],
                   attached: Iterable[AttachedPolicy]) -> list[OtherPolicy]:
    """The policies on ``role`` the fixer does not own, with their documents (one read each)."""
    out = [OtherPolicy("inline", n, "", roles.get_inline(role, n))
           for n in sorted(inline) if not n.startswith(settings.policy_prefix)]
    out += [OtherPolicy("managed", a.name, a.arn, roles.get_policy_document(a.arn))
            for a in sorted(attached, key=lambda a: a.arn) if not _ours_managed(a, settings)]
    return out


def inspect(roles: RolePolicyStore, settings: Settings, role_arn: str, own: Sequence[Document], base: str, *,
            inline: list[str] | None = None, attached: list[AttachedPolicy] | None = None) -> list[Residual]:
    """What the other policies of ``role_arn`` grant beyond our policies on it (``own``: the current machine's
    documents, planned; the other machines' are read only when needed). ``inline``/``attached``: the listings
    placement already read (``None``: listed here)."""
    role = role_arn.rsplit("/", 1)[-1]
    inline = roles.list_inline(role) if inline is None else inline
    attached = roles.list_attached(role) if attached is None else attached
    if inline is None or attached is None:
        return []  # the role disappeared meanwhile
    others = other_policies(roles, settings, role, inline, attached)
    if not others:
        return []
    needs = [g for d in own for g in grants(d)]
    found = {p: excess(p.document, needs) for p in others}
    siblings = [n for n in inline if n.startswith(settings.policy_prefix) and n != base]
    overflow = [a for a in attached if _ours_managed(a, settings) and not naming.is_overflow_of(base, a.name)]
    if any(found.values()) and (siblings or overflow):
        needs += [g for n in sorted(siblings) for g in grants(roles.get_inline(role, n))]
        needs += [g for a in overflow for g in grants(roles.get_policy_document(a.arn))]
        found = {p: excess(p.document, needs) for p in others}
    out = []
    for p, lines in found.items():
        if p.document is None:
            lines = ["unknown grants (the policy could not be read)"]
        if lines:
            out.append(Residual(role_arn, p, tuple(lines), admin_reason(p, role_arn)))
    return sorted(out, key=lambda r: (-r.severity, r.policy.kind, r.policy.name))


# -- may a residual policy be removed? ---------------------------------------------------------------------------------

# The condition operators that confine aws:SourceArn to what their values name. No ``...IfExists`` (true when the key
# is absent) and no set operator (``ForAllValues:`` is true when the key is absent too).
_CONFINING = frozenset({"arnequals", "arnlike", "stringequals", "stringlike"})


def _confined(statement: Mapping[str, Any], prefix: str) -> bool:
    """Does ``statement``'s condition admit only source ARNs starting with the literal ``prefix``?"""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if not isinstance(operator, str) or operator.lower() not in _CONFINING or not isinstance(block, Mapping):
            continue
        for key, value in block.items():
            values = _strings(value)
            if isinstance(key, str) and key.lower() == "aws:sourcearn" and values and len(values) == len(
                    value if isinstance(value, list) else [value]) and all(v.startswith(prefix) for v in values):
                return True
    return False


def confined_to_region(trust: Mapping[str, Any], role_arn: str, region: str) -> bool:
    """Does the trust policy let only state machines of this account and ``region`` assume the role? Every Allow
    statement must carry an ``aws:SourceArn`` condition whose every value starts with
    ``arn:<partition>:states:<region>:<account>:stateMachine:`` (Step Functions' own recommendation against the
    confused deputy, https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html). IAM
    enforces it, so no machine of another Region, deployed with or without the fixer there, can use the role."""
    parts = role_arn.split(":")
    if len(parts) < 6:
        return False
    prefix = f"arn:{parts[1]}:states:{region}:{parts[4]}:stateMachine:"
    raw = trust.get("Statement")
    statements = [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, Mapping)]
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    return bool(allows) and all(_confined(s, prefix) for s in allows)


def removal_problem(role: Role, settings: Settings, region: str, inline: Iterable[str],
                    attached: Iterable[AttachedPolicy]) -> str:
    """Why removing the residual policies of ``role`` could take away what a workload outside the sweep's view
    uses, or ``""`` when it provably cannot: only Step Functions may assume the role (:mod:`scope`), only state
    machines of this account and Region (:func:`confined_to_region`), IAM last saw it used in this Region or never
    (``RoleLastUsed``), and it carries no policy the fixer wrote for a machine of another Region (inline or managed
    overflow). The sweep has fixed every machine of this Region on it (the caller's condition)."""
    ours = f"{settings.policy_prefix}{region}."
    elsewhere = [n for n in sorted(inline) if n.startswith(settings.policy_prefix) and not n.startswith(ours)]
    elsewhere += [a.name for a in sorted(attached, key=lambda a: a.name)
                  if _ours_managed(a, settings) and not a.name.startswith(ours)]
    if elsewhere:
        return f"it carries {elsewhere[0]}, written for a state machine of another Region"
    if not scope.trusted_only_by_states(role.trust_policy):
        return "its trust policy lets principals other than Step Functions assume it"
    if role.last_used_region and role.last_used_region != region:
        return f"IAM last saw it used in {role.last_used_region} (RoleLastUsed)"
    if not confined_to_region(role.trust_policy, role.arn, region):
        return (f"its trust policy does not confine it to state machines of {region} (an aws:SourceArn condition on "
                f"arn:...:states:{region}:<account>:stateMachine:...): a machine of another Region, with or without "
                "sfn-iam there, may use it")
    return ""
