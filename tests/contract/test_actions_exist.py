"""Every action the engine emits — for every integration fixture, peer case and bundled example — exists in the
offline IAM reference (cfn-lint's Policies.json, see docs/dependencies.md), and no definition there errors."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import pytest

from sfn_iam import engine
from sfn_iam.model import StateMachine
from tests.helpers import ROOT, SM_ARN, corpus_definitions, shared_folder


@cache
def iam_actions() -> frozenset[str]:
    data = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    return frozenset(f"{prefix}:{action}".lower() for prefix, svc in data.items() for action in svc["Actions"])


def _definitions() -> list[Any]:
    found: list[Any] = []
    peer = shared_folder("peer-cases")
    for folder in ([peer, peer / "probes"] if peer else []) + [ROOT / "examples"]:
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text())
            definition = data.get("definition", data)
            if isinstance(definition, str):
                definition = json.loads(definition)
            if isinstance(definition, dict) and "States" in definition:
                found.append((f"{folder.name}/{path.stem}", definition))
    return found + corpus_definitions()


DEFINITIONS = _definitions()


def test_the_reference_and_the_definitions_are_there() -> None:
    assert len(iam_actions()) > 15_000
    assert len([d for d in DEFINITIONS if isinstance(d[0], str) and d[0].startswith("examples/")]) >= 4
    if shared_folder("peer-cases") is None or shared_folder("corpus") is None:
        pytest.skip("public test data not present next to the repository (../shared/peer-cases, corpus); CI has it")
    assert len(DEFINITIONS) >= 200


@pytest.mark.parametrize(("name", "definition"), DEFINITIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_emitted_actions_exist_and_nothing_errors(name: str, definition: dict[str, Any]) -> None:
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition))
    assert not [f for f in plan.findings if f.code == "DEFINITION_ERROR"], name
    unknown = sorted({a for s in plan.statements for a in s["Action"] if a.lower() not in iam_actions()})
    assert unknown == []
