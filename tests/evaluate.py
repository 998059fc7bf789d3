"""Evaluate identity policies the way IAM does, for one request. Standard library only.

The oracle of the request-level tests: an explicit Deny wins, otherwise some Allow must match the action, the
resource and every condition. It implements the parts of the IAM policy language documented in
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html (identity policies
only), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html.
Anything else raises ``Unsupported`` (IAM behaviour not modelled) or ``InvalidPolicy`` (input IAM would reject, or
a request context that makes no sense): it never answers silently.

Rules, each covered by tests/test_evaluate.py:
- actions match case-insensitively, resources and condition values case-sensitively (except ``...IgnoreCase``);
- in ``Resource`` a wildcard stays inside one of the first five colon-separated ARN segments unless ``*`` is the
  last character of its segment; ``ArnEquals``/``ArnLike`` take wildcards and match segment by segment;
- condition-key names are case-insensitive; several values for a key are ORed (NORed for negated operators);
- a key absent from the request: the condition is false, true for negated operators and ``...IfExists``;
  ``ForAnyValue`` is false and ``ForAllValues`` true when the key is absent or empty;
- a multi-valued context key (a list of more than one value) needs ``ForAnyValue``/``ForAllValues``;
- JSON booleans and numbers in condition values are compared as IAM's strings (``true``, ``5``);
- policy variables (``Version`` 2012-10-17 only) in ``Resource`` and String/ARN condition values: ``${*}``,
  ``${?}``, ``${$}`` and single-valued keys present in the request (or a ``'default'``); others raise.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

Scalar = str | bool | int | float
Context = Mapping[str, Scalar | Sequence[Scalar]]


class Unsupported(NotImplementedError):
    """The policy or request uses IAM behaviour this evaluator does not model."""


class InvalidPolicy(ValueError):
    """The policy (or the request context) is malformed: IAM would reject it or it cannot describe a request."""


# --- values -------------------------------------------------------------------------------------------------------

def _scalar(value: Any, where: str) -> str:
    """A JSON scalar as the string IAM compares: booleans ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise InvalidPolicy(f"{where}: {value!r} is not a string, number or boolean")


def _strings(value: Any, where: str) -> list[str]:
    """A policy element that is one string or a non-empty list of strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise InvalidPolicy(f"{where}: expected a string or a non-empty list of strings, got {value!r}")
    return items


def _normalise_context(context: Context | None) -> dict[str, str | tuple[str, ...]]:
    """Keys lower-cased (IAM condition-key names are case-insensitive); a list is a multi-valued key."""
    out: dict[str, str | tuple[str, ...]] = {}
    for key, raw in (context or {}).items():
        if key.lower() in out:
            raise InvalidPolicy(f"request context has {key!r} twice (condition-key names are case-insensitive)")
        if isinstance(raw, str | bool | int | float):
            out[key.lower()] = _scalar(raw, f"context {key}")
        elif not isinstance(raw, Sequence):
            raise InvalidPolicy(f"context {key}: {raw!r} is neither a value nor a list of values")
        else:
            out[key.lower()] = tuple(_scalar(v, f"context {key}") for v in raw)
    return out


# --- patterns: wildcards and policy variables ---------------------------------------------------------------------

STAR, QMARK = ("*",), ("?",)  # wildcard tokens; a literal token is ("lit", text)
Token = tuple[str, ...]
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _closing_brace(text: str, start: int) -> int:
    quoted = False
    for i in range(start, len(text)):
        if text[i] == "'":
            quoted = not quoted  # '' inside a quoted default toggles twice: an escaped quote
        elif text[i] == "}" and not quoted:
            return i
    raise InvalidPolicy(f"unterminated policy variable in {text!r}")


def _variable(inner: str, ctx: Mapping[str, str | tuple[str, ...]], text: str) -> str:
    if inner in _SPECIAL:
        return _SPECIAL[inner]
    key, _, default = inner.partition(",")
    key, default = key.strip(), default.strip()
    if default and not (len(default) >= 2 and default[0] == default[-1] == "'"):
        raise InvalidPolicy(f"policy variable default must be quoted: {text!r}")
    value = ctx.get(key.lower())
    if isinstance(value, str):
        if "*" in value or "?" in value:
            raise Unsupported(f"policy variable ${{{key}}} resolves to a value with wildcard characters: {value!r}")
        return value
    if default:
        return default[1:-1].replace("''", "'")
    state = "multi-valued" if value is not None else "absent from the request context"
    raise Unsupported(f"policy variable ${{{key}}} in {text!r} is {state} and has no default")


def _tokens(text: str, ctx: Mapping[str, str | tuple[str, ...]] | None) -> tuple[Token, ...]:
    """Split a policy string into literal runs and wildcards; ``ctx`` given means policy variables are resolved."""
    if ctx is None or "${" not in text:
        return _plain_tokens(text)
    out: list[Token] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            out.extend(_plain_tokens(text[i:]))
            break
        out.extend(_plain_tokens(text[i:start]))
        end = _closing_brace(text, start + 2)
        out.append(("lit", _variable(text[start + 2:end], ctx, text)))
        i = end + 1
    return tuple(out)


@lru_cache(maxsize=16384)
def _plain_tokens(text: str) -> tuple[Token, ...]:
    return tuple(STAR if part == "*" else QMARK if part == "?" else ("lit", part)
                 for part in re.split(r"([*?])", text) if part)


def _literal(tokens: tuple[Token, ...]) -> str:
    return "".join(t[1] if len(t) == 2 else t[0] for t in tokens)


@lru_cache(maxsize=4096)
def _regex(tokens: tuple[Token, ...], mode: str) -> re.Pattern[str]:
    """mode: ``glob`` (wildcards anywhere), ``resource`` (the Resource ARN rule) or ``arn`` (ARN operators)."""
    parts: list[str] = []
    colons = 0
    for n, tok in enumerate(tokens):
        if len(tok) == 2:
            parts.append(re.escape(tok[1]))
            colons += tok[1].count(":")
            continue
        confined = mode != "glob" and colons < 5
        if tok == STAR and mode == "resource" and confined:
            following = tokens[n + 1] if n + 1 < len(tokens) else None
            confined = following is not None and not (len(following) == 2 and following[1].startswith(":"))
        if tok == STAR:
            parts.append("[^:]*" if confined else ".*")
        else:
            parts.append("[^:]" if confined else ".")
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=16384)
def _compiled(text: str, mode: str) -> re.Pattern[str] | None:
    tokens = _plain_tokens(text)
    return None if tokens == (STAR,) else _regex(tokens, mode)  # None: a lone '*' matches everything


def _like(pattern: str, value: str, mode: str, ctx: Mapping[str, str | tuple[str, ...]] | None = None) -> bool:
    """Does policy ``pattern`` (wildcards; policy variables when ``ctx`` is given) match ``value``?"""
    plain = ctx is None or "${" not in pattern
    compiled = _compiled(pattern, mode) if plain else _regex(_tokens(pattern, ctx), mode)
    return compiled is None or compiled.fullmatch(value) is not None


# --- condition operators ------------------------------------------------------------------------------------------

def _number(text: str, where: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidPolicy(f"{where}: {text!r} is not a number") from None
    if not number.is_finite():
        raise InvalidPolicy(f"{where}: {text!r} is not a finite number")
    return number


def _date(text: str, where: str) -> datetime:
    if re.fullmatch(r"-?\d+", text.strip()):
        return datetime.fromtimestamp(int(text), UTC)  # epoch (UNIX) time
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidPolicy(f"{where}: {text!r} is neither ISO 8601 nor epoch time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bool(text: str, where: str) -> str:
    if text in ("true", "false"):
        return text
    if text.lower() in ("true", "false"):
        raise Unsupported(f"{where}: {text!r}: IAM documents only lower-case true/false")
    raise InvalidPolicy(f"{where}: {text!r} is not true or false")


def _ip_in(value: str, network: str) -> bool:
    try:
        address, net = ipaddress.ip_address(value.strip()), ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        raise InvalidPolicy(f"IpAddress: {value!r} or {network!r} is not an IP address / CIDR") from None
    return address.version == net.version and address in net


_NUMERIC: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b}
_DATE: dict[str, Callable[[datetime, datetime], bool]] = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b}
# negated operator -> the positive operator it negates
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
            "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "Bool", "IpAddress", "ArnEquals", "ArnLike",
             *(f"Numeric{k}" for k in _NUMERIC), *(f"Date{k}" for k in _DATE)}
_VARIABLES = ("String", "Arn")  # operator families whose values may hold policy variables


def _value_matches(base: str, value: str, expected: str, ctx: Mapping[str, str | tuple[str, ...]] | None) -> bool:
    """Does one request value satisfy positive operator ``base`` against one policy value?"""
    if base.startswith(_VARIABLES):
        if base == "StringLike":
            return _like(expected, value, "glob", ctx)
        tokens = _tokens(expected, ctx)
        if base == "StringEquals":
            return value == _literal(tokens)
        if base == "StringEqualsIgnoreCase":
            return value.lower() == _literal(tokens).lower()
        if sum(t[1].count(":") for t in tokens if len(t) == 2) < 5:
            raise Unsupported(f"{base} value {expected!r} does not have the six colon-separated ARN segments")
        return _like(expected, value, "arn", ctx)
    if base.startswith("Numeric"):
        return _NUMERIC[base.removeprefix("Numeric")](_number(value, base), _number(expected, base))
    if base.startswith("Date"):
        return _DATE[base.removeprefix("Date")](_date(value, base), _date(expected, base))
    if base == "Bool":
        return _bool(value, "Bool context value") == _bool(expected, "Bool")
    return _ip_in(value, expected)  # IpAddress


def _parse_operator(operator: str) -> tuple[str | None, str, bool, bool]:
    """-> (set qualifier, positive base operator, negated, IfExists)."""
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise Unsupported(f"unknown condition set operator {qualifier!r} in {operator!r}")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if base == "Null":
        if qualifier or if_exists:
            raise InvalidPolicy(f"{operator!r}: Null takes neither a set operator nor IfExists")
    elif base not in _POSITIVE:
        raise Unsupported(f"condition operator {operator!r} is not modelled by tests/evaluate.py")
    return qualifier or None, base, negated, if_exists


def _condition_holds(operator: str, key: str, raw_expected: Any, ctx: Mapping[str, str | tuple[str, ...]],
                     variables: bool) -> bool:
    qualifier, base, negated, if_exists = _parse_operator(operator)
    items = raw_expected if isinstance(raw_expected, list) else [raw_expected]
    if not items:
        raise InvalidPolicy(f"{operator} {key}: empty list of values")
    expected = [_scalar(v, f"{operator} {key}") for v in items]
    actual = ctx.get(key.lower())
    if base == "Null":
        if actual in ("", ()):
            raise Unsupported(f"Null on {key!r} with an empty value in the request context")
        return any((_bool(e, "Null") == "true") == (actual is None) for e in expected)
    var_ctx = ctx if variables else None

    def single(value: str) -> bool:
        hit = any(_value_matches(base, value, e, var_ctx) for e in expected)
        return not hit if negated else hit  # negated operators: NOR over the policy values

    if qualifier is None:
        if actual is None:
            return if_exists or negated
        if isinstance(actual, tuple):
            if len(actual) != 1:
                raise Unsupported(f"{operator} on multi-valued key {key!r} without ForAnyValue/ForAllValues")
            actual = actual[0]
        return single(actual)
    values = (actual,) if isinstance(actual, str) else actual
    if qualifier == "ForAllValues":
        return values is None or all(single(v) for v in values)  # vacuously true when absent or empty
    if values is None:
        return if_exists
    if not values and if_exists:
        raise Unsupported(f"{operator} on an empty {key!r}: IAM does not document this case")
    return any(single(v) for v in values)  # ForAnyValue: false when empty


# --- statements and documents -------------------------------------------------------------------------------------

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def _one_of(stmt: Mapping[str, Any], positive: str) -> tuple[list[str], bool]:
    """-> (patterns, negated) for Action/NotAction or Resource/NotResource; exactly one must be present."""
    negative = f"Not{positive}"
    if (positive in stmt) == (negative in stmt):
        raise InvalidPolicy(f"a statement needs exactly one of {positive} and {negative}: {dict(stmt)!r}")
    name = positive if positive in stmt else negative
    return _strings(stmt[name], name), name == negative


def _statement_applies(stmt: Mapping[str, Any], action: str, resource: str,
                       ctx: Mapping[str, str | tuple[str, ...]], variables: bool) -> bool:
    if not isinstance(stmt, Mapping):
        raise InvalidPolicy(f"a statement must be an object, got {stmt!r}")
    if not stmt.keys() <= _STATEMENT_KEYS:
        if "Principal" in stmt or "NotPrincipal" in stmt:
            raise Unsupported("Principal/NotPrincipal: resource-based policies are not modelled")
        raise InvalidPolicy(f"unknown statement elements {sorted(set(stmt) - _STATEMENT_KEYS)}")
    if stmt.get("Effect") not in ("Allow", "Deny"):
        raise InvalidPolicy(f"Effect must be Allow or Deny, got {stmt.get('Effect')!r}")
    actions, not_action = _one_of(stmt, "Action")
    if any(_like(a.lower(), action, "glob") for a in actions) == not_action:  # action arrives lower-cased
        return False
    resources, not_resource = _one_of(stmt, "Resource")
    var_ctx = ctx if variables else None
    if any(_like(r, resource, "resource", var_ctx) for r in resources) == not_resource:
        return False
    condition = stmt.get("Condition") or {}
    if not isinstance(condition, Mapping):
        raise InvalidPolicy(f"Condition must be an object, got {condition!r}")
    for operator, block in condition.items():
        if not isinstance(block, Mapping) or not block:
            raise InvalidPolicy(f"{operator}: expected a non-empty object of condition keys, got {block!r}")
        for key, expected in block.items():
            if not _condition_holds(operator, key, expected, ctx, variables):
                return False
    return True


def is_allowed(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
               context: Context | None = None) -> bool:
    """Would these identity policies allow ``action`` on ``resource`` with request ``context``?

    ``context`` maps condition keys (any case) to a value, or to a list of values for a multi-valued key.

    >>> doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Pub*", "Resource": "*"}]}
    >>> is_allowed([doc], "SNS:publish", "arn:aws:sns:us-east-1:123456789012:t")
    True
    """
    ctx = _normalise_context(context)
    allowed = False
    for doc in documents:
        if unknown := set(doc) - {"Version", "Id", "Statement"}:
            raise InvalidPolicy(f"unknown policy elements {sorted(unknown)}")
        version = doc.get("Version", "2008-10-17")
        if version not in ("2012-10-17", "2008-10-17"):
            raise InvalidPolicy(f"unknown policy Version {version!r}")
        stmts = doc.get("Statement", [])
        for stmt in [stmts] if isinstance(stmts, Mapping) else stmts:
            if not _statement_applies(stmt, action.lower(), resource, ctx, variables=version == "2012-10-17"):
                continue
            if stmt["Effect"] == "Deny":
                return False
            allowed = True
    return allowed
