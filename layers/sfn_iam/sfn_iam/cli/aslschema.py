"""Is a definition one Step Functions would accept? Checked against the Amazon States Language schema cfn-lint
maintains and ships (``data/statemachine.json``, copied by ``scripts/copy_asl_schema.py``; cfn-lint's rule E3601
validates state machines with it), so the rules are cfn-lint's, not ours.

The schema is interpreted here with the standard library (the keywords it uses: ``type``, ``properties``,
``patternProperties``, ``additionalProperties``, ``required``, ``enum``, ``const``, ``pattern``, ``minimum``,
``maximum``, ``items``, ``$ref``, ``allOf``, ``oneOf``, ``anyOf``, ``not``, ``if``/``then``/``else``, and cfn-lint's
own ``requiredXor``): a general JSON Schema library would not know ``requiredXor`` (exactly one of ``Next`` and
``End``) and costs more start-up time than ``sfn-iam policy`` takes in all.

Three things a schema cannot say are checked as cfn-lint's rule does by hand: ``StartAt`` and every ``Next``,
``Default`` and ``Catch[].Next`` name a state of the same ``States``; a top-level ``QueryLanguage`` is inherited by
states that do not set their own. Two tolerances keep the offline CLI from calling a good definition bad: a
JSONata expression (``{% ... %}``) stands for a value of any type, and a ``*`` (a value sfn-iam could not know
offline) is not held to a pattern. ARNs of the other partitions (``arn:aws-cn:``, ``arn:aws-us-gov:``) are checked
as ``arn:aws:`` ones: the schema spells only that partition.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from sfn_iam.lazyre import compiled

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "number": (int, float), "integer": (int,),
}
_PARTITION_RE = compiled(globals(), "_PARTITION_RE", r"^arn:aws-[a-z-]+:")
MAX_PROBLEMS = 20


@cache
def schema() -> Mapping[str, Any]:
    # package data next to this module (importlib.resources would cost more start-up than the whole check)
    with open(os.path.join(os.path.dirname(__file__), "data", "statemachine.json"), encoding="utf-8") as handle:
        text = handle.read()
    loaded: dict[str, Any] = json.loads(text)
    # Where the shipped schema is narrower than the language: a Succeed state may have InputPath and OutputPath
    # (https://states-language.net/spec.html#succeed-state) and, like every state, its own QueryLanguage
    # (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html).
    succeed = loaded["definitions"]["succeed"]["properties"]
    path_field = {"pattern": "^\\$", "type": ["string", "null"]}
    succeed.setdefault("InputPath", path_field)
    succeed.setdefault("OutputPath", path_field)
    succeed.setdefault("QueryLanguage", {"$ref": "#/definitions/queryLanguage"})
    return loaded


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("{%") and value.strip().endswith("%}")


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _resolve(ref: str) -> Any:
    node: Any = schema()
    for part in ref.removeprefix("#").strip("/").split("/"):
        if part:
            node = node[part]
    return node


def _errors(value: Any, rule: Any, where: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, message) for each way ``value`` breaks ``rule``."""
    if rule is False:  # a field that may not be there, whatever its value
        yield where, "is not allowed here"
        return
    if _jsonata(value) or not isinstance(rule, Mapping):  # true: anything goes; a JSONata value: any type
        return
    if "$ref" in rule:
        yield from _errors(value, _resolve(rule["$ref"]), where)
    kind = rule.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            yield where, f"must be of type {' or '.join(kinds)} (got {json.dumps(value)[:60]})"
            return
    if "enum" in rule and value not in rule["enum"]:
        yield where, f"must be one of {', '.join(json.dumps(v) for v in rule['enum'])} (got {json.dumps(value)[:60]})"
    if "const" in rule and value != rule["const"]:
        yield where, f"must be {json.dumps(rule['const'])}"
    if isinstance(value, str) and "pattern" in rule and "*" not in value and \
            not _pattern(rule["pattern"]).search(_PARTITION_RE.sub("arn:aws:", value)):
        yield where, f"{json.dumps(value)[:80]} is not of the expected form ({rule['pattern']})"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in rule and value < rule["minimum"]:
            yield where, f"must be at least {rule['minimum']}"
        if "maximum" in rule and value > rule["maximum"]:
            yield where, f"must be at most {rule['maximum']}"
    if isinstance(value, list) and "items" in rule:
        for i, item in enumerate(value):
            yield from _errors(item, rule["items"], (*where, i))
    if isinstance(value, dict):
        yield from _object(value, rule, where)
    for sub in rule.get("allOf", []):
        yield from _errors(value, sub, where)
    if "anyOf" in rule and not any(_valid(value, sub) for sub in rule["anyOf"]):
        yield where, "does not match any allowed shape"
    if "oneOf" in rule and sum(_valid(value, sub) for sub in rule["oneOf"]) != 1:
        yield where, "does not match exactly one allowed shape"
    if "not" in rule and _valid(value, rule["not"]):
        yield where, "has a shape that is not allowed"
    if "if" in rule:
        branch = rule.get("then") if _valid(value, rule["if"]) else rule.get("else")
        if branch is not None:
            yield from _errors(value, branch, where)


def _object(value: dict[str, Any], rule: Mapping[str, Any], where: tuple[str | int, ...]
            ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for key in rule.get("required", []):
        if key not in value:
            yield where, f"lacks the required field {key!r}"
    either = rule.get("requiredXor")
    if isinstance(either, list) and sum(k in value for k in either) != 1:
        present = [k for k in either if k in value]
        yield where, (f"needs exactly one of {' or '.join(repr(k) for k in either)}"
                      + (f" (has {' and '.join(repr(k) for k in present)})" if present else ""))
    properties = rule.get("properties", {})
    patterns = rule.get("patternProperties", {})
    extra = rule.get("additionalProperties", True)
    for key, item in value.items():
        matched = False
        if key in properties:
            matched = True
            yield from _errors(item, properties[key], (*where, key))
        for pattern, sub in patterns.items():
            if _pattern(pattern).search(key):
                matched = True
                yield from _errors(item, sub, (*where, key))
        if not matched and extra is False:
            yield (*where, key), "is not a field of this state" if "Type" in value else "is not an allowed field"
        elif not matched and isinstance(extra, Mapping):
            yield from _errors(item, extra, (*where, key))


def _valid(value: Any, rule: Any) -> bool:
    return next(_errors(value, rule, ()), None) is None


def _inherit(definition: Mapping[str, Any], language: str | None) -> dict[str, Any]:
    """The definition with each state carrying the query language it inherits (``QueryLanguage`` at the top)."""
    own = definition.get("QueryLanguage")
    language = own if isinstance(own, str) else language
    out = dict(definition)
    states = definition.get("States")
    if isinstance(states, Mapping):
        copied: dict[str, Any] = {}
        for name, state in states.items():
            if isinstance(state, Mapping):
                state = dict(state)
                if language and "QueryLanguage" not in state:
                    state["QueryLanguage"] = language
                inner = state.get("QueryLanguage") if isinstance(state.get("QueryLanguage"), str) else language
                if isinstance(state.get("Branches"), list):
                    state["Branches"] = [_inherit(b, inner) if isinstance(b, Mapping) else b
                                         for b in state["Branches"]]
                for key in ("ItemProcessor", "Iterator"):
                    if isinstance(state.get(key), Mapping):
                        state[key] = _inherit(state[key], inner)
            copied[name] = state
        out["States"] = copied
    return out


def _references(definition: Mapping[str, Any], where: tuple[str | int, ...]
                ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    states = definition.get("States")
    if not isinstance(states, Mapping):
        return
    start = definition.get("StartAt")
    if isinstance(start, str) and start not in states:
        yield (*where, "StartAt"), f"names {start!r}, which is not a state of these States"
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        here = (*where, "States", name)
        targets: list[tuple[str, Any]] = [("Next", state.get("Next")), ("Default", state.get("Default"))]
        for field in ("Choices", "Catch"):
            items = state.get(field)
            for i, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, Mapping):
                    targets.append((f"{field}[{i}].Next", item.get("Next")))
        for field, target in targets:
            if isinstance(target, str) and target not in states:
                yield here, f"{field} names {target!r}, which is not a state of the same States"
        for i, branch in enumerate(state.get("Branches") or [] if isinstance(state.get("Branches"), list) else []):
            if isinstance(branch, Mapping):
                yield from _references(branch, (*here, "Branches", i))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from _references(state[key], (*here, key))


def _state_path(where: tuple[str | int, ...]) -> tuple[str, str]:
    """(the state path of a location, the field inside that state): (``States.A.Branches[0].States.B``, ``Next``)."""
    parts: list[str] = []
    i = 0
    last_state = 0
    while i < len(where):
        item = where[i]
        if item == "States" and i + 1 < len(where):
            parts.append(f"States.{where[i + 1]}")
            i += 2
            last_state = len(parts)
            continue
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
        i += 1
    return ".".join(parts[:last_state]), ".".join(parts[last_state:])


def problems(definition: Any) -> list[tuple[str, str]]:
    """(state path, message) for each way ``definition`` breaks the States Language; empty when it is valid (or is
    not an object: the engine reports what is not a definition at all)."""
    if not isinstance(definition, Mapping):
        return []
    inherited = _inherit(definition, None)
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for where, message in [*_errors(inherited, schema(), ()), *_references(inherited, ())]:
        path, field = _state_path(where)
        text = f"{field}: {message}" if field else message
        if (path, text) not in seen:
            seen.add((path, text))
            found.append((path, text))
        if len(found) >= MAX_PROBLEMS:
            break
    return found
