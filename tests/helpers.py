"""Shared test helpers: build plans from definitions and check them at the level of requests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sfn_iam import engine
from sfn_iam.model import StateMachine
from tests.evaluate import is_allowed

ACCOUNT = "123456789012"
REGION = "us-east-1"
SM_NAME = "MyStateMachine"
SM_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{SM_NAME}"
ROOT = Path(__file__).resolve().parent.parent
# The public test data sit next to the repository; SFN_IAM_SHARED points elsewhere (e.g. from a git worktree).
SHARED = Path(os.environ.get("SFN_IAM_SHARED") or ROOT.parent / "shared")
PEER_CASES = SHARED / "peer-cases"
CORPUS = SHARED / "corpus"


def task(resource: str, params: Mapping[str, Any] | None = None, *, jsonata: bool = False,
         **extra: Any) -> dict[str, Any]:
    """A one-Task definition; ``params`` go to Arguments (JSONata) or Parameters (JSONPath)."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **extra}
    if params is not None:
        state["Arguments" if jsonata else "Parameters"] = dict(params)
    definition: dict[str, Any] = {"StartAt": "T", "States": {"T": state}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def plan_for(definition: Mapping[str, Any] | str, *, arn: str = SM_ARN, **settings: Any) -> engine.Plan:
    return engine.plan(StateMachine(arn=arn, definition=definition, **settings))


def allows(plan: engine.Plan, action: str, resource: str, context: Mapping[str, str | Sequence[str]] | None = None
           ) -> bool:
    return is_allowed(plan.documents, action, resource, context)


def assert_allows(plan: engine.Plan, action: str, resource: str,
                  context: Mapping[str, str | Sequence[str]] | None = None) -> None:
    assert allows(plan, action, resource, context), (
        f"expected {action} on {resource} ({context}) to be allowed by\n{json.dumps(list(plan.documents), indent=1)}"
    )


def assert_denies(plan: engine.Plan, action: str, resource: str,
                  context: Mapping[str, str | Sequence[str]] | None = None) -> None:
    assert not allows(plan, action, resource, context), (
        f"expected {action} on {resource} ({context}) to be denied by\n{json.dumps(list(plan.documents), indent=1)}"
    )


def codes(plan: engine.Plan) -> set[str]:
    return {f.code for f in plan.findings}


def actions(plan: engine.Plan) -> set[str]:
    return {a for s in plan.statements for a in s["Action"]}
