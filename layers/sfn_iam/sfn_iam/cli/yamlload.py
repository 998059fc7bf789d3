"""YAML and JSON text → plain Python data, with CloudFormation's short-form tags (``!Ref``, ``!Sub``...) expanded.

PyYAML's safe loader with three changes: the short-form intrinsic tags become their long form
(``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``), dates stay strings (``Version: 2012-10-17`` is the policy
language version, not a date), and a UTF-8 byte order mark is accepted.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sfn_iam.engine import asl

_FUNCTIONS = ("Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
              "Transform", "If", "Equals", "Not", "And", "Or", "ToJsonString", "Length", "GetAtt")


@cache
def _loader() -> Any:
    """The loader class, built on first use: JSON input (most definitions) never imports PyYAML."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class TemplateLoader(base):  # type: ignore[misc]
        """Safe loading plus CloudFormation short forms; no Python objects, no dates, no duplicate keys."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, str) and key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                if isinstance(key, str):
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    TemplateLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }

    def node_value(loader: Any, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    def function(name: str) -> Any:
        def construct(loader: Any, node: Any) -> dict[str, Any]:
            value = node_value(loader, node)
            if name == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            return {f"Fn::{name}": value}
        return construct

    for name in _FUNCTIONS:
        TemplateLoader.add_constructor(f"!{name}", function(name))
    TemplateLoader.add_constructor("!Ref", lambda loader, node: {"Ref": node_value(loader, node)})
    TemplateLoader.add_constructor("!Condition", lambda loader, node: {"Condition": node_value(loader, node)})
    return TemplateLoader


def _yaml_error(exc: Exception) -> str:
    """``line L, column C: problem`` — PyYAML's message without its ``in "<unicode string>"`` lines."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).split("\n", 1)[0]
    context = getattr(exc, "context", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{where}: {problem}" + (f", {context}" if context and context != problem else "")


def _yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise ValueError(_yaml_error(exc)) from None


class ParseError(ValueError):
    """Text that is neither JSON nor YAML."""


def loads(text: str) -> Any:
    """JSON (fast path) or YAML with CloudFormation tags. Raises :class:`ParseError` with a one-line reason."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ParseError("is empty")
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            return asl.loads(text)  # duplicate keys are refused: the engine must see what a reader sees
        except asl.DefinitionError as exc:
            if "duplicate" in str(exc):
                raise ParseError(str(exc)[:300]) from None
            json_error = str(exc)
        # YAML is a superset of JSON in practice; a JSON error is the better message for text that looks like JSON
        try:
            return _yaml(text)
        except (RecursionError, ValueError):
            raise ParseError(f"is not valid JSON: {json_error[:200]}") from None
    try:
        return _yaml(text)
    except RecursionError:
        raise ParseError("is nested too deeply") from None
    except ValueError as exc:
        raise ParseError(f"is not valid YAML{str(exc)[:200]}") from None
