"""The engine: pure functions from a state machine to its least-privilege policy.

``plan(state_machine)`` walks the definition (``asl``), maps every node to requirements (``integrations``, with the
generated ``integrations.sdk`` table), adds the role-level needs of logging, tracing and encryption
(``machine_config``), applies the guardrails and builds the policy documents (``policy``). Imports only the shared
value types of the package root and the standard library.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfn_iam.engine.planner import Plan, context_for, parse_definition, plan

__all__ = ["Plan", "context_for", "parse_definition", "plan"]


def __getattr__(name: str) -> Any:
    """The planner (and with it the integrations and their tables) loads on first use: importing one engine module
    (the guardrails for the settings, ``policy`` for the documents) does not load them all, so an event that plans
    nothing (ignored, a delete) never does (the Lambda's cold start, bench/cold_start.py)."""
    if name in __all__:
        from sfn_iam.engine import planner

        return getattr(planner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
