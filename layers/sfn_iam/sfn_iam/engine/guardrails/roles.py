"""Passed and assumed roles: which literal roles a state machine may hand to a service (``iam:PassRole``) or run
as (``sts:AssumeRole``), and what makes a role admin-equivalent. Pure core: standard library and package data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from sfn_iam.arns import is_role_arn
from sfn_iam.engine.guardrails.ceiling import Ceiling, exceeding
from sfn_iam.engine.guardrails.lists import _data, known_actions
from sfn_iam.engine.guardrails.shape import _literal, _wild
from sfn_iam.lazyre import compiled
from sfn_iam.model import Requirement
from sfn_iam.wildcards import matches

_ROLE_ACTIONS: Final = {"iam:passrole": "passed", "sts:assumerole": "assumed"}
_ROLE_PATTERN_RE = compiled(globals(), "_ROLE_PATTERN_RE", r"arn:[a-z*?-]+:iam::[0-9*?]{1,12}:role/[\x21-\x7e]+")


def bad_role_patterns(patterns: Iterable[str]) -> list[str]:
    """The entries of a passable-role list that are not IAM role ARN patterns (``arn:aws:iam::ACCOUNT:role/...``,
    ``*``/``?`` allowed): a bare ``*`` or a name would silently pass any role, so settings refuse them."""
    return [p for p in patterns if not _ROLE_PATTERN_RE.fullmatch(p)]


def roles_to_verify(reqs: Iterable[Requirement]) -> tuple[str, ...]:
    """The literal role ARNs ``reqs`` pass or assume: what a deployment that can read IAM should check (for
    example with :func:`admin_equivalence`) before planning with :meth:`GuardPolicy.refusing_roles`."""
    return tuple(sorted({r.resource for r in reqs
                         if r.action.lower() in _ROLE_ACTIONS and _literal(r.resource) and is_role_arn(r.resource)}))


@lru_cache(maxsize=1)
def _admin_data() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    raw: Any = _data("admin_equivalent.json")
    return ({a.lower(): why for a, why in raw["actions"].items()},
            dict(raw["managed_policies"]),
            frozenset(a.lower() for a in raw["with_pass_role"]))


# Positive string operators only: a negated one (StringNotEquals) allows every other service, and ForAllValues holds
# vacuously when the key is absent.
_SERVICE_CONDITIONS = frozenset({"stringequals", "stringlike", "stringequalsignorecase", "foranyvalue:stringequals",
                                 "foranyvalue:stringlike"})


def _names_roles(resource: Any) -> bool:
    """A role ARN (or ARN pattern) whose role name is literal: ``arn:aws:iam::*:role/EMR_EC2_DefaultRole``."""
    if not isinstance(resource, str) or ":role/" not in resource:
        return False
    return not _wild(resource.rsplit("/", 1)[1])


def _to_named_services(condition: Any) -> bool:
    """The condition limits the pass to named services: ``iam:PassedToService`` under a positive string operator,
    every value naming its service literally (``ec2.amazonaws.com*`` does; ``*.amazonaws.com`` does not)."""
    if not isinstance(condition, Mapping):
        return False
    for operator, keys in condition.items():
        if not (isinstance(operator, str) and operator.lower() in _SERVICE_CONDITIONS and isinstance(keys, Mapping)):
            continue
        for key, values in keys.items():
            if isinstance(key, str) and key.lower() == "iam:passedtoservice":
                listed = _as_list(values)
                if listed and all(isinstance(v, str) and _named_service(v) for v in listed):
                    return True
    return False


def _named_service(principal: str) -> bool:
    name, dot, _ = principal.partition(".")
    return bool(name and dot and not _wild(name))


def _narrow_pass(stmt: Mapping[str, Any]) -> bool:
    """This Allow passes only named roles, or only to named services (see ``data/admin_equivalent.json``)."""
    resources = _as_list(stmt.get("Resource", []))
    return (bool(resources) and all(_names_roles(r) for r in resources)) or _to_named_services(stmt.get("Condition"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allow_statements(document: Any) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    return [s for s in _as_list(statements) if isinstance(s, Mapping) and s.get("Effect") == "Allow"]


def _escalations(documents: Iterable[Mapping[str, Any]], attached: Iterable[str]
                 ) -> list[tuple[str, frozenset[str]]]:
    """(why, the escalation actions it allows) for each grant of these policies that makes a role admin-equivalent,
    in the order of the policies."""
    actions, managed, with_pass = _admin_data()
    every = frozenset(actions)
    found: list[tuple[str, frozenset[str]]] = []
    waiting: list[tuple[str, frozenset[str]]] = []  # the with_pass_role grants: they count next to a counting pass
    for arn in attached:
        name = arn.rsplit("/", 1)[-1]
        if arn.startswith("arn:") and ":iam::aws:policy/" in arn and name in managed:
            found.append((f"the AWS managed policy {name} is attached ({managed[name]})", every))
    for document in documents:
        for stmt in _allow_statements(document):
            if "NotAction" in stmt:
                found.append(("an Allow with NotAction grants every other action", every))
                continue
            for pattern in _as_list(stmt.get("Action", [])):
                if not isinstance(pattern, str):
                    continue
                if pattern.strip() == "*":
                    found.append(("it allows every action (*)", every))
                    continue
                hits = frozenset(a for a in actions if matches(pattern, a, ignore_case=True))
                if "iam:passrole" in hits and _narrow_pass(stmt):
                    hits -= {"iam:passrole"}
                if hits and hits <= with_pass:
                    waiting.append((f"it allows {pattern} ({actions[min(hits)]}) and passes roles it does not name",
                                    hits))
                elif hits:
                    first = min(hits - with_pass)
                    found.append((f"it allows {pattern} ({actions[first]})", hits))
    if any("iam:passrole" in hits for _, hits in found):
        found.extend(waiting)
    return found


def _boundary_allows(boundary: Mapping[str, Any], action: str) -> bool:
    """Does the permissions boundary ``boundary`` leave ``action`` possible? Its Allow statements only, whatever their
    resources and conditions; an Allow with NotAction counts as any action (fail closed: never under-refuse)."""
    for stmt in _allow_statements(boundary):
        if "NotAction" in stmt:
            return True
        if any(isinstance(p, str) and matches(p, action, ignore_case=True) for p in _as_list(stmt.get("Action", []))):
            return True
    return False


def admin_equivalence(documents: Iterable[Mapping[str, Any]], attached: Iterable[str] = (),
                      boundary: Mapping[str, Any] | None = None) -> str | None:
    """Why a role with these policy ``documents`` (inline and attached, as JSON objects) and attached managed policy
    ARNs is admin-equivalent, or ``None``.

    Admin-equivalent: an Allow of any action, or of a privilege-escalation action (``data/admin_equivalent.json``:
    the role could rewrite permissions, mint credentials or pass/assume any role), whatever its resource and
    conditions (fail closed), or a known administrator managed policy. ``NotAction`` in an Allow counts as any action.
    Two reviewed narrowings keep AWS's service-role policies passable: ``iam:PassRole`` of named roles only, or only
    to named services (``iam:PassedToService``), does not count; launching code (``with_pass_role``: RunInstances,
    CreateFunction, CreateStack) counts only next to a pass that does.

    ``boundary``: the role's permissions boundary document. A role's effective permissions are what both its policies
    and its boundary allow, so a grant counts only when the boundary's Allow statements leave one of its escalation
    actions possible (their resources, conditions and Deny statements are not read: this only ever over-refuses).

    >>> admin_equivalence([{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}]) is not None
    True
    >>> admin_equivalence([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    ...                   boundary={"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    """
    for why, actions in _escalations(documents, attached):
        if boundary is None:
            return why
        possible = sorted(a for a in actions if _boundary_allows(boundary, a))
        if possible:
            return f"{why}, and its permissions boundary allows {possible[0]}"
    return None



def unfit(ceiling: Ceiling, documents: Iterable[Mapping[str, Any]], attached: Iterable[str] = (),
          boundary: Mapping[str, Any] | None = None, *, carries_ceiling: bool = False) -> str | None:
    """Why a role with these policies may not be passed or assumed under ``ceiling``, or ``None`` when it may.

    A role may be passed or assumed when it carries the ceiling as its permissions boundary (``carries_ceiling``),
    when its permissions boundary fits inside the ceiling, or when its policies (inline and attached ``documents``)
    do: whatever a service or a Task does as that role then stays inside the ceiling. Otherwise the first grant
    beyond the ceiling says why, and admin-equivalence (:func:`admin_equivalence`) says it louder.

    >>> from sfn_iam.engine.guardrails.ceiling import parse
    >>> c = parse({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    >>> unfit(c, [{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}])
    >>> unfit(c, [{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}]).split(",")[1]
    ' such as s3:AbortMultipartUpload on *; give it the ceiling as its permissions boundary'
    """
    if carries_ceiling:
        return None
    if boundary is not None and not exceeding(ceiling, [boundary], known_actions()):
        return None
    documents = list(documents)
    beyond = exceeding(ceiling, documents, known_actions())
    if not beyond:
        return None
    action, resource = beyond[0]
    admin = admin_equivalence(documents, attached, boundary)
    shown = f"{action} on {resource}"
    if admin is not None:
        return f"the role is admin-equivalent ({admin}); it may do {shown}, beyond {ceiling.explains()}"
    return (f"it may do {len(beyond)} actions beyond {ceiling.explains()}, such as {shown}; give it the "
            "ceiling as its permissions boundary, or narrow its policies")
