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

from collections.abc import Callable, Mapping
from typing import Any

from sfn_iam.arns import is_role_arn
from sfn_iam.findings import Finding
from sfn_iam.fixing import events, naming
from sfn_iam.fixing.changes import ChangeSet
from sfn_iam.fixing.events import Action, Ignored, Trigger
from sfn_iam.fixing.outcome import Outcome, Status
from sfn_iam.fixing.placement import Placement, role_name_of
from sfn_iam.fixing.ports import (
    DescribedStateMachine,
    Document,
    RolePolicyStore,
    StateMachineReader,
)
from sfn_iam.fixing.settings import Settings


class RoleFixer:
    def __init__(self, machines: StateMachineReader, roles: RolePolicyStore, settings: Settings,
                 sleep: Callable[[float], None] = lambda _: None) -> None:
        self.machines = machines
        self.roles = roles
        self.settings = settings
        self.sleep = sleep
        self.placement = Placement(roles, settings)

    def _changes(self) -> ChangeSet:
        return ChangeSet(self.roles, self.settings.enforce, self.sleep)

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
            run = self._changes()
            run.findings.append(Finding.of("STATE_MACHINE_GONE", f"{arn} no longer exists (or is being deleted)"))
            return self._outcome(Status.GONE, run, out, reason="STATE_MACHINE_GONE")
        sm = described.machine
        out["role_arn"] = sm.role_arn
        run = self._changes()
        status, placement, reason, docs = self.placement.place(run, sm, base, fresh)
        if relocate:
            role_name = role_name_of(sm.role_arn) if is_role_arn(sm.role_arn) else None
            keep = {naming.overflow_name(base, i) for i in range(1, len(docs) + 1)} if placement == "managed" else set()
            self.placement.remove_from_holders(run, base, skip_role=role_name, keep_managed=keep)
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
        run = self._changes()
        roles = self.placement.remove_from_holders(run, base, skip_role=None, keep_managed=set())
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

    def _outcome(self, status: Status, run: ChangeSet, fields: dict[str, str], documents: tuple[Document, ...] = (),
                 **extra: str) -> Outcome:
        findings = tuple(sorted(set(run.findings), key=lambda f: (-f.severity, f.code, f.path, f.message)))
        return Outcome(status=status, mode=str(self.settings.mode), changes=tuple(run.changes), findings=findings,
                       documents=documents, granted=run.granted if documents else (), **fields, **extra)
