"""Core value types. Pure core: standard library only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

_NONE: Mapping[str, Any] = MappingProxyType({})  # the shared default of an absent configuration section


class Condition(NamedTuple):
    """One IAM condition: ``{operator: {key: values}}``."""

    operator: str
    key: str
    values: tuple[str, ...]


class Requirement(NamedTuple):
    """One request the role must be allowed to make: action on resource under conditions, needed by ``path``."""

    action: str
    resource: str
    conditions: tuple[Condition, ...] = ()
    path: str = ""

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0].lower()


class Context(NamedTuple):
    """Where the state machine lives: everything an ARN needs, taken from the state machine ARN."""

    partition: str
    region: str
    account: str
    state_machine_name: str

    @property
    def state_machine_arn(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.state_machine_name}"

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        """``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` with this machine's region and account by default."""
        reg = self.region if region is None else region
        acc = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{reg}:{acc}:{resource}"


class StateMachine(NamedTuple):
    """What ``DescribeStateMachine`` tells us, reduced to what the engine needs.

    ``definition`` is the parsed ASL (a mapping), or the raw text when it could not be parsed.
    """

    arn: str
    definition: Mapping[str, Any] | str
    role_arn: str = ""
    type: str = "STANDARD"
    logging: Mapping[str, Any] = _NONE
    tracing: Mapping[str, Any] = _NONE
    encryption: Mapping[str, Any] = _NONE
    # Published versions that run under this machine's role and that an alias routes executions to: their
    # definitions are granted next to this one (docs/events.md, "Versions and aliases"). Each has its own ARN
    # (``...:stateMachine:NAME:N``) and no versions of its own.
    versions: tuple[StateMachine, ...] = ()
    # Name patterns of resources the machine's source creates without naming them (the CLI: CloudFormation's
    # STACK-LogicalId-*): each stands for one resource and is granted as the pattern it is (engine.static.Known).
    patterns: tuple[str, ...] = ()

    @classmethod
    def from_describe(cls, response: Mapping[str, Any], arn: str | None = None) -> StateMachine:
        """The state machine a ``DescribeStateMachine`` response describes (``arn`` overrides its ARN).

        The definition is parsed when it is a JSON object; otherwise the raw text is kept, which the engine reports
        as a ``DEFINITION_ERROR``. Configuration sections that are not objects are read as absent.
        """
        raw: object = response.get("definition") or ""
        definition: Mapping[str, Any] | str = raw if isinstance(raw, Mapping) else str(raw)
        if isinstance(definition, str):
            try:  # a duplicate key keeps the text: the engine then refuses it (DEFINITION_ERROR), as a reader would
                loaded = json.loads(definition, object_pairs_hook=_unique_pairs)
            except (ValueError, RecursionError):
                loaded = None
            if isinstance(loaded, Mapping):
                definition = loaded

        def section(key: str) -> Mapping[str, Any]:
            value = response.get(key)
            return value if isinstance(value, Mapping) else {}

        return cls(
            arn=arn or str(response.get("stateMachineArn") or ""),
            definition=definition,
            role_arn=str(response.get("roleArn") or ""),
            type=str(response.get("type") or "STANDARD"),
            logging=section("loggingConfiguration"),
            tracing=section("tracingConfiguration"),
            encryption=section("encryptionConfiguration"),
        )


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # the common case, at C speed: a duplicate shows as a shorter dict
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")  # pragma: no cover
