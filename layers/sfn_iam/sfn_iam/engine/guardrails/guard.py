"""The guardrails applied to every requirement, in this order (the first that refuses wins). Pure core.

1. **Roles** (``roles.py``): a literal role the deployment read and found unfit to pass or assume
   (``ROLE_NOT_PASSABLE``).
2. **Shape** (``shape.py``): an action must be a literal ``service:Name`` (``BLOCKED_ACTION``).
3. **The ceiling** (``ceiling.py``): what the account's security team allows. A grant it does not cover is refused
   (``OUTSIDE_CEILING``, with the statement that would approve it).
4. **The documented exceptions** (``shape.py``): ``iam:PassRole`` only to literal roles and named services,
   ``sts:AssumeRole`` only on a literal ``Credentials`` role, ``states:InvokeHTTPEndpoint`` only to a literal
   endpoint, and the like, whatever the ceiling says.
5. **The second line** (``lists.py``, ``shape.py``'s wildcard rule): the deny-list, Permissions management, secret
   reads and sensitive writes on wildcards, sensitive actions on another account's resources. They refuse what a
   wildcard of the ceiling lets through; an action that a ceiling of the deployment's own (not the default) names
   literally is the administrator's explicit approval, which they do not refuse again.

Then a run stop on a pattern only next to its start, a role passed for a refused call refused with it, and, when no
deployment verified the roles (the offline CLI), ``UNVERIFIED_ROLE`` for each role passed or assumed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any, Final, NamedTuple

from sfn_iam.engine.guardrails import ceiling as ceilings
from sfn_iam.engine.guardrails.ceiling import _verdict
from sfn_iam.engine.guardrails.lists import (
    DEFAULT_DENY,
    PERMISSIONS_MANAGEMENT,
    SENSITIVITY,
    DenyEntry,
    Sensitivity,
    _pm_exceptions,
    access_level,
)
from sfn_iam.engine.guardrails.roles import _ROLE_ACTIONS
from sfn_iam.engine.guardrails.shape import (
    _ACTION_RE,
    _exception,
    _literal,
    _wild,
    created_tags,
    generated_names,
    wildcard_problem,
)
from sfn_iam.findings import Finding
from sfn_iam.model import Condition, Requirement

_MAX_SHOWN = 200  # characters of a resource quoted in a finding


class GuardPolicy:
    """The guardrail settings: the ceiling, the second line's deny-list, and what the deployment learnt of roles.

    ``verified_roles``: a deployment read the literal roles a plan passes or assumes (``refused_roles`` are those it
    found unfit: admin-equivalent, beyond the ceiling, missing, unreadable). ``False`` (the offline CLI): each such
    role is granted with an ``UNVERIFIED_ROLE`` finding.

    Read-only once made (a warm Lambda shares the deployment's policy between events); equal and hashed by its
    settings, not by what :meth:`denied` remembered.
    """

    __slots__ = ("_denied", "_refusals", "ceiling", "deny", "refused_roles", "sensitivity", "verified_roles")
    ceiling: ceilings.Ceiling | None  # None: the reviewed default, for the state machine's own account
    deny: tuple[DenyEntry, ...]
    sensitivity: Sensitivity
    verified_roles: bool
    refused_roles: tuple[tuple[str, str], ...]
    # denied(action) and refusal(action) remembered: a plan asks them once per distinct grant, and the answers
    # depend on the action only
    _denied: dict[str, DenyEntry | None]
    _refusals: dict[str, tuple[str, str] | None]

    def __init__(self, ceiling: ceilings.Ceiling | None = None, deny: tuple[DenyEntry, ...] = DEFAULT_DENY,
                 sensitivity: Sensitivity = SENSITIVITY, verified_roles: bool = False,
                 refused_roles: tuple[tuple[str, str], ...] = ()) -> None:
        init = object.__setattr__
        init(self, "ceiling", ceiling)
        init(self, "deny", deny)
        init(self, "sensitivity", sensitivity)
        init(self, "verified_roles", verified_roles)
        init(self, "refused_roles", refused_roles)
        init(self, "_denied", {})
        init(self, "_refusals", {})

    def _key(self) -> tuple[object, ...]:
        return self.ceiling, self.deny, self.sensitivity, self.verified_roles, self.refused_roles

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, GuardPolicy) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"GuardPolicy(ceiling={self.ceiling!r}, deny={self.deny!r}, sensitivity={self.sensitivity!r}, "
                f"verified_roles={self.verified_roles!r}, refused_roles={self.refused_roles!r})")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _replace(self, **changes: Any) -> GuardPolicy:
        """A copy with the fields named changed (as a ``NamedTuple``'s), remembering nothing yet."""
        fields = {"ceiling": self.ceiling, "deny": self.deny, "sensitivity": self.sensitivity,
                  "verified_roles": self.verified_roles, "refused_roles": self.refused_roles}
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise ValueError(f"got unexpected field names: {sorted(unknown)!r}")
        return GuardPolicy(**{**fields, **changes})

    @classmethod
    def build(cls, extra_deny: Iterable[str] = (), allowed_services: Iterable[str] | None = None,
              passable_roles: Iterable[str] | None = None, *, base: ceilings.Ceiling | None = None) -> GuardPolicy:
        """The settings the ceiling replaced, translated into Deny statements of ``base`` (the default ceiling
        when absent; :func:`ceiling.restricted`). ``passable_roles`` given means a deployment chose the roles: they
        count as verified (no ``UNVERIFIED_ROLE``)."""
        restricted = ceilings.restricted(base or ceilings.default(), denied_actions=[a.strip() for a in extra_deny],
                                         allowed_services=[s.strip() for s in allowed_services or ()],
                                         passable_roles=[p.strip() for p in passable_roles or ()])
        return cls(restricted, verified_roles=passable_roles is not None)

    def refusing_roles(self, refused: Iterable[tuple[str, str]]) -> GuardPolicy:
        """This policy, also refusing ``refused`` (role ARN, reason) pairs."""
        return self._replace(refused_roles=tuple(sorted({*self.refused_roles, *refused})))

    def role_problem(self, role: str) -> str | None:
        """Why literal ``role`` may not be passed or assumed under this policy, or ``None``."""
        for refused, reason in self.refused_roles:
            if refused.lower() == role.lower():
                return reason
        return None

    def ceiling_for(self, account: str) -> ceilings.Ceiling:
        """The ceiling grants are checked against: this policy's, or the default for ``account``."""
        return self.ceiling if self.ceiling is not None else ceilings.default(account=account)

    def denied(self, action: str) -> DenyEntry | None:
        if action not in self._denied:
            self._denied[action] = next((entry for entry in self.deny if entry.applies(action)), None)
        return self._denied[action]

    def refusal(self, action: str) -> tuple[str, str] | None:
        """(finding code, why) when the second line's lists refuse ``action`` on any resource (the deny-list,
        Permissions management), else ``None``."""
        if action not in self._refusals:
            self._refusals[action] = self._listed(action)
        return self._refusals[action]

    def _listed(self, action: str) -> tuple[str, str] | None:
        entry = self.denied(action)
        if entry is not None:
            level = access_level(action) or "access level unknown to the IAM reference"
            return "BLOCKED_ACTION", f"{action} ({level}) is deny-listed: {entry.reason}{_HOW}"
        if access_level(action) == PERMISSIONS_MANAGEMENT and action.lower() not in _pm_exceptions():
            return "BLOCKED_ACTION", ("the IAM reference classifies it as Permissions management (it changes who may "
                                      f"access a resource); never granted automatically{_HOW}")
        return None


def _shown(resource: str) -> str:
    return resource if len(resource) <= _MAX_SHOWN else resource[:_MAX_SHOWN] + "..."


def _in_account(resource: str, account: str) -> bool:
    """An ARN pattern with a literal partition, service, Region and account (this account when one is given)."""
    parts = resource.split(":", 5)
    return (len(parts) == 6 and parts[0] == "arn" and not any(_wild(p) for p in parts[1:5])
            and (not account or parts[4] == account))


def _other_account(resource: str, account: str) -> bool:
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[4] not in ("", account, "aws")


_READ_LEVELS: Final = frozenset({"Read", "List"})
KEEP: Final = ("", "")  # a decision: granted
STOP: Final = ("stop", "")  # a decision: a run stop on a pattern, decided once the starts are known


class _Plan(NamedTuple):
    """What the wildcard rule reads of the whole plan: the generated names of resources the machine's template
    creates (``StateMachine.patterns``, :func:`shape.generated_names`) and :func:`shape.created_tags`."""

    patterns: frozenset[str] = frozenset()
    created: frozenset[tuple[str, str]] = frozenset()



@cache
def _literal_action(action: str) -> bool:
    """A literal ``SERVICE:Action`` name (``shape._ACTION_RE``), remembered per action as :meth:`GuardPolicy.denied`
    is: a plan asks it of every grant, and a regular expression costs more than the rest of most decisions."""
    return _ACTION_RE.match(action) is not None


def _decide(req: Requirement, guard: GuardPolicy, ceiling: ceilings.Ceiling, roles: frozenset[str], account: str,
            plan: _Plan) -> tuple[str, str]:
    """(finding code, why) for one requirement under ``ceiling`` (``guard.ceiling_for(account)``), :data:`KEEP` or
    :data:`STOP` (``why`` then says why it is a problem without its start). Depends on the path only for the
    documented exceptions that read it."""
    if not _literal_action(req.action):
        return "BLOCKED_ACTION", "only literal SERVICE:Action names are granted, never patterns"
    verdict = _verdict(ceiling, req.action, req.resource, req.conditions)  # ceiling.check(req), one call less
    if not verdict.inside:
        second = _second_line(req, guard, roles, account, plan, explicit=False)
        also = f" (the built-in lists refuse it too: {second[1]})" if second[0] not in ("", STOP[0]) else ""
        if verdict.denied:
            return "OUTSIDE_CEILING", f"{verdict.why}{also}; only narrowing that Deny statement would allow it"
        shown = ceilings.statement_for(Requirement(req.action, _shown(req.resource), req.conditions))
        approve = json.dumps(shown, separators=(",", ":"))
        return "OUTSIDE_CEILING", (f"{verdict.why}{also}; an administrator approves it by adding to the ceiling: "
                                   f"{approve}")
    return _second_line(req, guard, roles, account, plan, explicit=verdict.explicit)


def _second_line(req: Requirement, guard: GuardPolicy, roles: frozenset[str], account: str, plan: _Plan, *,
                 explicit: bool) -> tuple[str, str]:
    """The documented exceptions, then (unless the deployment's own ceiling names the action: ``explicit``) the
    lists."""
    exception = _exception(req, roles)
    if exception == "allow":  # the exceptions carry their own, stricter resource and condition checks
        return KEEP
    if exception is not None:
        return "BLOCKED_ACTION", exception
    if explicit:
        return KEEP  # the administrator named this action in the deployment's own ceiling
    refusal = guard.refusal(req.action)  # the deny-list, Permissions management: decided once per action
    if refusal is not None:
        return refusal
    # the wildcard rule has nothing to say of a literal resource (wildcard_problem's own first test, without a call)
    problem = wildcard_problem(req, guard.sensitivity, patterns=plan.patterns, created=plan.created) if (
        "*" in req.resource or "?" in req.resource) else None
    if problem is not None and guard.sensitivity.starts_of(req.action) and _in_account(req.resource, account):
        return STOP[0], problem
    if problem is not None:  # a secret read is refused as a read: the code says which kind of access was withheld
        return ("WILDCARD_READ" if access_level(req.action) in _READ_LEVELS else "WILDCARD_WRITE"), problem
    if account and req.action.lower() in guard.sensitivity.actions and _other_account(req.resource, account):
        return "BLOCKED_ACTION", ("a sensitive action on another account's resource (a destination outside this "
                                  f"account keeps receiving data){_HOW}")
    return KEEP


_HOW = ("; if this deployment needs it, name the action in a ceiling of its own (CeilingPolicyArn, or the CLI's "
        "--ceiling): an action the ceiling names literally is approved")


def apply(reqs: Iterable[Requirement], guard: GuardPolicy, *, credential_roles: Iterable[str] = (),
          account: str = "", patterns: Iterable[str] = ()) -> tuple[list[Requirement], list[Finding]]:
    """Split requirements into those that may be granted and findings for those refused.

    ``credential_roles`` are the role ARNs the definition names literally in Task ``Credentials`` fields
    (see :func:`credential_roles`); ``sts:AssumeRole`` on any other role is refused. ``account`` is the state
    machine's account: a sensitive action (``sensitive_actions``: subscriptions, exports, run-as) on a resource of
    another account is refused (persistent exfiltration to a destination the attacker owns).

    ``patterns`` are the generated names of resources the machine's own template creates (``StateMachine.patterns``):
    the wildcard rule takes each for the one resource it names (``iam:PassRole`` stays literal-only). A cluster or
    application action scoped by a tag the plan's own creating call sets is granted on the account's pattern
    (:func:`shape.created_tags`).

    Each distinct (action, resource, conditions) is decided once: a definition repeats its grants state after state.
    """
    reqs = list(reqs)
    plan = _Plan(generated_names(patterns), created_tags(reqs))
    roles = frozenset(credential_roles)
    ceiling = guard.ceiling_for(account)
    kept: list[Requirement] = []
    findings: dict[tuple[str, str, str], Finding] = {}
    decided: dict[tuple[str, str, tuple[Condition, ...], str], tuple[str, str]] = {}
    stops: list[tuple[Requirement, str]] = []  # run stops on a pattern, decided once the starts are known

    def refuse(req: Requirement, code: str, why: str) -> None:
        # One finding per code, action and state; a refused role, and each grant outside the ceiling, get one of
        # their own (a state passing two roles, EMR's service and instance roles say, reports each).
        own = code in ("ROLE_NOT_PASSABLE", "OUTSIDE_CEILING")
        key = (code, req.action.lower() + (" " + req.resource if own else ""), req.path)
        if key not in findings:
            findings[key] = Finding.of(code, f"{req.action} on {_shown(req.resource)} not granted: {why}", req.path)

    for req in reqs:
        lowered = req.action.lower()
        if lowered in _ROLE_ACTIONS and _literal(req.resource) and (why := guard.role_problem(req.resource)):
            refuse(req, "ROLE_NOT_PASSABLE", f"the role may not be {_ROLE_ACTIONS[lowered]}: {why}")
            continue
        key = (req.action, req.resource, req.conditions, req.path if lowered in _PATHED else "")
        decision = decided.get(key)
        if decision is None:
            decision = decided[key] = _decide(req, guard, ceiling, roles, account, plan)
        code, why = decision
        if not code:
            kept.append(req)
        elif code == STOP[0]:
            stops.append((req, why))
        else:
            refuse(req, code, why)
    # A run stop on a pattern (its run's id is generated) only next to the start of the same state, granted whole
    # (a start refused on one of its resources, say a run-time job queue, cannot start the run).
    if stops:
        refused = {(path, action) for _, action, path in findings}
        started = {(req.path, req.action.lower()) for req in kept} - refused
    for req, problem in stops:
        if any((req.path, start) in started for start in guard.sensitivity.starts_of(req.action)):
            kept.append(req)
        else:
            refuse(req, "WILDCARD_WRITE", f"{problem} (a run stop is granted on a pattern only next to the start of "
                                          "its run in the same state)")
    # A role passed for a call that was refused (lambda:CreateFunction, cloudformation:CreateStack, a call outside the
    # ceiling, ecs:RunTask on a pattern the wildcard rule refuses...) cannot work on its own and would only wait for
    # another way to use it: the pass is refused with the call, whatever refused the call (a refused role is the
    # pass's own refusal, not its call's: the state's other roles are decided on their own).
    blocked_paths = {path for code, _, path in findings if code != "ROLE_NOT_PASSABLE"}
    if blocked_paths:
        still: list[Requirement] = []
        for req in kept:
            if req.action.lower() == "iam:passrole" and req.path in blocked_paths:
                refuse(req, "BLOCKED_ACTION", "the call that would use this role is refused")
            else:
                still.append(req)
        kept = still
    if not guard.verified_roles:
        # Nobody read the roles (the offline CLI): grant, and say that nobody checked.
        for req in kept:
            verb = _ROLE_ACTIONS.get(req.action.lower())
            if verb is not None:
                findings[("UNVERIFIED_ROLE", req.resource, req.path)] = Finding.of(
                    "UNVERIFIED_ROLE", f"{req.resource} is {verb} ({req.action}) but could not be verified: check that "
                    "its permissions fit inside the ceiling (or that it carries the ceiling as its permissions "
                    "boundary) and that it is meant to be used by this workflow; the deployed fixer reads the role "
                    "and refuses it otherwise", req.path)
    return kept, sorted(findings.values(), key=lambda f: (f.path, f.message))


_PATHED: Final = frozenset({"logs:putresourcepolicy"})  # documented exceptions that read the requirement's path


def proposal(reqs: Iterable[Requirement], guard: GuardPolicy, account: str = "") -> dict[str, object] | None:
    """The ceiling statements that would approve the requirements of ``reqs`` the ceiling leaves out (``None`` when
    there are none): what an administrator reviews to extend the ceiling (the outcome's ``documents`` carry it)."""
    ceiling = guard.ceiling_for(account)
    # the verdict first: apply() has asked it of every grant already (remembered), and most are inside
    return ceilings.proposal(r for r in reqs if not _verdict(ceiling, r.action, r.resource, r.conditions).inside
                             and _literal_action(r.action))
