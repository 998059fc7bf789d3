"""Step Functions adapter: ``DescribeStateMachine`` → core :class:`StateMachine`; ``ListStateMachines``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.engine import asl
from sfn_iam.fixing.ports import DescribedStateMachine
from sfn_iam.model import StateMachine

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

REQUIRED_ACTIONS = frozenset({
    "states:DescribeStateMachine",  # describe
    "states:ListStateMachines",  # list_arns (the sweep)
})
_NOT_FOUND = frozenset({"StateMachineDoesNotExist", "ResourceNotFound"})


def _section(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class StepFunctionsReader:
    def __init__(self, client: SFNClient) -> None:
        self.client = client

    def describe(self, arn: str) -> DescribedStateMachine | None:
        try:
            r = self.client.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return None
            raise
        definition: Mapping[str, Any] | str = r["definition"]
        try:
            loaded = asl.loads(r["definition"])  # duplicate keys: kept as text, reported as DEFINITION_ERROR
            if isinstance(loaded, Mapping):
                definition = loaded
        except (ValueError, RecursionError):
            pass  # the engine reports an unparseable definition as a DEFINITION_ERROR
        machine = StateMachine(
            arn=r["stateMachineArn"],
            definition=definition,
            role_arn=r["roleArn"],
            type=r.get("type", "STANDARD"),
            logging=_section(r.get("loggingConfiguration")),
            tracing=_section(r.get("tracingConfiguration")),
            encryption=_section(r.get("encryptionConfiguration")),
        )
        return DescribedStateMachine(machine, status=r.get("status", "ACTIVE"))

    def list_arns(self) -> Iterator[str]:
        for page in self.client.get_paginator("list_state_machines").paginate():
            for item in page["stateMachines"]:
                yield item["stateMachineArn"]
