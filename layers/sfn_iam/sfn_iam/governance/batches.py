"""The sweep as a Distributed Map (statemachines/sweep.asl.json): what one batch returns to Step Functions, and the
sweep's result rebuilt from the Map Run's result files for the summary step. Pure core: standard library only.

A batch (``Sweeper.run_batch``) returns its outcomes as the published event detail (``Outcome.to_event``: bounded
per machine), its errors and the policy names whose outcome is what the previous sweep reported. Step Functions
limits a state's output to 256 KiB (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html,
"Maximum input or output size for a task, state, or execution"), so a batch that would pass
:data:`BATCH_OUTPUT_BYTES` drops its policy documents first, then findings past :data:`KEPT_FINDINGS` per machine;
``truncated`` says so, and :func:`merge` keeps the residual removal away from roles whose documents were dropped.

The ResultWriter's files (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html) list
each child execution with its ``Status``, its ``Input`` (the batch: ``{"Items": [...]}``) and its ``Output`` (what the
batch returned), or ``Error`` and ``Cause`` when it failed after its retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing.outcome import Change, ChangeKind, Outcome, Status
from sfn_iam.governance.sweep import SweepError, SweepResult

BATCH_VERSION = "1"
BATCH_OUTPUT_BYTES = 240_000  # under Step Functions' 256 KiB per state output, with room for the Lambda envelope
KEPT_FINDINGS = 5  # per machine, when the batch is still too large without documents
NOT_REACHED = "NotReached: no batch of the sweep returned this state machine"


_UNKNOWN = "\U0010ffff"  # sorts after every role name: machines the ledger does not know come last


def by_role(arns: Iterable[str], roles_of: Callable[[str], Iterable[str]]) -> list[str]:
    """The listing ordered so that machines sharing a role are neighbours, hence in the same batch, which then reads
    the role once (the sweep's role cache lives for one batch): by the first role the ledger names for each machine,
    then by ARN; machines without a ledger entry (never swept yet) come last, by ARN."""
    keyed = [(min(roles_of(a), default=_UNKNOWN), a) for a in arns]
    return [a for _, a in sorted(keyed)]


def batch_output(result: SweepResult) -> dict[str, Any]:
    """What the per-batch Lambda returns (the child execution's output): JSON, at most :data:`BATCH_OUTPUT_BYTES`."""
    entries = [o.to_event() for o in result.outcomes]
    out: dict[str, Any] = {"version": BATCH_VERSION, "outcomes": entries,
                           "errors": [{"target": e.target, "error": e.error} for e in result.errors],
                           "repeated": sorted(result.repeated), "digests": dict(sorted(result.digests.items()))}
    if _size(out) <= BATCH_OUTPUT_BYTES:
        return out
    for e in entries:
        if e["documents"]:
            e["truncated"]["documents"] = len(e["documents"])
            e["documents"] = []
    for e in entries if _size(out) > BATCH_OUTPUT_BYTES else []:
        e["truncated"]["findings"] += max(0, len(e["findings"]) - KEPT_FINDINGS)
        e["findings"] = e["findings"][:KEPT_FINDINGS]
    return out


def _size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":")).encode())


def outcome_of(detail: Mapping[str, Any]) -> Outcome:
    """An :class:`Outcome` back from its event detail (``Outcome.to_event``): what the report, the events, the
    summary and Security Hub read. The planned requirements (``granted``) are not carried: the report's wildcard
    reasons fall back to the documents."""
    return Outcome(
        Status(detail["status"]), str(detail["mode"]), str(detail.get("eventId", "")), str(detail.get("action", "")),
        str(detail.get("stateMachineArn", "")), str(detail.get("roleArn", "")), str(detail.get("policyName", "")),
        str(detail.get("placement", "")), str(detail.get("reason", "")), str(detail.get("message", "")),
        changes=tuple(Change(ChangeKind(c["kind"]), str(c["role"]), str(c["policy"]), bool(c["applied"]))
                      for c in detail.get("changes", [])),
        findings=tuple(Finding(str(f["code"]), Severity[f["severity"]], str(f["message"]), str(f.get("path", "")))
                       for f in detail.get("findings", [])),
        documents=tuple(detail.get("documents", [])),
        residual=tuple(detail.get("residualAccess", [])))


class Merged(NamedTuple):
    """The batches' results over the whole listing."""

    result: SweepResult
    truncated_roles: frozenset[str]  # roles with a machine whose documents a batch had to drop

    @property
    def complete(self) -> bool:
        """Every listed machine was handled (the condition of the residual removal, as in ``Sweeper.run``)."""
        return not self.result.errors


def merge(mode: str, account: str, region: str, listing: Iterable[str], entries: Iterable[Mapping[str, Any]]
          ) -> Merged:
    """The sweep's result from the Map Run's result entries: outcomes in ARN order (the listing is ordered by role);
    a failed batch's machines (its input) are errors with the batch's error and cause; a listed machine no batch
    returned is an error too."""
    by_arn: dict[str, Outcome] = {}
    errors: dict[str, SweepError] = {}
    repeated: set[str] = set()
    digests: dict[str, str] = {}
    truncated: set[str] = set()
    for entry in entries:
        items = _items(entry.get("Input"))
        if entry.get("Status") != "SUCCEEDED":
            why = f"{entry.get('Error') or entry.get('Status') or 'FAILED'}: {str(entry.get('Cause') or '')[:300]}"
            errors.update((arn, SweepError(arn, f"batch failed after its retries: {why}")) for arn in items)
            continue
        output = _json(entry.get("Output"))
        if not isinstance(output, Mapping) or output.get("version") != BATCH_VERSION:
            errors.update((arn, SweepError(arn, "batch returned no sweep result")) for arn in items)
            continue
        for detail in output.get("outcomes", []):
            outcome = outcome_of(detail)
            by_arn[outcome.state_machine_arn] = outcome
            if detail.get("truncated", {}).get("documents") and outcome.role_arn:
                truncated.add(outcome.role_arn)
        errors.update((str(e["target"]), SweepError(str(e["target"]), str(e["error"])))
                      for e in output.get("errors", []))
        repeated.update(str(n) for n in output.get("repeated", []))
        digests.update((str(k), str(v)) for k, v in (output.get("digests") or {}).items())
    arns = sorted(set(listing))
    outcomes = tuple(by_arn[a] for a in arns if a in by_arn)
    missing = [SweepError(a, NOT_REACHED) for a in arns if a not in by_arn and a not in errors]
    roles = {o.role_arn for o in outcomes if o.role_arn}
    result = SweepResult(mode, account, region, outcomes, (), (*errors.values(), *missing), len(roles),
                         frozenset(repeated), digests=digests)
    return Merged(result, frozenset(truncated))


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _items(text: Any) -> list[str]:
    data = _json(text)
    items = data.get("Items") if isinstance(data, Mapping) else None
    return [str(i) for i in items] if isinstance(items, list) else []


def result_files(manifest: Mapping[str, Any]) -> list[str]:
    """The keys of a Map Run's result files (every status), from its ``manifest.json``."""
    files = manifest.get("ResultFiles")
    if not isinstance(files, Mapping):
        return []
    return [str(f["Key"]) for status in sorted(files) for f in files[status] or [] if isinstance(f, Mapping)]
