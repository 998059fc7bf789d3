"""Evaluate policy documents the way IAM does, for one request. Pure core: standard library only.

Used by the guardrail self-check and by the tests: an explicit Deny wins, otherwise some Allow must match
the action (case-insensitive wildcards), the resource (case-sensitive wildcards) and every condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sfn_iam.wildcards import matches


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _condition_holds(operator: str, key: str, expected: list[str], context: Mapping[str, str | Sequence[str]]) -> bool:
    base = operator.removesuffix("IfExists")
    if key not in context:
        return operator.endswith("IfExists")
    raw = context[key]
    actual = [raw] if isinstance(raw, str) else list(raw)
    if base in ("StringEquals", "ArnEquals"):
        return any(a in expected for a in actual)
    if base == "StringEqualsIgnoreCase":
        return any(a.lower() in {e.lower() for e in expected} for a in actual)
    if base in ("StringLike", "ArnLike"):
        return any(matches(e, a) for e in expected for a in actual)
    if base in ("StringNotEquals", "ArnNotEquals"):
        return all(a not in expected for a in actual)
    if base in ("StringNotLike", "ArnNotLike"):
        return all(not matches(e, a) for e in expected for a in actual)
    if base == "Bool":
        return any(a.lower() in {e.lower() for e in expected} for a in actual)
    return False  # an operator we do not model never matches: evaluation errs towards "not allowed"


def _statement_applies(stmt: Mapping[str, Any], action: str, resource: str,
                       context: Mapping[str, str | Sequence[str]]) -> bool:
    if "Action" in stmt:
        if not any(matches(a, action, ignore_case=True) for a in _as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(matches(a, action, ignore_case=True) for a in _as_list(stmt["NotAction"])):
            return False
    else:
        return False
    if "Resource" in stmt:
        if not any(matches(r, resource) for r in _as_list(stmt["Resource"])):
            return False
    elif "NotResource" in stmt:
        if any(matches(r, resource) for r in _as_list(stmt["NotResource"])):
            return False
    else:
        return False
    for operator, block in (stmt.get("Condition") or {}).items():
        for key, expected in block.items():
            if not _condition_holds(operator, key, _as_list(expected), context):
                return False
    return True


def is_allowed(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
               context: Mapping[str, str | Sequence[str]] | None = None) -> bool:
    """Would these identity policies allow ``action`` on ``resource`` with request ``context``?

    >>> doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Pub*", "Resource": "*"}]}
    >>> is_allowed([doc], "SNS:publish", "arn:aws:sns:us-east-1:123456789012:t")
    True
    """
    ctx = context or {}
    allowed = False
    for doc in documents:
        stmts = doc.get("Statement", [])
        for stmt in [stmts] if isinstance(stmts, Mapping) else stmts:
            if not _statement_applies(stmt, action, resource, ctx):
                continue
            if stmt.get("Effect") == "Deny":
                return False
            if stmt.get("Effect") == "Allow":
                allowed = True
    return allowed
