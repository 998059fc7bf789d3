"""Step Functions adapter: ``DescribeStateMachine`` → core :class:`StateMachine`; ``ListStateMachines``; aliases;
``ListExecutions`` (are executions of the previous definition still running? fixing/retiring.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.fixing.ports import DescribedStateMachine, OldExecutions
from sfn_iam.model import StateMachine

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

REQUIRED_ACTIONS = frozenset({
    "states:DescribeStateMachine",  # describe
    "states:ListStateMachines",  # list_arns (the sweep)
    "states:ListStateMachineAliases",  # list_aliases (a machine's aliases: versions they route to are granted)
    "states:DescribeStateMachineAlias",  # describe_alias (its routing configuration)
    "kms:Decrypt",  # describe of a machine encrypted with a customer-managed key (through Step Functions only)
    "states:ListExecutions",  # running_before (a retiring policy is kept while old executions run)
})
_NOT_FOUND = frozenset({"StateMachineDoesNotExist", "ResourceNotFound"})
MAX_ALIAS_PAGES = 10  # bounded: Step Functions allows 100 aliases per state machine (100 per page)
# ListExecutions is sorted newest first and returns at most 1,000 per page: the first execution that started before
# the cutoff answers "yes"; executions started after it come first, so a machine with more than 3,000 executions
# running since the update is not ruled out (the retiring policy stays, docs/adr/0007).
MAX_EXECUTION_PAGES = 3
EXECUTIONS_PER_PAGE = 1000


def _utc(started: datetime) -> datetime:
    """``startDate`` (required in every ExecutionListItem) as an aware UTC time."""
    return started if started.tzinfo else started.replace(tzinfo=UTC)


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

    def running_before(self, arn: str, cutoff: str) -> OldExecutions:
        try:
            limit = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
        except ValueError:
            return OldExecutions(True, f"unreadable time {cutoff[:40]!r}")
        if limit.tzinfo is None:
            limit = limit.replace(tzinfo=UTC)
        kwargs: dict[str, Any] = {}
        for _ in range(MAX_EXECUTION_PAGES):
            try:
                page = self.client.list_executions(stateMachineArn=arn, statusFilter="RUNNING",
                                                   maxResults=EXECUTIONS_PER_PAGE, **kwargs)
            except ClientError as exc:
                if error_code(exc) in _NOT_FOUND:
                    return OldExecutions(False)  # no machine, no execution
                return OldExecutions(True, f"ListExecutions failed: {error_code(exc)}")
            except BotoCoreError as exc:  # connection errors after the client's retries
                return OldExecutions(True, f"ListExecutions failed: {type(exc).__name__}")
            token = page.get("nextToken")
            older = [s for s in (_utc(e["startDate"]) for e in page.get("executions", [])) if s < limit]
            if older:  # newest first: the rest of this page is older still; later pages are not read
                return OldExecutions(True, started=tuple(s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in older),
                                     complete=not token)
            if not token:
                return OldExecutions(False)
            kwargs = {"nextToken": token}
        return OldExecutions(True, f"more than {MAX_EXECUTION_PAGES * EXECUTIONS_PER_PAGE} executions are running "
                             "and none of them started before the update")
