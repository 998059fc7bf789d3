"""The posture report as Markdown, written to be read at 500 machines: a summary first (counts, top risks, residual
access), pictures GitHub renders from Mermaid (findings by severity, by code, permissions by service), the roles that
can do more than their machines need, then every machine folded (``<details>``), most severe first. Pure core.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sfn_iam.findings import Severity
from sfn_iam.fixing.outcome import Outcome
from sfn_iam.governance.sweep import SweepResult

TOP = 10  # rows of the "top risks" tables
PIE_SLICES = 8  # slices of a pie before "other"


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def short(arn: str) -> str:
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if arn else "-"


def worst(o: Outcome) -> int:
    return max((int(f.severity) for f in o.findings), default=0)


def _pie(title: str, counts: Iterable[tuple[str, int]]) -> list[str]:
    items = [(k, n) for k, n in counts if n > 0]
    if not items:
        return []
    if len(items) > PIE_SLICES:
        items = [*items[:PIE_SLICES - 1], ("other", sum(n for _, n in items[PIE_SLICES - 1:]))]
    return ["```mermaid", f"pie showData title {title}", *(f'    "{k}" : {n}' for k, n in items), "```", ""]


def pictures(result: SweepResult) -> list[str]:
    severities = Counter(f.severity for o in result.all_outcomes for f in o.findings)
    codes = Counter(f.code for o in result.all_outcomes for f in o.findings)
    services = Counter(r.service for o in result.outcomes for r in o.granted)
    lines = _pie("Findings by severity", ((s.name.lower(), severities[s]) for s in sorted(Severity, reverse=True)))
    lines += _pie("Findings by code", codes.most_common())
    lines += _pie("Permissions granted, by service", services.most_common())
    return ["## Pictures", "", *lines] if lines else []


def summary(result: SweepResult, residual: list[dict[str, Any]]) -> list[str]:
    t = result.totals()
    sev = Counter(f.severity for o in result.all_outcomes for f in o.findings)
    statuses = ", ".join(f"{n} {s}" for s, n in t["byStatus"].items())  # type: ignore[attr-defined]
    admin = sum(1 for r in residual if r["severity"] == "CRITICAL")
    lines = ["## Summary", "",
             f"- **{t['stateMachines']} state machines** on {t['roles']} roles: {statuses or 'none'}.",
             f"- **{sev[Severity.CRITICAL]} critical** and **{sev[Severity.HIGH]} high** findings "
             f"({sum(sev.values())} in all); {t['writes']} writes, {t['proposedChanges']} proposed changes, "
             f"{t['drift']} drift, {t['errors']} errors.",
             f"- **{len(residual)} roles can do more than their machines need**"
             + (f", {admin} of them admin-equivalent" if admin else "") + ".",
             f"- {t['unchangedSinceLastSweep']} machines report what the previous sweep reported (not published "
             "again).", ""]
    # Top risks: one row per (severity, code, role), with how many machines share it, most severe and widest first.
    groups: dict[tuple[int, str, str], list[Outcome]] = {}
    examples: dict[tuple[int, str, str], str] = {}
    for o in result.all_outcomes:
        for f in o.findings:
            if f.severity >= Severity.HIGH:
                key = (-int(f.severity), f.code, o.role_arn)
                if o not in groups.setdefault(key, []):
                    groups[key].append(o)
                examples.setdefault(key, f.message)
    if groups:
        ranked = sorted(groups, key=lambda k: (k[0], -len(groups[k]), k[1], k[2]))
        lines += ["### Top risks", "", "| severity | finding | role | machines | example |", "|---|---|---|---|---|"]
        for key in ranked[:TOP]:
            lines.append(f"| {Severity(-key[0]).name} | {key[1]} | `{short(key[2])}` | {len(groups[key])} | "
                         f"{cell(examples[key][:200])} |")
        if len(ranked) > TOP:
            lines.append(f"| | | ... and {len(ranked) - TOP} more (severity, finding, role) groups | | |")
        lines.append("")
    return lines


def residual_section(residual: list[dict[str, Any]], removals: tuple[Outcome, ...]) -> list[str]:
    if not residual and not removals:
        return []
    lines = ["## Roles that can do more than their machines need", "",
             "Other policies on these roles (not written by sfn-iam) grant requests none of the machines' policies "
             "grant: the role can do more than its workflows need, whatever sfn-iam writes. Most severe first.", "",
             "| severity | role | policy | beyond the machines' needs | machines |", "|---|---|---|---|---|"]
    for r in residual:
        for p in r["policies"]:
            name = p["policyArn"] or p["policyName"]
            excess = "; ".join(p["excess"][:3]) + (f" (+{len(p['excess']) - 3} more)" if len(p["excess"]) > 3 else "")
            why = f" **admin-equivalent: {cell(p['why'])}**" if p["adminEquivalent"] else ""
            lines.append(f"| {p['severity']} | `{short(r['roleArn'])}` | {p['kind']} `{cell(name)}` | "
                         f"{cell(excess)}{why} | {len(r['stateMachines'])} |")
    lines.append("")
    if removals:
        lines += ["### Removed by this sweep (RemoveResidualPolicies)", "",
                  "Restore with `sfn-iam restore report.json --apply` (the JSON report keeps the documents).", ""]
        for o in removals:
            lines += [f"- `{short(o.role_arn)}`: " + ", ".join(f"{e['kind']} `{e['policyArn'] or e['policyName']}`"
                                                              for e in o.residual)]
        lines.append("")
    return lines


def machines(result: SweepResult, detail: Any) -> list[str]:
    lines = ["## State machines", "", "Most severe first; open one for its grants, wildcards, findings and changes.",
             ""]
    for o in sorted(result.outcomes, key=lambda o: (-worst(o), o.state_machine_arn)):
        label = Severity(worst(o)).name if o.findings else "CLEAN"
        body = detail(o)
        lines += ["<details>", f"<summary><b>{label}</b> {cell(short(o.state_machine_arn))}: {o.status}"
                  + (f" ({o.reason})" if o.reason else "") + f", {len(o.findings)} findings</summary>", "",
                  *body, "</details>", ""]
    return lines
