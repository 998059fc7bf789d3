"""Use cases over the ports: fix a state machine's role, remove its policies. No boto3, no clock, no logging.

``RoleFixer.handle(trigger)`` is what the Lambda calls; ``fix`` and ``remove`` are what an account-wide sweep
calls for each state machine (``fresh=False``) and each orphaned policy. Every path returns an
:class:`~sfn_iam.fixing.outcome.Outcome`; AWS errors other than "not found" and IAM's ``LimitExceeded`` propagate so the
platform retries.

Call budget of a create on a role without our policy: DescribeStateMachine, GetRole, ListRolePolicies,
PutRolePolicy, GetRolePolicy (read-back) = 5. Inline space is not pre-computed (that would cost a GetRolePolicy
per other policy): IAM refuses an overflowing ``PutRolePolicy`` atomically with ``LimitExceeded`` and the
fixer then moves the policy to customer-managed policies (docs/adr/0001).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sfn_iam import engine
from sfn_iam.arns import ArnError, is_role_arn, parse_role_arn
from sfn_iam.engine import policy
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.findings import Finding
from sfn_iam.fixing import events, naming, scope
from sfn_iam.fixing.events import Action, Ignored, Trigger
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    DescribedStateMachine,
    Document,
    PolicyLimitExceededError,
    RolePolicyStore,
    StateMachineReader,
)
from sfn_iam.fixing.settings import Settings
from sfn_iam.model import Requirement, StateMachine

READ_BACK_ATTEMPTS = 3
Placed = tuple[Status, str, str, tuple[Document, ...]]  # status, placement, reason, documents placed


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


class _Run:
    """The changes and findings of one use case; applies writes only in enforce mode."""

    def __init__(self, fixer: RoleFixer) -> None:
        self.store = fixer.roles
        self.enforce = fixer.settings.enforce
        self.sleep = fixer.sleep
        self.changes: list[Change] = []
        self.findings: list[Finding] = []
        self.granted: tuple[Requirement, ...] = ()  # what the plan grants (the sweep's report explains wildcards)

    def _record(self, kind: ChangeKind, role: str, name: str) -> bool:
        self.changes.append(Change(kind, role, name, self.enforce))
        return self.enforce

    def _verify(self, read: Callable[[], Document | None], desired: Document, what: str) -> None:
        for attempt in range(READ_BACK_ATTEMPTS):
            if same(read(), desired):
                return
            self.sleep(0.5 * (attempt + 1))  # IAM is eventually consistent
        raise ReadBackMismatchError(f"{what} does not read back as written")

    def put_inline(self, role: str, name: str, doc: Document) -> None:
        # Record after the call: a refused write (LimitExceeded) is not a change.
        if self.enforce:
            self.store.put_inline(role, name, doc)
            self._verify(lambda: self.store.get_inline(role, name), doc, f"inline policy {name} on {role}")
        self.changes.append(Change(ChangeKind.PUT_INLINE, role, name, self.enforce))

    def delete_inline(self, role: str, name: str) -> None:
        if self._record(ChangeKind.DELETE_INLINE, role, name):
            self.store.delete_inline(role, name)

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


class RoleFixer:
    def __init__(self, machines: StateMachineReader, roles: RolePolicyStore, settings: Settings,
                 sleep: Callable[[float], None] = lambda _: None) -> None:
        self.machines = machines
        self.roles = roles
        self.settings = settings
        self.sleep = sleep

    # -- entry points -------------------------------------------------------------------------------------

    def handle_event(self, event: Any) -> Outcome:
        """One EventBridge event as delivered to the Lambda: parse it, then act or say why not."""
        parsed = events.parse(event, self.settings.account)
        if isinstance(parsed, Ignored):
            detail = event.get("detail") if isinstance(event, Mapping) else None
            name = detail.get("eventName") if isinstance(detail, Mapping) else None
            return Outcome(Status.IGNORED, mode=str(self.settings.mode), event_id=parsed.event_id,
                           action=name if isinstance(name, str) else "", reason=parsed.reason,
                           message=parsed.message)
        return self.handle(parsed)

    def handle(self, trigger: Trigger) -> Outcome:
        if trigger.action is Action.DELETE:
            return self.remove(trigger.state_machine_arn, event_id=trigger.event_id, action=str(trigger.action))
        return self.fix(trigger.state_machine_arn, event_id=trigger.event_id, action=str(trigger.action),
                        fresh=trigger.action is Action.CREATE, relocate=trigger.role_in_request is not None)

    def fix(self, arn: str, *, event_id: str = "", action: str = "fix", fresh: bool = False,
            relocate: bool = False) -> Outcome:
        """Make the machine's role carry exactly the machine's policy.

        ``fresh`` (a create): on a role without inline policies, do not look for managed overflow policies of this
        machine (a brand-new machine cannot have any). ``relocate``: the role may have changed, so remove this
        machine's policies from the other roles that carry them.
        """
        base = naming.policy_name(self.settings.policy_prefix, arn)
        out = {"event_id": event_id, "action": action, "state_machine_arn": arn, "policy_name": base}
        described = self._describe(arn, attempts=self.settings.describe_attempts)
        if described is None or described.status != "ACTIVE":
            run = _Run(self)
            run.findings.append(Finding.of("STATE_MACHINE_GONE", f"{arn} no longer exists (or is being deleted)"))
            return self._outcome(Status.GONE, run, out, reason="STATE_MACHINE_GONE")
        sm = described.machine
        out["role_arn"] = sm.role_arn
        run = _Run(self)
        status, placement, reason, docs = self._fix_role(run, sm, base, fresh)
        if relocate:
            role_name = _role_name(sm.role_arn) if is_role_arn(sm.role_arn) else None
            keep = {naming.overflow_name(base, i) for i in range(1, len(docs) + 1)} if placement == "managed" else set()
            self._remove_from_holders(run, base, skip_role=role_name, keep_managed=keep)
            if status is Status.UNCHANGED and run.changes:
                status = Status.REMOVED
        if status in (Status.WRITTEN, Status.REMOVED) and not self.settings.enforce:
            status = Status.PROPOSED
        return self._outcome(status, run, out, docs, placement=placement, reason=reason)

    def remove(self, arn: str, *, event_id: str = "", action: str = "remove") -> Outcome:
        """Remove a deleted machine's policies from every role in scope that carries them."""
        described = self._describe(arn, attempts=1)
        if described is not None and described.status == "ACTIVE":
            # Deleted and created again before this event arrived: the new machine's policy must stay.
            return self.fix(arn, event_id=event_id, action=action, relocate=True)
        base = naming.policy_name(self.settings.policy_prefix, arn)
        return self.remove_policy(base, state_machine_arn=arn, event_id=event_id, action=action)

    def remove_policy(self, base: str, *, state_machine_arn: str = "", event_id: str = "",
                      action: str = "remove") -> Outcome:
        """Remove the policies named ``base`` (inline) and ``base.N`` (managed) from every role in scope.

        The sweep calls this for an orphaned policy, whose machine is gone and whose ARN a hashed name does not
        reveal; :meth:`remove` calls it once it knows the machine is gone.
        """
        run = _Run(self)
        roles = self._remove_from_holders(run, base, skip_role=None, keep_managed=set())
        status = Status.REMOVED if run.changes else Status.UNCHANGED
        if run.changes and not self.settings.enforce:
            status = Status.PROPOSED
        out = {"event_id": event_id, "action": action, "state_machine_arn": state_machine_arn, "policy_name": base,
               "role_arn": roles[0] if len(roles) == 1 else ""}
        return self._outcome(status, run, out, message="" if run.changes else "no policy of this machine found")

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

    def _fix_role(self, run: _Run, sm: StateMachine, base: str, fresh: bool) -> Placed:
        problem = scope.arn_problem(sm.role_arn, self.settings)
        if problem:
            run.findings.append(Finding.of("ROLE_OUT_OF_SCOPE", problem))
            return Status.SKIPPED, "", "ROLE_OUT_OF_SCOPE", ()
        role_name = _role_name(sm.role_arn)
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

    def _place_inline(self, run: _Run, role: str, base: str, inline: list[str], doc: Document) -> Status | None:
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

    def _place_managed(self, run: _Run, sm: StateMachine, role: str, base: str, inline: list[str],
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

    def _drop_managed(self, run: _Run, role: str, base: str, attached: Iterable[AttachedPolicy],
                      keep: set[str]) -> None:
        for a in attached:
            if naming.is_overflow_of(base, a.name) and a.name not in keep:
                run.detach(role, a.name)
                run.delete_managed(a.name)

    def _clear(self, run: _Run, role: str, base: str, inline: list[str]) -> None:
        """The machine needs nothing (or nothing grantable): remove what we placed before."""
        if base in inline:
            run.delete_inline(role, base)
        self._drop_managed(run, role, base, self.roles.list_attached(role) or [], keep=set())

    def _remove_from_holders(self, run: _Run, base: str, skip_role: str | None,
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

    def _outcome(self, status: Status, run: _Run, fields: dict[str, str], documents: tuple[Document, ...] = (),
                 **extra: str) -> Outcome:
        findings = tuple(sorted(set(run.findings), key=lambda f: (-f.severity, f.code, f.path, f.message)))
        return Outcome(status=status, mode=str(self.settings.mode), changes=tuple(run.changes), findings=findings,
                       documents=documents, granted=run.granted if documents else (), **fields, **extra)


def _role_name(role_arn: str) -> str:
    return parse_role_arn(role_arn).name
