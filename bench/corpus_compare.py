"""Compare the engine with the policies the corpus authors wrote (``author_policy_statements``).

Run: .venv/bin/python bench/corpus_compare.py [CORPUS_DIR]   (default ../shared/corpus next to the repository)

For every entry with a found policy, two counts, request by request (tests/evaluate.py decides):
* missed: an (action, resource) the authors grant literally (no wildcard action or resource) for an action the
  definition calls, and that our policy denies: a candidate AccessDenied to review (authors also over-grant);
* beyond: an (action, resource) our policy grants that the authors' policy denies (a wildcard in our resource is
  sampled as a concrete name).
Prints the totals and the differences grouped by action.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))
sys.path.insert(0, str(ROOT))

from sfn_iam import engine  # noqa: E402
from sfn_iam.model import StateMachine  # noqa: E402
from tests.evaluate import is_allowed  # noqa: E402

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Compare"


def _sample(resource: str) -> str:
    return resource.replace("*", "x1").replace("?", "x")


def _owner(resource: str) -> dict[str, str]:
    """S3 adds s3:ResourceAccount to every request on a bucket or object; the authors' buckets are their own."""
    return {"s3:ResourceAccount": ARN.split(":")[4]} if resource.startswith("arn:aws:s3:::") else {}


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value or () if isinstance(v, str)]


def compare(folder: Path) -> int:
    missed: collections.Counter[str] = collections.Counter()
    beyond: collections.Counter[str] = collections.Counter()
    entries = 0
    for path in sorted(folder.glob("*.json")):
        if path.name == "index.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("policy_status") != "found" or data.get("duplicate_of"):
            continue
        statements = [s for s in data.get("author_policy_statements") or () if s.get("Effect", "Allow") == "Allow"]
        author = [{"Version": "2012-10-17", "Statement": statements}]
        try:
            plan = engine.plan(StateMachine(arn=ARN, definition=data["definition"]))
        except ValueError:
            continue
        entries += 1
        ours = list(plan.documents)
        called = {r.action.lower() for r in plan.requirements}
        for s in statements:
            for action in _list(s.get("Action")):
                if "*" in action or action.lower() not in called:
                    continue
                for resource in _list(s.get("Resource")):
                    if resource.startswith("arn:") and "*" not in resource and "${" not in resource and (
                            not is_allowed(ours, action, resource, _owner(resource))):
                        missed[f"{action} ({path.stem[:60]})"] += 1
        for s in plan.statements:
            for action in s["Action"]:
                for resource in s["Resource"]:
                    conds = s.get("Condition", {})
                    context = {k: (v if isinstance(v, str) else v[0]) for op in conds.values() for k, v in op.items()}
                    if not is_allowed(author, action, _sample(resource), context):
                        beyond[f"{action} ({path.stem[:60]})"] += 1
    print(f"corpus entries compared: {entries}")
    print(f"missed (author grants a literal request we deny): {sum(missed.values())}")
    for key, n in sorted(missed.items()):
        print(f"  {n:3d}  {key}")
    print(f"beyond (we grant what the author denies): {sum(beyond.values())}")
    by_action = collections.Counter(k.split(" ")[0] for k in beyond.elements())
    for action, n in by_action.most_common():
        print(f"  {n:3d}  {action}")
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus"
    if not target.is_dir():
        print(f"corpus absent: {target}")
        raise SystemExit(0)
    raise SystemExit(compare(target))
