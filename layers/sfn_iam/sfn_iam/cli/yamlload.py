"""YAML and JSON text → plain Python data, with CloudFormation's short-form tags (``!Ref``, ``!Sub``...) expanded.

PyYAML's safe loader with three changes: the short-form intrinsic tags become their long form
(``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``), dates stay strings (``Version: 2012-10-17`` is the policy
language version, not a date), and a UTF-8 byte order mark is accepted.
"""

from __future__ import annotations

from typing import Any

import yaml

from sfn_iam.engine import asl

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TemplateLoader(_BaseLoader):  # type: ignore[misc]
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
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

_FUNCTIONS = ("Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
              "Transform", "If", "Equals", "Not", "And", "Or", "ToJsonString", "Length", "GetAtt")


def _node(loader: Any, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _function(name: str) -> Any:
    def construct(loader: Any, node: yaml.Node) -> dict[str, Any]:
        value = _node(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{name}": value}
    return construct


for _name in _FUNCTIONS:
    TemplateLoader.add_constructor(f"!{_name}", _function(_name))
TemplateLoader.add_constructor("!Ref", lambda loader, node: {"Ref": _node(loader, node)})
TemplateLoader.add_constructor("!Condition", lambda loader, node: {"Condition": _node(loader, node)})


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
            return yaml.load(text, Loader=TemplateLoader)
        except (yaml.YAMLError, RecursionError, ValueError):
            raise ParseError(f"is not valid JSON: {json_error[:200]}") from None
    try:
        return yaml.load(text, Loader=TemplateLoader)
    except RecursionError:
        raise ParseError("is nested too deeply") from None
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).replace("\n", " ")
        raise ParseError(f"is neither JSON nor YAML: {first[:200]}") from None
