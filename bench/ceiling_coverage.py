"""How many real definitions get everything they ask for under the default ceiling, and why the others do not.

Every definition of the public corpus (``../shared/corpus``, planned in the account its ARNs name: the author's),
every state machine of the public templates
(``../shared/templates``, read as the CLI reads them) and the project's own fixtures (``tests/fixtures/sdk``,
``tests/fixtures/templates``) is planned under the default ceiling. A machine is *fully granted* when no grant of it is
refused as ``OUTSIDE_CEILING``; refusals by the second line (a dynamic sensitive write, say) are counted apart: they
are not the ceiling's doing. Prints the figures and each machine left out, with the grants the ceiling refused.

Usage: ``python bench/ceiling_coverage.py`` (the public data must sit next to the repository).
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))

from sfn_iam import engine  # noqa: E402
from sfn_iam.cli import sources  # noqa: E402
from sfn_iam.model import StateMachine  # noqa: E402

SHARED = ROOT.parent / "shared"
OPTIONS = sources.Options(region="us-east-1", account="123456789012")
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Measured"


def home(definition: object) -> str:
    """The machine's ARN in the account its definition's ARNs name most (the author's account: a corpus entry keeps
    the literal ARNs of the account it was deployed in), else the test account."""
    accounts = Counter(re.findall(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):", json.dumps(definition)))
    account = accounts.most_common(1)[0][0] if accounts else "123456789012"
    return ARN.replace("123456789012", account)


def machines() -> list[tuple[str, str, StateMachine]]:
    found: list[tuple[str, str, StateMachine]] = []
    for path in sorted((SHARED / "corpus").glob("*__*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append(("corpus", path.stem, StateMachine(arn=home(data["definition"]), definition=data["definition"])))
    index = SHARED / "templates" / "index.json"
    templates = sorted({e["template"] for e in json.loads(index.read_text(encoding="utf-8"))["entries"]}) \
        if index.exists() else []
    for template in templates:
        loaded = sources.load([str(SHARED / "templates" / template)], OPTIONS, io.StringIO())
        found += [("templates", f"{template}:{m.name}", m.state_machine) for m in loaded.machines]
    for folder in ("tests/fixtures/sdk", "tests/fixtures/templates"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
                loaded = sources.load([str(path)], OPTIONS, io.StringIO())
                found += [("fixtures", f"{path.relative_to(ROOT)}:{m.name}", m.state_machine)
                          for m in loaded.machines]
    return found


def main() -> int:
    if not (SHARED / "corpus").is_dir():
        print("the public data (../shared) is absent: nothing to measure", file=sys.stderr)
        return 1
    totals: Counter[str] = Counter()
    full: Counter[str] = Counter()
    second: Counter[str] = Counter()
    left: list[tuple[str, str, list[str]]] = []
    for group, name, sm in machines():
        try:
            plan = engine.plan(sm)
        except Exception as exc:
            print(f"  skipped {group} {name}: {exc}", file=sys.stderr)
            continue
        totals[group] += 1
        refused = sorted({f.message.split(" not granted", 1)[0] for f in plan.findings if f.code == "OUTSIDE_CEILING"})
        if refused:
            left.append((group, name, refused))
        else:
            full[group] += 1
        if any(f.code in ("BLOCKED_ACTION", "WILDCARD_WRITE") for f in plan.findings):
            second[group] += 1
    all_total, all_full = sum(totals.values()), sum(full.values())
    print(f"{'group':<10} {'machines':>8} {'fully granted':>14} {'share':>7} {'second line refused some':>25}")
    for group in ("corpus", "templates", "fixtures"):
        share = 100 * full[group] / totals[group] if totals[group] else 0.0
        print(f"{group:<10} {totals[group]:>8} {full[group]:>14} {share:>6.1f}% {second[group]:>25}")
    print(f"{'all':<10} {all_total:>8} {all_full:>14} {100 * all_full / all_total:>6.1f}% {sum(second.values()):>25}")
    print("\nleft out by the default ceiling:")
    for group, name, refused in left:
        print(f"- {group} {name}: {'; '.join(refused)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
