"""An offline linter for the policy documents the engine produces. Pure core: standard library only.

The IAM reference is *injected*: a mapping shaped like cfn-lint's ``data/AdditionalSpecs/Policies.json``::

    {SERVICE_PREFIX: {"Actions": {lower_case_action: {"Resources": [resource_type, ...]}},
                      "Resources": {resource_type: {"ARNFormats": ["arn:${Partition}:svc:${Region}:${Account}:x/.*"]}}}}

The core never loads that file (it is a development dependency, ~2 MB); the tests and any pipeline that wants
the check load it and pass it in (see ``tests/tools/iam_reference.py`` and docs/dependencies.md).

What is an error (the generator must never emit it):

* ``DOCUMENT_SHAPE`` — not ``{"Version": "2012-10-17", "Statement": [...]}``, a statement without Effect,
  Action or Resource, ``NotAction``/``NotResource``, a duplicate or non-alphanumeric ``Sid``, a malformed
  ``Condition`` block or an unknown condition operator;
* ``WILDCARD_ACTION`` / ``MALFORMED_ACTION`` — an action that is not a literal ``service:Name``;
* ``UNKNOWN_ACTION`` — an action the reference does not know;
* ``MALFORMED_ARN`` — a resource that is neither ``*`` nor a six-part ARN in a known partition;
* ``RESOURCE_MISMATCH`` — a resource that matches none of the action's resource types (or an ARN for an
  action that only supports ``*``);
* ``SIZE`` — a document above the inline-policy limit (whitespace excluded).

Warnings (``STAR_RESOURCE``) flag ``*`` for actions that do have resource types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sfn_iam import arns
from sfn_iam.engine.policy import INLINE_LIMIT, size

_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
})
_ACTION_RE = re.compile(r"^(?P<service>[a-z0-9-]+):(?P<name>[A-Za-z0-9]+)$")
_SID_RE = re.compile(r"^[A-Za-z0-9]*$")
_PLACEHOLDERS = {"${Partition}": "aws[a-z-]*", "${Region}": "[a-z0-9-]*", "${Account}": "(?:[0-9]{12})?",
                 "${AccountId}": "(?:[0-9]{12})?"}
_PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Issue:
    severity: str  # "error" or "warning"
    code: str
    message: str
    where: str = ""  # "document N statement SID"

    def line(self) -> str:
        return f"{self.severity} {self.code} [{self.where}]: {self.message}"


@lru_cache(maxsize=8192)
def _format_regex(arn_format: str) -> re.Pattern[str]:
    """An ARN format of the reference as a regex: placeholders become their value shapes, the rest is a regex."""
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(arn_format):
        out.append(arn_format[pos:m.start()])
        out.append(_PLACEHOLDERS.get(m.group(), "[^:]*"))
        pos = m.end()
    out.append(arn_format[pos:])
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:  # pragma: no cover - the reference formats are regexes; escape anything else
        return re.compile(re.escape(arn_format), re.DOTALL)


def _sample(resource: str) -> str:
    """A concrete ARN inside an IAM resource pattern, to test it against the reference formats."""
    parts = resource.split(":", 5)
    if parts[3] == "*":
        parts[3] = "us-east-1"
    if parts[4] == "*":
        parts[4] = "123456789012"
    return ":".join(parts).replace("*", "x").replace("?", "x")


class Linter:
    """Lint documents against one reference; compiled lookups are kept between calls."""

    def __init__(self, reference: Mapping[str, Any]) -> None:
        self._ref = reference

    def _action_types(self, service: str, name: str) -> list[str] | None:
        svc = self._ref.get(service)
        if not isinstance(svc, Mapping):
            return None
        entry = svc.get("Actions", {}).get(name.lower())
        if not isinstance(entry, Mapping):
            return None
        return [str(t) for t in entry.get("Resources", [])]

    def _formats(self, service: str, types: Iterable[str]) -> list[str]:
        resources = self._ref.get(service, {}).get("Resources", {})
        lowered = {str(k).lower(): v for k, v in resources.items()}
        formats: list[str] = []
        for t in types:
            spec = lowered.get(t.lower())
            if isinstance(spec, Mapping):
                formats.extend(str(f) for f in spec.get("ARNFormats", []))
        return formats

    def check_resource(self, action: str, resource: str, where: str) -> list[Issue]:
        m = _ACTION_RE.match(action)
        if not m:
            return []
        types = self._action_types(m["service"], m["name"])
        if types is None:
            return []
        if resource == "*":
            if types:
                return [Issue("warning", "STAR_RESOURCE", f"{action} on * (it supports {', '.join(types)})", where)]
            return []
        parts = resource.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[1] not in arns.PARTITIONS or not parts[2] or not parts[5] \
                or not resource.isprintable() or any(ch.isspace() for ch in resource):
            return [Issue("error", "MALFORMED_ARN", f"{resource[:200]!r} is not an ARN", where)]
        if not types:
            return [Issue("error", "RESOURCE_MISMATCH", f"{action} has no resource types; only * applies, "
                          f"not {resource[:200]!r}", where)]
        sample = _sample(resource)
        if any(_format_regex(f).fullmatch(sample) for f in self._formats(m["service"], types)):
            return []
        return [Issue("error", "RESOURCE_MISMATCH",
                      f"{resource[:200]!r} is none of {action}'s resource types ({', '.join(types)})", where)]

    def check_action(self, action: Any, where: str) -> list[Issue]:
        if not isinstance(action, str):
            return [Issue("error", "MALFORMED_ACTION", f"action {action!r} is not a string", where)]
        if "*" in action or "?" in action:
            return [Issue("error", "WILDCARD_ACTION", f"{action[:200]!r} is a wildcard action", where)]
        m = _ACTION_RE.match(action)
        if not m:
            return [Issue("error", "MALFORMED_ACTION", f"{action[:200]!r} is not SERVICE:Action", where)]
        if self._action_types(m["service"], m["name"]) is None:
            return [Issue("error", "UNKNOWN_ACTION", f"{action} is not in the IAM reference", where)]
        return []

    def _condition(self, block: Any, where: str) -> list[Issue]:
        if not isinstance(block, Mapping) or not block:
            return [Issue("error", "DOCUMENT_SHAPE", "Condition is not a non-empty object", where)]
        issues: list[Issue] = []
        for operator, keys in block.items():
            base = str(operator).removeprefix("ForAllValues:").removeprefix("ForAnyValue:").removesuffix("IfExists")
            if base not in _OPERATORS:
                issues.append(Issue("error", "DOCUMENT_SHAPE", f"unknown condition operator {operator!r}", where))
            if not isinstance(keys, Mapping) or not keys:
                issues.append(Issue("error", "DOCUMENT_SHAPE", f"condition {operator!r} has no keys", where))
                continue
            for key, values in keys.items():
                vals = [values] if isinstance(values, str) else values
                if ":" not in str(key) or not isinstance(vals, list) or not vals or \
                        not all(isinstance(v, str) for v in vals):
                    issues.append(Issue("error", "DOCUMENT_SHAPE", f"condition {operator}/{key} is malformed", where))
        return issues

    def lint(self, documents: Iterable[Mapping[str, Any]], limit: int = INLINE_LIMIT) -> list[Issue]:
        """Every issue in ``documents`` (one policy, possibly split in several documents)."""
        issues: list[Issue] = []
        sids: set[str] = set()
        for d, doc in enumerate(documents):
            if not isinstance(doc, Mapping) or doc.get("Version") != "2012-10-17" or \
                    not isinstance(doc.get("Statement"), list):
                issues.append(Issue("error", "DOCUMENT_SHAPE", "not a 2012-10-17 document with a Statement list",
                                    f"document {d}"))
                continue
            if size(dict(doc)) > limit:
                issues.append(Issue("error", "SIZE", f"{size(dict(doc))} characters > {limit}", f"document {d}"))
            for s, stmt in enumerate(doc["Statement"]):
                issues.extend(self._statement(stmt, f"document {d} statement {s}", sids))
        return issues

    def _statement(self, stmt: Any, where: str, sids: set[str]) -> list[Issue]:
        if not isinstance(stmt, Mapping):
            return [Issue("error", "DOCUMENT_SHAPE", "statement is not an object", where)]
        issues: list[Issue] = []
        sid = stmt.get("Sid")
        if sid is not None:
            where = f"{where} ({sid})"
            if not isinstance(sid, str) or not _SID_RE.match(sid) or sid in sids:
                issues.append(Issue("error", "DOCUMENT_SHAPE", f"Sid {sid!r} is not unique and alphanumeric", where))
            else:
                sids.add(sid)
        extra = set(stmt) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        if extra:
            issues.append(Issue("error", "DOCUMENT_SHAPE", f"unexpected elements {sorted(extra)}", where))
        if stmt.get("Effect") not in ("Allow", "Deny"):
            issues.append(Issue("error", "DOCUMENT_SHAPE", "Effect is not Allow or Deny", where))
        actions = stmt.get("Action")
        resources = stmt.get("Resource")
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not isinstance(actions, list) or not actions or not isinstance(resources, list) or not resources:
            issues.append(Issue("error", "DOCUMENT_SHAPE", "Action and Resource must be non-empty", where))
            return issues
        if "Condition" in stmt:
            issues.extend(self._condition(stmt["Condition"], where))
        for action in actions:
            action_issues = self.check_action(action, where)
            issues.extend(action_issues)
            if action_issues:
                continue
            for resource in resources:
                if not isinstance(resource, str):
                    issues.append(Issue("error", "MALFORMED_ARN", f"resource {resource!r} is not a string", where))
                    continue
                issues.extend(self.check_resource(action, resource, where))
        return issues


def lint(documents: Iterable[Mapping[str, Any]], reference: Mapping[str, Any],
         limit: int = INLINE_LIMIT) -> list[Issue]:
    """Issues in ``documents`` against ``reference`` (see the module docstring).

    >>> ref = {"sns": {"Actions": {"publish": {"Resources": ["topic"]}},
    ...                "Resources": {"topic": {"ARNFormats": ["arn:${Partition}:sns:${Region}:${Account}:.*"]}}}}
    >>> doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sns:Publish"],
    ...        "Resource": ["arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sqs:us-east-1:123456789012:q"]}]}
    >>> [i.code for i in lint([doc], ref)]
    ['RESOURCE_MISMATCH']
    """
    return Linter(reference).lint(documents, limit)


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def dumps(issues: Iterable[Issue]) -> str:
    return json.dumps([{"severity": i.severity, "code": i.code, "message": i.message, "where": i.where}
                       for i in issues], indent=1)
