"""AWS CDK's Step Functions task constructs as a reference we did not write: every difference between their policy
and ours, at the level of requests, is reviewed (tests/cdk_reference/verdicts.json), and none is a real miss."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cdk_reference.compare import TEMPLATES, compare, scenarios, verdicts

SCENARIOS = scenarios()
MISS_KINDS = {"cdk-overgrant", "cdk-stale", "cdk-cross-product", "condition", "account-fact", "guardrail"}
EXTRA_KINDS = {"documented", "wider"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_difference_from_cdk_is_reviewed_and_none_is_a_real_miss(path: Path) -> None:
    misses, extras = compare(path)
    reviewed = verdicts().get(path.stem, [])
    for side, found in (("miss", misses), ("extra", extras)):
        for request in found:
            verdict = next((v for v in reviewed if v["side"] == side and re.search(v["match"], request)), None)
            assert verdict is not None, f"unreviewed {side} against CDK: {request}"
            assert verdict["kind"] in (MISS_KINDS if side == "miss" else EXTRA_KINDS), verdict


def test_every_verdict_is_still_needed() -> None:
    """A verdict that matches nothing any more is stale: the difference went away, the record must say so."""
    found = {path.stem: compare(path) for path in SCENARIOS}
    for scenario, reviewed in verdicts().items():
        if scenario.startswith("_"):
            continue
        misses, extras = found[scenario]
        for verdict in reviewed:
            pool = misses if verdict["side"] == "miss" else extras
            assert any(re.search(verdict["match"], r) for r in pool), (scenario, verdict["match"])


def test_the_reference_covers_the_task_constructs() -> None:
    assert len(SCENARIOS) >= 20
    for path in SCENARIOS:
        template = json.loads(path.read_text(encoding="utf-8"))
        types = {r["Type"] for r in template["Resources"].values()}
        assert "AWS::StepFunctions::StateMachine" in types and "AWS::IAM::Policy" in types, path.stem
    assert (TEMPLATES.parent / "verdicts.json").exists()
