"""In-memory implementations of the ports (sfn_iam.fixing.ports), with IAM's quotas, for service unit tests."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfn_iam.engine import policy
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    DescribedStateMachine,
    Document,
    LedgerEntry,
    OldExecutions,
    PolicyHolder,
    PolicyLimitExceededError,
    PolicyNameTakenError,
    Role,
    RolePolicies,
    RoleUnreadableError,
)
from sfn_iam.model import StateMachine

ACCOUNT = "123456789012"
STATES_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class FakeMachines:
    def __init__(self) -> None:
        self.machines: dict[str, DescribedStateMachine] = {}
        self.invisible_for: dict[str, int] = {}  # arn → describes that still say "not found" (eventual consistency)
        self.calls = 0
        self.aliases: dict[str, list[str]] = {}  # alias ARN → the version ARNs it routes to (versions in machines)
        # machine ARN → start times (ISO 8601 UTC) of its running executions; an error code string fails the listing
        self.running: dict[str, list[str] | str] = {}
        self.listings: list[tuple[str, str]] = []  # (arn, cutoff) of every ListExecutions

    def add(self, arn: str, definition: Mapping[str, Any], role_arn: str, status: str = "ACTIVE") -> None:
        self.machines[arn] = DescribedStateMachine(StateMachine(arn, definition, role_arn), status)

    def describe(self, arn: str) -> DescribedStateMachine | None:
        self.calls += 1
        if self.invisible_for.get(arn, 0) > 0:
            self.invisible_for[arn] -= 1
            return None
        return self.machines.get(arn)

    def list_arns(self) -> Iterator[str]:
        """Machines only, as ``ListStateMachines``: a version ARN (``...:stateMachine:NAME:N``) is not listed."""
        yield from sorted(a for a in self.machines if a.count(":") == 6)

    def list_aliases(self, arn: str) -> list[str]:
        self.calls += 1
        return sorted(a for a in self.aliases if a.rsplit(":", 1)[0] == arn)

    def describe_alias(self, alias_arn: str) -> list[str]:
        self.calls += 1
        return list(self.aliases.get(alias_arn, []))

    def running_before(self, arn: str, cutoff: str) -> OldExecutions:
        self.calls += 1
        self.listings.append((arn, cutoff))
        found = self.running.get(arn, [])
        if isinstance(found, str):
            return OldExecutions(True, f"ListExecutions failed: {found}")
        older = tuple(sorted(started for started in found if started < cutoff))
        return OldExecutions(bool(older), started=older, complete=True)


@dataclass
class FakeRole:
    path: str
    trust: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(STATES_TRUST))
    tags: dict[str, str] = field(default_factory=dict)
    inline: dict[str, Document] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)  # managed policy names (ours or others)
    boundary: str | None = None  # the ARN of its permissions boundary (a document in FakeRoles.documents)


class FakeRoles:
    """IAM as far as the fixer sees it, refusing what IAM refuses (inline aggregate size, attached count)."""

    def __init__(self, *, stale_reads: int = 0, max_attached: int = 10) -> None:
        self.roles: dict[str, FakeRole] = {}
        self.managed: dict[str, Document] = {}
        self.writes: list[tuple[str, ...]] = []
        self.stale_reads = stale_reads  # reads after a put that still return the old document
        self.max_attached = max_attached
        self.documents: dict[str, Document] = {}  # other managed policies (not ours) by ARN: residual access
        self.unreadable: set[str] = set()  # roles whose policies the fixer may not read (AccessDenied)
        self.permission_reads: list[str] = []  # role_permissions calls, by role name
        # As template.yaml conditions the fixer's role writes: a write to a role whose permissions boundary is not
        # this policy is refused (AccessDenied). None: not emulated.
        self.required_boundary: str | None = None

    def _may_write(self, role: str) -> None:
        r = self.roles.get(role)
        if self.required_boundary is not None and r is not None and r.boundary != self.required_boundary:
            raise PermissionError(f"AccessDenied: {role} does not carry the boundary {self.required_boundary}")

    def set_boundary(self, role: str, policy_arn: str) -> None:
        if self.required_boundary is not None and policy_arn != self.required_boundary:
            raise PermissionError(f"AccessDenied: only {self.required_boundary} may be set")
        self.writes.append(("set-boundary", role, policy_arn))
        self.roles[role].boundary = policy_arn

    def add_role(self, name: str, path: str = "/stepfunctions/", **kwargs: Any) -> str:
        self.roles[name] = FakeRole(path, **kwargs)
        return f"arn:aws:iam::{ACCOUNT}:role{path}{name}"

    def get_role(self, name: str) -> Role | None:
        r = self.roles.get(name)
        if r is None:
            return None
        return Role(f"arn:aws:iam::{ACCOUNT}:role{r.path}{name}", name, r.path, r.trust, dict(r.tags),
                    boundary_arn=r.boundary or "")

    def list_inline(self, role: str) -> list[str] | None:
        r = self.roles.get(role)
        return None if r is None else sorted(r.inline)

    def get_inline(self, role: str, name: str) -> Document | None:
        r = self.roles.get(role)
        if r is None or name not in r.inline:
            return None
        if self.stale_reads > 0:
            self.stale_reads -= 1
            return {"Version": "2012-10-17", "Statement": []}
        return copy.deepcopy(r.inline[name])

    def put_inline(self, role: str, name: str, document: Document) -> None:
        self._may_write(role)
        r = self.roles[role]
        others = sum(policy.size(d) for n, d in r.inline.items() if n != name)
        if others + policy.size(document) > policy.INLINE_LIMIT:
            raise PolicyLimitExceededError("Maximum policy size of 10240 bytes exceeded")
        self.writes.append(("put-inline", role, name))
        r.inline[name] = json.loads(json.dumps(document))

    def delete_inline(self, role: str, name: str) -> bool:
        self._may_write(role)
        self.writes.append(("delete-inline", role, name))
        return self.roles[role].inline.pop(name, None) is not None

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        r = self.roles.get(role)
        return None if r is None else [AttachedPolicy(n, f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{n}")
                                       for n in r.attached]

    def get_managed(self, name: str) -> Document | None:
        if self.stale_reads > 0 and name in self.managed:
            self.stale_reads -= 1
            return {"Version": "2012-10-17", "Statement": []}
        return copy.deepcopy(self.managed.get(name))

    def put_managed(self, name: str, document: Document) -> str:
        self.writes.append(("put-managed", name))
        self.managed[name] = json.loads(json.dumps(document))
        return name

    def delete_managed(self, name: str) -> bool:
        self.writes.append(("delete-managed", name))
        return self.managed.pop(name, None) is not None

    def attach(self, role: str, name: str) -> None:
        self._may_write(role)
        r = self.roles[role]
        if len(r.attached) >= self.max_attached:
            raise PolicyLimitExceededError("Cannot exceed quota for PoliciesPerRole")
        self.writes.append(("attach", role, name))
        r.attached.append(name)

    def detach(self, role: str, name: str) -> bool:
        self._may_write(role)
        self.writes.append(("detach", role, name))
        r = self.roles[role]
        if name in r.attached:
            r.attached.remove(name)
            return True
        return False

    def get_policy_document(self, arn: str) -> Document | None:
        name = arn.rsplit("/", 1)[-1]
        doc = self.documents.get(arn, self.managed.get(name))
        return copy.deepcopy(doc)

    def detach_arn(self, role: str, arn: str) -> bool:
        return self.detach(role, arn.rsplit("/", 1)[-1])

    def attached_arn(self, name: str) -> str:
        """The ARN of an attached policy name: a document of ``documents``, ours, or else an AWS managed policy."""
        known = [arn for arn in self.documents if arn.rsplit("/", 1)[-1] == name]
        if known:
            return sorted(known)[0]
        return f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{name}" if name in self.managed else \
            f"arn:aws:iam::aws:policy/{name}"

    def role_permissions(self, name: str) -> RolePolicies | None:
        self.permission_reads.append(name)
        if name in self.unreadable:
            raise RoleUnreadableError(f"AccessDenied reading role {name}")
        r = self.roles.get(name)
        if r is None:
            return None
        arns = tuple(self.attached_arn(n) for n in r.attached)
        docs = [copy.deepcopy(d) for d in r.inline.values()]
        docs += [d for d in (self.get_policy_document(a) for a in arns) if d is not None]
        boundary = self.get_policy_document(r.boundary) if r.boundary else None
        return RolePolicies(tuple(docs), arns, boundary, r.boundary or "")

    def holders(self, prefix: str) -> list[PolicyHolder]:
        out = []
        for name, r in sorted(self.roles.items()):
            inline = tuple(n for n in r.inline if n.startswith(prefix))
            attached = tuple(AttachedPolicy(n, n) for n in r.attached if n.startswith(prefix))
            if inline or attached:
                out.append(PolicyHolder(f"arn:aws:iam::{ACCOUNT}:role{r.path}{name}", name, inline, attached))
        return out


class FakeLedger:
    """The ledger in memory (the DynamoDB adapter's semantics: atomic set updates, conditional forget)."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self.cursors: dict[str, str] = {}
        self.findings: dict[str, str] = {}

    def claim(self, base: str, arn: str, role: str, definition_hash: str, policy_hash: str,
              documents: tuple[Document, ...] = (), aliases: bool | None = None, role_id: str = "",
              adopt: bool = True) -> LedgerEntry | None:
        old = self.entries.get(base)
        if old is not None and old.arn not in ("", arn):
            raise PolicyNameTakenError(base)
        roles = (old.roles if old else frozenset()) | {role}
        self.entries[base] = LedgerEntry(arn, roles, definition_hash, policy_hash, old.overflow if old else False,
                                         tuple(json.loads(json.dumps(list(documents)))),
                                         aliases if aliases is not None else old.aliases if old else None,
                                         role, old.retiring if old else frozenset())
        return old

    def get(self, base: str) -> LedgerEntry | None:
        return self.entries.get(base)

    def add_roles(self, base: str, arn: str, roles: frozenset[str],
                  role_ids: tuple[tuple[str, str], ...] = ()) -> None:
        old = self.entries.get(base)
        if old is not None and old.arn not in ("", arn):
            raise PolicyNameTakenError(base)
        self.entries[base] = old._replace(arn=arn, roles=old.roles | roles) if old else LedgerEntry(arn, roles)

    def release(self, base: str, roles: frozenset[str]) -> None:
        old = self.entries.get(base)
        if old:
            self.entries[base] = old._replace(roles=old.roles - roles)

    def mark_overflow(self, base: str) -> None:
        old = self.entries.get(base)
        if old:
            self.entries[base] = old._replace(overflow=True)

    def mark_retiring(self, base: str, role: str, carries: bool = True) -> None:
        old = self.entries.get(base)
        if old:
            self.entries[base] = old._replace(retiring=old.retiring | {role} if carries else old.retiring - {role})

    def forget(self, base: str, roles: frozenset[str]) -> None:
        old = self.entries.get(base)
        if old and old.roles <= roles:
            del self.entries[base]
        else:
            self.release(base, roles)

    def take(self, base: str, arn: str = "") -> LedgerEntry | None:
        old = self.entries.get(base)
        if arn and old is not None and old.arn not in ("", arn):
            raise PolicyNameTakenError(base)
        return self.entries.pop(base, None)

    def note_findings(self, base: str, digest: str) -> str:
        previous = self.findings.get(base, "")
        self.findings[base] = digest
        return previous

    def reported(self, base: str) -> str:
        return self.findings.get(base, "")

    def get_cursor(self, name: str) -> str:
        return self.cursors.get(name, "")

    def put_cursor(self, name: str, value: str) -> None:
        if value:
            self.cursors[name] = value
        else:
            self.cursors.pop(name, None)
