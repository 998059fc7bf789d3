"""The registry covers every optimized integration the Step Functions Developer Guide lists (checked-in fact, with
its date and URL), each with exactly the documented patterns, or refuses it with a documented reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.engine.integrations import MODULES, load_all
from sfn_iam.engine.integrations.registry import HANDLERS, lookup
from tests.helpers import codes, plan_for, task

load_all()  # the modules register their handlers when first used: all of them here

LIST = Path(__file__).resolve().parents[3] / "scripts" / "sdk_sources" / "optimized_integrations.json"
FACT: dict[str, Any] = json.loads(LIST.read_text(encoding="utf-8"))
LISTED = [(service, api, tuple(patterns)) for service, entry in sorted(FACT["services"].items())
          for api, patterns in sorted(entry["apis"].items())]
PATTERNS = {"request-response": "", ".sync": ".sync", ".sync:2": ".sync:2", ".waitForTaskToken": ".waitForTaskToken"}


def test_the_list_is_a_dated_fact_with_its_source() -> None:
    assert FACT["source"].startswith("https://docs.aws.amazon.com/step-functions/")
    assert len(FACT["retrieved"]) == 10
    assert all(e["page"].startswith("https://docs.aws.amazon.com/step-functions/") for e in FACT["services"].values())
    assert ("bedrockagentcore", "invokeHarness", ("request-response",)) in LISTED  # added to the guide in 2026


@pytest.mark.parametrize(("service", "api", "patterns"), LISTED, ids=[f"{s}:{a}" for s, a, _ in LISTED])
def test_every_listed_integration_is_handled_with_exactly_its_patterns_or_refused(
        service: str, api: str, patterns: tuple[str, ...]) -> None:
    refused = FACT["refused"].get(f"{service}:{api}")
    entry = lookup(service, api)
    if refused is not None:
        assert refused.strip(), "a refusal needs its reason"
        assert entry is None
        plan = plan_for(task(f"arn:aws:states:::{service}:{api}", {}))
        assert "UNKNOWN_INTEGRATION" in codes(plan) and not plan.documents
        return
    assert entry is not None, f"{service}:{api} is in the guide but not in the registry"
    assert sorted(entry.patterns) == sorted(PATTERNS[p] for p in patterns)


def test_the_registry_holds_nothing_the_guide_does_not_list() -> None:
    listed = {(s, a.lower()) for s, a, _ in LISTED}
    assert set(HANDLERS) <= listed, sorted(set(HANDLERS) - listed)


@pytest.mark.parametrize(("service", "api", "patterns"), LISTED, ids=[f"{s}:{a}" for s, a, _ in LISTED])
def test_an_undocumented_pattern_is_refused(service: str, api: str, patterns: tuple[str, ...]) -> None:
    missing = [p for p in (".sync", ".waitForTaskToken") if p not in patterns]
    for pattern in missing:
        plan = plan_for(task(f"arn:aws:states:::{service}:{api}{pattern}", {}))
        assert "UNKNOWN_INTEGRATION" in codes(plan)
        assert not plan.documents


def test_each_service_loads_the_module_that_registers_it() -> None:
    """The lazy map of integrations/__init__.py: every registered service names the module its handlers live in."""
    assert {svc: entry.handler.__module__.rsplit(".", 1)[-1] for (svc, _), entry in HANDLERS.items()} == MODULES
