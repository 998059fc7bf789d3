"""What may never be granted automatically. Pure core: standard library and package data only.

The deny-list lives in ``data/denylist.json`` (documented data, extendable at deploy time). A few narrow,
documented exceptions are coded here, because they depend on the shape of the grant, not only on its action:

* ``iam:PassRole`` only to literal role ARNs and only with an ``iam:PassedToService`` condition;
* ``sts:AssumeRole`` only on a literal role ARN (a Task's ``Credentials`` role);
* ``iam:CreateServiceLinkedRole`` only on ``role/aws-service-role/...`` with an ``iam:AWSServiceName`` condition;
* ``iam:GetRole`` / ``iam:ListAttachedRolePolicies`` (read-only, documented for EKS node groups);
* ``logs:PutResourcePolicy`` only for the state machine's own log delivery (``loggingConfiguration``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .arns import is_role_arn
from .findings import Finding
from .model import Requirement
from .wildcards import matches


@dataclass(frozen=True, slots=True)
class DenyEntry:
    action: str
    reason: str


def _load_default() -> tuple[DenyEntry, ...]:
    raw: Any = json.loads(resources.files(__package__).joinpath("data/denylist.json").read_text(encoding="utf-8"))
    return tuple(DenyEntry(e["action"], e["reason"]) for e in raw["entries"])


DEFAULT_DENY: tuple[DenyEntry, ...] = _load_default()
_READ_ONLY_IAM = frozenset({"iam:getrole", "iam:listattachedrolepolicies"})


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The guardrail settings: the deny-list (default plus extra entries) and an optional service allow-list."""

    deny: tuple[DenyEntry, ...] = DEFAULT_DENY
    allowed_services: frozenset[str] | None = None
    extra: tuple[str, ...] = field(default=())

    @classmethod
    def build(cls, extra_deny: Iterable[str] = (), allowed_services: Iterable[str] | None = None) -> GuardPolicy:
        extra = tuple(a.strip() for a in extra_deny if a.strip())
        deny = DEFAULT_DENY + tuple(DenyEntry(a, "deny-listed by this deployment") for a in extra)
        allowed = None
        if allowed_services is not None:
            allowed = frozenset(s.strip().lower() for s in allowed_services if s.strip()) or None
        return cls(deny=deny, allowed_services=allowed, extra=extra)

    def denied(self, action: str) -> DenyEntry | None:
        for entry in self.deny:
            if matches(entry.action, action, ignore_case=True):
                return entry
        return None


def _has_condition(req: Requirement, key: str) -> bool:
    return any(c.key.lower() == key.lower() for c in req.conditions)


def _literal(resource: str) -> bool:
    return "*" not in resource and "?" not in resource


def _exception(req: Requirement) -> str | None:
    """``"allow"`` for a documented exception, a refusal reason for a misuse of one, ``None`` otherwise."""
    action = req.action.lower()
    if action == "iam:passrole":
        if not (_literal(req.resource) and is_role_arn(req.resource)):
            return "iam:PassRole is granted only to literal role ARNs named in the definition"
        if not _has_condition(req, "iam:PassedToService"):
            return "iam:PassRole is granted only with an iam:PassedToService condition"
        return "allow"
    if action == "sts:assumerole":
        if _literal(req.resource) and is_role_arn(req.resource):
            return "allow"
        return "sts:AssumeRole is granted only on the literal role of a Task's Credentials field"
    if action == "iam:createservicelinkedrole":
        if ":role/aws-service-role/" in req.resource and _has_condition(req, "iam:AWSServiceName"):
            return "allow"
        return "iam:CreateServiceLinkedRole is granted only for a named service's service-linked role"
    if action in _READ_ONLY_IAM:
        return "allow"
    if action == "logs:putresourcepolicy" and req.path == "loggingConfiguration" and req.resource == "*":
        return "allow"
    return None


def apply(reqs: Iterable[Requirement], guard: GuardPolicy) -> tuple[list[Requirement], list[Finding]]:
    """Split requirements into those that may be granted and findings for those refused."""
    kept: list[Requirement] = []
    findings: dict[tuple[str, str, str], Finding] = {}
    verdicts: dict[str, DenyEntry | None] = {}  # deny-list lookups, once per distinct action

    def refuse(req: Requirement, code: str, why: str) -> None:
        key = (code, req.action.lower(), req.path)
        if key not in findings:
            findings[key] = Finding.of(code, f"{req.action} on {req.resource} not granted: {why}", req.path)

    for req in reqs:
        if guard.allowed_services is not None and req.service not in guard.allowed_services:
            refuse(req, "BLOCKED_SERVICE", f"service {req.service} is not in this deployment's allow-list")
            continue
        verdict = _exception(req)
        if verdict == "allow":
            kept.append(req)
            continue
        if verdict is not None:
            refuse(req, "BLOCKED_ACTION", verdict)
            continue
        if req.action not in verdicts:
            verdicts[req.action] = guard.denied(req.action)
        entry = verdicts[req.action]
        if entry is not None:
            refuse(req, "BLOCKED_ACTION", entry.reason)
            continue
        kept.append(req)
    return kept, sorted(findings.values(), key=lambda f: (f.path, f.message))
