"""Values known before run time, in both query languages. Pure core: standard library only.

A definition often computes at run time what it could have written literally: ``States.Format`` over literals
(AWS CDK's ``HttpInvoke`` always writes its endpoint so), a JSONata expression that is a string literal or a
concatenation of literals (``{% 'task_table' %}``), or the context object's fields that are fixed for the machine
(``$$.StateMachine.Id`` / ``$states.context.StateMachine.Id`` is the machine's own ARN, ``...StateMachine.Name``
its name). :func:`evaluate` computes such a value; anything that depends on the input, a variable, the execution or
an intrinsic it does not model is :data:`UNKNOWN`, and the caller keeps treating it as a run-time value.

The intrinsic functions are those of the Amazon States Language
(https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html); JSONata strings, ``&`` and the
``$states.context`` object as documented in
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html. The context object's fields:
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from sfn_iam.lazyre import compiled


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
_MAX = 4096  # longer text is not worth evaluating (and bounds the work on hostile input)
_NUMBER_RE = compiled(globals(), "_NUMBER_RE", r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NAME_RE = compiled(globals(), "_NAME_RE", r"States\.[A-Za-z0-9]+")
_PATH_RE = compiled(globals(), "_PATH_RE", r"\$\$?[^,()\s]*")


def context_fields(state_machine_arn: str, name: str) -> dict[str, str]:
    """The context object's fields that are the same in every execution of one machine."""
    return {"StateMachine.Id": state_machine_arn, "StateMachine.Name": name}


class Known(NamedTuple):
    """What is known about a machine's values before run time besides literals: the context object's fixed fields
    (:func:`context_fields`) and the name patterns of resources its source creates (``StateMachine.patterns``:
    CloudFormation's ``STACK-LogicalId-*``), which stand for one name each and are granted as the patterns they are."""

    fields: Mapping[str, str] = MappingProxyType({})  # shared, immutable: no field known
    patterns: frozenset[str] = frozenset()

    def vouches(self, value: str) -> bool:
        """Every wildcard of ``value`` lies inside one of :attr:`patterns`."""
        if not self.patterns:
            return False
        rest = value
        for pattern in sorted(self.patterns, key=len, reverse=True):
            rest = rest.replace(pattern, "")
        return rest != value and "*" not in rest and "?" not in rest


def evaluate(text: str, jsonata: bool, fields: Mapping[str, str] | None = None) -> Any:
    """The value of a JSONPath ``.$`` value (a path or an intrinsic function) or of a JSONata ``{% %}`` string, or
    :data:`UNKNOWN` when it is not known before run time. ``fields`` are :func:`context_fields`."""
    if len(text) > _MAX:
        return UNKNOWN
    try:
        if jsonata:
            return _jsonata(text, fields or {})
        return _jsonpath(text.strip(), fields or {})
    except (_Stop, ValueError, IndexError, RecursionError):
        return UNKNOWN


class _Stop(Exception):
    """Not a value known before run time."""


# --- JSONPath: a context path or an intrinsic function -------------------------------------------------------------

def _jsonpath(text: str, fields: Mapping[str, str]) -> Any:
    if text.startswith("$$."):
        return _field(text[3:], fields)
    if text.startswith("States."):
        parser = _Intrinsic(text, fields)
        value = parser.call()
        parser.skip()
        if parser.pos != len(text):
            raise _Stop
        return value
    raise _Stop


def _field(name: str, fields: Mapping[str, str]) -> str:
    if name in fields:
        return fields[name]
    raise _Stop


class _Intrinsic:
    """A recursive-descent reader of one intrinsic function call; evaluates as it reads."""

    def __init__(self, text: str, fields: Mapping[str, str]) -> None:
        self.text = text
        self.pos = 0
        self.fields = fields

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip()
        if self.text[self.pos: self.pos + 1] != char:
            raise _Stop
        self.pos += 1

    def call(self) -> Any:
        self.skip()
        m = _NAME_RE.match(self.text, self.pos)
        if m is None:
            raise _Stop
        name = m.group(0)
        self.pos = m.end()
        self.expect("(")
        args: list[Any] = []
        self.skip()
        if self.text[self.pos: self.pos + 1] == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument())
                self.skip()
                char = self.text[self.pos: self.pos + 1]
                self.pos += 1
                if char == ")":
                    break
                if char != ",":
                    raise _Stop
        return _apply(name, args)

    def argument(self) -> Any:
        self.skip()
        char = self.text[self.pos: self.pos + 1]
        if char == "'":
            return self.string()
        if char == "$":
            m = _PATH_RE.match(self.text, self.pos)
            assert m is not None
            self.pos = m.end()
            if m.group(0).startswith("$$."):
                return _field(m.group(0)[3:], self.fields)
            raise _Stop  # the input or a variable: run time
        if self.text.startswith("States.", self.pos):
            return self.call()
        m = _NUMBER_RE.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
            number = m.group(0)
            return float(number) if any(c in number for c in ".eE") else int(number)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return value
        raise _Stop

    def string(self) -> str:
        self.pos += 1  # the opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                if self.text[self.pos + 1] in "{}":
                    raise _Stop  # an escaped brace in a Format template: not modelled, left to run time
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise _Stop


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _format(template: Any, args: list[Any]) -> str:
    """``States.Format``: each ``{}`` takes the next argument; ``\\{`` and ``\\}`` were unescaped by the reader."""
    if not isinstance(template, str):
        raise _Stop
    parts = template.split("{}")
    if len(parts) - 1 != len(args):
        raise _Stop
    out = [parts[0]]
    for arg, part in zip(args, parts[1:], strict=True):
        out.extend((_text(arg), part))
    return "".join(out)


def _apply(name: str, args: list[Any]) -> Any:
    if name == "States.Format" and args:
        return _format(args[0], args[1:])
    if name == "States.StringSplit" and len(args) == 2 and all(isinstance(a, str) for a in args) \
            and len(args[1]) == 1 and "" not in args[0].split(args[1]):
        return args[0].split(args[1])
    if name == "States.Array":
        return list(args)
    if name == "States.ArrayGetItem" and len(args) == 2 and isinstance(args[0], list) and isinstance(args[1], int):
        return args[0][args[1]]
    if name == "States.JsonToString" and len(args) == 1:
        return json.dumps(args[0], separators=(",", ":"))
    if name == "States.MathAdd" and len(args) == 2 and all(isinstance(a, int) and not isinstance(a, bool)
                                                              for a in args):
        return args[0] + args[1]
    raise _Stop  # UUID, Hash, a random number...: not known before run time


# --- JSONata: string literals, numbers and the fixed context fields joined by & -------------------------------------

_JSONATA_CONTEXT = "$states.context."


def _jsonata(text: str, fields: Mapping[str, str]) -> Any:
    body = text.strip()
    if not (body.startswith("{%") and body.endswith("%}")):
        raise _Stop
    body = body[2:-2]
    parts: list[str] = []
    pos = 0
    expect_operand = True
    while True:
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            break
        char = body[pos]
        if not expect_operand:
            if char != "&":
                raise _Stop
            pos += 1
            expect_operand = True
            continue
        if char in "'\"":
            value, pos = _jsonata_string(body, pos)
        elif body.startswith(_JSONATA_CONTEXT, pos):
            end = pos + len(_JSONATA_CONTEXT)
            while end < len(body) and (body[end].isalnum() or body[end] in "._"):
                end += 1
            value = _field(body[pos + len(_JSONATA_CONTEXT): end], fields)
            pos = end
        else:
            m = _NUMBER_RE.match(body, pos)
            if m is None:
                raise _Stop  # a variable, the input, a function, an operator other than &
            value, pos = m.group(0), m.end()
            if len(parts) == 0 and body[pos:].strip() == "":
                return float(value) if any(c in value for c in ".eE") else int(value)
        parts.append(value)
        expect_operand = False
    if expect_operand or not parts:
        raise _Stop
    return "".join(parts)


def _jsonata_string(body: str, pos: int) -> tuple[str, int]:
    quote = body[pos]
    pos += 1
    out: list[str] = []
    escapes = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", "'": "'", '"': '"'}
    while pos < len(body):
        char = body[pos]
        if char == "\\" and pos + 1 < len(body):
            nxt = body[pos + 1]
            if nxt not in escapes:
                raise _Stop  # \uXXXX and the like: left to run time
            out.append(escapes[nxt])
            pos += 2
            continue
        if char == quote:
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise _Stop
