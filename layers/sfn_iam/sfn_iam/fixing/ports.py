"""Ports: what the service needs from the outside world, as ``typing.Protocol`` classes. Standard library only.

Adapters in ``sfn_iam.aws`` implement them with boto3 (one method, one AWS call, except where noted); tests use
in-memory fakes. The ports are shaped for more than the role fixer: an account-wide sweep lists state machines
(:meth:`StateMachineReader.list_arns`) and finds every role carrying our policies (:meth:`RolePolicyStore.holders`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from sfn_iam.engine.policy import Document as Document  # the ports speak in the engine's policy documents
from sfn_iam.model import StateMachine


class PolicyLimitExceededError(Exception):
    """IAM refused a write because a quota would be exceeded (aggregate inline size, attached count)."""


class PolicyNameTakenError(Exception):
    """The ledger entry of a policy base name records another state machine's ARN: the name is not this machine's, so
    nothing is written, claimed or removed under it for this machine (fixing/naming.py)."""


class RoleReplacedError(Exception):
    """The role under a name the ledger recorded is not the role the fixer wrote to (another ``RoleId``): deleted and
    created again, by its team or another one. Nothing of the machine is written to it until the machine is pointed at
    it again (a create or an update naming the role)."""


class RoleUnreadableError(Exception):
    """The fixer may not read a role's policies (AccessDenied): the role cannot be checked, so it is not passed."""


# The value classes below are ``typing.NamedTuple``s: each dataclass cost the cold start ~0.7 ms to create
# (docs/performance.md, "The cold start"). One shared immutable default stands for an empty mapping.
NO_TAGS: Mapping[str, str] = MappingProxyType({})


class DescribedStateMachine(NamedTuple):
    """A state machine as ``DescribeStateMachine`` returns it: the engine's input plus its lifecycle status."""

    machine: StateMachine
    status: str = "ACTIVE"  # ACTIVE | DELETING


class Role(NamedTuple):
    """What the scope checks need to know about a role (``GetRole``)."""

    arn: str
    name: str
    path: str
    trust_policy: Mapping[str, Any]
    tags: Mapping[str, str] = NO_TAGS
    boundary_arn: str = ""  # the role's permissions boundary (a managed policy ARN); empty: none
    # IAM's unique id of the role (``RoleId``): a role deleted and created again under its name has another one, and
    # is another role (docs/security.md); empty: not known
    role_id: str = ""
    last_used_region: str = ""  # RoleLastUsed.Region: where IAM last saw the role used; empty: never (or unknown)


class RolePolicies(NamedTuple):
    """A role's permission policies (:meth:`RolePolicyStore.role_permissions`): inline and attached documents (default
    versions), the attached managed policy ARNs, and the document of its permissions boundary when it has one and it
    could be read (``None``: no boundary, or ignored, which can only over-refuse)."""

    documents: tuple[Mapping[str, Any], ...]
    attached_arns: tuple[str, ...] = ()
    boundary: Mapping[str, Any] | None = None
    boundary_arn: str = ""  # the boundary's ARN ("" none): the ceiling's makes the role fit by construction


class AttachedPolicy(NamedTuple):
    name: str
    arn: str


class PolicyHolder(NamedTuple):
    """A role and the names of the inline and attached managed policies it carries (filtered by the caller)."""

    role_arn: str
    role_name: str
    inline: tuple[str, ...] = ()
    attached: tuple[AttachedPolicy, ...] = ()
    # (name, document) of inline policies, when the listing returned them (IAM's GetAccountAuthorizationDetails
    # does): the sweep then reads none of them again (governance/sweep.py, SweepCache)
    documents: tuple[tuple[str, Document], ...] = ()  # not compared
    # every inline policy name and every attached managed policy of the role, not only ours, when the listing returned
    # them (as IAM's does): the sweep lists the role no further
    listed: tuple[tuple[str, ...], tuple[AttachedPolicy, ...]] | None = None  # not compared

    # Equal and hashed by the role and the names only: what the listing returned with them is a cache.
    def _key(self) -> tuple[str, str, tuple[str, ...], tuple[AttachedPolicy, ...]]:
        return self.role_arn, self.role_name, self.inline, self.attached

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, PolicyHolder) else NotImplemented

    def __ne__(self, other: object) -> bool:
        return self._key() != other._key() if isinstance(other, PolicyHolder) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())


class OldExecutions(NamedTuple):
    """Whether executions that started before a time may still be running (``ListExecutions``, ``RUNNING``)."""

    running: bool  # one was listed, or none could be ruled out (``unknown`` says why)
    unknown: str = ""  # why it could not be ruled out (page bound, AccessDenied, throttling); empty when known
    # When the running executions that started before the time started (YYYY-MM-DDTHH:MM:SSZ, as far as listed), and
    # whether that is all of them: a retiring policy keeps only the grants of definitions one started under
    started: tuple[str, ...] = ()
    complete: bool = False


class StateMachineReader(Protocol):
    def describe(self, arn: str) -> DescribedStateMachine | None:
        """``DescribeStateMachine``; ``None`` when it does not exist (any more, or not yet)."""

    def list_arns(self) -> Iterator[str]:
        """Every state machine ARN of the account and region (``ListStateMachines``, paginated)."""

    def list_aliases(self, arn: str) -> list[str]:
        """The alias ARNs of the machine ``arn`` (``ListStateMachineAliases``, all pages); ``[]`` when it is gone.
        ``describe`` also takes a version ARN (``...:stateMachine:NAME:N``) and returns that version."""

    def describe_alias(self, alias_arn: str) -> list[str]:
        """The version ARNs the alias routes executions to (``DescribeStateMachineAlias``, at most two);
        ``[]`` when the alias is gone."""

    def running_before(self, arn: str, cutoff: str) -> OldExecutions:
        """Is an execution of ``arn`` (any version or alias) that started before ``cutoff`` (ISO 8601, UTC) still
        running? ``ListExecutions`` with ``statusFilter=RUNNING``, newest first, a bounded number of pages. Never
        raises for an AWS error: an error or the page bound is an ``unknown`` answer (``running`` stays true)."""


class RolePolicyStore(Protocol):
    def get_role(self, name: str) -> Role | None:
        """``GetRole``; ``None`` when the role does not exist."""

    def set_boundary(self, role: str, policy_arn: str) -> None:
        """Make managed policy ``policy_arn`` the permissions boundary of ``role`` (PutRolePermissionsBoundary)."""

    def list_inline(self, role: str) -> list[str] | None:
        """``ListRolePolicies`` (all pages); ``None`` when the role does not exist."""

    def get_inline(self, role: str, name: str) -> Document | None:
        """``GetRolePolicy``; ``None`` when the role or the policy does not exist."""

    def put_inline(self, role: str, name: str, document: Document) -> None:
        """``PutRolePolicy``; raises :class:`PolicyLimitExceededError` on IAM's ``LimitExceeded``."""

    def delete_inline(self, role: str, name: str) -> bool:
        """``DeleteRolePolicy``; ``False`` when there was nothing to delete."""

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        """``ListAttachedRolePolicies`` (all pages); ``None`` when the role does not exist."""

    def get_managed(self, name: str) -> Document | None:
        """The default version of our customer-managed policy ``name`` (``GetPolicy`` + ``GetPolicyVersion``)."""

    def put_managed(self, name: str, document: Document) -> str:
        """Create our managed policy or add a default version (pruning old ones); returns its ARN."""

    def delete_managed(self, name: str) -> bool:
        """Delete our managed policy with all its versions; ``False`` when it did not exist."""

    def attach(self, role: str, name: str) -> None:
        """``AttachRolePolicy`` of our managed policy ``name``."""

    def detach(self, role: str, name: str) -> bool:
        """``DetachRolePolicy``; ``False`` when it was not attached."""

    def get_policy_document(self, arn: str) -> Document | None:
        """The default version of any managed policy, AWS managed included (``GetPolicy`` + ``GetPolicyVersion``);
        ``None`` when it does not exist. Residual access reads the other policies of a role with it."""

    def detach_arn(self, role: str, arn: str) -> bool:
        """``DetachRolePolicy`` of any managed policy (residual removal); ``False`` when it was not attached."""

    def role_permissions(self, name: str) -> RolePolicies | None:
        """Every permission policy of any role of the account, in scope or not, read-only: ``GetRole`` (existence and
        permissions boundary), ``ListRolePolicies`` + ``GetRolePolicy`` per inline policy, ``ListAttachedRolePolicies``
        + ``GetPolicy`` + ``GetPolicyVersion`` per attached policy and for the boundary (all pages). ``None`` when the
        role does not exist; raises :class:`RoleUnreadableError` when a read is denied. Used to refuse passing or
        assuming an admin-equivalent role (``fixing.passable``)."""

    def holders(self, prefix: str) -> list[PolicyHolder]:
        """Every role carrying inline or attached policies whose name starts with ``prefix``, in scope or not: the
        caller checks scope before any write and reports what stays on a role out of scope (``ORPHANED_GRANT``)
        (``GetAccountAuthorizationDetails``, all pages)."""


class LedgerEntry(NamedTuple):
    """What the ledger remembers of one machine's policies (keyed by the policy's base name). An index, not the truth:
    ``roles`` may list roles that no longer carry the policy (it is written before IAM is), never fewer unless IAM
    was changed behind the fixer's back, which the sweep repairs."""

    arn: str
    roles: frozenset[str] = frozenset()
    definition_hash: str = ""  # of the definition the last write was planned from
    policy_hash: str = ""  # of the documents planned then
    overflow: bool = False  # the machine was placed in managed policies at least once: look for them when removing
    # The documents planned then, as written (guardrails applied): what a retiring policy may keep (fixing/retiring.py)
    documents: tuple[Document, ...] = ()
    # Did the machine have aliases when it was last looked at (fixing/versions.py)? ``None``: not known (an entry
    # written before this was recorded); ``False`` lets an ``UpdateStateMachine`` event skip the alias listing.
    aliases: bool | None = None
    # The machine's own role at the last claim ("": not known, an entry written before this was recorded), and the
    # roles where a retiring policy of the machine may be (recorded before one is written, kept until the entry goes).
    # Together they say what of the machine a role carries without listing it (fixing/placement.py, ``known_inline``).
    role: str = ""
    retiring: frozenset[str] = frozenset()
    # The RoleId of each role written to, by name, as it was when claimed (absent: not recorded, an older entry)
    role_ids: tuple[tuple[str, str], ...] = ()

    def role_id(self, role: str) -> str:
        """The RoleId recorded for ``role`` ("": none)."""
        return dict(self.role_ids).get(role, "")


class PolicyLedger(Protocol):
    """Which roles carry which machine's policies (adapter: a DynamoDB table, ``sfn_iam.aws.ledger``)."""

    def claim(self, base: str, arn: str, role: str, definition_hash: str, policy_hash: str,
              documents: tuple[Document, ...] = (), aliases: bool | None = None, role_id: str = "",
              adopt: bool = True) -> LedgerEntry | None:
        """``role_id``: the role's RoleId, recorded with it; unless ``adopt`` (a create or an update naming the role),
        a different RoleId already recorded for that role name refuses the claim with :class:`RoleReplacedError`.
        Record, before writing to IAM, that ``role`` carries ``base``, the hashes and the documents planned (and
        ``aliases`` unless ``None``); returns the entry as it was before (``None``: none). One atomic call
        (``UpdateItem`` with ``ReturnValues=ALL_OLD``), conditional on the entry recording no other ARN: raises
        :class:`PolicyNameTakenError` when it does (the entry is left as it was)."""

    def get(self, base: str) -> LedgerEntry | None:
        """The entry (``GetItem``, strongly consistent); ``None`` when there is none."""

    def add_roles(self, base: str, arn: str, roles: frozenset[str],
                  role_ids: tuple[tuple[str, str], ...] = ()) -> None:
        """Record, before writing to IAM, that ``roles`` carry a policy of ``base`` other than the machine's own (a
        routed version's, fixing/versions.py), with their RoleIds (``role_ids``), leaving the hashes and documents
        alone (``UpdateItem`` adding them to the set); raises :class:`PolicyNameTakenError` when the entry records
        another ARN."""

    def release(self, base: str, roles: frozenset[str]) -> None:
        """``roles`` no longer carry ``base`` (``UpdateItem`` removing them from the set)."""

    def mark_overflow(self, base: str) -> None:
        """``base`` was placed in managed policies (``UpdateItem``)."""

    def mark_retiring(self, base: str, role: str, carries: bool = True) -> None:
        """Record, before writing it, that ``role`` may carry the retiring policy of ``base``; ``carries=False``: after
        deleting it, that it does not (``UpdateItem`` on an existing entry only)."""

    def forget(self, base: str, roles: frozenset[str]) -> None:
        """The machine is gone and ``roles`` were cleaned: delete the entry unless another writer added a role meanwhile
        (then only release ``roles``)."""

    def take(self, base: str, arn: str = "") -> LedgerEntry | None:
        """The machine is gone: delete the entry and return it as it was (``None``: none), in one atomic call
        (``DeleteItem`` with ``ReturnValues=ALL_OLD``). A claim after it starts a new entry. ``arn``: only when the
        entry records that machine (or none); raises :class:`PolicyNameTakenError` otherwise."""

    def note_findings(self, base: str, digest: str) -> str:
        """Store the digest of what the last sweep reported for ``base`` and return the previous one (empty: none);
        the sweep publishes a machine's outcome only when it differs (one ``UpdateItem``, ``ALL_OLD``)."""

    def reported(self, base: str) -> str:
        """The digest :meth:`note_findings` stored last for ``base`` (empty: none), read without writing
        (``GetItem``): the sweep stores a new one only once the outcome was published (governance/report.py)."""

    def get_cursor(self, name: str) -> str:
        """Where the last run of ``name`` (a sweep) stopped; empty when it finished."""

    def put_cursor(self, name: str, value: str) -> None:
        """Store (or, with an empty value, clear) the cursor ``name``."""


class NoLedger:
    """No ledger configured (the CLI, old tests): every lookup misses, so the fixer reads IAM's listing instead."""

    def claim(self, base: str, arn: str, role: str, definition_hash: str, policy_hash: str,
              documents: tuple[Document, ...] = (), aliases: bool | None = None, role_id: str = "",
              adopt: bool = True) -> LedgerEntry | None:
        return None

    def get(self, base: str) -> LedgerEntry | None:
        return None

    def add_roles(self, base: str, arn: str, roles: frozenset[str],
                  role_ids: tuple[tuple[str, str], ...] = ()) -> None:
        return None

    def release(self, base: str, roles: frozenset[str]) -> None:
        return None

    def mark_overflow(self, base: str) -> None:
        return None

    def mark_retiring(self, base: str, role: str, carries: bool = True) -> None:
        return None

    def forget(self, base: str, roles: frozenset[str]) -> None:
        return None

    def take(self, base: str, arn: str = "") -> LedgerEntry | None:
        return None

    def note_findings(self, base: str, digest: str) -> str:
        return ""

    def reported(self, base: str) -> str:
        return ""

    def get_cursor(self, name: str) -> str:
        return ""

    def put_cursor(self, name: str, value: str) -> None:
        return None


class OutcomePublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any], resources: list[str]) -> None:
        """Publish one outcome event (``PutEvents``); raises when the entry is not accepted."""


class SummaryNotifier(Protocol):
    def notify(self, subject: str, message: str) -> None:
        """Publish a sweep's summary (SNS ``Publish``)."""


class FindingsImporter(Protocol):
    def import_findings(self, findings: list[dict[str, Any]]) -> int:
        """Import ASFF findings (Security Hub ``BatchImportFindings``, in batches); returns how many were accepted."""
