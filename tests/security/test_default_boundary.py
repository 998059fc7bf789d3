"""The reviewed default ceiling's boundary (engine/guardrails/ceiling.py ``default_boundary``) fits in a managed
policy and allows at least what the engine grants. Computing it takes tens of seconds (one merge at a time over the
IAM reference), so it has a file of its own: mutation testing runs it last, after the fast tests of
tests/security/test_ceiling_boundary.py had their chance (docs/mutation.md)."""

from __future__ import annotations

from sfn_iam.engine.guardrails import ceiling
from sfn_iam.engine.guardrails.ceiling import parse


def test_the_default_boundary_fits_and_allows_at_least_what_the_engine_grants() -> None:
    bound = ceiling.filled(ceiling.default_boundary())
    assert ceiling.size(bound) <= ceiling.MANAGED_POLICY_LIMIT
    wide = parse(bound)
    for stmt in ceiling.filled(ceiling.default_document())["Statement"]:
        if stmt["Effect"] == "Allow":
            resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
            for action in stmt["Action"]:
                assert all(wide.allows(action, r) for r in resources), action
    assert ceiling.size({"a": "b c"}) == len('{"a":"bc"}')
