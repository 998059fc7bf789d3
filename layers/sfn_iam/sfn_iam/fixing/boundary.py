"""The ceiling as every managed role's permissions boundary: the check around each write to a role. Standard library.

The fixer writes to a role only when the role carries the ceiling as its permissions boundary, so that IAM itself
caps whatever the role may do at the ceiling, whatever the engine granted (a bug, a compromised fixer). A role
without a boundary gets the ceiling before the first write (``PutRolePermissionsBoundary``, once per role: the
boundary then stays); a role with another boundary is never written (:func:`sfn_iam.fixing.scope.boundary_problem`).
The fixer's own IAM permissions say the same (``template.yaml``: every role write is conditioned on
``iam:PermissionsBoundary`` equal to the ceiling), so a bypass of this module fails at IAM.

Setting a boundary can take away what the role's other policies granted beyond the ceiling. In report mode, before a
switch to enforce, ``BOUNDARY_CUTS`` says which actions each role would lose, from its policies as
:meth:`RolePolicyStore.role_permissions` reads them (the first report-mode sweep lists every role). In enforce mode
the boundary is set without that read: one ``PutRolePermissionsBoundary`` per role, once, and ``BOUNDARY_SET``.
"""

from __future__ import annotations

from collections.abc import Callable

from sfn_iam.engine.guardrails.ceiling import Ceiling, exceeding
from sfn_iam.engine.guardrails.lists import known_actions
from sfn_iam.findings import Finding
from sfn_iam.fixing.ports import RolePolicies, RolePolicyStore, RoleUnreadableError

SHOWN = 5  # actions a BOUNDARY_CUTS finding names


class ForeignBoundaryError(RuntimeError):
    """A write was about to reach a role whose permissions boundary is not the ceiling."""


class Boundaries:
    """One run's view of the roles it writes to: their boundary (``""``: none) as read, and which got the ceiling."""

    __slots__ = ("ceiling", "ceiling_arn", "enforce", "known", "reads", "store")

    def __init__(self, store: RolePolicyStore, ceiling_arn: str, ceiling: Ceiling, enforce: bool,
                 known: dict[str, str] | None = None,
                 reads: Callable[[str], RolePolicies | None] | None = None) -> None:
        self.store = store
        self.ceiling_arn = ceiling_arn
        self.ceiling = ceiling
        self.enforce = enforce
        self.known: dict[str, str] = {} if known is None else known  # role name -> boundary ARN as read ("" none)
        self.reads = reads  # the run's cached role_permissions

    def note(self, role: str, boundary_arn: str) -> None:
        """What ``GetRole`` said of ``role``'s boundary (placement reads the role anyway: no extra call)."""
        self.known[role] = boundary_arn

    def before_write(self, role: str, findings: list[Finding], record: Callable[[str], None]) -> None:
        """Make sure ``role`` carries the ceiling before a write reaches it (set it when it has none)."""
        if not self.ceiling_arn:
            return
        if role not in self.known:
            found = self.store.get_role(role)
            self.known[role] = found.boundary_arn if found is not None else ""
        current = self.known[role]
        if current == self.ceiling_arn:
            return
        if current:
            raise ForeignBoundaryError(f"role {role} has the permissions boundary {current}, not the ceiling")
        if not self.enforce:  # report mode: what the first enforce would take away (the sweep lists every role)
            findings.extend(self.cuts(role))
        if self.enforce:
            self.store.set_boundary(role, self.ceiling_arn)
        record(role)
        self.known[role] = self.ceiling_arn
        verb = "set" if self.enforce else "would set"
        findings.append(Finding.of("BOUNDARY_SET", f"the fixer {verb} the ceiling {self.ceiling_arn} as the "
                                                   f"permissions boundary of role {role}"))

    def cuts(self, role: str) -> list[Finding]:
        """``BOUNDARY_CUTS`` when the role's policies grant beyond the ceiling (what the boundary takes away)."""
        try:
            policies = self.reads(role) if self.reads is not None else self.store.role_permissions(role)
        except RoleUnreadableError:
            return []
        if policies is None:
            return []
        beyond = exceeding(self.ceiling, policies.documents, known_actions())
        if not beyond:
            return []
        shown = ", ".join(f"{a} on {r}" for a, r in beyond[:SHOWN])
        more = f" and {len(beyond) - SHOWN} more" if len(beyond) > SHOWN else ""
        return [Finding.of("BOUNDARY_CUTS", f"role {role} has policies granting beyond {self.ceiling.explains()}: "
                           f"{shown}{more}; with the ceiling as its boundary it loses them (extend the ceiling, or "
                           "move that work to another role, before switching to enforce)")]
