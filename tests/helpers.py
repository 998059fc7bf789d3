"""Shared test helpers: build plans from definitions and check them at the level of requests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.engine.asl import DefinitionError, walk
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.model import StateMachine
from tests.evaluate import is_allowed

ACCOUNT = "123456789012"
REGION = "us-east-1"
SM_NAME = "MyStateMachine"
SM_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{SM_NAME}"
ROOT = Path(__file__).resolve().parent.parent
# Public data sets that are not part of this repository: present next to the clone in CI, absent for a user who
# clones the repository alone. Tests that need them skip as a group with one reason (see tests/README.md).
SHARED = ROOT.parent / "shared"
PEER_CASES = SHARED / "peer-cases"
CORPUS = SHARED / "corpus"
TEMPLATES = SHARED / "templates"
_ABSENT = "public test data not present next to the repository (../shared/{}); CI has it"


def shared_folder(relative: str) -> Path | None:
    """``../shared/<relative>`` when it exists, else ``None``."""
    folder = SHARED / relative
    return folder if folder.is_dir() else None


def require_shared(relative: str) -> Path:
    """``../shared/<relative>``, or skip the calling test with the group's reason."""
    folder = shared_folder(relative)
    if folder is None:
        pytest.skip(_ABSENT.format(relative))
    return folder


def shared_files(relative: str, pattern: str = "*.json") -> list[Any]:
    """Parameters for a test over every file of ``../shared/<relative>``: one skipped parameter when absent.

    A folder that exists but holds no matching file is an error, not a silent pass over nothing.
    """
    folder = shared_folder(relative)
    if folder is None:
        return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=_ABSENT.format(relative)))]
    files = sorted(p for p in folder.glob(pattern) if p.name not in ("index.json",))
    if not files:
        raise FileNotFoundError(f"{folder} exists but holds no {pattern}")
    return files


def corpus_definitions() -> list[Any]:
    """(name, definition) parameters for every public corpus entry; entries that are not valid ASL are skipped
    with the parser's reason (they are evidence of what authors wrote, not input the engine must accept)."""
    params: list[Any] = []
    folder = shared_folder("corpus")
    if folder is None:
        return [pytest.param(None, None, id="absent", marks=pytest.mark.skip(reason=_ABSENT.format("corpus")))]
    for path in shared_files("corpus"):
        definition = json.loads(path.read_text(encoding="utf-8")).get("definition")
        try:
            engine.parse_definition(definition)
            _, problems = walk(definition)
        except (DefinitionError, ValueError, TypeError) as exc:
            problems = [str(exc)]
        reason = next((getattr(p, "message", p) for p in problems if getattr(p, "code", "DEFINITION_ERROR")
                       == "DEFINITION_ERROR"), None)
        marks = [pytest.mark.skip(reason=f"not valid ASL: {reason}")] if reason else []
        params.append(pytest.param(path.stem, definition, id=path.stem, marks=marks))
    return params


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


def plan_for(definition: Mapping[str, Any] | str, *, arn: str = SM_ARN, guard: GuardPolicy | None = None,
             **settings: Any) -> engine.Plan:
    return engine.plan(StateMachine(arn=arn, definition=definition, **settings), guard)


def admin_guard(*patterns: str) -> GuardPolicy:
    """The guardrails under an administrator's own ceiling that allows ``patterns`` (wildcards such as ``ec2:*``) on
    any resource and names no action literally: nothing is an explicit approval, so what the second line (deny-list,
    Permissions management, wildcard rule, sensitive other-account) refuses stays refused. This is how a test reaches
    the second line for an action the default ceiling leaves out. (It does not extend the default: every action the
    default names literally would then count as explicitly approved.)"""
    allow = {"Effect": "Allow", "Action": list(patterns), "Resource": "*"}
    return GuardPolicy(ceiling.parse({"Statement": [allow]}, source="test administrator"))


def approving_guard(plan: engine.Plan) -> GuardPolicy:
    """The guardrails once an administrator has added to the default ceiling the statements ``plan`` proposes (what
    the default left out): how a deployment approves a call outside the default."""
    assert plan.proposal is not None, "nothing outside the ceiling to approve"
    return GuardPolicy(ceiling.extended(ceiling.default(), plan.proposal["Statement"], source="test administrator"))


def outside_ceiling(plan: engine.Plan, action: str) -> list[str]:
    """The messages of the ``OUTSIDE_CEILING`` findings for ``action``, each checked to carry the ceiling statement
    that would approve it (an Allow naming the action)."""
    found = [f.message for f in plan.findings if f.code == "OUTSIDE_CEILING" and f.message.startswith(action + " ")]
    for message in found:
        assert f'{{"Effect":"Allow","Action":["{action}"]' in message, message
    return found


def without_notes(err: str) -> str:
    """The CLI's standard error without its ``sfn-iam: note:`` lines (which ceiling is used, translated settings)."""
    return "".join(line for line in err.splitlines(keepends=True) if not line.startswith("sfn-iam: note: "))


def with_owner(resource: str, context: Mapping[str, str | Sequence[str]] | None,
               account: str = ACCOUNT) -> Mapping[str, str | Sequence[str]] | None:
    """The request context S3 adds on its own: a bucket or object ARN carries no account, so every request on one
    has ``s3:ResourceAccount`` = the owner's account (this test account unless the test names another)."""
    if not (resource.startswith("arn:aws") and ":s3:::" in resource[:20]):
        return context
    if context is not None and "s3:ResourceAccount" in context:
        return context
    return {**(context or {}), "s3:ResourceAccount": account}


def allows(plan: engine.Plan, action: str, resource: str, context: Mapping[str, str | Sequence[str]] | None = None
           ) -> bool:
    return is_allowed(plan.documents, action, resource, with_owner(resource, context))


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
