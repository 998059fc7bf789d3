"""Only valid policies: every emitted Resource is ``*`` or an ARN the action accepts. Pure core: standard library only.

IAM rejects a whole policy document whose Resource is not an ARN (``MalformedPolicyDocument``), so one bad literal
(``"TopicArn": "topic"``, an unresolved ``${Placeholder}``) would leave the machine with nothing at all; an ARN of
another service or resource type (a Batch ``JobQueue`` given an SQS ARN) is accepted by IAM but never matches a
request. Both are dropped with an ``INVALID_VALUE`` finding. The accepted ARN templates of every action come from
the generated ``sdk/data/arns/<prefix>.json`` (the IAM reference the SDK table is built from); an action or prefix
the reference does not know is left alone (``UNKNOWN_ACTION`` covers it where it matters).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from sfn_iam import arns
from sfn_iam.findings import Finding
from sfn_iam.lazyre import compiled
from sfn_iam.model import Requirement

_WILD = ("*", "?")


@cache
def _formats(prefix: str) -> Mapping[str, Any] | None:
    name = prefix.lower()
    if not name.replace("-", "").isalnum():
        return None
    path = os.path.join(os.path.dirname(__file__), "sdk", "data", "arns", f"{name}.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        data: Mapping[str, Any] = json.load(handle)
    return data


def _literal(text: str, stops: tuple[str, ...]) -> str:
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def _accepts(template: str, arn: arns.Arn) -> bool:
    parts = template.split(":", 5)
    if len(parts) < 6:
        return True  # a template we cannot read: do not judge
    _, _, service, region, account, rest = parts
    if "${" not in service and not any(w in arn.service for w in _WILD) and service != arn.service:
        return False
    for t_part, r_part in ((region, arn.region), (account, arn.account)):
        if t_part == "" and r_part not in ("", "*"):
            return False  # e.g. S3 and IAM ARNs have no Region (and S3 no account)
    expected = _literal(rest, ("${",))
    given = _literal(arn.resource, _WILD)
    if given == arn.resource:  # no wildcard in the resource
        return arn.resource.startswith(expected)
    return arn.resource.startswith(expected) or expected.startswith(given)


_ARN_RE = compiled(globals(), "_ARN_RE",
    r"^arn:(?P<p>aws[a-z-]*|\*):(?P<s>[a-z0-9*?-]+):(?P<r>[a-z0-9*?-]*):(?P<a>\d{12}|aws|[*?\d]*):(?P<x>.+)$"
)


def _parse(resource: str) -> arns.Arn | None:
    """An ARN, whose Region and account may be wildcards (``arns.parse`` wants them literal)."""
    m = _ARN_RE.match(resource)
    return arns.Arn(m["p"], m["s"], m["r"], m["a"], m["x"]) if m else None


@lru_cache(maxsize=4096)
def problem(action: str, resource: str) -> str | None:
    """Why ``resource`` can never be valid for ``action`` (``None`` when it can)."""
    if resource == "*":
        return None
    if "${" in resource:
        return "is an unresolved ${...} placeholder"
    parsed = _parse(resource)
    if parsed is None:
        return "is not an ARN"
    prefix, _, name = action.partition(":")
    table = _formats(prefix)
    if table is None:
        return None
    indexes = table["a"].get(name.lower())
    if indexes is None:
        return None  # an action the reference does not know: UNKNOWN_ACTION where it matters
    if not indexes:
        return None  # no resource types: IAM matches '*' only; left for the integration to decide
    templates = table["t"]
    if any(_accepts(templates[i], parsed) for i in indexes):
        return None
    if any(_accepts(t, parsed) for t in templates):
        # a resource type of the service that the (pinned) reference does not list for this action: AWS adds
        # resource types to actions over time, so this is kept rather than risk an AccessDenied
        return None
    return f"is not a resource {action} accepts ({', '.join(sorted(templates[i] for i in indexes))[:300]})"


def valid_only(requirements: list[Requirement], findings: list[Finding]) -> list[Requirement]:
    """The requirements whose resource the action can accept; an ``INVALID_VALUE`` finding for each other one."""
    kept: list[Requirement] = []
    for req in requirements:
        why = problem(req.action, req.resource)
        if why is None:
            kept.append(req)
        else:
            findings.append(Finding.of(
                "INVALID_VALUE", f"{req.resource[:200]!r} {why}: {req.action} not granted on it", req.path))
    return kept
