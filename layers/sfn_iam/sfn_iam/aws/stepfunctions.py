"""Step Functions adapter: ``DescribeStateMachine`` → core :class:`StateMachine`; ``ListStateMachines``; aliases."""

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
    "states:ListStateMachineAliases",  # list_aliases (a machine's aliases: versions they route to are granted)
    "states:DescribeStateMachineAlias",  # describe_alias (its routing configuration)
    "kms:Decrypt",  # describe of a machine encrypted with a customer-managed key (through Step Functions only)
})
_NOT_FOUND = frozenset({"StateMachineDoesNotExist", "ResourceNotFound"})
MAX_ALIAS_PAGES = 10  # bounded: Step Functions allows 100 aliases per state machine (100 per page)


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

    def list_aliases(self, arn: str) -> list[str]:
        out: list[str] = []
        kwargs: dict[str, str] = {}
        for _ in range(MAX_ALIAS_PAGES):
            try:
                page = self.client.list_state_machine_aliases(stateMachineArn=arn, maxResults=100, **kwargs)
            except ClientError as exc:
                if error_code(exc) in _NOT_FOUND:
                    return []
                raise
            out.extend(a["stateMachineAliasArn"] for a in page.get("stateMachineAliases", []))
            token = page.get("nextToken")
            if not token:
                break
            kwargs = {"nextToken": token}
        return out

    def describe_alias(self, alias_arn: str) -> list[str]:
        try:
            r = self.client.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return []
            raise
        return [route["stateMachineVersionArn"] for route in r.get("routingConfiguration", [])]
