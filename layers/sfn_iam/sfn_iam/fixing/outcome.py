"""What one run of the service did, as data: logged, counted, published and returned. Standard library only.

The published event (``source: sfn-iam``) carries :meth:`Outcome.to_dict` as its detail, with
:attr:`Outcome.detail_type` as its detail-type; docs/events.md documents the schema.
"""

from __future__ import annotations

import enum
import json
from typing import Any, NamedTuple

from sfn_iam.findings import Finding
from sfn_iam.model import Requirement

SOURCE = "sfn-iam"
SCHEMA_VERSION = "1"
# PutEvents takes entries of at most 256 KB (detail, detail-type, source and resources together): the published
# detail keeps the first findings and changes within these bounds and counts the rest; the log line keeps all.
PUBLISHED_FINDINGS = 50
PUBLISHED_CHANGES = 50
MAX_TEXT = 1024  # any one string in the published detail
PUBLISHED_DOCUMENT_BYTES = 96 * 1024  # documents, and residual entries, each: whole or left to the log line


class Status(enum.StrEnum):
    WRITTEN = "written"  # a policy was created or changed (possibly also removed elsewhere)
    UNCHANGED = "unchanged"  # everything was already as it should be: no write
    REMOVED = "removed"  # only removals: delete event, a machine that needs nothing, a moved role
    PROPOSED = "proposed"  # report mode: the changes that enforce mode would have made
    SKIPPED = "skipped"  # out of scope or refused (findings say why): nothing touched
    GONE = "gone"  # the state machine or role disappeared meanwhile: nothing to do
    IGNORED = "ignored"  # not an event we act on (failed call, unrelated, malformed, foreign account)


DETAIL_TYPES: dict[Status, str] = {
    Status.WRITTEN: "Policy Written",
    Status.UNCHANGED: "Policy Unchanged",
    Status.REMOVED: "Policy Removed",
    Status.PROPOSED: "Policy Change Proposed",
    Status.SKIPPED: "State Machine Skipped",
    Status.GONE: "State Machine Gone",
    Status.IGNORED: "Event Ignored",
}


# CloudWatch metric per status (Powertools Metrics, unit Count); findings are counted as Findings<Severity>.
METRIC_NAMES: dict[Status, str] = {
    Status.WRITTEN: "PoliciesWritten",
    Status.UNCHANGED: "PoliciesUnchanged",
    Status.REMOVED: "PoliciesRemoved",
    Status.PROPOSED: "ChangesProposed",
    Status.SKIPPED: "StateMachinesSkipped",
    Status.GONE: "TargetsGone",
    Status.IGNORED: "EventsIgnored",
}


class ChangeKind(enum.StrEnum):
    PUT_INLINE = "put-inline"
    DELETE_INLINE = "delete-inline"
    PUT_MANAGED = "put-managed"
    ATTACH = "attach"
    DETACH = "detach"
    DELETE_MANAGED = "delete-managed"
    SET_BOUNDARY = "set-boundary"  # the ceiling became the role's permissions boundary (policy: the ceiling's ARN)

    @property
    def is_write(self) -> bool:
        return self in (ChangeKind.PUT_INLINE, ChangeKind.PUT_MANAGED, ChangeKind.ATTACH)


class Change(NamedTuple):
    kind: ChangeKind
    role: str  # role name; empty for a managed policy's own document
    policy: str
    applied: bool  # False in report mode

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "role": self.role, "policy": self.policy, "applied": self.applied}


class Outcome(NamedTuple):
    status: Status
    mode: str
    event_id: str = ""
    action: str = ""  # CloudTrail eventName, or what the caller did ("sweep")
    state_machine_arn: str = ""
    role_arn: str = ""
    policy_name: str = ""
    placement: str = ""  # inline | managed | "" (nothing placed)
    reason: str = ""  # stable code for skipped/gone/ignored
    message: str = ""
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    documents: tuple[dict[str, Any], ...] = ()  # not compared (below)
    granted: tuple[Requirement, ...] = ()  # what the documents grant, with state paths; not compared
    # -- residual access (fixing/residual.py): other policies of the role granting beyond its machines' needs --
    residual: tuple[dict[str, Any], ...] = ()  # not compared

    # Equal and hashed by what happened (the fields before `documents`), not by the documents, grants and residual
    # entries that came with it. A NamedTuple (creating a dataclass cost the cold start ~1 ms: docs/performance.md).
    def __eq__(self, other: object) -> bool:
        return self[:_COMPARED] == other[:_COMPARED] if isinstance(other, Outcome) else NotImplemented

    def __ne__(self, other: object) -> bool:
        return self[:_COMPARED] != other[:_COMPARED] if isinstance(other, Outcome) else NotImplemented

    def __hash__(self) -> int:
        return hash(self[:_COMPARED])

    @property
    def detail_type(self) -> str:
        return DETAIL_TYPES[self.status]

    @property
    def writes(self) -> int:
        return sum(1 for c in self.changes if c.applied)

    @property
    def metric_name(self) -> str:
        return METRIC_NAMES[self.status]

    def finding_counts(self) -> dict[str, int]:
        """``{"FindingsHigh": 2, ...}`` for the severities present."""
        counts: dict[str, int] = {}
        for f in self.findings:
            key = f"Findings{f.severity.name.title()}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    @property
    def max_severity(self) -> str:
        """The highest severity among the findings (``NONE`` without any): one EventBridge rule on
        ``maxSeverity`` alerts on HIGH and above."""
        return max(self.findings, key=lambda f: f.severity).severity.name if self.findings else "NONE"

    def resources(self) -> list[str]:
        return [r for r in (self.state_machine_arn, self.role_arn) if r]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "status": str(self.status),
            "mode": self.mode,
            "eventId": self.event_id,
            "action": self.action,
            "stateMachineArn": self.state_machine_arn,
            "roleArn": self.role_arn,
            "policyName": self.policy_name,
            "placement": self.placement,
            "reason": self.reason,
            "message": self.message,
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            # -- adoption, residual access, signal --
            "maxSeverity": self.max_severity,
            "documents": list(self.documents),  # the policy planned; on a skipped role, what it would need
            "residualAccess": list(self.residual),
        }

    def to_event(self) -> dict[str, Any]:
        """The published detail: :meth:`to_dict` bounded whatever the input (a definition with thousands of
        findings, a hostile event). ``findingCounts`` (by code and by severity) and ``truncated`` say what was left
        out; ``findings`` and ``changes`` keep the first ones (most severe first)."""
        full = self.to_dict()
        out = {k: _clip(v) for k, v in full.items() if k not in ("changes", "findings")}
        out["changes"] = [{k: _clip(v) for k, v in c.items()} for c in full["changes"][:PUBLISHED_CHANGES]]
        out["findings"] = [{k: _clip(v) for k, v in f.items()} for f in full["findings"][:PUBLISHED_FINDINGS]]
        by_code: dict[str, int] = {}
        for f in self.findings:
            by_code[f.code] = by_code.get(f.code, 0) + 1
        out["findingCounts"] = {"byCode": dict(sorted(by_code.items())),
                                "bySeverity": {k.removeprefix("Findings").upper(): v
                                               for k, v in sorted(self.finding_counts().items())}}
        out["truncated"] = {"findings": max(0, len(self.findings) - PUBLISHED_FINDINGS),
                            "changes": max(0, len(self.changes) - PUBLISHED_CHANGES)}
        # Documents (at most 10 KB inline, or the managed quota's worth) and residual entries stay whole: a
        # policy cut in half restores nothing. Past the budget they are left to the log line, and said so.
        for key in ("documents", "residualAccess"):
            if len(json.dumps(out[key])) > PUBLISHED_DOCUMENT_BYTES:
                out[key] = []
                out["truncated"][key] = len(full[key])
        return out


# Outcome's fields up to the first one left out of its equality
_COMPARED = Outcome._fields.index("documents")


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT - 3] + "..."
    return value
