"""Which literal roles a state machine may pass or assume, as the deployed fixer decides it. Standard library only.

The engine refuses a role outside :attr:`GuardPolicy.passable_roles` on its own (pure). Admin-equivalence needs the
role's policies, which only the Lambda can read: :func:`verified_plan` plans, reads the policies of each literal role
the plan would still pass or assume (:meth:`RolePolicyStore.role_permissions`, once per role and invocation), and
plans again refusing the admin-equivalent and unreadable ones (:meth:`GuardPolicy.refusing_roles`): each becomes a
``ROLE_NOT_PASSABLE`` finding (high) and its ``iam:PassRole``/``sts:AssumeRole`` is not granted. Everything else the
definition needs is still granted.

Fail closed: a role of this account that does not exist, that the fixer may not read (AccessDenied), or beyond
``limit`` distinct roles per machine is refused. A role of another account cannot be read here; it is left to the
passable-role patterns (an operator lists it to allow it). What this cannot see (SCPs, resource control policies, a
role changed after the check) is in docs/security.md, class 7; the sweep checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from sfn_iam import engine
from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.guardrails import GuardPolicy, admin_equivalence, roles_to_verify
from sfn_iam.fixing.ports import RolePolicies as RolePolicies
from sfn_iam.fixing.ports import RoleUnreadableError

MAX_ROLES = 10  # distinct literal roles of this account read per machine; beyond, refused (MAX_ROLES_PER_MACHINE)


class RolePermissions(Protocol):
    def role_permissions(self, name: str) -> RolePolicies | None:
        """Every permission policy of role ``name`` (inline and attached, default versions, and its permissions
        boundary); ``None`` when the role does not exist; raises :class:`RoleUnreadableError` when it may not be
        read."""


Read = RolePolicies | None | RoleUnreadableError


class CachedPermissions:
    """A :class:`RolePermissions` that reads each role once into ``cache`` (one invocation's: the caller owns it)."""

    def __init__(self, reader: RolePermissions, cache: dict[str, Read]) -> None:
        self.reader = reader
        self.cache = cache

    def role_permissions(self, name: str) -> RolePolicies | None:
        if name not in self.cache:
            try:
                self.cache[name] = self.reader.role_permissions(name)
            except RoleUnreadableError as exc:
                self.cache[name] = exc
        found = self.cache[name]
        if isinstance(found, RoleUnreadableError):
            raise found
        return found


def refused_roles(reader: RolePermissions, roles: Iterable[str], account: str, *,
                  limit: int = MAX_ROLES) -> list[tuple[str, str]]:
    """(role ARN, reason) for each role that must not be passed or assumed: admin-equivalent, missing, unreadable, or
    beyond ``limit`` distinct roles of this account (sorted by ARN, so the same roles are read every time).

    A role of another account cannot be read here; it is left to the passable-role patterns. A role of this account
    that does not exist is refused: a role created later under that name would be passed unchecked.
    """
    out: list[tuple[str, str]] = []
    read = 0
    for role in sorted(set(roles)):
        try:
            parsed = parse_role_arn(role)
        except ArnError:
            out.append((role, "it is not a role ARN"))
            continue
        if parsed.account != account:
            continue
        if read >= limit:
            out.append((role, f"the state machine names more than {limit} roles to check (MAX_ROLES_PER_MACHINE): "
                              "it could not be checked"))
            continue
        read += 1
        try:
            policies = reader.role_permissions(parsed.name)
        except RoleUnreadableError as exc:
            out.append((role, f"its policies could not be read ({str(exc)[:200] or 'AccessDenied'}): it could not "
                              "be checked"))
            continue
        if policies is None:
            out.append((role, "the role does not exist (yet): it could not be checked"))
            continue
        why = admin_equivalence(policies.documents, policies.attached_arns, policies.boundary)
        if why is not None:
            out.append((role, f"the role is admin-equivalent: {why}"))
    return out


def verified_plan(plan: Callable[[GuardPolicy], engine.Plan], guard: GuardPolicy, reader: RolePermissions,
                  account: str, limit: int = MAX_ROLES) -> engine.Plan:
    """``plan(guard)``, planned again refusing the roles it grants that :func:`refused_roles` refuses.

    Only the roles the first plan grants are read (a role outside the passable patterns is refused without a call),
    so a machine that passes and assumes no literal role costs no call at all.
    """
    first = plan(guard)
    roles = roles_to_verify(first.granted)
    refused = refused_roles(reader, roles, account, limit=limit) if roles else []
    return plan(guard.refusing_roles(refused)) if refused else first
