"""The writes of one use case run: applied only in enforce mode, recorded either way.

An inline policy is not read back after ``PutRolePolicy``: IAM's success answer is the confirmation, and a later
writer of the same policy (another event for the same machine) is caught by the fixer's re-check of the machine after
its writes (fixing/service.py), which a read-back could not order anyway. A customer-managed overflow policy version
is read back (with a short wait: IAM is eventually consistent) before the run counts it as done; one that never reads
back as written fails the invocation so the platform retries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sfn_iam.findings import Finding
from sfn_iam.fixing import naming
from sfn_iam.fixing.boundary import Boundaries
from sfn_iam.fixing.outcome import Change, ChangeKind
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    Document,
    LedgerEntry,
    OldExecutions,
    RolePolicies,
    RolePolicyStore,
    RoleUnreadableError,
)
from sfn_iam.model import Requirement, StateMachine

READ_BACK_ATTEMPTS = 3


class ReadBackMismatchError(RuntimeError):
    """IAM does not return what was written, even after waiting: fail so the invocation is retried."""


def normalize(document: Any) -> Any:
    """A comparable form of a policy document: keys sorted, single values as one-item lists, lists sorted."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return document
    if isinstance(document, Mapping):
        out = {}
        for key, value in document.items():
            if key in ("Action", "NotAction", "Resource", "NotResource") and isinstance(value, str):
                value = [value]
            out[key] = normalize(value)
        return out
    if isinstance(document, list):
        items = [normalize(v) for v in document]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return document


def same(a: Any, b: Any) -> bool:
    return bool(normalize(a) == normalize(b))


class ChangeSet:
    """The changes and findings of one use case; applies writes only in enforce mode."""

    def __init__(self, store: RolePolicyStore, enforce: bool, sleep: Callable[[float], None],
                 boundaries: Boundaries | None = None) -> None:
        self.store = store
        self.enforce = enforce
        self.sleep = sleep
        # The ceiling as each written role's permissions boundary (fixing/boundary.py); None: not managed here.
        self.boundaries = boundaries
        self.changes: list[Change] = []
        self.findings: list[Finding] = []
        self.granted: tuple[Requirement, ...] = ()  # what the plan grants (the sweep's report explains wildcards)
        self.proposal: dict[str, Any] | None = None  # what the ceiling left out, as statements that would approve it
        self.claimed = False  # the ledger was claimed (or read, in report mode) for the machine's current role
        self.taken = False  # the name is another machine's, or the role was replaced: nothing is written or removed
        self.adopt_role = False  # the event names the role (a create, an update with roleArn): a new RoleId is adopted
        self.prior: LedgerEntry | None = None  # the ledger entry as it was before this run claimed it
        # Each passed or assumed role's policies, read once per run (fixing/passable.py): a re-check pass or the
        # managed-overflow plan reads nothing twice, the next event reads again.
        self.role_reads: dict[str, RolePolicies | RoleUnreadableError | None] = {}
        self.policy_hash = ""
        # -- retiring policies (fixing/retiring.py) --
        self.changed_at = ""  # when the definition changed (the event's time, else the clock's): ISO 8601 UTC
        self.retiring: tuple[str, str, Document] | None = None  # refused before the write: role, name, document
        self.retiring_note = ""
        self.listed: dict[str, OldExecutions] = {}  # ListExecutions answers of this run, by machine and cutoff
        self.left_on: set[str] = set()  # roles out of scope that still carry the machine's policies (ORPHANED_GRANT)
        self.retiring_roles: set[str] = set()  # roles the machine left that keep its retiring policy (this run)
        # -- routed versions under other roles (fixing/versions.py) --
        self.aliases: bool | None = None  # the machine's aliases were listed (found any) or known to be none; None: not
        self.defer_versions = False  # the alias listing waits for the ledger's answer (fixing/placement.py)
        # ``aliases`` is False because the event is a create, not because they were listed: a ledger entry for the
        # machine (a repeated, idempotent CreateStateMachine) makes placement list them after all
        self.aliases_assumed = False
        self.kept_prior: tuple[LedgerEntry | None] | None = None  # the entry before the first claim of this pass
        self.elsewhere: dict[str, tuple[StateMachine, ...]] = {}  # role ARN → routed versions running under it
        # roles whose <base>,version policy stays (this pass), with the inline listing read there (None: not read)
        self.version_roles: dict[str, list[str] | None] = {}
        # Called with a role and True before a retiring policy is written there, with False after one was deleted
        # there (the ledger records it: fixing/service.py)
        self.on_retiring: Callable[[str, bool], None] | None = None
        # -- residual access: the role's listings placement read, reused instead of listing again --
        self.seen_inline: list[str] | None = None
        self.seen_attached: list[AttachedPolicy] | None = None

    @property
    def applied(self) -> int:
        """How many changes reached IAM (a run that applied none cannot have made anything stale)."""
        return sum(1 for c in self.changes if c.applied)

    def _record(self, kind: ChangeKind, role: str, name: str) -> bool:
        self._bounded(role)
        self.changes.append(Change(kind, role, name, self.enforce))
        return self.enforce

    def _bounded(self, role: str) -> None:
        """Before any write to ``role``: it carries the ceiling as its boundary (set now when it has none)."""
        if role and self.boundaries is not None:
            self.boundaries.before_write(role, self.findings, self._boundary_set)

    def _boundary_set(self, role: str) -> None:
        self.changes.append(Change(ChangeKind.SET_BOUNDARY, role, self.boundaries.ceiling_arn if self.boundaries
                                   else "", self.enforce))

    def _verify(self, read: Callable[[], Document | None], desired: Document, what: str) -> None:
        for attempt in range(READ_BACK_ATTEMPTS):
            if same(read(), desired):
                return
            self.sleep(0.5 * (attempt + 1))  # IAM is eventually consistent
        raise ReadBackMismatchError(f"{what} does not read back as written")

    def put_inline(self, role: str, name: str, doc: Document) -> None:
        # Record after the call: a refused write (LimitExceeded) is not a change. Not read back (module docstring).
        self._bounded(role)
        if self.enforce:
            if self.on_retiring is not None and naming.is_retiring(name):
                self.on_retiring(role, True)
            self.store.put_inline(role, name, doc)
        self.changes.append(Change(ChangeKind.PUT_INLINE, role, name, self.enforce))

    def delete_inline(self, role: str, name: str) -> None:
        if self._record(ChangeKind.DELETE_INLINE, role, name):
            self.store.delete_inline(role, name)
            if self.on_retiring is not None and naming.is_retiring(name):
                self.on_retiring(role, False)

    def put_managed(self, name: str, doc: Document) -> None:
        if self._record(ChangeKind.PUT_MANAGED, "", name):
            self.store.put_managed(name, doc)
            self._verify(lambda: self.store.get_managed(name), doc, f"managed policy {name}")

    def attach(self, role: str, name: str) -> None:
        if self._record(ChangeKind.ATTACH, role, name):
            self.store.attach(role, name)

    def detach(self, role: str, name: str) -> None:
        if self._record(ChangeKind.DETACH, role, name):
            self.store.detach(role, name)

    def delete_managed(self, name: str) -> None:
        if self._record(ChangeKind.DELETE_MANAGED, "", name):
            self.store.delete_managed(name)

    # -- residual access (the sweep's opt-in removal): policies the fixer does not own ---------------------------

    def detach_other(self, role: str, arn: str) -> None:
        """Detach a managed policy that is not ours (recorded by its ARN)."""
        if self._record(ChangeKind.DETACH, role, arn):
            self.store.detach_arn(role, arn)
