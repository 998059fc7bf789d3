"""The engine: pure functions from a state machine to its least-privilege policy.

``plan(state_machine)`` walks the definition (``asl``), maps every node to requirements (``integrations``, with the
generated ``integrations.sdk`` table), adds the role-level needs of logging, tracing and encryption
(``machine_config``), applies the guardrails and builds the policy documents (``policy``). Imports only the shared
value types of the package root and the standard library.
"""

from sfn_iam.engine.planner import Plan, context_for, parse_definition, plan

__all__ = ["Plan", "context_for", "parse_definition", "plan"]
