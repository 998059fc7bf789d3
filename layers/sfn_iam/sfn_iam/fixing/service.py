"""Use cases over the ports: fix a state machine's role, remove its policies. No boto3, no clock, no logging.

``RoleFixer.handle(trigger)`` is what the Lambda calls; ``fix`` and ``remove`` are what an account-wide sweep
calls for each state machine (``fresh=False``) and each orphaned policy. Every path returns an
:class:`~sfn_iam.fixing.outcome.Outcome`; AWS errors other than "not found" and IAM's ``LimitExceeded`` propagate so the
platform retries.

Call budget (docs/local-invoke.md, bench/event_cost.py; asserted in tests/e2e). A create: DescribeStateMachine, the
ledger claim, GetRole, PutRolePolicy, DescribeStateMachine (re-check after the write) = 5, plus one read per fact the
definition makes the fixer look up: the ledger has no entry for a machine just created, so nothing of it is on the
role and the role is not listed (``Placement.known_inline``), and IAM's answer confirms the write (no read-back:
fixing/changes.py). An update: the same plus ListRolePolicies of its role = 6 (its aliases are listed only when the
ledger does not say it had none). A role move: the claim, GetRole and PutRolePolicy on the new role (not listed:
the ledger does not name it), GetRole of the role it left, ListExecutions (older executions still run there),
DeleteRolePolicy, the ledger's release and the two descriptions = 9. A delete: DescribeStateMachine, the ledger
entry taken (DeleteItem), GetRole, DeleteRolePolicy, DescribeStateMachine = 5. A role the ledger says may carry more
of the machine (overflow, version or retiring policies, an entry written before it recorded the machine's role) is
listed. Residual access (fixing/residual.py) judges in an event only the policies placement listed, one read per
other policy; the sweep judges every in-scope role whole. Inline space is not pre-computed (that would cost a
GetRolePolicy per other policy): IAM refuses an overflowing ``PutRolePolicy`` atomically with ``LimitExceeded`` and
the fixer then lists the role and moves the policy to customer-managed policies (docs/adr/0001).

Routed versions under another role (fixing/versions.py, docs/adr/0008): their ``<base>,version`` policy is placed
after the machine's own and before the roles the ledger names are cleaned, so a role that keeps one is left alone
there (and stays in the ledger). A machine without aliases elsewhere costs nothing more.

Convergence (docs/adr/0006): the ledger says which roles carry a machine's policies, so a role move or a delete
touches those roles only, whatever the size of the account (IAM's account-wide listing is the fallback when the
ledger has no entry). After writing, the machine is described again; when it changed meanwhile (another event
for it ran during this one) the run repeats on what the machine is now, and when it is gone what this run wrote
is removed. The last writer therefore always wrote the machine as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfn_iam.arns import is_role_arn
from sfn_iam.findings import Finding
from sfn_iam.fixing import events, naming, passable, retiring, versions
from sfn_iam.fixing.boundary import Boundaries
from sfn_iam.fixing.changes import ChangeSet
from sfn_iam.fixing.events import Action, Ignored, Trigger
from sfn_iam.fixing.facts import MAX_QUESTIONS, AccountFacts, FactResolver
from sfn_iam.fixing.outcome import Outcome, Status
from sfn_iam.fixing.placement import NeedVersionsError, Placed, Placement, role_name_of, taken
from sfn_iam.fixing.ports import (
    DescribedStateMachine,
    Document,
    LedgerEntry,
    NoLedger,
    PolicyLedger,
    PolicyNameTakenError,
    RolePolicyStore,
    StateMachineReader,
)
from sfn_iam.fixing.settings import Settings
from sfn_iam.model import StateMachine

PROPOSAL_ID = "sfn-iam-ceiling-proposal"  # the Id of the outcome document proposing ceiling statements
MAX_PASSES = 4  # passes of one fix when the machine keeps changing under it; then the platform retries


class ConcurrentChangeError(RuntimeError):
    """The machine changed under every pass of a fix: fail so the invocation is retried later."""


class RoleFixer:
    def __init__(self, machines: StateMachineReader, roles: RolePolicyStore, settings: Settings,
                 sleep: Callable[[float], None] = lambda _: None, *, ledger: PolicyLedger | None = None,
                 region: str | None = None, scan_holders: bool = False,
                 facts: AccountFacts | None = None, max_facts: int = MAX_QUESTIONS,
                 clock: Callable[[], str] | None = None) -> None:
        self.machines = machines
        self.roles = roles
        self.settings = settings
        self.sleep = sleep
        self.ledger: PolicyLedger = ledger if ledger is not None else NoLedger()
        self.region = region  # the function's region: events for machines elsewhere are ignored
        self.scan_holders = scan_holders  # the sweep: relocation also consults IAM's listing (the ledger's rebuild)
        # Facts from the account (fixing.facts): None plans offline; cached per fix/remove, never across events.
        self.facts = FactResolver(facts, max_facts) if facts is not None else None
        self.placement = Placement(roles, settings, self.ledger, trust_overflow_flag=not scan_holders,
                                   facts=self.facts)
        # Retiring policies (fixing/retiring.py): ``clock`` (ISO 8601 UTC, from the composition root) dates a change
        # no event dates (the sweep, a change seen while converging); without it only an event's time is used.
        self.clock = clock
        self.retirement = retiring.Retirement(lambda arn, cutoff: self.machines.running_before(arn, cutoff), roles)
        self.placement.retire = self.retirement.before_write
        # Routed versions under other roles get their own policy there (fixing/versions.py).
        self.versions = versions.VersionPolicies(self.placement, roles, settings, self.ledger, self.retirement)

    def _changes(self, base: str = "") -> ChangeSet:
        run = ChangeSet(self.roles, self.settings.enforce, self.sleep)
        if base:
            marked: set[str] = set()

            def on_retiring(role: str, carries: bool) -> None:
                # The ledger learns a role before a retiring policy is written there, and forgets it once deleted.
                recorded = role in marked or (run.prior is not None and role in run.prior.retiring)
                if carries != recorded:
                    self.ledger.mark_retiring(base, role, carries)
                (marked.add if carries else marked.discard)(role)
                if not carries and run.prior is not None and role in run.prior.retiring:
                    run.prior = run.prior._replace(retiring=run.prior.retiring - {role})

            run.on_retiring = on_retiring
        if self.settings.ceiling_arn:
            cache = passable.CachedPermissions(self.roles, run.role_reads)
            ceiling = self.settings.guard.ceiling_for(self.settings.account)
            run.boundaries = Boundaries(self.roles, self.settings.ceiling_arn, ceiling, self.settings.enforce,
                                        reads=cache.role_permissions)
        return run

    # -- entry points -------------------------------------------------------------------------------------

    def handle_event(self, event: Any) -> Outcome:
        """One EventBridge event as delivered to the Lambda: parse it, then act or say why not."""
        parsed = events.parse(event, self.settings.account, self.region)
        if isinstance(parsed, Ignored):
            return Outcome(Status.IGNORED, mode=str(self.settings.mode), event_id=parsed.event_id,
                           action=parsed.action, reason=parsed.reason, message=parsed.message)
        return self.handle(parsed)

    def handle(self, trigger: Trigger) -> Outcome:
        if trigger.action is Action.DELETE:
            return self.remove(trigger.state_machine_arn, event_id=trigger.event_id, action=str(trigger.action))
        return self.fix(trigger.state_machine_arn, event_id=trigger.event_id, action=str(trigger.action),
                        fresh=trigger.action is Action.CREATE, relocate=trigger.role_in_request is not None,
                        changed_at=trigger.event_time, aliases_from_ledger=trigger.action is Action.UPDATE,
                        adopt_role=trigger.action is Action.CREATE or trigger.role_in_request is not None)

    def _now(self) -> str:
        return retiring.timestamp(self.clock()) if self.clock is not None else ""

    def fix(self, arn: str, *, event_id: str = "", action: str = "fix", fresh: bool = False,
            relocate: bool = False, changed_at: str = "", aliases_from_ledger: bool = False,
            adopt_role: bool = False) -> Outcome:
        """Make the machine's role carry exactly the machine's policy.

        ``fresh`` (a create): on a role without inline policies, do not look for managed overflow policies of this
        machine (a brand-new machine cannot have any). ``relocate``: the role may have changed, so remove this
        machine's policies from the other roles that carry them (the ledger's roles; IAM's listing without one).
        Other roles the ledger names are cleaned on every fix, since that costs nothing to find. ``changed_at``: when
        the definition changed (the event's time; the clock's without one): grants taken away stay on the role for
        executions that started before it (fixing/retiring.py). ``aliases_from_ledger`` (an ``UpdateStateMachine``
        event): the aliases are listed only when the ledger does not say the machine had none; alias and version events
        and the sweep always list them (and record what they found). ``adopt_role``: the event names the machine's
        role (a create, an update with ``roleArn``), so a role created again under that name (another RoleId than the
        ledger recorded) is the one its team chose; otherwise such a role is not written (``ROLE_REPLACED``).
        """
        base = naming.policy_name(self.settings.policy_prefix, arn)
        out = {"event_id": event_id, "action": action, "state_machine_arn": arn, "policy_name": base}
        if self.facts is not None:
            self.facts.begin()
        described = self._describe(arn, attempts=self.settings.describe_attempts)
        if described is None or described.status != "ACTIVE":
            run = self._changes()
            run.findings.append(Finding.of("STATE_MACHINE_GONE", f"{arn} no longer exists (or is being deleted)"))
            return self._outcome(Status.GONE, run, out, reason="STATE_MACHINE_GONE")
        run = self._changes(base)
        run.adopt_role = adopt_role
        # An event's time, never later than the clock's (a later one would keep a retiring policy for executions
        # started after the change); the clock's when no event dates the change.
        now, at = self._now(), retiring.timestamp(changed_at)
        run.changed_at = min(at, now) if at and now else at or now
        if fresh:  # a machine just created has no aliases yet (they are deleted with a machine)...
            run.aliases, run.aliases_assumed = False, True  # ...unless the ledger knows it (placement.py)
        elif aliases_from_ledger and not self.scan_holders:
            run.defer_versions = True  # placement asks for them after the claim unless the ledger says none
        else:
            described = self._with_versions(run, described)
        sm = described.machine
        touched: set[str] = set()
        for _ in range(MAX_PASSES):
            out["role_arn"] = sm.role_arn
            applied = run.applied
            status, placement, reason, docs = self._pass(run, sm, base, fresh, relocate, touched)
            if not run.enforce or run.applied == applied:
                break  # nothing written: nothing this run did can be stale
            again = self._describe(arn, attempts=1)
            if again is not None and again.status == "ACTIVE" and again.machine == sm._replace(versions=()):
                break
            run.findings.append(Finding.of("CONCURRENT_CHANGE", f"{arn} changed while its policy was being written; "
                                           "converging on what it is now"))
            if again is None or again.status != "ACTIVE":
                run.version_roles = {}  # nothing of the machine stays, its version policies neither
                self._remove_from(run, base, touched | set(self._ledger_roles(base)), overflow=True, release=False)
                status, placement, reason, docs = Status.REMOVED, "", "", ()
                out["role_arn"] = ""
                self.ledger.forget(base, frozenset(touched))
                break
            sm, fresh, relocate = self._with_versions(run, again).machine, False, True
            run.changed_at = self._now() or run.changed_at  # the change this pass converges on came later
        else:
            raise ConcurrentChangeError(f"{arn} kept changing during {MAX_PASSES} passes")
        if not run.taken:
            self._adopt_legacy(run, arn)
        if status is Status.UNCHANGED and run.changes:
            status = Status.WRITTEN if any(c.kind.is_write for c in run.changes) else Status.REMOVED
        if status in (Status.WRITTEN, Status.REMOVED) and not self.settings.enforce:
            status = Status.PROPOSED
        found = self._residual(run, sm, base, docs) if out["role_arn"] else ()
        return self._outcome(status, run, out, docs, placement=placement, reason=reason)._replace(residual=found)

    def _adopt_legacy(self, run: ChangeSet, arn: str) -> None:
        """A machine whose name is hashed had another name in earlier releases (``naming.legacy_name``); what was
        written under it is removed once the machine's policy is placed under its own name, but only where its ledger
        entry records this machine (that name may be another machine's readable name: ``POLICY_OWNER_UNKNOWN`` from
        the sweep otherwise). One ``GetItem`` for such machines only; nothing for a readable name."""
        legacy = naming.legacy_name(self.settings.policy_prefix, arn)
        entry = self.ledger.get(legacy) if legacy is not None else None
        if legacy is None or entry is None or entry.arn != arn:
            return
        if run.enforce:
            self.ledger.take(legacy, arn)
        managed: set[str] = set()
        for role in sorted(entry.roles):
            self.placement.remove_from_role(run, legacy, role, overflow=entry.overflow, keep_managed=set(),
                                            managed=managed, role_id=entry.role_id(role))
        for name in sorted(managed):
            run.delete_managed(name)

    # -- residual access (fixing/residual.py) ----------------------------------------------------------------------

    def _residual(self, run: ChangeSet, sm: StateMachine, base: str, docs: tuple[Document, ...]
                  ) -> tuple[dict[str, Any], ...]:
        """What the role's other policies grant beyond its machines' needs, as findings and outcome entries. Only on
        a role in scope (the run claimed it). An event judges only the policies placement listed (no listing of its
        own: a create lists nothing, an update its inline policies); the sweep lists what placement did not, so every
        role in scope is judged whole at least once per sweep."""
        if not run.claimed or not is_role_arn(sm.role_arn):
            return ()
        if not self.scan_holders and run.seen_inline is None:
            return ()
        from sfn_iam.fixing import residual  # here: a create lists nothing, so it never loads the residual checks

        found = residual.inspect(self.roles, self.settings, sm.role_arn, docs, base, inline=run.seen_inline,
                                 attached=run.seen_attached if self.scan_holders or run.seen_attached is not None
                                 else [])
        run.findings.extend(r.finding() for r in found)
        return tuple(r.to_dict() for r in found)

    def _pass(self, run: ChangeSet, sm: StateMachine, base: str, fresh: bool, relocate: bool,
              touched: set[str]) -> Placed:
        run.claimed, run.prior, run.kept_prior = False, None, None
        try:
            placed = self.placement.place(run, sm, base, fresh)
        except NeedVersionsError:  # raised after the claim, before any write: list the aliases, claim and place again
            run.kept_prior = (run.prior,)
            run.claimed = False
            sm = self._with_versions(run, DescribedStateMachine(sm, "ACTIVE")).machine
            placed = self.placement.place(run, sm, base, fresh)
        if run.taken:
            return placed  # the name is another machine's: nothing of it is written or removed (fixing/naming.py)
        self.retirement.after_write(run)
        if not self.versions.place(run, sm, base, run.elsewhere):  # before stale removal: a version policy never
            return placed  # goes first; False: the ledger records the name for another machine
        touched.update(run.version_roles)
        _, placement, _, docs = placed
        role_name = role_name_of(sm.role_arn) if is_role_arn(sm.role_arn) else None
        if role_name and run.claimed:
            touched.add(role_name)
        keep = {naming.overflow_name(base, i) for i in range(1, len(docs) + 1)} if placement == "managed" else set()
        prior = run.prior if run.claimed else (self.ledger.get(base) if relocate else None)
        if prior is not None:
            stale = prior.roles - {role_name} if role_name else prior.roles
            self._remove_from(run, base, stale, overflow=prior.overflow, keep_managed=keep, left_by=sm, entry=prior)
        if self.scan_holders or (relocate and prior is None):
            changed = self.placement.remove_from_holders(run, base, skip_role=role_name, keep_managed=keep)
            if changed and run.enforce:
                self.ledger.release(base, frozenset(r.rsplit("/", 1)[-1] for r in changed))
        return placed

    def _with_versions(self, run: ChangeSet, described: DescribedStateMachine) -> DescribedStateMachine:
        """The machine with the published versions its aliases route to under its role; those under other roles go
        to ``run.elsewhere`` (fixing.versions)."""
        seen: list[str] = []
        found, run.elsewhere = versions.with_versions(self.machines, described, seen)
        run.aliases, run.defer_versions, run.aliases_assumed = bool(seen), False, False
        return found

    def _ledger_roles(self, base: str) -> frozenset[str]:
        entry = self.ledger.get(base)
        return entry.roles if entry is not None else frozenset()

    def _remove_from(self, run: ChangeSet, base: str, roles: set[str] | frozenset[str], *, overflow: bool,
                     keep_managed: set[str] | None = None, release: bool = True,
                     left_by: StateMachine | None = None, entry: LedgerEntry | None = None) -> None:
        """Take ``base`` off ``roles`` (named by the ledger or written by this run) and tell the ledger. ``left_by``:
        the machine left these roles (a role move), so its older executions may still run under them: a retiring
        policy may stay on them (fixing/retiring.py), and the ledger keeps such a role. ``entry``: the ledger entry that
        named the roles; what it says a role carries is not listed again (``Placement.known_inline``)."""
        managed: set[str] = set()

        def left(role: str, inline: list[str]) -> bool:
            assert left_by is not None
            keeps = self.retirement.on_left_role(run, left_by, base, role, inline)
            keeps = self.versions.retire(run, left_by, base, role, inline) or keeps  # a version no longer routed
            if keeps:
                run.retiring_roles.add(role)
            return keeps

        cleaned: set[str] = set()
        for r in sorted(roles):
            listed = run.version_roles.get(r)
            if listed is not None and not overflow and base not in listed and naming.retiring_name(base) not in listed:
                continue  # a routed version's role that carries nothing else of the machine: nothing to read again
            known = self.placement.known_inline(run, entry, base, r) if entry is not None and r in entry.roles else None
            if self.placement.remove_from_role(run, base, r, overflow=overflow, keep_managed=keep_managed or set(),
                                               managed=managed, left=left if left_by is not None else None,
                                               known=known, role_id=entry.role_id(r) if entry is not None else "") \
                    and r not in run.version_roles:  # the ledger keeps a role that carries a version policy
                cleaned.add(r)
            # Refused next to the old policy and again without it (RETIRING_NOT_PLACED): the role still counts as
            # keeping its retiring policy, since the one it had serves the executions it kept grants for (the sweep's
            # scan of holders leaves it, as an event does); the ledger keeps the role for the next fix.
            self.retirement.after_write(run)
        for name in sorted(managed):
            run.delete_managed(name)
        if cleaned and run.enforce and release:
            self.ledger.release(base, frozenset(cleaned))

    def remove(self, arn: str, *, event_id: str = "", action: str = "remove") -> Outcome:
        """Remove a deleted machine's policies from every role in scope that carries them."""
        described = self._describe(arn, attempts=1)
        if described is not None and described.status == "ACTIVE":
            # Deleted and created again before this event arrived: the new machine's policy must stay.
            return self.fix(arn, event_id=event_id, action=action, relocate=True)
        base = naming.policy_name(self.settings.policy_prefix, arn)
        # Taken (deleted and returned in one call) before the roles are cleaned: a claim meanwhile (the machine created
        # again) starts a new entry, and a crash meanwhile leaves IAM's account-wide listing to the retry.
        try:
            entry = self.ledger.take(base, arn) if self.settings.enforce else self.ledger.get(base)
            if entry is not None and entry.arn not in ("", arn):
                raise PolicyNameTakenError(base)
        except PolicyNameTakenError:
            run = self._changes()
            taken(run, base, arn)
            return self._outcome(Status.SKIPPED, run, {"event_id": event_id, "action": action,
                                                       "state_machine_arn": arn, "policy_name": base},
                                 reason="POLICY_NAME_TAKEN")
        if entry is None:
            outcome = self.remove_policy(base, state_machine_arn=arn, event_id=event_id, action=action)
        else:
            run = self._changes()
            self._remove_from(run, base, entry.roles, overflow=entry.overflow, release=False, entry=entry)
            if run.left_on and self.settings.enforce:  # what stays on roles out of scope stays in the ledger
                self.ledger.add_roles(base, arn, frozenset(run.left_on))
            outcome = self._removal_outcome(run, base, arn, event_id, action, sorted(entry.roles))
        if outcome.writes:
            again = self._describe(arn, attempts=1)
            if again is not None and again.status == "ACTIVE":
                # Created again while we removed: the new machine gets its policy back.
                return self.fix(arn, event_id=event_id, action=action, relocate=True)
        return outcome

    def remove_policy(self, base: str, *, state_machine_arn: str = "", event_id: str = "",
                      action: str = "remove") -> Outcome:
        """Remove the policies named ``base`` (inline) and ``base.N`` (managed) from every role in scope.

        The sweep calls this for an orphaned policy, whose machine is gone and whose ARN a hashed name does not
        reveal; :meth:`remove` calls it once it knows the machine is gone and the ledger does not know its roles.
        """
        run = self._changes()
        # A name of the old hashed shape may be another machine's readable one: only a ledger entry proves it
        proven = not naming.ambiguous(base) or (self.ledger.get(base) or LedgerEntry("")).arn not in ("", None)
        roles = self.placement.remove_from_holders(run, base, skip_role=None, keep_managed=set(), proven=proven)
        if run.enforce:
            self.ledger.forget(base, frozenset(r.rsplit("/", 1)[-1] for r in roles))
            known = self.ledger.get(base) if run.left_on else None
            if run.left_on and (known is None or not run.left_on <= known.roles):  # it stays: the ledger keeps it
                self.ledger.add_roles(base, state_machine_arn or (known.arn if known else ""), frozenset(run.left_on))
        return self._removal_outcome(run, base, state_machine_arn, event_id, action, roles)

    def _removal_outcome(self, run: ChangeSet, base: str, arn: str, event_id: str, action: str,
                         roles: list[str]) -> Outcome:
        status = Status.REMOVED if run.changes else Status.SKIPPED if run.left_on else Status.UNCHANGED
        if run.changes and not self.settings.enforce:
            status = Status.PROPOSED
        changed = sorted({c.role for c in run.changes if c.role})
        role_arn = roles[0] if len(roles) == 1 and roles[0].startswith("arn:") else ""
        out = {"event_id": event_id, "action": action, "state_machine_arn": arn, "policy_name": base,
               "role_arn": role_arn if len(changed) <= 1 else ""}
        left = f"its policies stay on {', '.join(sorted(run.left_on))}, out of scope (ORPHANED_GRANT)" \
            if run.left_on else ""
        message = left or ("" if run.changes else "no policy of this machine found")
        return self._outcome(status, run, out, message=message,
                             reason="ROLE_OUT_OF_SCOPE" if status is Status.SKIPPED else "")

    # -- steps --------------------------------------------------------------------------------------------

    def _describe(self, arn: str, attempts: int) -> DescribedStateMachine | None:
        delay = self.settings.describe_delay
        for attempt in range(attempts):
            described = self.machines.describe(arn)
            if described is not None:
                return described
            if attempt + 1 < attempts:
                self.sleep(delay)
                delay *= 2
        return None

    def _outcome(self, status: Status, run: ChangeSet, fields: dict[str, str], documents: tuple[Document, ...] = (),
                 **extra: str) -> Outcome:
        findings = tuple(sorted(set(run.findings), key=lambda f: (-f.severity, f.code, f.path, f.message)))
        named: dict[str, Any] = {**fields, **extra}  # the Outcome's string fields, by name
        granted = run.granted if documents else ()
        if run.proposal is not None:  # what the ceiling refused, as an administrator would approve it (Id marks it)
            documents = (*documents, {**run.proposal, "Id": PROPOSAL_ID})
        return Outcome(status=status, mode=str(self.settings.mode), changes=tuple(run.changes), findings=findings,
                       documents=documents, granted=granted, **named)
