"""Placing one machine's policy on its role: inline when it fits, else customer-managed overflow policies.

Scope is checked before anything is read or written; a machine that needs nothing loses what was placed before;
``remove_from_holders`` takes a machine's policies off every in-scope role that carries them (docs/adr/0001).

The ledger is claimed (role and hashes recorded) after the scope checks and before the first IAM write. A machine
whose current policy cannot be placed (too large, quota taken, definition unreadable) loses what was placed for
its previous definition: fail closed, with a ``STALE_GRANTS_REMOVED`` finding (docs/adr/0006). Managed overflow
that hits IAM's attached-policy quota (another machine attached meanwhile) is rolled back and retried with a
per-machine jitter, so a machine is never left half placed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from sfn_iam import engine
from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine import policy
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.findings import Finding
from sfn_iam.fixing import facts, naming, passable, scope
from sfn_iam.fixing.changes import ChangeSet, same
from sfn_iam.fixing.facts import FactResolver
from sfn_iam.fixing.outcome import ChangeKind, Status
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    Document,
    LedgerEntry,
    NoLedger,
    PolicyLedger,
    PolicyLimitExceededError,
    PolicyNameTakenError,
    Role,
    RolePolicyStore,
    RoleReplacedError,
)
from sfn_iam.fixing.settings import Settings
from sfn_iam.model import StateMachine

Placed = tuple[Status, str, str, tuple[Document, ...]]  # status, placement, reason, documents placed
QUOTA_ATTEMPTS = 4  # attempts at attaching overflow policies when another writer takes the role's quota meanwhile


class NeedVersionsError(Exception):
    """Raised after the claim, before any IAM write, when the alias listing was deferred (``run.defer_versions``) and
    the ledger does not say the machine had no aliases, or when a create finds a ledger entry for the machine (a
    repeated CreateStateMachine is not a new machine): the fixer lists them and places again (fixing/service.py)."""


def digest(value: Any) -> str:
    """A short stable hash of a JSON value (definition, documents) for the ledger."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def jitter(base: str, attempt: int) -> float:
    """Seconds to wait before quota attempt ``attempt`` (from 1): exponential, spread per machine (deterministic)."""
    spread = int(hashlib.sha256(f"{base}#{attempt}".encode()).hexdigest()[:4], 16) / 0xFFFF
    return float(0.05 * (2 ** attempt) * (0.5 + spread))


class Placement:
    def __init__(self, roles: RolePolicyStore, settings: Settings, ledger: PolicyLedger, *,
                 trust_overflow_flag: bool = True, facts: FactResolver | None = None) -> None:
        self.facts = facts  # None: plan offline (no account facts)
        self.roles = roles
        self.settings = settings
        self.ledger = ledger
        # An entry's overflow flag is written before any attach, and an entry only exists once a claim looked at
        # the role's attachments (no entry: they are listed). Events may rely on it; the sweep, which rebuilds the
        # ledger from IAM, does not.
        self.trust_overflow_flag = trust_overflow_flag
        # Events also trust "no entry" for a machine just created: nothing of it was ever placed (the ledger is written
        # before IAM), so its role's listing is not needed to place it (fixing/service.py, call budget).
        self.trust_absence = trust_overflow_flag and not isinstance(ledger, NoLedger)
        # Called with the role's inline listing and the new documents before they are written (fixing/retiring.py).
        self.retire: Callable[[ChangeSet, StateMachine, str, str, list[str], tuple[Document, ...]], None] | None = None

    def plan(self, run: ChangeSet, sm: StateMachine, limit: int) -> engine.Plan:
        """The engine's plan with what the account knows (fixing.facts; unanswered questions become findings), without
        the literal roles that are admin-equivalent or cannot be checked (fixing.passable; ``VERIFY_PASSED_ROLES``)."""
        unresolved: list[Finding] = []

        def planned(guard: GuardPolicy) -> engine.Plan:
            result, failures = facts.plan(sm, guard, limit, self.facts)
            unresolved[:] = failures
            return result

        if self.settings.verify_roles:
            plan = passable.verified_plan(planned, self.settings.guard,
                                          passable.CachedPermissions(self.roles, run.role_reads),
                                          self.settings.account, self.settings.max_roles,
                                          self.settings.ceiling_arn)
        else:
            plan = planned(self.settings.guard)
        run.findings.extend(unresolved)
        return plan

    def _claim(self, run: ChangeSet, sm: StateMachine, base: str, role: Role, documents: tuple[Document, ...]
               ) -> str:
        """Write-ahead: the ledger learns the role (and its RoleId) before IAM is written (report mode only reads it).
        A reason when nothing may be written or removed (``run.taken``): the ledger records the name for another
        machine (``POLICY_NAME_TAKEN``), or another role under the role's name than the one written to and the
        event does not name the role (``ROLE_REPLACED``, docs/security.md)."""
        run.policy_hash = digest(documents)
        try:
            if run.enforce:
                prior = self.ledger.claim(base, sm.arn, role.name, digest(sm.definition), run.policy_hash, documents,
                                          aliases=run.aliases, role_id=role.role_id, adopt=run.adopt_role)
            else:
                prior = self.ledger.get(base)
                if prior is not None and prior.arn not in ("", sm.arn):
                    raise PolicyNameTakenError(base)
                if prior is not None and not run.adopt_role and prior.role_id(role.name) not in ("", role.role_id):
                    raise RoleReplacedError(role.name)
        except PolicyNameTakenError:
            taken(run, base, sm.arn)
            return "POLICY_NAME_TAKEN"
        except RoleReplacedError:
            run.taken = True
            run.findings.append(replaced(role.arn, f"{sm.arn} runs under it"))
            return "ROLE_REPLACED"
        # A second claim of the same pass (the aliases were listed after the first): the entry before the first.
        run.prior = run.kept_prior[0] if run.kept_prior else prior
        run.claimed = True
        return ""

    def place(self, run: ChangeSet, sm: StateMachine, base: str, fresh: bool) -> Placed:
        problem = scope.arn_problem(sm.role_arn, self.settings)
        if problem:
            return self._out_of_scope(run, sm, problem)
        role_name = role_name_of(sm.role_arn)
        role = self.roles.get_role(role_name)
        if role is None:
            run.findings.append(Finding.of("ROLE_GONE", f"role {sm.role_arn} does not exist"))
            return Status.GONE, "", "ROLE_GONE", ()
        problem = scope.role_problem(role, self.settings)
        if problem:
            return self._out_of_scope(run, sm, problem)
        problem = scope.boundary_problem(role, self.settings)
        if problem:
            return self._out_of_scope(run, sm, problem, code="FOREIGN_BOUNDARY")
        if run.boundaries is not None:
            run.boundaries.note(role_name, role.boundary_arn)
        try:
            plan = self.plan(run, sm, policy.INLINE_LIMIT)
        except (DefinitionError, ArnError) as exc:
            run.findings.append(Finding.of("DEFINITION_ERROR", str(exc)[:500]))
            inline = self.roles.list_inline(role_name)
            if self.retire is not None and inline is not None:  # a retiring policy is still checked (and expires)
                self.retire(run, sm, base, role_name, inline, ())
            self.fail_closed(run, role_name, base, inline)
            return Status.SKIPPED, "", "DEFINITION_ERROR", ()
        run.findings.extend(plan.findings)
        run.granted = plan.granted
        run.proposal = plan.proposal
        refused = self._claim(run, sm, base, role, plan.documents)
        if refused:
            return Status.SKIPPED, "", refused, ()
        if run.defer_versions and (run.prior is None or run.prior.aliases is not False):
            raise NeedVersionsError(base)  # nothing written yet
        if run.aliases_assumed and run.prior is not None:
            # A create for a machine the ledger knows: a repeated CreateStateMachine (idempotent, Step Functions
            # returns the existing machine) or a re-created one whose delete was not processed yet. Its aliases may
            # route to versions that still run: listed, never assumed away (nothing written yet).
            raise NeedVersionsError(base)
        if (fresh and run.prior is None) or (run.prior is not None and role_name not in run.prior.roles):
            known = self.known_inline(run, run.prior, base, role_name)
        else:
            known = None  # a role the machine was on: listed (its other inline policies are judged for residual access)
        if known is not None:
            # Nothing of the machine is on the role (a machine just created, or moved to a role the ledger does not
            # name), and IAM refuses a PutRolePolicy that does not fit: nothing needs listing. Its other policies are
            # judged by the sweep (residual access).
            inline = known
            run.seen_inline = None
        else:
            inline = run.seen_inline = self.roles.list_inline(role_name)
        if inline is None:
            run.findings.append(Finding.of("ROLE_GONE", f"role {sm.role_arn} disappeared"))
            return Status.GONE, "", "ROLE_GONE", ()
        if self.retire is not None:
            self.retire(run, sm, base, role_name, inline, plan.documents)
        if not plan.documents:
            self._clear(run, role_name, base, inline)
            return (Status.REMOVED if run.changes else Status.UNCHANGED), "", "", ()
        attached: list[AttachedPolicy] | None = None
        never_overflowed = self.trust_overflow_flag and run.prior is not None and not run.prior.overflow
        if (not fresh or inline) and not never_overflowed:
            # Maybe in managed overflow policies, even with its inline policy still there: a run stopped between
            # attaching them and deleting it leaves both, and a write inline would leave the overflow's grants
            # attached. Listed unless the ledger says the machine never overflowed (events: the usual update) or it
            # is a create on a role without inline policies (the common create stays at five calls). The sweep
            # (which does not trust the flag) lists the role anyway for residual access.
            attached = run.seen_attached = self.roles.list_attached(role_name) or []
        overflowed = any(naming.is_overflow_of(base, a.name) for a in attached or [])
        if len(plan.documents) == 1 and not overflowed:
            # The ledger says what was planned last time: a different hash means IAM holds something else (or
            # nothing), so the read before the write is skipped. An equal hash is checked against IAM.
            prior = run.prior
            changed = prior is not None and role_name in prior.roles and prior.policy_hash != run.policy_hash
            placed = self._place_inline(run, role_name, base, inline, plan.documents[0], known_changed=changed)
            if placed is not None:
                return placed, "inline", "", plan.documents
        if known is not None:  # it did not fit inline: the role carries other policies, which the outcome judges too
            inline = run.seen_inline = self.roles.list_inline(role_name) or []
        return self._place_managed(run, sm, role_name, base, inline, attached)

    def known_inline(self, run: ChangeSet, entry: LedgerEntry | None, base: str, role: str) -> list[str] | None:
        """The machine's inline policies on ``role``, from the ledger alone; ``None``: not known, list the role.

        The ledger is written before IAM and names every role that carries anything of the machine (docs/adr/0006):
        a role it does not name carries nothing of it (no entry at all: only for a machine just created, ``fresh``,
        which the caller decides). The machine's own role at the last claim carries exactly ``base`` when the machine
        never overflowed, had no aliases (no version policies) and never kept a retiring policy there. Only in enforce
        mode on events (the sweep rebuilds the ledger from IAM, so it lists); anything else is listed."""
        if not (self.trust_absence and run.enforce):
            return None
        if entry is None or role not in entry.roles:
            return []
        if entry.role == role and not entry.overflow and entry.aliases is False and role not in entry.retiring:
            return [base]
        return None

    def _out_of_scope(self, run: ChangeSet, sm: StateMachine, problem: str, code: str = "ROLE_OUT_OF_SCOPE"
                      ) -> Placed:
        """Skipped, nothing written; the outcome still carries the policy the machine would need (``documents``), so
        a team can adopt the role (tag it, or copy the policy). A definition that cannot be planned carries none."""
        adopt = code == "ROLE_OUT_OF_SCOPE" and self.settings.scope_tag and "path" in problem
        run.findings.append(Finding.of(code, problem + f"; tag the role {self.settings.scope_tag}=true to adopt it"
                                       if adopt else problem))
        try:
            plan = engine.plan(sm, self.settings.guard, policy.INLINE_LIMIT)
        except (DefinitionError, ArnError):
            return Status.SKIPPED, "", code, ()
        run.granted = plan.granted
        run.proposal = plan.proposal
        return Status.SKIPPED, "", code, plan.documents

    def _place_inline(self, run: ChangeSet, role: str, base: str, inline: list[str], doc: Document, *,
                      known_changed: bool = False) -> Status | None:
        """Put the single document inline; ``None`` when it does not fit the role's inline budget."""
        current = self.roles.get_inline(role, base) if base in inline and not known_changed else None
        if current is not None and same(current, doc):
            return Status.UNCHANGED
        if not run.enforce and not self.fits_inline(role, base, inline, doc):
            return None
        try:
            run.put_inline(role, base, doc)
        except PolicyLimitExceededError:
            return None
        return Status.WRITTEN

    def fits_inline(self, role: str, base: str, inline: list[str], doc: Document) -> bool:
        """Report mode cannot learn from IAM's refusal, so it counts: every other inline policy of the role."""
        used = sum(policy.size(self.roles.get_inline(role, n) or {}) for n in inline if n != base)
        return used + policy.size(doc) <= policy.INLINE_LIMIT

    def _place_managed(self, run: ChangeSet, sm: StateMachine, role: str, base: str, inline: list[str],
                       attached: list[AttachedPolicy] | None) -> Placed:
        """Once a machine's policy has overflowed it stays in managed policies until it no longer exists."""
        plan = self.plan(run, sm, policy.MANAGED_LIMIT)
        too_large = [f for f in plan.findings if f.code == "POLICY_TOO_LARGE"]
        names = [naming.overflow_name(base, i) for i in range(1, len(plan.documents) + 1)]
        for attempt in range(QUOTA_ATTEMPTS):
            if attempt:
                run.sleep(jitter(base, attempt))
                attached = None  # another writer changed the role: look again
            if attached is None:
                attached = run.seen_attached = self.roles.list_attached(role) or []
            ours = {a.name for a in attached if naming.is_overflow_of(base, a.name)}
            others = len(attached) - len(ours)
            if too_large or others + len(plan.documents) > self.settings.max_attached:
                run.findings.extend(too_large or [Finding.of(
                    "POLICY_TOO_LARGE", f"the policy fits neither the role's inline budget nor {len(plan.documents)} "
                    f"managed policies next to the {others} already attached (quota {self.settings.max_attached})")])
                self.fail_closed(run, role, base, self._keep_needed(run, role, base, inline, plan.documents), attached)
                return Status.SKIPPED, "", "POLICY_TOO_LARGE", ()
            if attempt == 0 and run.enforce:
                self.ledger.mark_overflow(base)
            for name, doc in zip(names, plan.documents, strict=True):
                if not same(self.roles.get_managed(name), doc):
                    run.put_managed(name, doc)
            added: list[str] = []
            try:
                for name in names:
                    if name not in ours:
                        run.attach(role, name)
                        added.append(name)
            except PolicyLimitExceededError:
                for name in added:  # roll back this attempt: never leave the machine half placed
                    run.detach(role, name)
                continue
            self._drop_managed(run, role, base, attached, keep=set(names))
            if base in inline:
                run.delete_inline(role, base)
            run.findings.append(Finding.of("POLICY_OVERFLOW", f"placed in {len(names)} customer-managed "
                                           f"polic{'y' if len(names) == 1 else 'ies'}: {', '.join(names)}"))
            return (Status.WRITTEN if run.changes else Status.UNCHANGED), "managed", "", plan.documents
        run.findings.append(Finding.of("POLICY_TOO_LARGE", f"the role's quota of {self.settings.max_attached} attached "
                                       f"policies stayed taken by other writers over {QUOTA_ATTEMPTS} attempts"))
        self.fail_closed(run, role, base, self._keep_needed(run, role, base, inline, plan.documents))
        return Status.SKIPPED, "", "POLICY_TOO_LARGE", ()

    def _keep_needed(self, run: ChangeSet, role: str, base: str, inline: list[str],
                     documents: tuple[Document, ...]) -> list[str]:
        """The machine's new policy fits nowhere (the role's quota is taken, by other machines or by hand): of the
        inline policy it already holds there, the statements its new definition still needs whole stay, so what
        others placed on a shared role never evicts grants a machine holds; only what it no longer needs goes (fail
        closed, docs/adr/0006) and what it newly needs is refused. Returns the inline listing ``fail_closed`` is to
        clear (without ``base`` when something of it stays). One ``GetRolePolicy``, on this path only."""
        from sfn_iam.fixing import residual  # here: this path only (a full role) compares grants

        held = self.roles.get_inline(role, base) if base in inline and documents else None
        needs = [g for d in documents for g in residual.grants(d)]
        statements = held.get("Statement") if isinstance(held, dict) else None
        kept = [st for st in (statements if isinstance(statements, list) else [statements] if statements else [])
                if isinstance(st, dict) and st.get("Effect") == "Allow" and residual.grants(policy.document([st]))
                and not residual.excess(policy.document([st]), needs)]
        if not kept:
            return inline
        doc = policy.document(kept)
        if not same(doc, held):
            run.put_inline(role, base, doc)  # a subset of what the role holds: it fits
        run.findings.append(Finding.of("STILL_NEEDED_KEPT", f"{base} on role {role}: {len(kept)} of its statements, "
                                       "still needed by the new definition, stay; what it needs beyond them is not "
                                       "granted until the role has room (see the finding next to this one)"))
        return [n for n in inline if n != base]

    def fail_closed(self, run: ChangeSet, role: str, base: str, inline: list[str] | None,
                    attached: list[AttachedPolicy] | None = None) -> None:
        """The current definition cannot be placed: what was placed for an earlier one must not stay (ADR 0006)."""
        before = len(run.changes)
        inline = self.roles.list_inline(role) if inline is None else inline
        if inline is None:
            return
        if base in inline:
            run.delete_inline(role, base)
        attached = (self.roles.list_attached(role) or []) if attached is None else attached
        self._drop_managed(run, role, base, attached, keep=set())
        deleted = {c.policy for c in run.changes if c.kind is ChangeKind.DELETE_MANAGED}
        for name in sorted({c.policy for c in run.changes if c.kind is ChangeKind.PUT_MANAGED} - deleted):
            run.delete_managed(name)  # written by this run, attached nowhere (the quota refused it)
        if len(run.changes) > before:
            run.findings.append(Finding.of("STALE_GRANTS_REMOVED", f"{base}: the policies written for an earlier "
                                           "definition were removed from the role (fail closed); the workflow lacks "
                                           "its permissions until the finding above is resolved"))

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
                             keep_managed: set[str], proven: bool = False) -> list[str]:
        """Remove this machine's policies from the roles carrying them; returns the ARNs of the roles changed.

        IAM's listing finds them by name; the name proves the owner only when it cannot be another machine's name from
        an earlier release (:func:`naming.ambiguous`), else ``proven`` (a ledger entry recording the machine, or the
        run's own claim) must: without it, what the listing found is left and reported (``POLICY_OWNER_UNKNOWN``)."""
        managed: set[str] = set()
        changed: list[str] = []
        proven = proven or run.claimed or not naming.ambiguous(base)
        # What this run already removes (the roles the ledger named): in report mode nothing was applied, so the
        # listing still shows it, and proposing it again would count it twice.
        done = {(c.role, c.policy) for c in run.changes if c.kind in (ChangeKind.DELETE_INLINE, ChangeKind.DETACH)}
        for holder in self.roles.holders(base):
            if holder.role_name == skip_role:
                continue
            kept = holder.role_name in run.retiring_roles  # its retiring policy was just checked and stays
            versioned = holder.role_name in run.version_roles  # its version policy was just placed (fixing/versions.py)
            inline = [n for n in holder.inline if (holder.role_name, n) not in done and (
                n == base or (n == naming.retiring_name(base) and not kept)
                or (n == naming.version_name(base) and not versioned))]
            attached = [a.name for a in holder.attached
                        if naming.is_overflow_of(base, a.name) and (holder.role_name, a.name) not in done]
            if not inline and not attached:
                continue
            if not proven:
                run.findings.append(Finding.of("POLICY_OWNER_UNKNOWN", f"{', '.join([*inline, *attached])[:300]} on "
                                               f"{holder.role_arn}: nothing proves the machine wrote it (its name "
                                               "may be another machine's from an earlier release); left"))
                continue
            role = self.roles.get_role(holder.role_name)
            if role is None:
                continue  # gone meanwhile: nothing of the machine is left there
            problem = self.writable(run, role)
            if problem:
                run.findings.append(scope.orphaned_grant(base, holder.role_arn, problem))
                run.left_on.add(holder.role_name)
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


    def remove_from_role(self, run: ChangeSet, base: str, role_name: str, *, overflow: bool,
                         keep_managed: set[str], managed: set[str],
                         left: Callable[[str, list[str]], bool] | None = None,
                         known: list[str] | None = None, role_id: str = "") -> bool:
        """Take ``base`` off one role the ledger names; ``True`` when the role no longer carries it (or is gone).

        Overflow policies detached here are added to ``managed`` for the caller to delete (once per name). ``left``
        (a role the machine left, fixing/retiring.py) decides first whether its retiring policy stays: then the role
        still carries something of the machine and ``False`` is returned. ``known``: the machine's inline policies on
        the role, from the ledger (:meth:`known_inline`); ``None``: the role is listed. ``role_id``: the RoleId the
        ledger recorded for it; another role under that name now is not touched (it carries nothing the fixer wrote)."""
        role = self.roles.get_role(role_name)
        if role is None:
            return True
        if role_id and role.role_id and role.role_id != role_id:
            # kept in the ledger with the RoleId it had: the role under the name stays refused, never adopted silently
            run.findings.append(replaced(role.arn, f"{base} was written to the role it replaced"))
            return False
        problem = self.writable(run, role)
        if problem:
            run.findings.append(scope.orphaned_grant(base, role.arn, problem))
            run.left_on.add(role_name)
            return False
        # Not run.seen_inline: that is the machine's own role's listing, which residual access and version policies
        # read after this; a role the machine left has its own.
        inline = known if known is not None else self.roles.list_inline(role_name)
        if inline is None:
            return True
        keeps = left(role_name, inline) if left is not None else False
        names = [base, *(() if keeps else (naming.retiring_name(base),)),  # with its retiring policy, unless kept
                 *(() if role_name in run.version_roles else (naming.version_name(base),))]  # and version policy
        for name in names:
            if name in inline:
                run.delete_inline(role_name, name)
        if overflow:
            for a in self.roles.list_attached(role_name) or []:
                if naming.is_overflow_of(base, a.name):
                    run.detach(role_name, a.name)
                    if a.name not in keep_managed:
                        managed.add(a.name)
        return not keeps


    def writable(self, run: ChangeSet, role: Role) -> str | None:
        """Why ``role`` may not be written (:func:`scope.write_problem`), or ``None``; what ``GetRole`` said of its
        boundary is noted for the run (no second read before the write)."""
        problem = scope.write_problem(role, self.settings)
        if problem is None and run.boundaries is not None:
            run.boundaries.note(role.name, role.boundary_arn)
        return problem


def replaced(role_arn: str, why: str) -> Finding:
    """``ROLE_REPLACED``: the role under this name is not the one the fixer wrote to (another RoleId)."""
    return Finding.of("ROLE_REPLACED", f"role {role_arn} was deleted and created again under its name ({why}): it is "
                      "another role than the one the fixer wrote to, and nothing is written to it or removed from it "
                      "until the state machine is updated naming it (docs/security.md)")


def taken(run: ChangeSet, base: str, arn: str) -> None:
    """The ledger records ``base`` for another machine than ``arn``: this run writes and removes nothing under it."""
    run.taken = True
    run.findings.append(Finding.of(
        "POLICY_NAME_TAKEN", f"{base} is recorded in the ledger for another state machine: nothing is written, claimed "
        f"or removed under it for {arn}, which gets no permissions until the other machine is deleted"))


def role_name_of(role_arn: str) -> str:
    return parse_role_arn(role_arn).name
