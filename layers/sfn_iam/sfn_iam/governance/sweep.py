"""The account-wide sweep: every state machine of the account and region fixed (or reported), the fixer's policies
whose state machine no longer exists removed, hand-edited policies restored (or reported as ``DRIFT``).

It is a use case over the same ports and the same :class:`~sfn_iam.fixing.service.RoleFixer` as the Lambda: each machine
goes through ``RoleFixer.fix`` and each orphaned policy through ``RoleFixer.remove_policy``. What makes it cheap
is :class:`SweepCache`, a per-sweep decorator of the IAM port that asks IAM about a role once (``GetRole``,
``ListRolePolicies``, ``ListAttachedRolePolicies``) however many machines share it, and that keeps the one
``GetAccountAuthorizationDetails`` listing of the roles carrying our policies up to date as the sweep writes.
A clean account then costs per machine: ``DescribeStateMachine``, ``PutRolePolicy`` and its read-back, plus its
share of the listing and of the per-role calls (bench/sweep.py measures it); a second sweep writes nothing.

Standard library only (threads, no clock): the composition root injects a rate limit on the IAM client and
receives progress through a callback.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import NamedTuple

from sfn_iam.findings import Finding
from sfn_iam.fixing import naming, residual, scope
from sfn_iam.fixing.changes import ChangeSet
from sfn_iam.fixing.facts import AccountFacts
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.fixing.placement import digest
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    Document,
    LedgerEntry,
    NoLedger,
    PolicyHolder,
    PolicyLedger,
    Role,
    RolePolicies,
    RolePolicyStore,
    RoleUnreadableError,
    StateMachineReader,
)
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.fixing.settings import ConfigError, Settings, number
from sfn_iam.governance.outbox import Outbox

SWEEP_ACTION = "sweep"
_LEFT_SCOPE = frozenset({"ROLE_OUT_OF_SCOPE", "FOREIGN_BOUNDARY"})  # a skipped machine whose old grants may be frozen
Progress = Callable[[int, int], None]  # (done, total)


# -- options -------------------------------------------------------------------------------------------------------

class SweepOptions(NamedTuple):
    """How a sweep runs and where its findings go (the role fixer's :class:`Settings` say what it may touch)."""

    workers: int = 4  # small: IAM's budget is per account, and the rate limit is the real bound
    iam_calls_per_second: float = 10.0
    topic_arn: str = ""  # SNS topic for the summary; empty: none
    security_hub: bool = False  # import findings into Security Hub (ASFF)


def options_from_env(env: Mapping[str, str]) -> SweepOptions:
    """``SWEEP_WORKERS``, ``IAM_CALLS_PER_SECOND``, ``FINDINGS_TOPIC_ARN``, ``SECURITY_HUB_FINDINGS``."""
    topic = env.get("FINDINGS_TOPIC_ARN", "").strip()
    if topic and not (topic.startswith("arn:") and ":sns:" in topic):
        raise ConfigError(f"FINDINGS_TOPIC_ARN={topic!r} is not an SNS topic ARN")
    hub = env.get("SECURITY_HUB_FINDINGS", "false").strip().lower()
    if hub not in ("true", "false", ""):
        raise ConfigError(f"SECURITY_HUB_FINDINGS={hub!r}; expected true or false")
    return SweepOptions(workers=int(number(env, "SWEEP_WORKERS", 4, 1, 16)),
                        iam_calls_per_second=number(env, "IAM_CALLS_PER_SECOND", 10, 0.1, 100),
                        topic_arn=topic, security_hub=hub == "true")


# -- the per-sweep cache of the IAM port ------------------------------------------------------------------------------

class SweepCache:
    """A :class:`RolePolicyStore` that reads each role once per sweep and keeps its answers true as it writes.

    Thread-safe: one lock per role, so concurrent machines on the same role wait for the first ``GetRole``
    instead of repeating it. Documents are cached for reading only until the sweep writes them: a read-back after
    a write always goes to IAM (it is the service's check that the write took). Managed policy documents are not
    cached (they are rare and read once per machine anyway).
    """

    def __init__(self, inner: RolePolicyStore, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix
        self._lock = threading.Lock()
        self._role_locks: dict[str, threading.Lock] = {}
        self._roles: dict[str, Role | None] = {}
        self._inline: dict[str, list[str] | None] = {}
        self._attached: dict[str, list[AttachedPolicy] | None] = {}
        self._docs: dict[tuple[str, str], Document | None] = {}
        self._written: set[tuple[str, str]] = set()
        self._initial_inline: dict[str, frozenset[str]] = {}
        self._initial_attached: dict[str, frozenset[str]] = {}
        self._holders: dict[str, PolicyHolder] | None = None
        # role -> (the holder entry's inline names, the same sorted): holders() per machine in O(roles x log names)
        self._sorted_inline: dict[str, tuple[tuple[str, ...], list[str]]] = {}
        self._policies: dict[str, Document | None] = {}  # any managed policy's document, by ARN (residual access)
        # Passed and assumed roles' policies (fixing/passable.py), read once per sweep; forgotten when the sweep
        # writes to the role or to a managed policy.
        self._permissions: dict[str, RolePolicies | RoleUnreadableError | None] = {}

    def _role_lock(self, role: str) -> threading.Lock:
        with self._lock:
            return self._role_locks.setdefault(role, threading.Lock())

    # -- what the sweep asks about the state before it ------------------------------------------------------------

    def existed(self, role: str, name: str) -> bool:
        """Did ``role`` carry our inline policy ``name`` before this sweep touched it? For a managed policy (``role``
        empty): was it attached to any role the sweep looked at?"""
        with self._lock:
            if not role:
                return any(name in names for names in self._initial_attached.values())
            return name in self._initial_inline.get(role, frozenset())

    def holder_snapshot(self) -> list[PolicyHolder]:
        """Every role under the path carrying policies with our prefix, as they are now (after the sweep's writes)."""
        self.holders(self.prefix)
        with self._lock:
            assert self._holders is not None
            return [h for _, h in sorted(self._holders.items()) if h.inline or h.attached]

    # -- reads -----------------------------------------------------------------------------------------------------

    def get_role(self, name: str) -> Role | None:
        with self._role_lock(name):
            if name not in self._roles:
                self._roles[name] = self.inner.get_role(name)
            return self._roles[name]

    def list_inline(self, role: str) -> list[str] | None:
        with self._role_lock(role):
            if role not in self._inline:
                names = self.inner.list_inline(role)
                self._inline[role] = names
                with self._lock:
                    self._initial_inline[role] = frozenset(names or ())
            current = self._inline[role]
            return None if current is None else list(current)

    def get_inline(self, role: str, name: str) -> Document | None:
        key = (role, name)
        with self._lock:
            cached = key not in self._written and key in self._docs
            doc = self._docs.get(key)
        if cached:
            return None if doc is None else dict(doc)
        doc = self.inner.get_inline(role, name)
        with self._lock:
            if key not in self._written:
                self._docs[key] = doc
        return doc

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        with self._role_lock(role):
            if role not in self._attached:
                attached = self.inner.list_attached(role)
                self._attached[role] = attached
                with self._lock:
                    self._initial_attached[role] = frozenset(a.name for a in attached or ())
            current = self._attached[role]
            return None if current is None else list(current)

    def get_managed(self, name: str) -> Document | None:
        return self.inner.get_managed(name)

    def get_policy_document(self, arn: str) -> Document | None:
        """Any managed policy's document, read once per sweep (residual access: an AWS managed policy attached to
        hundreds of roles costs two calls per sweep, not two per role)."""
        with self._role_lock("#policy " + arn):
            with self._lock:
                if arn in self._policies:
                    doc = self._policies[arn]
                    return None if doc is None else dict(doc)
            doc = self.inner.get_policy_document(arn)
            with self._lock:
                self._policies[arn] = doc
            return None if doc is None else dict(doc)

    def role_permissions(self, name: str) -> RolePolicies | None:
        """A passed or assumed role's policies, read once per sweep (a role many machines pass costs one read)."""
        with self._role_lock("#permissions " + name):
            with self._lock:
                known = name in self._permissions
                found = self._permissions.get(name)
            if not known:
                try:
                    found = self.inner.role_permissions(name)
                except RoleUnreadableError as exc:
                    found = exc
                with self._lock:
                    self._permissions[name] = found
        if isinstance(found, RoleUnreadableError):
            raise found
        return found

    def _changed(self, role: str | None) -> None:
        """The sweep wrote to ``role`` (``None``: to a managed policy, which any role may carry)."""
        with self._lock:
            if role is None:
                self._permissions.clear()
            else:
                self._permissions.pop(role, None)

    def set_boundary(self, role: str, policy_arn: str) -> None:
        self.inner.set_boundary(role, policy_arn)
        self._changed(role)
        with self._role_lock(role):
            known = self._roles.get(role)
            if known is not None:
                self._roles[role] = known._replace(boundary_arn=policy_arn)

    def detach_arn(self, role: str, arn: str) -> bool:
        detached = self.inner.detach_arn(role, arn)
        self._changed(role)
        with self._lock:
            attached = self._attached.get(role)
            if attached is not None:
                attached[:] = [a for a in attached if a.arn != arn]
        return detached

    def holders(self, prefix: str) -> list[PolicyHolder]:
        with self._lock:
            if self._holders is None:
                self._holders = {h.role_name: h for h in self.inner.holders(self.prefix)}
                for h in self._holders.values():  # what the listing returned is not read again (one call per sweep)
                    for name, doc in h.documents:
                        if (h.role_name, name) not in self._written:
                            self._docs.setdefault((h.role_name, name), doc)
                    if h.listed is not None and h.role_name not in self._inline:
                        self._inline[h.role_name] = list(h.listed[0])
                        self._initial_inline.setdefault(h.role_name, frozenset(h.listed[0]))
                    if h.listed is not None and h.role_name not in self._attached:
                        self._attached[h.role_name] = list(h.listed[1])
                        self._initial_attached.setdefault(h.role_name, frozenset(a.name for a in h.listed[1]))
            found = list(self._holders.values())
        out = []
        for h in found:
            inline = self._inline_starting(h, prefix)
            attached = tuple(a for a in h.attached if a.name.startswith(prefix)) if h.attached else ()
            if inline or attached:
                out.append(PolicyHolder(h.role_arn, h.role_name, inline, attached))
        return sorted(out, key=lambda h: h.role_name)

    def _inline_starting(self, holder: PolicyHolder, prefix: str) -> tuple[str, ...]:
        """``holder``'s inline names starting with ``prefix``, in the listing's order. Each machine asks about its own
        name, and a role may carry the policies of thousands of machines: a binary search in the role's names,
        sorted once per version of the entry, finds whether any starts with it without reading them all."""
        known = self._sorted_inline.get(holder.role_name)
        if known is None or known[0] is not holder.inline:  # entries are replaced, never changed, on a write
            known = (holder.inline, sorted(holder.inline))
            self._sorted_inline[holder.role_name] = known
        names = known[1]
        first = bisect.bisect_left(names, prefix)  # the names starting with prefix are the run that begins here
        if first == len(names) or not names[first].startswith(prefix):
            return ()
        return tuple(n for n in holder.inline if n.startswith(prefix))

    # -- writes: through to IAM, then the cache learns what IAM now holds -------------------------------------------

    def _holder_update(self, role: str, update: Callable[[PolicyHolder], PolicyHolder]) -> None:
        """Apply ``update`` to the role's entry of the holder listing (when the listing is loaded)."""
        with self._lock:
            if self._holders is None:
                return
            current = self._holders.get(role)
            if current is None:
                known = self._roles.get(role)
                current = PolicyHolder(known.arn if known else "", role)
            self._holders[role] = update(current)

    def put_inline(self, role: str, name: str, document: Document) -> None:
        self.inner.put_inline(role, name, document)
        self._changed(role)
        with self._lock:
            self._written.add((role, name))
            self._docs.pop((role, name), None)
            names = self._inline.get(role)
            if names is not None and name not in names:
                names.append(name)
        if name.startswith(self.prefix):
            self._holder_update(role, lambda h: h._replace(inline=tuple(sorted({*h.inline, name}))))

    def delete_inline(self, role: str, name: str) -> bool:
        deleted = self.inner.delete_inline(role, name)
        self._changed(role)
        with self._lock:
            self._written.discard((role, name))
            self._docs[(role, name)] = None
            names = self._inline.get(role)
            if names is not None and name in names:
                names.remove(name)
        self._holder_update(role, lambda h: h._replace(inline=tuple(n for n in h.inline if n != name)))
        return deleted

    def put_managed(self, name: str, document: Document) -> str:
        arn = self.inner.put_managed(name, document)
        self._changed(None)
        return arn

    def delete_managed(self, name: str) -> bool:
        deleted = self.inner.delete_managed(name)
        self._changed(None)
        return deleted

    def attach(self, role: str, name: str) -> None:
        self.inner.attach(role, name)
        self._changed(role)
        arn = name  # the port names our managed policies by name; the service and the sweep only compare names
        with self._lock:
            attached = self._attached.get(role)
            if attached is not None and all(a.name != name for a in attached):
                attached.append(AttachedPolicy(name, arn))
        self._holder_update(role, lambda h: h._replace(attached=(*h.attached, AttachedPolicy(name, arn))))

    def detach(self, role: str, name: str) -> bool:
        detached = self.inner.detach(role, name)
        self._changed(role)
        with self._lock:
            attached = self._attached.get(role)
            if attached is not None:
                attached[:] = [a for a in attached if a.name != name]
        self._holder_update(role, lambda h: h._replace(attached=tuple(a for a in h.attached if a.name != name)))
        return detached


# -- the use case ---------------------------------------------------------------------------------------------------

class SweepTimeoutError(RuntimeError):
    """The caller's time budget ran out before this machine's turn."""


class SweepError(NamedTuple):
    """A state machine (or orphaned policy) the sweep could not handle: the AWS error, kept for the report."""

    target: str
    error: str


_NO_DIGESTS: Mapping[str, str] = MappingProxyType({})


class SweepResult(NamedTuple):
    mode: str
    account: str
    region: str
    outcomes: tuple[Outcome, ...]  # one per state machine, in listing order
    orphans: tuple[Outcome, ...] = ()  # one per removed (or proposed) orphaned policy
    errors: tuple[SweepError, ...] = ()
    roles: int = 0  # distinct roles of the state machines
    # -- signal, not noise; residual access --
    repeated: frozenset[str] = frozenset()  # policy names whose outcome is what the previous sweep reported
    residual_removals: tuple[Outcome, ...] = ()  # one per role whose residual policies were removed (opt-in)
    # policy name -> digest of its outcome, for the machines whose outcome is news: recorded in the ledger only once
    # the outcome was reported (governance/report.py, ``deliver``), so a lost event is published again
    digests: Mapping[str, str] = _NO_DIGESTS

    @property
    def writes(self) -> int:
        return sum(o.writes for o in self.all_outcomes)

    @property
    def all_outcomes(self) -> tuple[Outcome, ...]:
        return self.outcomes + self.orphans + self.residual_removals

    def metric_counts(self) -> dict[str, int]:
        """The counts both sweep handlers publish as metrics: machines, writes, drift, errors."""
        return {"SweepStateMachines": len(self.outcomes), "SweepWrites": self.writes,
                "SweepDrift": int(str(self.totals()["drift"])), "SweepErrors": len(self.errors)}

    def totals(self) -> dict[str, object]:
        statuses = Counter(str(o.status) for o in self.outcomes)
        severities = Counter(f.severity.name for o in self.all_outcomes for f in o.findings)
        codes = Counter(f.code for o in self.all_outcomes for f in o.findings)
        changes = [c for o in self.all_outcomes for c in o.changes]
        return {
            "stateMachines": len(self.outcomes),
            "roles": self.roles,
            "byStatus": dict(sorted(statuses.items())),
            "writes": self.writes,
            "proposedChanges": sum(1 for c in changes if not c.applied),
            "drift": codes.get("DRIFT", 0),
            "orphansRemoved": sum(1 for o in self.orphans if o.status is Status.REMOVED),
            "orphansProposed": sum(1 for o in self.orphans if o.status is Status.PROPOSED),
            "findingsBySeverity": dict(sorted(severities.items())),
            "findingsByCode": dict(sorted(codes.items())),
            "errors": len(self.errors),
            "residualRoles": len({o.role_arn for o in self.outcomes if o.residual}),
            "residualAdminRoles": len({o.role_arn for o in self.outcomes
                                       if any(r.get("adminEquivalent") for r in o.residual)}),
            "residualPoliciesRemoved": sum(1 for o in self.residual_removals for c in o.changes if c.applied),
            "unchangedSinceLastSweep": len(self.repeated),
        }


class Sweeper:
    def __init__(self, machines: StateMachineReader, roles: RolePolicyStore, settings: Settings, region: str, *,
                 workers: int = 4, sleep: Callable[[float], None] = lambda _: None,
                 ledger: PolicyLedger | None = None, facts: AccountFacts | None = None,
                 clock: Callable[[], str] | None = None) -> None:
        self.machines = machines
        self.cache = SweepCache(roles, settings.policy_prefix)
        self.settings = settings
        self.region = region
        self.workers = max(1, workers)
        self.ledger: PolicyLedger = ledger if ledger is not None else NoLedger()
        # No describe retries: a listed machine that cannot be described is gone, not "not visible yet".
        # scan_holders: relocation consults IAM's listing too, so the sweep rebuilds the ledger from IAM.
        self.fixer = RoleFixer(machines, self.cache, settings._replace(describe_attempts=1), sleep=sleep,
                               ledger=self.ledger, scan_holders=True, facts=facts, max_facts=settings.max_facts,
                               clock=clock)

    @property
    def cursor_name(self) -> str:
        return f"sweep.{self.region}"

    def _resume_order(self, arns: list[str]) -> tuple[list[str], str, bool]:
        """The machines this run sweeps, the start of its pass, and whether it resumes a pass. A pass covers the
        listing once, sorted, from its start round to it: a new pass starts at the beginning of the listing; a
        resumed one goes from where the last run stopped (the cursor) to where the pass began, so no machine the
        same pass already handled is read again. A machine listed since falls in the pass when its ARN lies in what
        is left of the pass, in the next pass otherwise."""
        arns = sorted(arns)
        start, stopped = _parse_cursor(self.ledger.get_cursor(self.cursor_name))
        if not stopped:
            return arns, arns[0] if arns else "", False
        start = start or stopped  # a cursor stored without its pass's start: round the whole listing from it
        if stopped >= start:  # the pass has not wrapped: the rest of the listing, then its beginning up to the start
            return [a for a in arns if a >= stopped] + [a for a in arns if a < start], start, True
        return [a for a in arns if stopped <= a < start], start, True

    def run(self, progress: Progress | None = None, keep_going: Callable[[], bool] | None = None) -> SweepResult:
        """Sweep the account, or what is left of the pass an earlier run began. ``keep_going`` (the Lambda: "more than
        30 s left") is asked before each machine; once it says no, the remaining machines are reported as errors
        ("not reached"), the first of them is stored as the cursor the next run starts from, with the pass's start
        where that run stops (so every machine is reached once per pass across runs, however large the account),
        and orphans are left for a run that completes. The residual removal needs every machine's outcome in one
        run: a resumed run leaves it to the next pass."""
        listing = list(self.machines.list_arns())
        arns, start, resumed = self._resume_order(listing)
        self.cache.holders(self.settings.policy_prefix)  # the listing before any write: what orphans are judged on
        outcomes, errors = self._fix_all(arns, progress, keep_going)
        not_reached = [e.target for e in errors if e.error.startswith("SweepTimeoutError")]
        self.ledger.put_cursor(self.cursor_name, f"{start} {not_reached[0]}" if not_reached else "")
        out_of_time = keep_going is not None and not keep_going()
        orphans: list[Outcome] = []
        if not out_of_time:
            orphans, orphan_errors = self.remove_orphans(listing)
            errors.extend(orphan_errors)
        roles = {o.role_arn for o in outcomes if o.role_arn}
        complete = not errors and not out_of_time and not resumed
        removals = tuple(self._remove_residual(outcomes)) if complete else ()
        repeated, digests = self._repeated((*outcomes, *orphans))
        return SweepResult(str(self.settings.mode), self.settings.account, self.region, outcomes, tuple(orphans),
                           tuple(errors), len(roles), repeated, removals, digests)

    # -- the sweep as a Distributed Map: one batch per child execution, then one summary ------------------------

    def run_batch(self, arns: list[str]) -> SweepResult:
        """Fix (or report) ``arns``, one batch of a sweep whose listing someone else took (the sweep state machine:
        governance/batches.py). Each machine goes through the same ``_fix`` as in :meth:`run`; no cursor, no
        orphans, no residual removal: the summary step, which knows the whole listing, does those."""
        outcomes, errors = self._fix_all(list(arns), None, None)
        roles = {o.role_arn for o in outcomes if o.role_arn}
        repeated, digests = self._repeated(outcomes)
        return SweepResult(str(self.settings.mode), self.settings.account, self.region, outcomes, (),
                           tuple(errors), len(roles), repeated, digests=digests)

    def remove_orphans(self, arns: list[str]) -> tuple[list[Outcome], list[SweepError]]:
        """Remove (or propose removing) our policies in this region whose state machine is not in ``arns``, the
        whole listing: the end of :meth:`run`, and the summary step of the sweep state machine."""
        orphans: list[Outcome] = []
        errors: list[SweepError] = []
        for base in self._orphaned(arns):
            try:
                orphans.append(self._remove_orphan(base))
            except Exception as exc:  # reported like a machine's error
                errors.append(SweepError(base, f"{type(exc).__name__}: {str(exc)[:300]}"))
        return orphans, errors

    def remove_residual(self, outcomes: tuple[Outcome, ...]) -> tuple[Outcome, ...]:
        """The opt-in removal of residual policies, once every machine of the sweep was handled."""
        return tuple(self._remove_residual(outcomes))

    def _fix_all(self, arns: list[str], progress: Progress | None, keep_going: Callable[[], bool] | None
                 ) -> tuple[tuple[Outcome, ...], list[SweepError]]:
        """Every machine of ``arns`` through ``_fix`` on the worker pool; a machine's error is kept, not raised."""
        total = len(arns)
        done = 0
        lock = threading.Lock()
        results: dict[str, Outcome | SweepError] = {}

        def one(arn: str) -> None:
            nonlocal done
            result: Outcome | SweepError
            try:
                if keep_going is not None and not keep_going():
                    raise SweepTimeoutError("not reached: the sweep ran out of time")
                result = self._fix(arn)
            except Exception as exc:  # one machine's AWS error must not stop the sweep; it is reported
                result = SweepError(arn, f"{type(exc).__name__}: {str(exc)[:300]}")
            with lock:
                results[arn] = result
                done += 1
                if progress:
                    progress(done, total)

        if progress:
            progress(0, total)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sweep") as pool:
            list(pool.map(one, arns))
        outcomes = tuple(r for a in arns if isinstance(r := results[a], Outcome))
        errors = [r for a in arns if isinstance(r := results[a], SweepError)]
        return outcomes, errors

    # -- signal, not noise: publish what changed since the last sweep -------------------------------------------

    def repeated(self, outcomes: tuple[Outcome, ...]) -> tuple[frozenset[str], dict[str, str]]:
        """:meth:`_repeated` for the summary step's orphans (the batches did the machines)."""
        return self._repeated(outcomes)

    def _repeated(self, outcomes: tuple[Outcome, ...]) -> tuple[frozenset[str], dict[str, str]]:
        """Policy names whose outcome (status, proposed changes, findings, residual access) is what the previous
        sweep reported, by the digest the ledger keeps per machine (one ``GetItem`` each), and the digests of the
        others, which :meth:`record_reported` stores once they were reported. Applied changes are never
        "repeated": something changed."""
        same: set[str] = set()
        news: dict[str, str] = {}
        for o in outcomes:
            if not o.policy_name or (not o.state_machine_arn and o.writes):
                continue  # a removed orphan is news once, and its ledger entry is gone
            now = outcome_digest(o)
            if self.ledger.reported(o.policy_name) == now:
                if not o.writes:
                    same.add(o.policy_name)
            else:
                news[o.policy_name] = now
        return frozenset(same), news

    def record_reported(self, digests: Mapping[str, str]) -> None:
        """The outcomes of ``digests`` were reported: a later sweep publishes them again only when they change."""
        with ThreadPoolExecutor(max_workers=4 * self.workers, thread_name_prefix="record") as pool:
            list(pool.map(lambda item: self.ledger.note_findings(*item), sorted(digests.items())))

    def outbox(self) -> Outbox:
        """The events of this region's sweeps that EventBridge has not accepted yet (governance/outbox.py)."""
        return Outbox(self.ledger, f"outbox.{self.region}")

    # -- residual access: the opt-in removal (RemoveResidualPolicies, enforce mode) -------------------------------

    def _remove_residual(self, outcomes: tuple[Outcome, ...]) -> list[Outcome]:
        """Remove the residual policies of roles whose every machine in this region was fixed by this sweep, when it
        is provable that nothing outside the sweep's view uses the role (:func:`residual.removal_problem`: only state
        machines of this account and Region may assume it, IAM saw it used nowhere else, no policy of ours from another
        Region). Otherwise the policies stay and a ``RESIDUAL_KEPT`` outcome says why. The removed documents go into
        the outcome; ``sfn-iam restore`` puts them back."""
        if not (self.settings.enforce and self.settings.remove_residual):
            return []
        by_role: dict[str, list[Outcome]] = {}
        for o in outcomes:
            if o.role_arn:
                by_role.setdefault(o.role_arn, []).append(o)
        removals = []
        for role_arn, group in sorted(by_role.items()):
            if not any(o.residual for o in group) or any(
                    o.status not in (Status.WRITTEN, Status.UNCHANGED) for o in group):
                continue
            name = role_arn.rsplit("/", 1)[-1]
            role = self.cache.get_role(name)
            inline = self.cache.list_inline(name)
            attached = self.cache.list_attached(name)
            if role is None or inline is None or attached is None:
                continue  # gone meanwhile: nothing to remove
            entries = {(e["kind"], e["policyName"], e["policyArn"]): e for o in group for e in o.residual}
            problem = residual.removal_problem(role, self.settings, self.region, inline, attached)
            if problem:
                kept = Finding.of("RESIDUAL_KEPT", f"the residual policies of {role_arn} were not removed: {problem}")
                removals.append(Outcome(Status.UNCHANGED, str(self.settings.mode), action="remove-residual",
                                        role_arn=role_arn, findings=(kept,), residual=tuple(entries.values())))
                continue
            found = residual.inspect(self.cache, self.settings, role_arn,
                                     [d for o in group for d in o.documents], "", inline=inline, attached=attached)
            run = ChangeSet(self.cache, True, self.fixer.sleep)
            removed = []
            for r in found:
                if (r.policy.kind, r.policy.name, r.policy.arn) not in entries or r.policy.document is None:
                    continue  # appeared since the machines were fixed, or unreadable: nothing to restore it from
                if r.policy.kind == "inline":
                    run.delete_inline(name, r.policy.name)
                else:
                    run.detach_other(name, r.policy.arn)
                removed.append(r._replace(removed=True))
                run.findings.append(Finding.of("RESIDUAL_REMOVED", f"{r.policy.label} removed from {role_arn}: "
                                               f"{'; '.join(r.excess[:3])}; `sfn-iam restore` puts it back from "
                                               "this outcome"))
            if removed:
                removals.append(Outcome(Status.REMOVED, str(self.settings.mode), action="remove-residual",
                                        role_arn=role_arn, changes=tuple(run.changes), findings=tuple(run.findings),
                                        residual=tuple(r.to_dict() for r in removed)))
        return removals

    def _remove_orphan(self, base: str) -> Outcome:
        """An orphan by the listing taken at the start; a machine created since (its event may be in flight) keeps
        its policy: the ledger names the machine, and it is described before anything is removed."""
        entry = self.ledger.get(base)
        if entry is not None and entry.arn:
            described = self.machines.describe(entry.arn)
            if described is not None and described.status == "ACTIVE":
                return self.fixer.fix(entry.arn, action=SWEEP_ACTION, relocate=True)
        return self.fixer.remove_policy(base, action=SWEEP_ACTION)

    def _frozen(self, outcome: Outcome, before: LedgerEntry | None) -> Outcome:
        """A machine skipped because its role is out of scope (tagged out, opted out, another boundary): the policies
        the fixer wrote for it before stay on that role (or on a role the ledger names), frozen. Say so, wherever they
        are (``ORPHANED_GRANT``): one listing per role, cached for the sweep."""
        base = outcome.policy_name
        names = {base, naming.retiring_name(base), naming.version_name(base)}
        roles = set(before.roles) if before is not None else set()
        if outcome.role_arn.split(":")[4:5] == [self.settings.account]:
            roles.add(outcome.role_arn.rsplit("/", 1)[-1])
        found = []
        for role in sorted(roles):
            inline = self.cache.list_inline(role)
            if inline is None:
                continue
            found += [(role, n) for n in sorted(inline) if n in names]
            found += [(role, a.name) for a in sorted(self.cache.list_attached(role) or [], key=lambda a: a.name)
                      if naming.is_overflow_of(base, a.name)]
        if not found:
            return outcome
        why = next((f.message for f in outcome.findings if f.code in _LEFT_SCOPE), outcome.reason)
        arns = {role: (self.cache.get_role(role) or Role(f"role {role}", role, "", {})).arn for role, _ in found}
        return outcome._replace(findings=(*(scope.orphaned_grant(name, arns[role], why) for role, name in found),
                                          *outcome.findings))

    def _fix(self, arn: str) -> Outcome:
        before = self.ledger.get(naming.policy_name(self.settings.policy_prefix, arn))
        outcome = self.fixer.fix(arn, action=SWEEP_ACTION, relocate=True)
        if outcome.status is Status.SKIPPED and outcome.reason in _LEFT_SCOPE:
            outcome = self._frozen(outcome, before)
        drifted = [c for c in outcome.changes if _restores(c) and self.cache.existed(c.role, c.policy)
                   and not naming.is_retiring(c.policy)]
        if not drifted:
            return outcome
        verb = "restored" if self.settings.enforce else "would be restored"
        machine = self.machines.describe(arn) if before is not None else None
        missed = machine is not None and before is not None and before.definition_hash != digest(
            machine.machine.definition)
        if missed:
            findings = [Finding.of("MISSED_CHANGE", f"{c.policy} on role {c.role} was written for an earlier "
                                   f"definition and no event reported the change; {verb}") for c in drifted]
        else:
            why = "edited by hand" if before is not None else "edited by hand, or a definition change no event reported"
            findings = [Finding.of("DRIFT", f"{c.policy} on role {c.role} differs from what the state machine needs "
                                   f"({why}); {verb}") for c in drifted]
        return outcome._replace(findings=(*findings, *outcome.findings))

    def _orphaned(self, arns: list[str]) -> list[str]:
        """Base names of our policies in this region whose state machine is not in the listing, and the names of
        retiring policies (fixing/retiring.py) and routed versions' policies (fixing/versions.py) whose machine is not
        in it and whose base is not already listed (its removal takes them too). A listed machine's retiring and
        version policies are checked by its fix."""
        ours = f"{self.settings.policy_prefix}{self.region}."
        bases = {naming.policy_name(self.settings.policy_prefix, a) for a in arns}
        expected = bases | {naming.retiring_name(b) for b in bases} | {naming.version_name(b) for b in bases}
        found: set[str] = set()
        for holder in self.cache.holder_snapshot():
            found.update(n for n in holder.inline if n.startswith(ours))
            for a in holder.attached:
                base, _, index = a.name.rpartition(".")
                if a.name.startswith(ours) and index.isdigit() and naming.is_overflow_of(base, a.name):
                    found.add(base)
        orphans = found - expected
        covered = {naming.retiring_name(b) for b in orphans} | {naming.version_name(b) for b in orphans}
        return sorted(n for n in orphans if n not in covered)


def _parse_cursor(value: str) -> tuple[str, str]:
    """The stored cursor: (the pass's start, the first machine not reached), separated by a space, which no state
    machine ARN holds (a name has no white space:
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateMachineListItem.html). A cursor without
    a start (stored by an earlier version) reads as ("", the machine)."""
    start, _, stopped = value.rpartition(" ")
    return start, stopped


def outcome_digest(o: Outcome) -> str:
    """What a sweep reports for one machine, as a short hash: its state (a machine written by this sweep and left
    unchanged by the next is in the same state), proposed changes, findings, residual access. ``BOUNDARY_SET``
    records a write, like the written status: a role that got the ceiling is settled, not news, on the next sweep."""
    settled = o.status in (Status.WRITTEN, Status.UNCHANGED, Status.REMOVED)
    return digest({"status": "settled" if settled else str(o.status),
                   "proposed": [c.to_dict() for c in o.changes if not c.applied],
                   "findings": [f.to_dict() for f in o.findings if f.code != "BOUNDARY_SET" or not settled],
                   "residual": list(o.residual)})


def _restores(change: Change) -> bool:
    """A write of a policy document (whether the policy was already there, the cache knows)."""
    return change.kind in (ChangeKind.PUT_INLINE, ChangeKind.PUT_MANAGED)


