"""Placing one machine's policy on its role: inline when it fits, else customer-managed overflow policies.

Scope is checked before anything is read or written; a machine that needs nothing loses what was placed before;
``remove_from_holders`` takes a machine's policies off every in-scope role that carries them (docs/adr/0001).
"""

from __future__ import annotations

from collections.abc import Iterable

from sfn_iam import engine
from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine import policy
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.findings import Finding
from sfn_iam.fixing import naming, scope
from sfn_iam.fixing.changes import ChangeSet, same
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.ports import AttachedPolicy, Document, PolicyLimitExceededError, RolePolicyStore
from sfn_iam.fixing.settings import Settings
from sfn_iam.model import StateMachine

Placed = tuple[Status, str, str, tuple[Document, ...]]  # status, placement, reason, documents placed


class Placement:
    def __init__(self, roles: RolePolicyStore, settings: Settings) -> None:
        self.roles = roles
        self.settings = settings

    def place(self, run: ChangeSet, sm: StateMachine, base: str, fresh: bool) -> Placed:
        problem = scope.arn_problem(sm.role_arn, self.settings)
        if problem:
            run.findings.append(Finding.of("ROLE_OUT_OF_SCOPE", problem))
            return Status.SKIPPED, "", "ROLE_OUT_OF_SCOPE", ()
        role_name = role_name_of(sm.role_arn)
        role = self.roles.get_role(role_name)
        if role is None:
            run.findings.append(Finding.of("ROLE_GONE", f"role {sm.role_arn} does not exist"))
            return Status.GONE, "", "ROLE_GONE", ()
        problem = scope.role_problem(role, self.settings)
        if problem:
            run.findings.append(Finding.of("ROLE_OUT_OF_SCOPE", problem))
            return Status.SKIPPED, "", "ROLE_OUT_OF_SCOPE", ()
        try:
            plan = engine.plan(sm, self.settings.guard, policy.INLINE_LIMIT)
        except (DefinitionError, ArnError) as exc:
            run.findings.append(Finding.of("DEFINITION_ERROR", str(exc)[:500]))
            return Status.SKIPPED, "", "DEFINITION_ERROR", ()
        run.findings.extend(plan.findings)
        run.granted = plan.granted
        inline = self.roles.list_inline(role_name)
        if inline is None:
            run.findings.append(Finding.of("ROLE_GONE", f"role {sm.role_arn} disappeared"))
            return Status.GONE, "", "ROLE_GONE", ()
        if not plan.documents:
            self._clear(run, role_name, base, inline)
            return (Status.REMOVED if run.changes else Status.UNCHANGED), "", "", ()
        attached: list[AttachedPolicy] | None = None
        if base not in inline and (not fresh or inline):
            # Not inline: maybe in managed overflow policies. A create on a role without inline policies cannot
            # have overflowed, which keeps the common create at five calls.
            attached = self.roles.list_attached(role_name) or []
        overflowed = any(naming.is_overflow_of(base, a.name) for a in attached or [])
        if len(plan.documents) == 1 and not overflowed:
            placed = self._place_inline(run, role_name, base, inline, plan.documents[0])
            if placed is not None:
                return placed, "inline", "", plan.documents
        return self._place_managed(run, sm, role_name, base, inline, attached)

    def _place_inline(self, run: ChangeSet, role: str, base: str, inline: list[str], doc: Document) -> Status | None:
        """Put the single document inline; ``None`` when it does not fit the role's inline budget."""
        current = self.roles.get_inline(role, base) if base in inline else None
        if current is not None and same(current, doc):
            return Status.UNCHANGED
        if not run.enforce and not self._fits_inline(role, base, inline, doc):
            return None
        try:
            run.put_inline(role, base, doc)
        except PolicyLimitExceededError:
            return None
        return Status.WRITTEN

    def _fits_inline(self, role: str, base: str, inline: list[str], doc: Document) -> bool:
        """Report mode cannot learn from IAM's refusal, so it counts: every other inline policy of the role."""
        used = sum(policy.size(self.roles.get_inline(role, n) or {}) for n in inline if n != base)
        return used + policy.size(doc) <= policy.INLINE_LIMIT

    def _place_managed(self, run: ChangeSet, sm: StateMachine, role: str, base: str, inline: list[str],
                       attached: list[AttachedPolicy] | None) -> Placed:
        """Once a machine's policy has overflowed it stays in managed policies until it no longer exists."""
        plan = engine.plan(sm, self.settings.guard, policy.MANAGED_LIMIT)
        if attached is None:
            attached = self.roles.list_attached(role) or []
        ours = {a.name for a in attached if naming.is_overflow_of(base, a.name)}
        others = len(attached) - len(ours)
        too_large = [f for f in plan.findings if f.code == "POLICY_TOO_LARGE"]
        if too_large or others + len(plan.documents) > self.settings.max_attached:
            run.findings.extend(too_large or [Finding.of(
                "POLICY_TOO_LARGE", f"the policy fits neither the role's inline budget nor {len(plan.documents)} "
                f"managed policies next to the {others} already attached (quota {self.settings.max_attached}); "
                "nothing written")])
            return Status.SKIPPED, "", "POLICY_TOO_LARGE", ()
        names = [naming.overflow_name(base, i) for i in range(1, len(plan.documents) + 1)]
        for name, doc in zip(names, plan.documents, strict=True):
            if not same(self.roles.get_managed(name), doc):
                run.put_managed(name, doc)
            if name not in ours:
                run.attach(role, name)
        self._drop_managed(run, role, base, attached, keep=set(names))
        if base in inline:
            run.delete_inline(role, base)
        run.findings.append(Finding.of("POLICY_OVERFLOW", f"placed in {len(names)} customer-managed "
                                       f"polic{'y' if len(names) == 1 else 'ies'}: {', '.join(names)}"))
        return (Status.WRITTEN if run.changes else Status.UNCHANGED), "managed", "", plan.documents

    def _drop_managed(self, run: ChangeSet, role: str, base: str, attached: Iterable[AttachedPolicy],
                      keep: set[str]) -> None:
        for a in attached:
            if naming.is_overflow_of(base, a.name) and a.name not in keep:
                run.detach(role, a.name)
                run.delete_managed(a.name)

    def _clear(self, run: ChangeSet, role: str, base: str, inline: list[str]) -> None:
        """The machine needs nothing (or nothing grantable): remove what we placed before."""
        if base in inline:
            run.delete_inline(role, base)
        self._drop_managed(run, role, base, self.roles.list_attached(role) or [], keep=set())

    def remove_from_holders(self, run: ChangeSet, base: str, skip_role: str | None,
                             keep_managed: set[str]) -> list[str]:
        """Remove this machine's policies from the roles carrying them; returns the ARNs of the roles changed."""
        managed: set[str] = set()
        changed: list[str] = []
        for holder in self.roles.holders(base):
            if holder.role_name == skip_role:
                continue
            inline = [n for n in holder.inline if n == base]
            attached = [a.name for a in holder.attached if naming.is_overflow_of(base, a.name)]
            if not inline and not attached:
                continue
            role = self.roles.get_role(holder.role_name)
            problem = "role disappeared" if role is None else scope.role_problem(role, self.settings)
            if problem:
                run.findings.append(Finding.of("ROLE_OUT_OF_SCOPE", f"{base} left on {holder.role_arn}: {problem}"))
                continue
            changed.append(holder.role_arn)
            for name in inline:
                run.delete_inline(holder.role_name, name)
            for name in attached:
                run.detach(holder.role_name, name)
                managed.add(name)
        for name in sorted(managed - keep_managed):
            run.delete_managed(name)
        return changed


def role_name_of(role_arn: str) -> str:
    return parse_role_arn(role_arn).name
