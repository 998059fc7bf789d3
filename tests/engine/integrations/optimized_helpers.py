"""What a handler *asks for*, before the guardrails: for run-time values the wildcard rule may refuse the grant.

Tests of dynamic values check the narrow pattern the handler requests here, and what survives the guardrails
with ``tests.helpers.assert_allows`` / ``assert_denies``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sfn_iam import engine
from sfn_iam.engine import policy
from tests.evaluate import is_allowed
from tests.helpers import with_owner

Context = Mapping[str, str | Sequence[str]] | None


def _requested(plan: engine.Plan, action: str, resource: str, context: Context) -> tuple[bool, str]:
    docs, _ = policy.documents(plan.requirements, 10**9)
    return is_allowed(docs, action, resource, with_owner(resource, context)), json.dumps(docs, indent=1)


def assert_requests(plan: engine.Plan, action: str, resource: str, context: Context = None) -> None:
    ok, docs = _requested(plan, action, resource, context)
    assert ok, f"expected the handler to request {action} on {resource} ({context}):\n{docs}"


def assert_not_requested(plan: engine.Plan, action: str, resource: str, context: Context = None) -> None:
    ok, docs = _requested(plan, action, resource, context)
    assert not ok, f"expected the handler not to request {action} on {resource} ({context}):\n{docs}"
