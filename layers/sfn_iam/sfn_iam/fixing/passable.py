"""Class 7 of issue 15: which literal roles a state machine may pass or assume, as the deployed fixer decides it.

The engine refuses a role outside :attr:`GuardPolicy.passable_roles` on its own (pure). Admin-equivalence needs the
role's policies, which only the Lambda can read: :func:`refused_roles` reads them through :class:`RolePermissions`
and returns the (role, reason) pairs to plan with (:meth:`GuardPolicy.refusing_roles`). Standard library only.

Intended use in the role fixer (to be wired into ``service.py`` when it is integrated)::

    first = engine.plan(machine, settings.guard)
    refused = refused_roles(store, guardrails.roles_to_verify(first.requirements), settings.account)
    final = engine.plan(machine, settings.guard.refusing_roles(refused)) if refused else first

``RolePermissions.role_permissions`` is meant to become a method of :class:`sfn_iam.fixing.ports.RolePolicyStore`
(adapter in ``sfn_iam.aws.iam``: ``ListRolePolicies`` + ``GetRolePolicy`` for every inline policy,
``ListAttachedRolePolicies`` + ``GetPolicy`` + ``GetPolicyVersion`` (default version) for every attached one; the
fixer role then needs those read actions on roles and policies outside its own scope, read-only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.guardrails import admin_equivalence


@dataclass(frozen=True, slots=True)
class RolePolicies:
    """A role's permission policies: inline and attached documents, and the attached managed policy ARNs."""

    documents: tuple[Mapping[str, Any], ...]
    attached_arns: tuple[str, ...] = ()


class RolePermissions(Protocol):
    def role_permissions(self, name: str) -> RolePolicies | None:
        """Every permission policy of role ``name`` (inline and attached, default versions); ``None`` when the role
        does not exist."""


def refused_roles(reader: RolePermissions, roles: Iterable[str], account: str) -> list[tuple[str, str]]:
    """(role ARN, reason) for each role that must not be passed or assumed: admin-equivalent, or not readable.

    A role of another account cannot be read here; it is left to the passable-role patterns (an operator lists it
    to allow it). A role of this account that does not exist is refused: a role created later under that name
    would be passed unchecked.
    """
    out: list[tuple[str, str]] = []
    for role in sorted(set(roles)):
        try:
            parsed = parse_role_arn(role)
        except ArnError:
            out.append((role, "it is not a role ARN"))
            continue
        if parsed.account != account:
            continue
        policies = reader.role_permissions(parsed.name)
        if policies is None:
            out.append((role, "the role does not exist (yet): it could not be checked"))
            continue
        why = admin_equivalence(policies.documents, policies.attached_arns)
        if why is not None:
            out.append((role, f"the role is admin-equivalent: {why}"))
    return out
