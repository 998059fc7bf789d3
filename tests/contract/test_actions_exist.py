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
from tests.helpers import CORPUS, PEER_CASES, ROOT, SM_ARN


@cache
def iam_actions() -> frozenset[str]:
    data = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    return frozenset(f"{prefix}:{action}".lower() for prefix, svc in data.items() for action in svc["Actions"])


def _definitions() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for folder in (CORPUS, PEER_CASES, PEER_CASES / "probes", ROOT / "examples"):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = json.loads(path.read_text())
            definition = data.get("definition", data)
            if isinstance(definition, str):
                definition = json.loads(definition)
            if isinstance(definition, dict) and "States" in definition:
                found.append((f"{folder.name}/{path.stem}", definition))
    return found


DEFINITIONS = _definitions()


def test_the_reference_and_the_definitions_are_there() -> None:
    assert len(iam_actions()) > 15_000
    assert len(DEFINITIONS) >= 100


@pytest.mark.parametrize(("name", "definition"), DEFINITIONS, ids=[n for n, _ in DEFINITIONS])
def test_emitted_actions_exist_and_nothing_errors(name: str, definition: dict[str, Any]) -> None:
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition))
    assert not [f for f in plan.findings if f.code == "DEFINITION_ERROR"], name
    unknown = sorted({a for s in plan.statements for a in s["Action"] if a.lower() not in iam_actions()})
    assert unknown == []
