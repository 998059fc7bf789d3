"""Share of aws-sdk Tasks that get an exact resource, over the peer cases, their probes and tests/fixtures/sdk.

Run: .venv/bin/python bench/sdk_coverage.py [-v]

Each aws-sdk Task is planned on its own. A Task is
  exact      when every resource it is granted is literal (no ``*``; Secrets Manager's ``-??????`` suffix counts
             as literal, it stands for the six characters AWS appends to every secret name; a bare ``*`` for an
             action without resource types, next to literal ones, does not count against it),
  star-only  when its actions have no resource type at all (IAM accepts only ``*``),
  pattern    otherwise (a value known only at run time, or parameters that do not name the resource).
Unknown actions are the UNKNOWN_ACTION findings (actions the IAM reference does not know; never granted).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))

from sfn_iam import engine  # noqa: E402
from sfn_iam.model import StateMachine  # noqa: E402

PEER = ROOT.parent / "shared" / "peer-cases"
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:MyStateMachine"


def sdk_tasks(path: Path) -> list[tuple[str, dict[str, Any]]]:
    definition = json.loads(path.read_text())["definition"]
    out = []
    stack = [(definition["States"], definition.get("QueryLanguage", "JSONPath"))]
    while stack:
        states, language = stack.pop()
        for name, state in states.items():
            lang = state.get("QueryLanguage", language)
            resource = state.get("Resource")
            if state.get("Type") == "Task" and isinstance(resource, str) and ":aws-sdk:" in resource:
                one = {k: v for k, v in state.items() if k != "Next"}
                one["End"] = True
                out.append((f"{path.stem}:{name}", {"StartAt": name, "QueryLanguage": lang, "States": {name: one}}))
            stack.extend((b["States"], lang) for b in state.get("Branches", []))
            stack.extend((state[k]["States"], lang) for k in ("Iterator", "ItemProcessor") if k in state)
    return out


def classify(definition: dict[str, Any]) -> tuple[str, int]:
    plan = engine.plan(StateMachine(arn=ARN, definition=definition))
    unknown = sum(1 for f in plan.findings if f.code == "UNKNOWN_ACTION")
    resources = [r.resource for r in plan.requirements]
    if not resources:
        return "nothing", unknown
    if all(r == "*" for r in resources):
        return "star-only", unknown
    # a bare "*" is only emitted for actions without a nameable resource type: it does not make a Task inexact
    if all("*" not in r for r in resources if r != "*"):
        return "exact", unknown
    return "pattern", unknown


def main() -> int:
    verbose = "-v" in sys.argv
    sources = sorted(PEER.glob("*.json")) + sorted(PEER.glob("probes/*.json"))
    sources += sorted((ROOT / "tests" / "fixtures" / "sdk").glob("*.json"))
    counts: Counter[str] = Counter()
    unknown = 0
    for source in sources:
        for label, definition in sdk_tasks(source):
            kind, unk = classify(definition)
            counts[kind] += 1
            unknown += unk
            if verbose:
                print(f"{kind:10} {label}")
    total = sum(counts.values())
    named = total - counts["star-only"] - counts["nothing"]
    print(f"aws-sdk Tasks: {total} (peer cases, probes, tests/fixtures/sdk)")
    for kind in ("exact", "pattern", "star-only", "nothing"):
        print(f"  {kind:10} {counts[kind]:4d}  {100 * counts[kind] / total:5.1f}%")
    print(f"exact resource share: {100 * counts['exact'] / total:.1f}% of all SDK Tasks, "
          f"{100 * counts['exact'] / named:.1f}% of those whose actions have resource types")
    print(f"unknown actions: {unknown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
