"""The ceiling: what may be granted at all, an allow-list the account's security team owns. Pure core.

The ceiling is an IAM policy document (``Allow`` statements, optional ``Deny`` statements: ``Action`` or
``NotAction``, ``Resource`` or ``NotResource``, ``Condition``). The deployed fixer sets it as the permissions boundary
of every role it writes to, so IAM itself never lets a role do more, whatever the engine decides; the engine checks
every grant against it first, so that what the role could not use is not written and is reported instead
(``OUTSIDE_CEILING``, with the statement an administrator would add to approve it).

A grant (one :class:`~sfn_iam.model.Requirement`: an action on a resource pattern under conditions) is **inside**
when some Allow statement matches its action and covers every resource its pattern can name, and no Deny statement
denies all of it. Conditions of an Allow are IAM's to check at run time (the ceiling is the boundary): they never
make the engine refuse. A Deny that covers only part of a pattern (``function:*`` against the product's own
functions) leaves the rest granted: IAM's boundary denies that part at run time. A Deny with conditions is taken to
hold (fail closed) unless the grant's own conditions prove it cannot (``StringNotEquals iam:PassedToService``
against a grant limited to those services, say).

``${...}`` placeholders: ``${AWS::Partition}``, ``${AWS::Region}``, ``${AWS::AccountId}`` and ``${AWS::StackName}``
(as CloudFormation's ``Fn::Sub`` writes them in the template's copy) are replaced by :func:`parse`'s ``variables``;
any other placeholder (an IAM policy variable such as ``${aws:PrincipalAccount}``) counts as ``*`` in an Allow and
in a Deny alike, which only ever widens a Deny's reach and lets IAM decide an Allow's.

An action a statement names literally (``lambda:ListFunctions``, not ``lambda:*``) is an **explicit approval**: the
second line (``lists.py``, ``shape.py``'s wildcard rule) does not refuse it again. The shape rules still apply.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, ClassVar, Final, NamedTuple

from sfn_iam.engine.guardrails.lists import (
    DEFAULT_DENY,
    PERMISSIONS_MANAGEMENT,
    SENSITIVITY,
    access_level,
    known_actions,
)
from sfn_iam.lazyre import compiled
from sfn_iam.model import Condition, Requirement
from sfn_iam.wildcards import covers, matches, overlap

MANAGED_POLICY_LIMIT: Final = 6144  # IAM: characters of a managed policy document, whitespace excluded
_PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}")
_KEYS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"})
_NEGATED = frozenset({"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike", "stringnotequalsignorecase"})
_POSITIVE = frozenset({"stringequals", "stringlike", "arnequals", "arnlike", "stringequalsignorecase"})


class CeilingError(ValueError):
    """The ceiling is not an IAM policy document this engine can check grants against."""


class _Frozen:
    """Set once in ``__init__``, then read-only: a parsed ceiling is shared by every plan of a process (the default's
    cache). Equal and hashed by identity, as a ceiling is cached by :func:`_verdict`."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()  # in constructor order, for repr

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"


class Statement(_Frozen):
    _fields = ("sid", "allow", "actions", "not_action", "resources", "not_resource", "conditions")
    __slots__ = _fields
    sid: str
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    def __init__(self, sid: str, allow: bool, actions: tuple[str, ...], not_action: bool, resources: tuple[str, ...],
                 not_resource: bool, conditions: tuple[Condition, ...]) -> None:
        init = object.__setattr__
        init(self, "sid", sid)
        init(self, "allow", allow)
        init(self, "actions", actions)
        init(self, "not_action", not_action)
        init(self, "resources", resources)
        init(self, "not_resource", not_resource)
        init(self, "conditions", conditions)

    def matches_action(self, action: str) -> bool:
        hit = any(matches(p, action, ignore_case=True) for p in self.actions)
        return hit != self.not_action

    def names(self, action: str) -> bool:
        """Does this statement name ``action`` literally (no wildcard, not through NotAction)?"""
        lowered = action.lower()
        return not self.not_action and any(p.lower() == lowered for p in self.actions)

    def covers(self, resource: str) -> bool:
        """Every resource ``resource`` can name is one of this statement's."""
        if self.not_resource:
            return not any(overlap(p, resource) for p in self.resources)
        return any(covers(p, resource) for p in self.resources)

    def excluded_by(self, conditions: tuple[Condition, ...]) -> bool:
        """Do the grant's ``conditions`` make one of this (Deny) statement's conditions false for every request?"""
        for deny in self.conditions:
            op = deny.operator.lower()
            for own in conditions:
                if own.key.lower() != deny.key.lower() or own.operator.lower() not in _POSITIVE or not own.values:
                    continue
                inside = all(any(covers(d, v) for d in deny.values) for v in own.values)
                if op in _NEGATED and inside:
                    return True
                if op in _POSITIVE and not any(overlap(d, v) for d in deny.values for v in own.values):
                    return True
        return False

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid} if self.sid else {}
        out["Effect"] = "Allow" if self.allow else "Deny"
        out["NotAction" if self.not_action else "Action"] = list(self.actions)
        out["NotResource" if self.not_resource else "Resource"] = list(self.resources)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for c in self.conditions:
                block.setdefault(c.operator, {})[c.key] = list(c.values)
            out["Condition"] = block
        return out


class Verdict(NamedTuple):
    """The ceiling's answer for one grant: ``inside``; ``explicit`` when an Allow names its action literally and the
    reviewed default does not (an administrator's own approval); ``why`` it is outside (empty when inside);
    ``denied`` when a Deny statement refuses it (an added Allow cannot approve it)."""

    inside: bool
    explicit: bool = False
    why: str = ""
    denied: bool = False


class Ceiling(_Frozen):
    """A parsed ceiling. ``source`` says where it came from (``default``, a file, a policy ARN) for the findings."""

    _fields = ("statements", "source", "document")
    __slots__ = _fields
    statements: tuple[Statement, ...]
    source: str
    document: Mapping[str, Any] | None

    def __init__(self, statements: tuple[Statement, ...], source: str = "default",
                 document: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "statements", statements)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "document", document)

    def check(self, req: Requirement) -> Verdict:
        return _verdict(self, req.action, req.resource, req.conditions)

    def allows(self, action: str, resource: str = "*") -> bool:
        return _verdict(self, action, resource, ()).inside

    def vouches_for(self, role_arn: str) -> bool:
        """Does an Allow statement name this role literally (its ARN as a resource, no wildcard) for
        ``iam:PassRole`` or ``sts:AssumeRole``? The administrator then vouches for it: it is not read and judged."""
        return any(s.allow and not s.not_resource and role_arn in s.resources
                   and (s.names("iam:PassRole") or s.names("sts:AssumeRole")) for s in self.statements)

    def explains(self) -> str:
        return "the default ceiling" if self.source == "default" else f"the ceiling ({self.source})"


@lru_cache(maxsize=65536)
def _verdict(ceiling: Ceiling, action: str, resource: str, conditions: tuple[Condition, ...]) -> Verdict:
    """Decided once per distinct (action, resource, conditions) and ceiling: a definition repeats its grants."""
    for stmt in ceiling.statements:
        if not stmt.allow and stmt.matches_action(action) and stmt.covers(resource) and (
                not stmt.conditions or not stmt.excluded_by(conditions)):
            named = f"statement {stmt.sid}" if stmt.sid else "a Deny statement"
            return Verdict(False, why=f"{ceiling.explains()} denies it ({named})", denied=True)
    allows = [s for s in ceiling.statements if s.allow and s.matches_action(action) and s.covers(resource)]
    if not allows:
        return Verdict(False, why=f"{ceiling.explains()} does not allow it")
    approved = any(s.names(action) for s in allows) and action.lower() not in _default_names()
    return Verdict(True, explicit=approved)


@lru_cache(maxsize=1)
def _default_names() -> frozenset[str]:
    """The actions the reviewed default names literally: a ceiling that copies the default does not approve them
    explicitly (the second line keeps refusing what it refuses for the default)."""
    return frozenset(a.lower() for s in default_document()["Statement"] if s["Effect"] == "Allow"
                     for a in _listed(s["Action"]))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise CeilingError(f"{where} must be a non-empty string or list of non-empty strings")
    return tuple(items)


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: variables.get(m.group(0)[2:-1], "*"), text)


def _conditions(block: Any, where: str, variables: Mapping[str, str]) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, Mapping):
        raise CeilingError(f"{where}.Condition must be an object")
    out: list[Condition] = []
    for operator, keys in block.items():
        if not isinstance(keys, Mapping) or not keys:
            raise CeilingError(f"{where}.Condition.{operator} must be an object of condition keys")
        for key, values in keys.items():
            raw = values if isinstance(values, list) else [values]
            if not raw or not all(isinstance(v, str | bool | int | float) for v in raw):
                raise CeilingError(f"{where}.Condition.{operator}.{key} must be a value or a list of values")
            shown = tuple(("true" if v else "false") if isinstance(v, bool) else _substitute(str(v), variables)
                          for v in raw)
            out.append(Condition(str(operator), str(key), shown))
    return tuple(out)


def parse(document: Any, *, source: str = "default", variables: Mapping[str, str] | None = None) -> Ceiling:
    """The :class:`Ceiling` an IAM policy ``document`` (an object or its JSON text) describes.

    Raises :class:`CeilingError` on anything IAM would reject or this engine cannot check (a statement without
    Effect, an unknown element, ``Principal``): a ceiling that is not understood must not be half-applied.

    >>> c = parse({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]})
    >>> c.allows("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:q"), c.allows("sqs:DeleteQueue")
    (True, False)
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise CeilingError(f"the ceiling is not JSON: {exc}") from exc
    if not isinstance(document, Mapping):
        raise CeilingError("the ceiling must be an IAM policy document (a JSON object with Statement)")
    variables = variables or {}
    raw = document.get("Statement")
    listed = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else None
    if not listed:
        raise CeilingError("the ceiling must have at least one statement")
    statements: list[Statement] = []
    for n, stmt in enumerate(listed):
        where = f"Statement[{n}]"
        if not isinstance(stmt, Mapping):
            raise CeilingError(f"{where} must be an object")
        unknown = sorted(set(stmt) - _KEYS)
        if unknown:
            raise CeilingError(f"{where} has elements a ceiling cannot use: {', '.join(unknown)}")
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise CeilingError(f"{where}.Effect must be Allow or Deny")
        if ("Action" in stmt) == ("NotAction" in stmt):
            raise CeilingError(f"{where} needs exactly one of Action and NotAction")
        if ("Resource" in stmt) == ("NotResource" in stmt):
            raise CeilingError(f"{where} needs exactly one of Resource and NotResource")
        not_action = "NotAction" in stmt
        not_resource = "NotResource" in stmt
        action_key = "NotAction" if not_action else "Action"
        resource_key = "NotResource" if not_resource else "Resource"
        actions = _strings(stmt[action_key], f"{where}.{action_key}")
        resources = tuple(_substitute(r, variables) for r in _strings(stmt[resource_key], f"{where}.{resource_key}"))
        sid = stmt.get("Sid", "")
        statements.append(Statement(str(sid), effect == "Allow", actions, not_action, resources, not_resource,
                                    _conditions(stmt.get("Condition"), where, variables)))
    return Ceiling(tuple(statements), source, document)


def proposal(reqs: Iterable[Requirement]) -> dict[str, Any] | None:
    """The statements an administrator would add to the ceiling to approve ``reqs`` (one per distinct resource and
    conditions, its actions sorted), as an IAM policy document; ``None`` when there is nothing to approve."""
    grouped: dict[tuple[str, tuple[Condition, ...]], set[str]] = {}
    for req in reqs:
        grouped.setdefault((req.resource, tuple(sorted(set(req.conditions)))), set()).add(req.action)
    if not grouped:
        return None
    statements: list[dict[str, Any]] = []
    for (resource, conditions), actions in sorted(grouped.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        stmt: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": resource}
        if conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for c in conditions:
                block.setdefault(c.operator, {})[c.key] = list(c.values)
            stmt["Condition"] = block
        statements.append(stmt)
    return {"Version": "2012-10-17", "Statement": statements}


def statement_for(req: Requirement) -> dict[str, Any]:
    """The one statement that approves ``req`` (what its finding carries)."""
    found = proposal([req])
    assert found is not None
    statement: dict[str, Any] = found["Statement"][0]
    return statement


def restricted(ceiling: Ceiling, *, denied_actions: Iterable[str] = (), allowed_services: Iterable[str] = (),
               passable_roles: Iterable[str] = ()) -> Ceiling:
    """``ceiling`` with Deny statements for the settings it replaces (each empty: no statement): actions never to
    grant, the only services that may be granted, and the only roles that may be passed or assumed.

    >>> c = restricted(default(), allowed_services=["lambda"])
    >>> c.allows("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:111122223333:function:f"), c.allows("sns:Publish")
    (True, False)
    """
    extra: list[dict[str, Any]] = []
    denied = [a for a in denied_actions if a]
    if denied:
        extra.append({"Sid": "DeniedByThisDeployment", "Effect": "Deny", "Action": denied, "Resource": "*"})
    services = [f"{s.lower()}:*" for s in allowed_services if s]
    if services:
        extra.append({"Sid": "OnlyTheseServices", "Effect": "Deny", "NotAction": services, "Resource": "*"})
    roles = [r for r in passable_roles if r]
    if roles:
        extra.append({"Sid": "OnlyTheseRoles", "Effect": "Deny", "Action": ["iam:PassRole", "sts:AssumeRole"],
                      "NotResource": roles})
    return extended(ceiling, extra)


def extended(ceiling: Ceiling, statements: Iterable[Mapping[str, Any]], *, source: str | None = None) -> Ceiling:
    """``ceiling`` with ``statements`` added (an administrator approving a proposal, a deployment's Deny)."""
    extra = list(statements)
    if not extra:
        return ceiling
    added = parse({"Statement": extra}, source=source or ceiling.source)
    document = dict(ceiling.document or {})
    document["Statement"] = [*_listed(document.get("Statement", [])), *extra]
    return Ceiling(ceiling.statements + added.statements, source or ceiling.source, document)


# --- the default -----------------------------------------------------------------------------------------------

def _source_settings() -> dict[str, Any]:
    with open(os.path.join(os.path.dirname(__file__), "data", "ceiling.json"), encoding="utf-8") as handle:
        raw: dict[str, Any] = json.load(handle)
    return raw


def default_document() -> dict[str, Any]:
    """The reviewed default ceiling (``data/ceiling.json``) with its ``${AWS::...}`` placeholders, as the template's
    ``CeilingPolicy`` carries it (docs/security.md says what is inside and why)."""
    raw = _source_settings()
    return {"Version": raw["Version"], "Statement": raw["Statement"]}


def default_boundary() -> dict[str, Any]:
    """The default as the template's ``CeilingPolicy`` carries it: :func:`boundary` with the reviewed settings
    (``Boundary`` in ``data/ceiling.json``: which writes a wildcard may admit, which actions none may)."""
    settings = _source_settings()["Boundary"]
    return boundary(default_document(), most=int(settings["most"]), avoid=tuple(settings["avoid"]))


def reasons() -> dict[str, str]:
    """Why each action of the default is inside (and each Deny is there): ``action`` or ``Sid`` -> reason."""
    found: dict[str, str] = _source_settings()["Reasons"]
    return found


PRODUCT_STACK: Final = "sfn-iam"  # the stack name samconfig.toml deploys: the product's resources when none is said
PRODUCT_PATH: Final = "/sfn-iam/"  # the template's ManagedPolicyPath default


@lru_cache(maxsize=8)
def _default(partition: str, region: str, account: str, stack: str, path: str) -> Ceiling:
    variables = {"AWS::Partition": partition, "AWS::Region": region, "AWS::AccountId": account,
                 "AWS::StackName": stack, "ManagedPolicyPath": path}
    return parse(default_document(), source="default", variables={k: v for k, v in variables.items() if v})


def default(*, partition: str = "", region: str = "", account: str = "", stack: str = "",
            managed_path: str = "") -> Ceiling:
    """The default ceiling for an account (empty: any) and the product's stack and policy path (empty: the
    defaults, ``sfn-iam`` and ``/sfn-iam/``: a Deny on ``*-*`` would refuse every name with a hyphen)."""
    return _default(partition, region, account, stack or PRODUCT_STACK, managed_path or PRODUCT_PATH)


# --- what fits inside --------------------------------------------------------------------------------------------

def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def exceeding(ceiling: Ceiling, documents: Iterable[Mapping[str, Any]], known_actions: Iterable[str]
              ) -> list[tuple[str, str]]:
    """(action, resource) pairs that the Allow statements of ``documents`` grant and ``ceiling`` does not: what a
    role carrying these policies could do beyond the ceiling (empty when they fit inside).

    An action pattern stands for every action of ``known_actions`` (the IAM reference's) it matches; a pattern that
    matches none is outside. ``NotAction`` and ``NotResource`` count as every action and resource. Conditions and
    Deny statements of the documents are not read: this can only over-report.
    """
    known = tuple(known_actions)
    out: dict[tuple[str, str], None] = {}
    for document in documents:
        statements = document.get("Statement", []) if isinstance(document, Mapping) else []
        for stmt in _listed(statements):
            if not isinstance(stmt, Mapping) or stmt.get("Effect") != "Allow":
                continue
            patterns = ["*"] if "NotAction" in stmt else [p for p in _listed(stmt.get("Action", [])) if
                                                           isinstance(p, str)]
            targets = ["*"] if "NotResource" in stmt else [r for r in _listed(stmt.get("Resource", ["*"])) if
                                                            isinstance(r, str)]
            for pattern in patterns:
                actions = [pattern] if "*" not in pattern and "?" not in pattern else \
                    [a for a in known if matches(pattern, a, ignore_case=True)] or [pattern]
                for action in actions:
                    for resource in targets:
                        if not _verdict(ceiling, action, resource, ()).inside:
                            out[(action, resource)] = None
                            break
    return list(out)


# --- the boundary IAM enforces ----------------------------------------------------------------------------------

_VERB_RE = compiled(globals(), "_VERB_RE", r"^[A-Z][a-z]+")


def size(document: Mapping[str, Any]) -> int:
    """The characters IAM counts against a policy's limit: the JSON text without whitespace."""
    return len("".join(json.dumps(document, separators=(",", ":")).split()))


def _risk(admitted: Iterable[str]) -> int | None:
    """How risky it is to let IAM allow ``admitted`` (actions the ceiling does not name): 0 when they only read
    (the IAM reference's List and Read levels, no secret reads), 1 when they also write, ``None`` when one of them is
    unknown to the reference, Permissions management or a secret read: such a merge is never made."""
    worst = 0
    for action in admitted:
        level = access_level(action)
        if level is None or level == PERMISSIONS_MANAGEMENT or action.lower() in SENSITIVITY.secret_reads or \
                action.lower() in SENSITIVITY.actions or any(entry.applies(action) for entry in DEFAULT_DENY):
            return None
        if level not in ("List", "Read"):
            worst = 1
    return worst


def _merges(statements: list[dict[str, Any]], known: Mapping[str, tuple[str, ...]], most: int,
            avoid: tuple[str, ...]) -> list[tuple[int, int, int, str, list[str]]]:
    """Candidate merges: (risk, -saving, statement index, pattern, the entries it replaces)."""
    out: list[tuple[int, int, int, str, list[str]]] = []
    for index, stmt in enumerate(statements):
        listed = stmt.get("Action")
        if stmt.get("Effect") != "Allow" or not isinstance(listed, list):
            continue
        by_service: dict[str, list[str]] = {}
        for action in listed:
            by_service.setdefault(action.split(":", 1)[0], []).append(action)
        for service, entries in by_service.items():
            groups: dict[str, list[str]] = {}
            for action in entries:
                verb = _VERB_RE.match(action.split(":", 1)[1])
                if verb is not None and "*" not in action:
                    groups.setdefault(f"{service}:{verb.group(0)}*", []).append(action)
            groups[f"{service}:*"] = entries
            for pattern, group in groups.items():
                if len(group) < 2:
                    continue
                covered = [a for a in known.get(service.lower(), ()) if matches(pattern, a, ignore_case=True)]
                admitted = [a for a in covered if not any(matches(g, a, ignore_case=True) for g in group)]
                risk = _risk(admitted)
                if risk == 1 and pattern.endswith(":*"):
                    continue  # a whole service's writes: never
                if any(matches(p, a, ignore_case=True) for a in admitted for p in avoid):
                    continue
                if risk is not None and risk <= most:
                    saving = sum(len(a) + 3 for a in group) - len(pattern) - 3
                    out.append((risk, -saving, index, pattern, group))
    return sorted(out)


WORST_CASE: Final = {"AWS::Partition": "aws-us-gov", "AWS::AccountId": "123456789012",
                     "AWS::StackName": "s" * 24, "ManagedPolicyPath": "/sfn-iam/"}  # what the template's size assumes


def filled(document: Mapping[str, Any], variables: Mapping[str, str] = WORST_CASE) -> dict[str, Any]:
    """``document`` with its ``${...}`` placeholders replaced as CloudFormation's ``Fn::Sub`` would."""
    text = _PLACEHOLDER_RE.sub(lambda m: variables.get(m.group(0)[2:-1], m.group(0)), json.dumps(document))
    out: dict[str, Any] = json.loads(text)
    return out


def boundary(document: Mapping[str, Any], *, limit: int = MANAGED_POLICY_LIMIT, reserve: int = 0,
             most: int = 0, avoid: Iterable[str] = ()) -> dict[str, Any]:
    """The ceiling as a permissions boundary IAM accepts: ``document`` itself when it fits in ``limit`` characters
    (less ``reserve``) once CloudFormation has filled its placeholders (:data:`WORST_CASE`: the longest partition
    name, a stack name of 24 characters: a longer one makes CloudFormation refuse the policy at deploy time),
    else with the actions of its Allow statements
    replaced by wildcards (``glue:Get*``, ``rekognition:*``), one merge at a time, until it fits. A merge may only
    let IAM allow more actions of the IAM reference's List and Read levels (no secret reads); with ``most=1`` also of
    the Write level; never an unknown, Permissions management or secret-reading action. Each time the least risky
    merge that saves the most is made; a merge that would admit an action ``avoid`` names is never made (the
    reviewed default avoids actions that run code or hand out endpoints as another principal). Resources,
    conditions and every Deny statement are kept; Sids are dropped
    (IAM does not need them; the findings quote the engine's copy).

    The result allows everything ``document`` allows (a wildcard only widens); what it allows beyond is what the engine
    alone refuses (docs/security.md, "What IAM enforces and what the engine enforces"). Raises :class:`CeilingError`
    when even whole services do not fit.
    """
    statements = [{k: v for k, v in s.items() if k != "Sid"} for s in _listed(document.get("Statement", []))
                  if isinstance(s, Mapping)]
    shaped: dict[str, Any] = {"Version": document.get("Version", "2012-10-17"), "Statement": statements}
    known: dict[str, tuple[str, ...]] = {}
    for action in known_actions():
        service = action.split(":", 1)[0].lower()
        known[service] = (*known.get(service, ()), action)
    while size(filled(shaped)) + reserve > limit:
        merges = _merges(statements, known, most, tuple(avoid))
        if not merges:
            raise CeilingError(f"the ceiling does not fit in a managed policy ({size(filled(shaped))} characters, "
                               f"{limit - reserve} available) even with whole services")
        _, _, index, pattern, replaced = merges[0]
        kept = [a for a in statements[index]["Action"] if a not in replaced]
        statements[index] = {**statements[index], "Action": sorted([*kept, pattern], key=str.lower)}
    return shaped
