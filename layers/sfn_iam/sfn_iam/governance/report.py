"""The posture report of a sweep, as JSON and as a Markdown page, plus its one-paragraph summary (SNS) and its
findings in the AWS Security Finding Format (Security Hub). Pure core: standard library only; the caller passes
the time.

Per state machine: its role, what was granted, every finding, every wildcard and why, what changed; totals first.
docs/sweep.md describes the format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sfn_iam.engine import guardrails
from sfn_iam.findings import Finding, Severity
from sfn_iam.fixing.outcome import Outcome
from sfn_iam.fixing.ports import FindingsImporter, SummaryNotifier
from sfn_iam.governance import report_md
from sfn_iam.governance.outbox import Outbox
from sfn_iam.governance.sweep import SweepResult
from sfn_iam.model import Requirement

REPORT_VERSION = "1"
_UNSCOPED = frozenset(a.lower() for a in guardrails.SENSITIVITY.unscoped)


def wildcards(outcome: Outcome) -> list[dict[str, Any]]:
    """Every granted resource with a wildcard, with the reason: the findings at the state path that needs it."""
    out = []
    for req in outcome.granted:
        if "*" not in req.resource and "?" not in req.resource:
            continue
        reasons = [f"{f.code}: {f.message}" for f in outcome.findings if req.path and f.path == req.path]
        out.append({"action": req.action, "resource": req.resource, "path": req.path,
                    "why": reasons or [_default(req)]})
    return out


def _default(req: Requirement) -> str:
    if req.resource == "*":
        if req.action.lower() in _UNSCOPED:
            return "the action supports no resource-level permissions: IAM accepts only \"*\""
        return "the action takes no resource that the definition could name: IAM accepts only \"*\" for it"
    return ("the narrowest pattern the integration's scoping rules allow "
            "(docs/adr/0004-optimized-integrations-scoping.md)")


def machine_entry(outcome: Outcome) -> dict[str, Any]:
    return {
        "stateMachineArn": outcome.state_machine_arn,
        "roleArn": outcome.role_arn,
        "policyName": outcome.policy_name,
        "status": str(outcome.status),
        "reason": outcome.reason,
        "placement": outcome.placement,
        "granted": [s for d in outcome.documents for s in d.get("Statement", [])],
        "wildcards": wildcards(outcome),
        "findings": [f.to_dict() for f in outcome.findings],
        "changes": [c.to_dict() for c in outcome.changes],
    }


def to_json(result: SweepResult, generated_at: str) -> dict[str, Any]:
    return {
        "reportVersion": REPORT_VERSION,
        "generatedAt": generated_at,
        "account": result.account,
        "region": result.region,
        "mode": result.mode,
        "totals": result.totals(),
        "stateMachines": [machine_entry(o) for o in result.outcomes],
        "orphanedPolicies": [{"policyName": o.policy_name, "roleArn": o.role_arn, "status": str(o.status),
                              "changes": [c.to_dict() for c in o.changes],
                              "findings": [f.to_dict() for f in o.findings]} for o in result.orphans],
        "errors": [{"target": e.target, "error": e.error} for e in result.errors],
        "residualAccess": residual_roles(result),
        "residualRemovals": [o.to_dict() for o in result.residual_removals],
    }


def residual_roles(result: SweepResult) -> list[dict[str, Any]]:
    """Roles that can do more than their machines need: one entry per role, most severe first, with its machines
    and every residual policy (``sfn-iam restore`` reads the removed ones from ``residualRemovals``)."""
    roles: dict[str, dict[str, Any]] = {}
    for o in result.outcomes:
        for e in o.residual:
            role = roles.setdefault(o.role_arn, {"roleArn": o.role_arn, "stateMachines": set(), "policies": {}})
            role["stateMachines"].add(o.state_machine_arn)
            role["policies"][(e["kind"], e["policyName"], e["policyArn"])] = e
    out = []
    for arn, role in roles.items():
        policies = sorted(role["policies"].values(), key=lambda e: (-Severity[e["severity"]], e["policyName"]))
        out.append({"roleArn": arn, "severity": policies[0]["severity"], "stateMachines": sorted(role["stateMachines"]),
                    "policies": policies})
    return sorted(out, key=lambda r: (-Severity[r["severity"]], r["roleArn"]))


# -- Markdown ------------------------------------------------------------------------------------------------------

def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(result: SweepResult, generated_at: str) -> str:
    """Summary and pictures first, then totals, residual access, errors, orphans, every machine folded
    (governance/report_md.py)."""
    t = result.totals()
    residual = residual_roles(result)
    lines = [
        f"# sfn-iam posture report: account {result.account}, {result.region}",
        "",
        f"Generated {generated_at} in **{result.mode}** mode.",
        "",
        *report_md.summary(result, residual),
        *report_md.pictures(result),
        "## Totals",
        "",
        "| | |",
        "|---|---|",
        f"| state machines | {t['stateMachines']} |",
        f"| roles | {t['roles']} |",
        *(f"| {status} | {n} |" for status, n in t["byStatus"].items()),  # type: ignore[attr-defined]
        f"| writes | {t['writes']} |",
        f"| proposed changes | {t['proposedChanges']} |",
        f"| drift | {t['drift']} |",
        f"| orphaned policies removed / proposed | {t['orphansRemoved']} / {t['orphansProposed']} |",
        f"| roles with residual access (admin-equivalent) | {t['residualRoles']} ({t['residualAdminRoles']}) |",
        f"| residual policies removed | {t['residualPoliciesRemoved']} |",
        f"| errors | {t['errors']} |",
        *(f"| findings {sev.lower()} | {n} |" for sev, n in t["findingsBySeverity"].items()),  # type: ignore[attr-defined]
        "",
        *report_md.residual_section(residual, result.residual_removals),
    ]
    if result.errors:
        lines += ["## Errors", ""] + [f"- `{_cell(e.target)}`: {_cell(e.error)}" for e in result.errors] + [""]
    if result.orphans:
        lines += ["## Orphaned policies (their state machine no longer exists)", "",
                  "| policy | role | status |", "|---|---|---|"]
        lines += [f"| `{o.policy_name}` | {_cell(report_md.short(o.role_arn))} | {o.status} |" for o in result.orphans]
        lines.append("")
    lines += report_md.machines(result, _machine_md)
    return "\n".join(lines).rstrip() + "\n"


def _machine_md(o: Outcome) -> list[str]:
    """The body of a machine's folded section: report_md.machines writes its summary line."""
    lines = ["",
             f"- ARN: `{o.state_machine_arn}`",
             f"- role: `{o.role_arn or '-'}`",
             f"- status: **{o.status}**" + (f" ({o.reason})" if o.reason else ""),
             f"- policy: `{o.policy_name}`" + (f" ({o.placement})" if o.placement else "")]
    statements = [s for d in o.documents for s in d.get("Statement", [])]
    if statements:
        lines += ["", "Granted:", "", "| actions | resources |", "|---|---|"]
        for s in statements:
            actions = s.get("Action", [])
            resources = s.get("Resource", [])
            cond = " (with conditions)" if s.get("Condition") else ""
            lines.append(f"| {_cell(', '.join(actions if isinstance(actions, list) else [actions]))} | "
                         f"{_cell(', '.join(resources if isinstance(resources, list) else [resources]))}{cond} |")
    wild = wildcards(o)
    if wild:
        lines += ["", "Wildcards:", ""]
        lines += [f"- `{w['action']}` on `{w['resource']}`" + (f" at `{w['path']}`" if w["path"] else "")
                  + f": {_cell('; '.join(w['why']))}" for w in wild]
    if o.findings:
        lines += ["", "Findings:", ""] + [f"- {_cell(f.line())}" for f in o.findings]
    if o.changes:
        lines += ["", "Changes:", ""]
        lines += [f"- {c.kind} `{c.policy}`" + (f" on {c.role}" if c.role else "")
                  + ("" if c.applied else " (proposed, not applied)") for c in o.changes]
    return [*lines, ""]


# -- SNS summary ---------------------------------------------------------------------------------------------------

def summary(result: SweepResult) -> tuple[str, str]:
    """Subject (at most 100 characters, SNS's limit) and a plain-text message."""
    t = result.totals()
    subject = (f"sfn-iam sweep {result.account} {result.region}: {t['writes']} writes, {t['drift']} drift, "
               f"{t['errors']} errors")[:100]
    body = [f"sfn-iam sweep of account {result.account} in {result.region} ({result.mode} mode)", ""]
    body += [f"{k}: {v}" for k, v in t.items()]
    worst = sorted(((f, o) for o in result.all_outcomes for f in o.findings if f.severity >= Severity.HIGH),
                   key=lambda p: (-p[0].severity, p[0].code))
    if worst:
        body += ["", "High and critical findings:"]
        body += [f"- {o.state_machine_arn or o.policy_name}: {f.line()}" for f, o in worst[:50]]
        if len(worst) > 50:
            body.append(f"- ... and {len(worst) - 50} more (see the report)")
    if result.errors:
        body += ["", "Errors:"] + [f"- {e.target}: {e.error}" for e in result.errors[:20]]
    return subject, "\n".join(body) + "\n"


# -- Security Hub (ASFF) ---------------------------------------------------------------------------------------------

_ASFF_SEVERITY = {Severity.INFO: "INFORMATIONAL", Severity.LOW: "LOW", Severity.MEDIUM: "MEDIUM",
                  Severity.HIGH: "HIGH", Severity.CRITICAL: "CRITICAL"}


def asff(result: SweepResult, *, partition: str, now: str, min_severity: Severity = Severity.LOW
         ) -> list[dict[str, Any]]:
    """One ASFF finding per (state machine or orphan, finding) at or above ``min_severity``, for
    ``BatchImportFindings``. Ids are stable, so a later sweep updates the same findings instead of adding new ones."""
    product = f"arn:{partition}:securityhub:{result.region}:{result.account}:product/{result.account}/default"
    out = []
    for o in result.all_outcomes:
        for f in _at_least(o.findings, min_severity):
            target = o.state_machine_arn or o.role_arn or o.policy_name
            digest = hashlib.sha256(f"{target}|{f.code}|{f.path}|{f.message}".encode()).hexdigest()[:32]
            resources = []
            if o.state_machine_arn:
                resources.append({"Type": "Other", "Id": o.state_machine_arn, "Partition": partition,
                                  "Region": result.region})
            if o.role_arn:
                resources.append({"Type": "AwsIamRole", "Id": o.role_arn, "Partition": partition,
                                  "Region": result.region})
            if not resources:
                resources.append({"Type": "Other", "Id": target, "Partition": partition, "Region": result.region})
            out.append({
                "SchemaVersion": "2018-10-08",
                "Id": f"sfn-iam/{result.region}/{digest}",
                "ProductArn": product,
                "GeneratorId": f"sfn-iam/{f.code}",
                "AwsAccountId": result.account,
                "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
                "CreatedAt": now,
                "UpdatedAt": now,
                "Severity": {"Label": _ASFF_SEVERITY[f.severity]},
                "Title": f"sfn-iam {f.code}"[:256],
                "Description": (f.message + (f" (at {f.path})" if f.path else ""))[:1024],
                "Resources": resources,
                "ProductFields": {"sfn-iam/code": f.code, "sfn-iam/status": str(o.status),
                                  "sfn-iam/mode": result.mode},
                "RecordState": "ACTIVE",
            })
    return out


def _at_least(findings: Iterable[Finding], minimum: Severity) -> list[Finding]:
    return [f for f in findings if f.severity >= minimum]


# -- where the findings go -------------------------------------------------------------------------------------------

SWEEP_DETAIL_TYPE = "Sweep Completed"
# An event's entry stays under EventBridge's 256 KB per request
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html), with room for the source, the
# detail-type and the resources: past this, its documents, then its residual documents, then findings past the first
# five are left to the report and the log line (``truncated`` counts them).
EVENT_BYTES = 250_000
KEPT_FINDINGS = 5

Event = tuple[str, dict[str, Any], list[str]]


def _size(detail: dict[str, Any]) -> int:
    return len(json.dumps(detail, sort_keys=True).encode())


def bounded(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` as it fits one PutEvents entry (:data:`EVENT_BYTES`)."""
    if _size(detail) <= EVENT_BYTES:
        return detail
    out = {**detail, "truncated": dict(detail.get("truncated") or {})}
    for key in ("documents", "residualAccess"):
        if out.get(key) and _size(out) > EVENT_BYTES:
            out["truncated"][key] = len(out[key])
            out[key] = []
    if _size(out) > EVENT_BYTES:
        findings = list(out.get("findings") or [])
        out["truncated"]["findings"] = int(out["truncated"].get("findings", 0)) + max(0, len(findings) - KEPT_FINDINGS)
        out["findings"] = findings[:KEPT_FINDINGS]
    return out


def _news(result: SweepResult) -> list[tuple[Outcome, Event]]:
    return [(o, (o.detail_type, bounded(o.to_event()), o.resources())) for o in result.all_outcomes
            if (o.changes or any(f.severity > Severity.INFO for f in o.findings))
            and not (o.policy_name in result.repeated and not o.writes)]


def summary_event(result: SweepResult) -> Event:
    return (SWEEP_DETAIL_TYPE, {"schemaVersion": "1", "action": "sweep", "mode": result.mode,
                                "account": result.account, "region": result.region, "totals": result.totals(),
                                "errors": [{"target": e.target, "error": e.error} for e in result.errors]}, [])


def events(result: SweepResult) -> list[Event]:
    """The outcome events of a sweep, in the fixer's schema (docs/events.md): every outcome that changed or would
    change something or carries a finding above info, then one ``Sweep Completed`` event with the totals.
    Unchanged machines without findings are counted in the totals only, and an outcome the previous sweep already
    reported (same status, proposed changes, findings and residual access: ``SweepResult.repeated``) is not
    published again, so a daily sweep is not a daily flood; the summary event still comes every day."""
    return [e for _, e in _news(result)] + [summary_event(result)]


class Delivery(NamedTuple):
    """What reached its destination. ``errors``: what did not (the caller fails the sweep once all was tried)."""

    published: int = 0  # events EventBridge accepted (earlier sweeps' included)
    pending: int = 0  # events not accepted, kept in the outbox for the next sweep
    imported: int = 0  # Security Hub findings accepted
    errors: tuple[str, ...] = ()


class SweepIncompleteError(RuntimeError):
    """Some state machines or orphaned policies could not be handled (listed in the report and the logs)."""


class SweepDeliveryError(RuntimeError):
    """Some events, the SNS summary or Security Hub findings were not delivered (the rest was); events not accepted
    stay in the outbox and the next sweep publishes them."""


def fail_if_incomplete(result: SweepResult, delivery: Delivery) -> None:
    """End a sweep invocation that has delivered all it could: raise when a target failed, or when something was not
    delivered (so the lost part is visible, and sent next time). The error's class name is what Lambda reports."""
    if result.errors:
        raise SweepIncompleteError(f"{len(result.errors)} target(s) failed; first: {result.errors[0].target}: "
                                   f"{result.errors[0].error}")
    if delivery.errors:
        raise SweepDeliveryError(f"{len(delivery.errors)} delivery problem(s); first: {delivery.errors[0]}")


PublishMany = Callable[[list[Event]], "Sequence[tuple[int, str]] | None"]


def deliver(result: SweepResult, *, publish_many: PublishMany, notifier: SummaryNotifier | None,
            importer: FindingsImporter | None, partition: str, now: str, outbox: Outbox | None = None,
            record: Callable[[Mapping[str, str]], None] | None = None) -> Delivery:
    """Publish the sweep's events (with those earlier sweeps could not publish, from ``outbox``), its SNS summary and
    its Security Hub findings (each when configured). Each destination is tried whatever happened to the others; an
    event counts as reported (``record``: the ledger's digest of the machine's outcome, which keeps a later sweep
    from publishing it again) only once EventBridge accepted it, or once the outbox holds it for the next sweep."""
    errors: list[str] = []

    def attempt(what: str, call: Callable[[], Any]) -> tuple[bool, Any]:
        try:
            return True, call()
        except Exception as exc:  # one destination's failure never skips the others
            errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
            return False, None

    earlier: list[Event] = []
    if outbox is not None:
        earlier = attempt("reading the outbox", outbox.load)[1] or []
    news = _news(result)
    sending = [*earlier, *(e for _, e in news), summary_event(result)]
    # Saved before sending: a sweep that stops while sending leaves them all to the next one.
    held = outbox is not None and attempt("saving the outbox", lambda: outbox.save(sending))[0]
    try:
        failed = dict(publish_many(sending) or [])
    except Exception as exc:  # a publisher that raises: nothing of this call counts as accepted
        failed = {i: f"{type(exc).__name__}: {str(exc)[:300]}" for i in range(len(sending))}
    kept = [sending[i] for i in sorted(failed)]
    if outbox is not None:
        held = attempt("saving the outbox", lambda: outbox.save(kept))[0]
    if failed:
        errors.append(f"EventBridge did not accept {len(failed)} of {len(sending)} event(s)"
                      f"{' (kept for the next sweep)' if held else ''}; first: {failed[min(failed)]}")
    if record is not None:
        lost = set() if held else {o.policy_name for n, (o, _) in enumerate(news) if len(earlier) + n in failed}
        attempt("recording what was reported",
                lambda: record({name: d for name, d in result.digests.items() if name not in lost}))
    if notifier is not None:
        attempt("SNS", lambda: notifier.notify(*summary(result)))
    imported = 0
    if importer is not None:
        imported = attempt("Security Hub", lambda: importer.import_findings(
            asff(result, partition=partition, now=now)))[1] or 0
    return Delivery(len(sending) - len(failed), len(kept) if held else 0, int(imported), tuple(errors))
