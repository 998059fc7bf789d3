"""`make scan`: checkov over every template a security team would scan, offline; no failed check, no bare skip.

The templates (docs/security.md, "Template scanning"):

- ``template.yaml``, as ``sam deploy`` takes it (checkov reads ``AWS::Serverless::*`` resources itself);
- the expanded template, what a service-managed StackSet deploys (``stacksets/expand_template.py``);
- ``stacksets/org-rollout.yaml``;
- copies of ``template.yaml`` and ``org-rollout.yaml`` with the optional trail switched on. checkov evaluates each
  resource's ``Condition`` with the parameters' defaults and leaves out the resources whose condition is false, so
  a resource that is off by default would never be scanned. Only the ``Default:`` lines change, in place: every
  line number checkov reports, and every resource's ``Metadata`` with its skips, is the original's.

The scan fails on a failed check, a parsing error, a skip without its reason (checkov accepts one and reports
"No comment provided"), a skip that skipped nothing (a mistyped id, or a finding fixed since: checkov ignores both
silently), or a template of which checkov checked nothing although it should have.

Offline: ``--skip-download`` (no guidelines, mappings or custom policies from the Prisma Cloud platform), no API
key (``BC_API_KEY`` and ``PRISMA_API_URL`` are removed from checkov's environment), ``CKV_SKIP_PACKAGE_UPDATE_CHECK``
(no PyPI version check for the banner) and ``BC_SKIP_MAPPING``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
NO_REASON = ("", "No comment provided")  # what checkov reports for a skip without a comment
OFFLINE_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
PLATFORM_ENV = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL")


class VariantError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    label: str
    path: Path
    source: Path  # the hand-written file whose skips this one carries: itself, or the template it derives from
    expect_checks: bool = True  # org-rollout.yaml as shipped: only the StackSet, for which checkov has no check


class _AnyTagLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML; the short-form intrinsics (``!Sub``...) are kept as plain values."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def declared_skips(path: Path) -> set[tuple[str, str]]:
    """(resource, check id) of every checkov skip in the resources' ``Metadata``."""
    text = path.read_text(encoding="utf-8")
    template = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_AnyTagLoader)
    return {(name, str(skip.get("id")))
            for name, resource in (template.get("Resources") or {}).items()
            for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or []}


def with_defaults(text: str, defaults: dict[str, str]) -> str:
    """``text`` with the ``Default:`` line of each named parameter set to the given (quoted) value, in place."""
    lines = text.splitlines(keepends=True)
    todo = dict(defaults)
    in_parameters = False
    current: str | None = None
    for i, line in enumerate(lines):
        if re.match(r"^\S", line):  # a top-level key: Parameters starts, anything else ends it
            in_parameters = line.rstrip() == "Parameters:"
            current = None
            continue
        if not in_parameters:
            continue
        name = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
        if name:
            current = name.group(1)
            continue
        default = re.match(r"^(    Default:)\s*\S.*$", line)
        if default and current in todo:
            lines[i] = f"{default.group(1)} {json.dumps(todo.pop(current))}\n"
    if todo:
        raise VariantError(f"no Default line found for parameter(s): {', '.join(sorted(todo))}")
    return "".join(lines)


def prepare(out: Path, python: str = sys.executable) -> list[Target]:
    """Write the expanded template and the variants into ``out``; the templates to scan, in order."""
    out.mkdir(parents=True, exist_ok=True)
    expanded = out / "sfn-iam.expanded.json"
    result = subprocess.run([python, str(ROOT / "stacksets" / "expand_template.py"), "--placeholder-code",
                             str(ROOT / "template.yaml")], capture_output=True, text=True, check=True)
    expanded.write_text(result.stdout, encoding="utf-8")
    trail = out / "template.with-trail.yaml"
    trail.write_text(with_defaults((ROOT / "template.yaml").read_text(encoding="utf-8"), {"CreateTrail": "true"}),
                     encoding="utf-8")
    org_trail = out / "org-rollout.with-trail.yaml"
    org_trail.write_text(with_defaults((ROOT / "stacksets" / "org-rollout.yaml").read_text(encoding="utf-8"),
                                       {"CreateOrganizationTrail": "true"}), encoding="utf-8")
    template, rollout = ROOT / "template.yaml", ROOT / "stacksets" / "org-rollout.yaml"
    return [
        Target("template.yaml", template, template),
        Target("expanded StackSet template", expanded, template),  # its skips are template.yaml's, carried over
        Target("stacksets/org-rollout.yaml", rollout, rollout, expect_checks=False),
        Target("template.yaml, CreateTrail=true", trail, template),
        Target("org-rollout.yaml, CreateOrganizationTrail=true", org_trail, rollout),
    ]


def run_checkov(checkov: str, targets: list[Target], out: Path) -> dict[str, Any]:
    """checkov's results over ``targets``, from its JSON report (which lists every check; ``--quiet`` would drop the
    passed and skipped ones)."""
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_ENV} | OFFLINE_ENV
    report = out / "checkov" / "results_json.json"  # checkov names the file in the folder it is given
    report.unlink(missing_ok=True)
    command = [checkov, "--framework", "cloudformation", "--skip-download", "-o", "json", "--output-file-path",
               str(report.parent)]
    for target in targets:
        command += ["-f", str(target.path)]
    subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL)  # the verdict is ours, from the report
    if not report.exists():
        raise SystemExit(f"scan: checkov wrote no report ({report})")
    data = json.loads(report.read_text(encoding="utf-8"))
    reports = data if isinstance(data, list) else [data]
    if not reports or not all(r.get("check_type") == "cloudformation" for r in reports):
        raise SystemExit("scan: unexpected checkov report")
    merged: dict[str, Any] = {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}
    for r in reports:
        for key in merged:
            merged[key] += r.get("results", {}).get(key, [])
    return merged


def verdict(results: dict[str, Any], targets: list[Target],
            declared: dict[Path, set[tuple[str, str]]]) -> tuple[list[str], list[str]]:
    """(summary lines, problems) for checkov's merged results and the skips declared in each source file; the scan
    passes when there is no problem."""
    problems: list[str] = []
    counts: dict[str, Counter[str]] = {t.label: Counter() for t in targets}
    used: set[tuple[Path, str, str]] = set()
    for key, outcome in (("passed_checks", "passed"), ("failed_checks", "failed"), ("skipped_checks", "skipped")):
        for check in results.get(key, []):
            path = Path(check["file_abs_path"]).resolve()
            target = next((t for t in targets if t.path.resolve() == path), None)
            where = f"{target.label if target else check['file_path']}: {check['check_id']} on {check['resource']}"
            if target is None:
                problems.append(f"{where}: result for a file that was not asked for")
                continue
            counts[target.label][outcome] += 1
            if outcome == "failed":
                problems.append(f"{where}: FAILED ({check.get('check_name', '')})")
            elif outcome == "skipped":
                used.add((target.source, str(check["resource"]).split(".", 1)[-1], check["check_id"]))
                if check["check_result"].get("suppress_comment", "").strip() in NO_REASON:
                    problems.append(f"{where}: skipped without a reason (Metadata checkov skip needs a comment)")
    for source, skips in declared.items():
        for resource, check_id in sorted(skips):
            if (source, resource, check_id) not in used:
                problems.append(f"{source.name}: skip {check_id} on {resource} skipped nothing "
                                "(mistyped, or fixed since)")
    for error in results.get("parsing_errors", []):
        problems.append(f"{error}: checkov could not parse it")
    summary = []
    for t in targets:
        c = counts[t.label]
        summary.append(f"  {t.label}: {c['passed']} checks passed, {c['failed']} failed, {c['skipped']} skipped")
        if t.expect_checks and not sum(c.values()):
            problems.append(f"{t.label}: checkov checked nothing in it")
    return summary, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--checkov", default=str(ROOT / ".venv-scan" / "bin" / "checkov"))
    parser.add_argument("--out", type=Path, default=ROOT / ".aws-sam" / "scan")
    args = parser.parse_args(argv)
    targets = prepare(args.out)
    declared = {t.source: declared_skips(t.source) for t in targets}
    summary, problems = verdict(run_checkov(args.checkov, targets, args.out), targets, declared)
    print("checkov over the templates (docs/security.md, \"Template scanning\"):")
    print("\n".join(summary), flush=True)
    if problems:
        print(f"scan failed, {len(problems)} problem(s):", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("scan: no failed check; every skip carries its reason and skips something")
    return 0


if __name__ == "__main__":
    sys.exit(main())
