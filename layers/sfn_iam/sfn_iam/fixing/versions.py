"""Versions and aliases: which published versions of a machine run, so that their definitions are granted too.

An alias routes executions to at most two published versions (SAM's ``AutoPublishAlias`` and gradual deployments
shift weight from the old version to the new one). Each version keeps the definition and the role it was published
with, so during a 90/10 canary the old version's Tasks still run, under the old version's role, and still need their
permissions. The fixer grants, on each version's role, what each version an alias routes to needs, plus the latest
definition on the machine's role:

- Routed versions under the machine's role are planned with the latest definition, as one policy (the union).
- Routed versions under another role R are planned together (same engine, guardrails, account facts and passed-role
  verification as the machine's own plan) and written to R as ONE inline policy ``<base>,version`` per (machine,
  role) (:class:`VersionPolicies`). R must be in the fixer's scope, like the machine's own role; out of scope, the
  fix reports ``VERSION_ROLE_DIFFERS`` with the reason and writes nothing there. R is recorded in the ledger's role
  set of the machine before the write, so a delete, a role move and the sweep find it; every fix removes a
  ``<base>,version`` from a role the ledger names that no longer needs one (the alias moved, was deleted, the
  version was deleted), and a delete removes them all.
- Refused by IAM for size (``LimitExceeded``), or more than one document: ``VERSION_NOT_PLACED`` (high), nothing else
  is written to that role (no managed overflow: that path is the machine's own policy's).

Versions no alias routes to are not granted: they can still be started by ARN, but granting every version ever
published would keep every past grant alive for ever (docs/events.md, "Versions and aliases").

Bounded: one ``ListStateMachineAliases`` per fix (at most 100 aliases per machine, Step Functions' quota), one
``DescribeStateMachineAlias`` per alias, one ``DescribeStateMachine`` per distinct routed version; per other role
``GetRole``, ``ListRolePolicies``, ``GetRolePolicy`` and the write, and one ledger update for all of them.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sfn_iam import arns
from sfn_iam.arns import ArnError, is_role_arn
from sfn_iam.engine import policy
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.findings import Finding
from sfn_iam.fixing import naming, retiring, scope
from sfn_iam.fixing.changes import ChangeSet, same
from sfn_iam.fixing.placement import Placement, replaced, role_name_of, taken
from sfn_iam.fixing.ports import (
    DescribedStateMachine,
    PolicyLedger,
    PolicyLimitExceededError,
    PolicyNameTakenError,
    RolePolicyStore,
    StateMachineReader,
)
from sfn_iam.fixing.settings import Settings
from sfn_iam.model import StateMachine

MAX_ALIASES = 100  # Step Functions' quota of aliases per state machine; more is not read
MAX_ROUTES = 2  # an alias routes to one or two versions

Elsewhere = dict[str, tuple[StateMachine, ...]]  # role ARN → the routed versions running under it (not the machine's)


def base_arn(arn: str) -> str:
    """The machine a machine, version or alias ARN belongs to (raises :class:`arns.ArnError`)."""
    return arns.parse_state_machine_arn(arn).unqualified


def routed_versions(machines: StateMachineReader, arn: str, seen: list[str] | None = None) -> list[str]:
    """The version ARNs that the aliases of ``arn`` route executions to, sorted and unique (``seen`` receives the
    aliases listed)."""
    routed: set[str] = set()
    aliases = machines.list_aliases(arn)
    if seen is not None:
        seen.extend(aliases)
    for alias in sorted(aliases)[:MAX_ALIASES]:
        for version in machines.describe_alias(alias)[:MAX_ROUTES]:
            try:
                if base_arn(version) == arn:  # a route to another machine's version is not ours to grant
                    routed.add(version)
            except arns.ArnError:
                continue
    return sorted(routed)


def with_versions(machines: StateMachineReader, described: DescribedStateMachine, seen: list[str] | None = None
                  ) -> tuple[DescribedStateMachine, Elsewhere]:
    """``described`` with the routed versions that run under its role attached (``StateMachine.versions``), and the
    routed versions that run under other roles, by role ARN.

    A version whose definition and configuration equal the latest's adds nothing and is not attached (the common
    case right after a publish).
    """
    sm = described.machine._replace(versions=())
    attached = []
    elsewhere: dict[str, list[StateMachine]] = {}
    for version_arn in routed_versions(machines, sm.arn, seen):
        version = machines.describe(version_arn)
        if version is None or version.status != "ACTIVE":
            continue
        vm = version.machine._replace(arn=version_arn, versions=())
        if vm.role_arn != sm.role_arn:
            elsewhere.setdefault(vm.role_arn, []).append(vm)
            continue
        if vm._replace(arn=sm.arn) == sm:
            continue
        attached.append(vm)
    return (DescribedStateMachine(sm._replace(versions=tuple(attached)), described.status),
            {role: tuple(vms) for role, vms in sorted(elsewhere.items())})


def version_machine(sm: StateMachine, routed: Sequence[StateMachine]) -> StateMachine:
    """What is planned for the versions under one other role: the first one (under the machine's ARN, the context the
    machine's own plan uses) with the others as its versions, so the policy is their union."""
    first, *rest = routed
    return first._replace(arn=sm.arn, versions=tuple(rest))


class VersionPolicies:
    """Writes, keeps and fails closed the ``<base>,version`` policies of one machine during a fix."""

    def __init__(self, placement: Placement, roles: RolePolicyStore, settings: Settings,
                 ledger: PolicyLedger, retirement: retiring.Retirement) -> None:
        self.placement = placement
        self.roles = roles
        self.settings = settings
        self.ledger = ledger
        self.retirement = retirement

    def place(self, run: ChangeSet, sm: StateMachine, base: str, elsewhere: Elsewhere) -> bool:
        """Place a version policy on each role of ``elsewhere`` in scope; ``run.version_roles`` then names the roles
        whose version policy stays (the removal of stale policies leaves it there, and the ledger keeps the role).
        ``False``: the ledger records ``base`` for another machine, nothing was written."""
        run.version_roles = {}
        name = naming.version_name(base)
        own = role_name_of(sm.role_arn) if is_role_arn(sm.role_arn) else ""
        if own and run.claimed and run.seen_inline and name in run.seen_inline:
            run.delete_inline(own, name)  # the machine moved onto that role: its versions are in the machine's policy
        admitted: list[tuple[str, str, tuple[StateMachine, ...]]] = []
        ids: list[tuple[str, str]] = []  # their RoleIds, recorded with them
        for role_arn, routed in sorted(elsewhere.items()):
            problem = scope.arn_problem(role_arn, self.settings)
            found = None
            if not problem:
                found = self.roles.get_role(role_name_of(role_arn))
                problem = (f"role {role_arn} does not exist" if found is None
                           else self.placement.writable(run, found))
            recorded = run.prior.role_id(role_name_of(role_arn)) if run.prior is not None and not problem else ""
            if found is not None and recorded and found.role_id and found.role_id != recorded:
                # a published version keeps its role ARN: a role created again under that name is another one
                run.findings.append(replaced(role_arn, f"{_names(routed)} (routed to by an alias) runs under it"))
                continue
            if problem:
                run.findings.append(Finding.of(
                    "VERSION_ROLE_DIFFERS", f"{_names(routed)} (routed to by an alias) runs under {role_arn[:200]}, "
                    f"not under the machine's role {sm.role_arn[:200]}, and the fixer may not write that role "
                    f"({problem[:300]}): its permissions are not granted"))
                continue
            admitted.append((role_name_of(role_arn), role_arn, routed))
            if found is not None and found.role_id:
                ids.append((found.name, found.role_id))
        if admitted and run.enforce:  # write-ahead, like the machine's own role (report mode only reads)
            try:
                self.ledger.add_roles(base, sm.arn, frozenset(r for r, _, _ in admitted), tuple(ids))
            except PolicyNameTakenError:
                taken(run, base, sm.arn)  # the name is another machine's: nothing is written under it
                return False
        for role_name, role_arn, routed in admitted:
            run.version_roles[role_name] = self._place_one(run, sm, name, role_name, role_arn, routed)
        return True

    def _place_one(self, run: ChangeSet, sm: StateMachine, name: str, role: str, role_arn: str,
                   routed: tuple[StateMachine, ...]) -> list[str] | None:
        """The version policy on one role in scope; returns the role's inline listing (``None``: role gone)."""
        try:
            plan = self.placement.plan(run, version_machine(sm, routed), policy.INLINE_LIMIT)
        except (DefinitionError, ArnError) as exc:
            run.findings.append(Finding.of("DEFINITION_ERROR", f"{_names(routed)}: {exc}"[:500]))
            return self._fail_closed(run, role, name, None)
        run.findings.extend(plan.findings)
        inline = self.roles.list_inline(role)
        if inline is None:
            return None
        if not plan.documents:
            if name in inline:
                run.delete_inline(role, name)
            return inline
        if len(plan.documents) > 1:
            return self._not_placed(run, role, name, inline, f"it needs {len(plan.documents)} documents, more than "
                                    "one inline policy holds")
        doc = plan.documents[0]
        current = self.roles.get_inline(role, name) if name in inline else None
        if current is not None and same(current, doc):
            return inline
        if not run.enforce and not self.placement.fits_inline(role, name, inline, doc):
            return self._not_placed(run, role, name, inline, f"it does not fit the role's inline budget "
                                    f"({policy.size(doc)} characters)")
        try:
            run.put_inline(role, name, doc)
        except PolicyLimitExceededError:
            return self._not_placed(run, role, name, inline, f"IAM refused it: it does not fit the role's inline "
                                    f"budget ({policy.size(doc)} characters)")
        return inline

    def retire(self, run: ChangeSet, sm: StateMachine, base: str, role: str, inline: list[str]) -> bool:
        """A role the ledger names where no routed version runs any more, before its version policy is removed: an
        execution of such a version that started before the change (the alias moved, the version was deleted) still
        runs under that role, so the version policy's statements go into the role's retiring policy, exactly as the
        machine's own previous policy does (fixing/retiring.py, docs/adr/0007), and expire with it. ``True``: the
        retiring policy holds them (or will, once the version policy's room is free: ``run.retiring``)."""
        name = naming.version_name(base)
        if name not in inline or role in run.version_roles or sm.type == "EXPRESS" or not run.changed_at:
            return False
        old = self.retirement.old_executions(run, sm.arn, run.changed_at)
        if not old.running:
            return False
        current = self.roles.get_inline(role, name)
        if current is None:
            return False
        retiring_name = naming.retiring_name(base)
        pending = run.retiring if run.retiring is not None and run.retiring[:2] == (role, retiring_name) else None
        carried = pending[2] if pending is not None else (
            self.roles.get_inline(role, retiring_name) if retiring_name in inline or run.enforce else None)
        if carried is not None and not retiring.since_of(carried):
            carried = None  # not written by the fixer: never carried over (fixing/retiring.py removes such a policy)
        since = max(run.changed_at, retiring.since_of(carried)) if carried is not None else run.changed_at
        doc = retiring.document([current], carried, since)
        if old.unknown:
            run.findings.append(Finding.of("EXECUTIONS_UNLISTED", f"executions started before {since} could not be "
                                           f"ruled out ({old.unknown[:200]}): the grants of {name} stay in "
                                           f"{retiring_name} on role {role}"))
        verb = "are kept" if run.enforce else "would be kept"
        run.retiring_note = (f"executions that started before {since} may still run a version no alias routes to "
                             f"any more: the grants of {name} {verb} in {retiring_name} on role {role} until they end")
        if pending is None:
            try:
                run.put_inline(role, retiring_name, doc)
            except PolicyLimitExceededError:
                run.retiring = (role, retiring_name, doc)  # after the version policy left: room (fixing/retiring.py)
                return True
            run.findings.append(Finding.of("RETIRING_KEPT", run.retiring_note))
        else:
            run.retiring = (role, retiring_name, doc)
        return True

    def _not_placed(self, run: ChangeSet, role: str, name: str, inline: list[str], why: str) -> list[str]:
        verb = "is not written" if run.enforce else "would not be written"
        run.findings.append(Finding.of("VERSION_NOT_PLACED", f"{name} on role {role} {verb}: {why}; the executions "
                                       "of the routed versions under that role lack their permissions, and nothing "
                                       "else is written to the role for them"))
        return inline

    def _fail_closed(self, run: ChangeSet, role: str, name: str, inline: list[str] | None) -> list[str] | None:
        """The versions cannot be planned: what was placed for them before must not stay (ADR 0006)."""
        inline = self.roles.list_inline(role) if inline is None else inline
        if inline is not None and name in inline:
            run.delete_inline(role, name)
            run.findings.append(Finding.of("STALE_GRANTS_REMOVED", f"{name}: the policy written for the routed "
                                           f"versions under role {role} was removed (fail closed)"))
        return inline


def _names(routed: Sequence[StateMachine]) -> str:
    return ", ".join(v.arn for v in routed)[:300]
