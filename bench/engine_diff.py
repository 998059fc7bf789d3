"""Differential check of the engine between two trees: every plan's content, written as plain JSON, then compared.

    python bench/engine_diff.py dump OUT.json [ROOT]   # ROOT: the tree whose engine plans (default: this one)
    python bench/engine_diff.py compare BEFORE.json AFTER.json

Run ``dump`` with each tree's own interpreter (``/path/to/other/.venv/bin/python bench/engine_diff.py dump
before.json /path/to/other``), then ``compare``: it prints every plan whose requirements, grants, findings,
documents, questions, proposal or definition error differ, and exits 1 if any does. The cases: every definition of
the public corpus and peer cases (``../shared``, when present) and of ``examples/``, each under three guardrails
(default, a narrow service list, an extra deny-list with logging on), as written, doubled (the same states in two
Parallel branches and a Map, so every Task repeats), the doubled one as JSON text (parsed by the engine), as a routed
version beside the doubled definition, and
doubled with every key question answered; plus the 1 MB bench definition. Grants are compared in order too
(``granted order`` is printed apart from content differences).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _plain(value: Any) -> Any:
    """Requirements, conditions, findings and questions as plain lists, whatever classes the tree uses."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "action") and hasattr(value, "resource"):
        return [value.action, value.resource, _plain(value.conditions), value.path]
    if hasattr(value, "operator") and hasattr(value, "values"):
        return [value.operator, value.key, list(value.values)]
    if hasattr(value, "code") and hasattr(value, "severity"):
        return [value.code, int(value.severity), value.message, value.path]
    if hasattr(value, "kind") and hasattr(value, "resource"):
        return [value.kind, value.resource]
    return value


def _doubled(d: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Q", "Branches": [
            {"StartAt": d["StartAt"], "States": copy.deepcopy(d["States"])},
            {"StartAt": d["StartAt"], "States": copy.deepcopy(d["States"])}]},
        "Q": {"Type": "Map", "End": True,
              "ItemProcessor": {"StartAt": d["StartAt"], "States": copy.deepcopy(d["States"])}}}}


def dump(out: Path, root: Path) -> None:
    sys.path.insert(0, str(root / "layers" / "sfn_iam"))
    sys.path.insert(0, str(root / "bench"))
    import engine as bench  # type: ignore[import-not-found]  # the tree's own bench module (big_definition)

    from sfn_iam import engine
    from sfn_iam.engine import facts
    from sfn_iam.engine.guardrails import GuardPolicy
    from sfn_iam.model import StateMachine

    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:M"
    definitions = []
    for folder in (root.parent / "shared" / "corpus", root.parent / "shared" / "peer-cases", root / "examples"):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = json.loads(path.read_text())
            definition = data.get("definition", data)
            if isinstance(definition, dict) and "States" in definition:
                definitions.append((path.name, definition))
    guards = {"default": None, "narrow": GuardPolicy.build(allowed_services=["lambda", "sns", "states", "events"]),
              "deny": GuardPolicy.build(extra_deny=["dynamodb:PutItem", "glue:*", "s3:GetObject"])}

    def summary(sm: Any, guard: Any, known: Any = facts.NO_FACTS) -> Any:
        try:
            p = engine.plan(sm, guard, known=known)
        except Exception as exc:  # a definition error is part of the outcome
            return ["error", type(exc).__name__, str(exc)]
        return _plain({"requirements": p.requirements, "granted": p.granted, "findings": p.findings,
                       "documents": p.documents, "questions": p.questions, "proposal": p.proposal})

    plans: dict[str, Any] = {}
    for name, d in definitions:
        for label, guard in guards.items():
            logging = {"level": "ALL"} if label == "deny" else {}
            plans[f"{name} {label} plain"] = summary(StateMachine(arn=arn, definition=d, logging=logging), guard)
            doubled = _doubled(d)
            plans[f"{name} {label} doubled"] = summary(StateMachine(arn=arn, definition=doubled, logging=logging),
                                                       guard)
            plans[f"{name} {label} doubled text"] = summary(  # text: the planner keys its Tasks otherwise
                StateMachine(arn=arn, definition=json.dumps(doubled), logging=logging), guard)
            version = StateMachine(arn=arn + ":1", definition=doubled)
            plans[f"{name} {label} versions"] = summary(StateMachine(arn=arn, definition=d, versions=(version,)),
                                                        guard)
            try:
                asked = engine.plan(StateMachine(arn=arn, definition=doubled), guard).questions
            except Exception:
                asked = ()
            answers = {q: facts.customer_key(f"arn:aws:kms:us-east-1:123456789012:key/k{i}")
                       if q.kind == facts.ENCRYPTION_KEY else facts.Answer(()) for i, q in enumerate(asked)}
            plans[f"{name} {label} facts"] = summary(StateMachine(arn=arn, definition=doubled), guard,
                                                     facts.Facts(answers))
    big = bench.big_definition()
    for label in ("default", "narrow"):
        plans[f"1 MB {label}"] = summary(StateMachine(arn=bench.ARN, definition=big), guards[label])
    out.write_text(json.dumps(plans, sort_keys=True))
    print(f"{len(plans)} plans written to {out}")


def compare(before_file: Path, after_file: Path) -> int:
    before, after = json.loads(before_file.read_text()), json.loads(after_file.read_text())
    if before.keys() != after.keys():
        print("the two dumps plan different cases")
        return 1
    content = order = 0
    for case in before:
        a, b = before[case], after[case]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            fields = [f for f in a if a[f] != b[f]]
            if fields == ["granted"] and sorted(map(json.dumps, a["granted"])) == sorted(map(json.dumps, b["granted"])):
                order += 1
                print(f"granted order: {case}")
                continue
        else:
            fields = ["error"]
        content += 1
        print(f"DIFFERS: {case}: {', '.join(fields)}")
    print(f"{len(before)} plans: {content} content differences, {order} in the order of grants only")
    return 1 if content else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["dump"]:
        dump(Path(sys.argv[2]), Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else HERE.parent)
    elif sys.argv[1:2] == ["compare"]:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
