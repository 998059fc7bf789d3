"""ARN helpers. Pure core: standard library only."""

from __future__ import annotations

import re
from typing import NamedTuple

from sfn_iam.lazyre import compiled

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
_ARN_RE = compiled(globals(), "_ARN_RE",
    r"^arn:(?P<partition>[a-z-]+):(?P<service>[A-Za-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|aws|)?:"
    r"(?P<resource>.+)$"
)
_STATE_MACHINE_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):states:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):stateMachine:"
    r"(?P<name>[^:\s]{1,80})(?::(?P<qualifier>[^:\s]+))?$"
)
_ROLE_RE = compiled(globals(), "_ROLE_RE",
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role(?P<path>/(?:[\x21-\x7e]*/)?)"
    r"(?P<name>[\w+=,.@-]{1,64})$"
)


class ArnError(ValueError):
    """An ARN that does not have the expected shape."""


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse(text: object) -> Arn | None:
    """Split an ARN into its parts, or ``None`` when ``text`` is not an ARN (or not even a string)."""
    if not isinstance(text, str):
        return None
    m = _ARN_RE.fullmatch(text)
    if not m:
        return None
    return Arn(m["partition"], m["service"], m["region"], m["account"] or "", m["resource"])


class StateMachineArn(NamedTuple):
    partition: str
    region: str
    account: str
    name: str
    qualifier: str | None

    @property
    def unqualified(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{self.name}"


def parse_state_machine_arn(text: str) -> StateMachineArn:
    """Parse ``arn:P:states:R:A:stateMachine:NAME[:QUALIFIER]``; raise :class:`ArnError` otherwise."""
    m = _STATE_MACHINE_RE.fullmatch(text) if isinstance(text, str) else None
    if not m or m["partition"] not in PARTITIONS:
        raise ArnError(f"not a state machine ARN: {str(text)[:200]!r}")
    return StateMachineArn(m["partition"], m["region"], m["account"], m["name"], m["qualifier"])


class RoleArn(NamedTuple):
    partition: str
    account: str
    path: str
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"


def parse_role_arn(text: str) -> RoleArn:
    """Parse ``arn:P:iam::A:role/PATH/NAME``; the role name is the last path segment."""
    m = _ROLE_RE.fullmatch(text) if isinstance(text, str) else None
    if not m or m["partition"] not in PARTITIONS:
        raise ArnError(f"not a role ARN: {str(text)[:200]!r}")
    return RoleArn(m["partition"], m["account"], m["path"], m["name"])


def is_role_arn(text: object) -> bool:
    return isinstance(text, str) and _ROLE_RE.fullmatch(text) is not None


def partition_of_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("eusc-"):
        return "aws-eusc"
    return "aws"
