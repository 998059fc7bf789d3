"""Which literal roles a state machine may pass or assume, as the deployed fixer decides it. Standard library only.

A role may be passed or assumed when it carries the ceiling as its permissions boundary, or when its permissions
(its policies, or its own boundary) fit inside the ceiling (:func:`sfn_iam.engine.guardrails.roles.unfit`): then
whatever a service or a Task does as that role stays inside the ceiling too. The engine's ceiling decides first which
roles may be named at all (the default: roles of this account). The role's policies only the Lambda can read:
:func:`verified_plan` plans, reads the policies of each literal role the plan would still pass or assume
(:meth:`RolePolicyStore.role_permissions`, once per role and invocation), and plans again refusing those that do not
fit and the unreadable ones (:meth:`GuardPolicy.refusing_roles`): each becomes a ``ROLE_NOT_PASSABLE`` finding
(high) and its ``iam:PassRole``/``sts:AssumeRole`` is not granted. Everything else the definition needs is still
granted.

Fail closed: a role of this account that does not exist, that the fixer may not read (AccessDenied), or beyond
``limit`` distinct roles per machine is refused. A role of another account cannot be read here: only a ceiling that
names it lets it through (the administrator vouches for it). What this cannot see (SCPs, resource control policies,
a role changed after the check) is in docs/security.md, class 7; the sweep checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from sfn_iam import engine
from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.guardrails import GuardPolicy, roles_to_verify
from sfn_iam.engine.guardrails.ceiling import Ceiling, default
from sfn_iam.engine.guardrails.roles import unfit
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
                  limit: int = MAX_ROLES, ceiling: Ceiling | None = None, ceiling_arn: str = ""
                  ) -> list[tuple[str, str]]:
    """(role ARN, reason) for each role that must not be passed or assumed: beyond ``ceiling`` (the default one
    when absent), missing, unreadable, or beyond ``limit`` distinct roles of this account (sorted by ARN, so the
    same roles are read every time). A role whose boundary is ``ceiling_arn`` fits by construction.

    A role of another account cannot be read here; it is left to the ceiling. A role the ceiling names literally for
    ``iam:PassRole`` or ``sts:AssumeRole`` is not read: the administrator vouches for it (an EMR service role, whose
    AWS managed policy launches instances, say). A role of this account that does not exist is refused: a role created
    later under that name would be passed unchecked.
    """
    ceiling = ceiling or default(account=account)
    out: list[tuple[str, str]] = []
    read = 0
    for role in sorted(set(roles)):
        try:
            parsed = parse_role_arn(role)
        except ArnError:
            out.append((role, "it is not a role ARN"))
            continue
        if parsed.account != account or ceiling.vouches_for(role):
            continue  # another account's cannot be read; a role the ceiling names, the administrator vouches for
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
        why = unfit(ceiling, policies.documents, policies.attached_arns, policies.boundary,
                    carries_ceiling=bool(ceiling_arn) and policies.boundary_arn == ceiling_arn)
        if why is not None:
            out.append((role, why))
    return out


def verified_plan(plan: Callable[[GuardPolicy], engine.Plan], guard: GuardPolicy, reader: RolePermissions,
                  account: str, limit: int = MAX_ROLES, ceiling_arn: str = "") -> engine.Plan:
    """``plan(guard)``, planned again refusing the roles it grants that :func:`refused_roles` refuses.

    Only the roles the first plan grants are read (a role outside the passable patterns is refused without a call),
    so a machine that passes and assumes no literal role costs no call at all.
    """
    first = plan(guard)
    roles = roles_to_verify(first.granted)
    refused = refused_roles(reader, roles, account, limit=limit, ceiling=guard.ceiling_for(account),
                            ceiling_arn=ceiling_arn) if roles else []
    return plan(guard.refusing_roles(refused)) if refused else first
