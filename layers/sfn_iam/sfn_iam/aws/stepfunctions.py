"""Step Functions adapter: ``DescribeStateMachine`` → core :class:`StateMachine`; ``ListStateMachines``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.fixing.ports import DescribedStateMachine
from sfn_iam.model import StateMachine

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

REQUIRED_ACTIONS = frozenset({
    "states:DescribeStateMachine",  # describe
    "states:ListStateMachines",  # list_arns (the sweep)
    "kms:Decrypt",  # describe of a machine encrypted with a customer-managed key (through Step Functions only)
})
_NOT_FOUND = frozenset({"StateMachineDoesNotExist", "ResourceNotFound"})


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
        machine = StateMachine.from_describe(r)
        return DescribedStateMachine(machine, status=r.get("status", "ACTIVE"))

    def list_arns(self) -> Iterator[str]:
        for page in self.client.get_paginator("list_state_machines").paginate():
            for item in page["stateMachines"]:
                yield item["stateMachineArn"]
