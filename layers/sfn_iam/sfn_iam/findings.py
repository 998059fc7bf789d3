"""Findings: what the core reports instead of logging. Pure core: standard library only."""

from __future__ import annotations

import enum
from typing import NamedTuple


class Severity(enum.IntEnum):
    """Ordered severities; ``--fail-on`` compares with ``>=``."""

    INFO = 10
    LOW = 20
    MEDIUM = 30
    HIGH = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None


# Every finding code the core can emit, with its default severity. Documented in docs/findings.md.
CODES: dict[str, Severity] = {
    "DYNAMIC_RESOURCE": Severity.MEDIUM,  # a resource known only at run time: narrowest pattern granted
    "UNKNOWN_INTEGRATION": Severity.HIGH,  # a Task Resource we cannot map: nothing granted
    "UNKNOWN_ACTION": Severity.HIGH,  # an IAM action the reference does not know: nothing granted
    "MISSING_PARAMETER": Severity.MEDIUM,  # a required parameter is absent: nothing granted for it
    "INVALID_VALUE": Severity.MEDIUM,  # a parameter is not of a usable shape (e.g. unparseable queue URL)
    "CROSS_ACCOUNT_CREDENTIALS": Severity.INFO,  # a Task assumes another role; its permissions belong there
    "CROSS_ACCOUNT_RESOURCE": Severity.LOW,  # the definition names a resource in another account/region
    "OUT_OF_BAND_PERMISSION": Severity.LOW,  # something the role may need that the definition cannot show
    "POLICY_SPLIT": Severity.MEDIUM,  # the policy needs more than one document
    "POLICY_TOO_LARGE": Severity.HIGH,  # the policy cannot fit the role's budget: refused
    "BLOCKED_ACTION": Severity.HIGH,  # a deny-listed action was requested: not granted
    "OUTSIDE_CEILING": Severity.HIGH,  # the ceiling does not allow the grant: not granted; the finding says how to
    # approve it (the statement to add to the ceiling), and the outcome's documents carry the proposal
    "WILDCARD_READ": Severity.HIGH,  # a secret read (Read/List in the IAM reference) on such a wildcard: refused
    "WILDCARD_WRITE": Severity.HIGH,  # a sensitive write or a secret read on a container-covering wildcard: refused
    "NO_PERMISSIONS": Severity.INFO,  # the state machine needs no permissions at all
    "DEFINITION_ERROR": Severity.HIGH,  # the definition is structurally broken in places
    "ROLE_OUT_OF_SCOPE": Severity.MEDIUM,  # the role fails a scope check: nothing written
    "STATE_MACHINE_GONE": Severity.INFO,  # the state machine disappeared before we could read it
    "ROLE_GONE": Severity.INFO,  # the role disappeared before we could write
    "PASSROLE_UNSCOPED": Severity.MEDIUM,  # a role is passed but not named literally: PassRole not granted
    "ROLE_NOT_PASSABLE": Severity.HIGH,  # a literal role that does not fit inside the ceiling (or missing): refused
    "UNVERIFIED_ROLE": Severity.LOW,  # a literal role is passed or assumed; offline, nobody could check it
    "DRIFT": Severity.MEDIUM,  # sweep: an owned policy differs from what its machine needs (hand edit, missed event)
    # Added for the role fixer (service.py):
    "POLICY_OVERFLOW": Severity.LOW,  # the role's inline budget is full: placed in customer-managed policies
    # Added for the CLI (cli/):
    "UNRESOLVED_REFERENCE": Severity.MEDIUM,  # a template reference/placeholder unknown offline: '*' in its place
    "ASSUMED_CONTEXT": Severity.LOW,  # no --region/--account: ARNs use placeholders
    "MISSING_GRANT": Severity.HIGH,  # check: the declared role policy lacks a grant the workflow needs
    "EXCESS_GRANT": Severity.MEDIUM,  # check: a declared grant beyond the workflow's needs (high: wildcard/sensitive)
    "UNVERIFIED_GRANT": Severity.MEDIUM,  # check: a request the declared policy may or may not allow (unknown offline)
    "NOTHING_TO_COMPARE": Severity.INFO,  # check: the template declares no policy for the role: nothing was compared
    # -- convergence (docs/adr/0006) --
    "STALE_GRANTS_REMOVED": Severity.HIGH,  # the current policy cannot be placed: the earlier one was removed
    "POLICY_NAME_TAKEN": Severity.HIGH,  # the ledger records the policy name for another machine: nothing written
    "POLICY_OWNER_UNKNOWN": Severity.MEDIUM,  # a policy under our name nobody can prove this machine wrote: left
    "STILL_NEEDED_KEPT": Severity.MEDIUM,  # fits nowhere: the held statements still needed stay, the rest is refused
    "RETIRING_NARROWED": Severity.INFO,  # a retiring policy dropped the grants of definitions no execution runs
    "ROLE_REPLACED": Severity.HIGH,  # the role was deleted and re-created under its name: not written (RoleId)
    "VERSION_ROLE_DIFFERS": Severity.MEDIUM,  # an alias routes to a version under a role out of scope: not granted
    "VERSION_NOT_PLACED": Severity.HIGH,  # a routed version's policy does not fit its role: its executions lack it
    "CONCURRENT_CHANGE": Severity.INFO,  # the machine changed while being written: converged on what it is now
    "MISSED_CHANGE": Severity.MEDIUM,  # sweep: the definition changed since the last write and no event said so
    # -- facts from the account --
    "FACT_UNRESOLVED": Severity.MEDIUM,  # the account did not answer (AccessDenied, not found): planned without it
    # -- the ceiling as the permissions boundary (fixing/boundary.py) --
    "BOUNDARY_SET": Severity.INFO,  # the fixer set the ceiling as the role's permissions boundary before writing
    "FOREIGN_BOUNDARY": Severity.MEDIUM,  # the role has another permissions boundary: nothing written (proposal kept)
    "BOUNDARY_CUTS": Severity.HIGH,  # the role's other policies grant beyond the ceiling: the boundary takes it away
    # -- residual access and adoption (fixing/residual.py) --
    "RESIDUAL_ACCESS": Severity.HIGH,  # another policy on the role grants beyond its machines' needs (critical: admin)
    "RESIDUAL_REMOVED": Severity.MEDIUM,  # sweep (opt-in): such a policy was removed; the outcome keeps its document
    "RESIDUAL_KEPT": Severity.MEDIUM,  # sweep (opt-in): not removed, something outside the sweep's view may use it
    "ORPHANED_GRANT": Severity.HIGH,  # a policy we wrote stays on a role we may no longer write (left scope)
    # -- retiring policies (fixing/retiring.py, docs/adr/0007) --
    "RETIRING_KEPT": Severity.INFO,  # grants taken away stay in <base>,retiring while older executions run
    "RETIRING_REMOVED": Severity.INFO,  # no execution older than the retiring policy runs any more: removed
    "EXECUTIONS_UNLISTED": Severity.MEDIUM,  # ListExecutions failed or hit its page bound: the retiring policy stays
    "RETIRING_NOT_PLACED": Severity.HIGH,  # the previous grants could not be kept: older executions lose them
}


class Finding(NamedTuple):
    """One thing worth knowing about a state machine's permissions.

    ``path`` is the state path (``States.A.Branches[0].States.B``) or a configuration path
    (``loggingConfiguration``); empty when the finding concerns the whole machine.
    """

    code: str
    severity: Severity
    message: str
    path: str = ""

    @classmethod
    def of(cls, code: str, message: str, path: str = "", severity: Severity | None = None) -> Finding:
        if code not in CODES:
            raise KeyError(f"undocumented finding code {code}")
        return cls(code, severity if severity is not None else CODES[code], message, path)

    def line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.severity.name} {self.code}{where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity.name, "message": self.message, "path": self.path}
