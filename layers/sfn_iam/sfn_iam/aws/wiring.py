"""The one factory that turns settings and a boto3 session into the adapters the use cases run on.

Both Lambda handlers and the CLI build their clients, stores and sinks here, so a new adapter (or a new argument of
one) is wired once. Every client gets the retry policy of :mod:`sfn_iam.aws.clients`; ``AWS_ENDPOINT_URL`` (a moto
server, for example) is honoured by boto3 itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import boto3
from botocore.exceptions import ClientError

from sfn_iam.arns import partition_of_region
from sfn_iam.aws.clients import RETRY_CONFIG, Clients, TokenBucket, make_client, make_clients, new_session, rate_limit
from sfn_iam.aws.facts import AwsFacts
from sfn_iam.aws.iam import IamRolePolicyStore
from sfn_iam.aws.ledger import DynamoDbLedger
from sfn_iam.aws.publisher import EventBridgePublisher
from sfn_iam.aws.stepfunctions import StepFunctionsReader
from sfn_iam.engine.guardrails.ceiling import CeilingError
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.fixing.settings import ConfigError, Settings

if TYPE_CHECKING:  # the sweeper's parts load with the sweeper: the role fixer's cold start does not pay for them
    from sfn_iam.aws.notify import SnsNotifier
    from sfn_iam.aws.securityhub import SecurityHubImporter
    from sfn_iam.aws.sweepbucket import SweepBucket
    from sfn_iam.governance.sweep import Sweeper

DEFAULT_REGION = "us-east-1"
# The adapter modules (each declaring its REQUIRED_ACTIONS) behind each thing a composition root asks the wiring
# for: the contract tests derive a function's IAM permissions from the methods its handler calls.
ADAPTERS = {
    "fixer": frozenset({"stepfunctions", "iam", "ledger", "facts"}),
    "sweeper": frozenset({"stepfunctions", "iam", "ledger", "facts"}),
    "publisher": frozenset({"publisher"}),
    "notifier": frozenset({"notify"}),
    "importer": frozenset({"securityhub"}),
    "bucket": frozenset({"sweepbucket"}),
}


class Wiring(NamedTuple):
    """The adapters of one account and region, built once per execution environment (or CLI run)."""

    settings: Settings
    session: boto3.session.Session | None
    region: str
    partition: str
    clients: Clients
    machines: StepFunctionsReader
    roles: IamRolePolicyStore
    ledger: DynamoDbLedger | None = None  # settings.ledger_table unset (the CLI's default): no ledger
    facts: AwsFacts | None = None  # settings.resolve_facts off: plan offline

    def fixer(self, sleep: Callable[[float], None]) -> RoleFixer:
        return RoleFixer(self.machines, self.roles, self.settings, sleep=sleep, ledger=self.ledger,
                         region=self.region, facts=self.facts, max_facts=self.settings.max_facts, clock=utc_now)

    def sweeper(self, workers: int, sleep: Callable[[float], None]) -> Sweeper:
        from sfn_iam.governance.sweep import Sweeper

        return Sweeper(self.machines, self.roles, self.settings, self.region, workers=workers, sleep=sleep,
                       ledger=self.ledger, facts=self.facts, clock=utc_now)

    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(self.clients.events, self.settings.event_bus)

    def notifier(self, topic_arn: str) -> SnsNotifier | None:
        from sfn_iam.aws.notify import SnsNotifier

        return SnsNotifier(make_client("sns", self.session), topic_arn) if topic_arn else None

    def importer(self, enabled: bool) -> SecurityHubImporter | None:
        from sfn_iam.aws.securityhub import SecurityHubImporter

        return SecurityHubImporter(make_client("securityhub", self.session)) if enabled else None

    def bucket(self, name: str) -> SweepBucket:
        """The sweep state machine's bucket: its listing, the Map Run's results, the report."""
        from sfn_iam.aws.sweepbucket import SweepBucket

        return SweepBucket(make_client("s3", self.session), name)


def wire(settings: Settings, session: boto3.session.Session | None = None,
         iam_calls_per_second: float | None = None) -> Wiring:
    """Clients, the Step Functions reader and the IAM store; IAM paced to ``iam_calls_per_second`` when given.

    Every client comes from one session: botocore lists its data directories once per session and kind of model
    (about 100 ms in a Lambda's cold start), so a second session for the ledger or the facts would pay that again."""
    session = session or new_session()
    clients = make_clients(session)
    region = clients.sfn.meta.region_name or DEFAULT_REGION
    partition = partition_of_region(region)
    if iam_calls_per_second is not None:
        rate_limit(clients.iam, TokenBucket(iam_calls_per_second, burst=max(1, int(iam_calls_per_second))))
    roles = IamRolePolicyStore(clients.iam, partition=partition, account=settings.account,
                               role_path=settings.role_path, managed_path=settings.managed_path,
                               scope_tag=settings.scope_tag)
    settings = with_own_ceiling(settings, roles)
    ledger = (DynamoDbLedger(make_client("dynamodb", session), settings.ledger_table)
              if settings.ledger_table else None)
    return Wiring(settings, session, region, partition, clients, StepFunctionsReader(clients.sfn), roles, ledger,
                  account_facts(session, region, clients.iam) if settings.resolve_facts else None)


def with_own_ceiling(settings: Settings, roles: IamRolePolicyStore) -> Settings:
    """``settings`` with the administrator's ceiling (``CeilingPolicyArn``) read from IAM, once per execution
    environment (GetPolicy + GetPolicyVersion); the default ceiling needs no call. A ceiling that cannot be read or
    used stops the function with :class:`ConfigError`: nothing is planned against a ceiling nobody can see."""
    if not settings.custom_ceiling:
        return settings
    try:
        document = roles.get_policy_document(settings.ceiling_arn)
    except ClientError as exc:
        raise ConfigError(f"CEILING_POLICY_ARN {settings.ceiling_arn} could not be read: {exc}") from exc
    if document is None:
        raise ConfigError(f"CEILING_POLICY_ARN {settings.ceiling_arn} does not exist")
    try:
        return settings.with_ceiling(document, settings.ceiling_arn)
    except CeilingError as exc:
        raise ConfigError(f"CEILING_POLICY_ARN {settings.ceiling_arn}: {exc}") from exc


def utc_now() -> str:
    """The clock the core takes as a port (retiring policies date a change no event dates): ISO 8601, UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_facts(session: boto3.session.Session | None, region: str, iam: object = None) -> AwsFacts:
    """The read-only facts adapter; clients per service and Region on first use (IAM's is shared when given)."""
    def client(service: str, in_region: str) -> object:
        if service == "iam" and iam is not None:
            return iam
        return (session or new_session()).client(  # type: ignore[call-overload]
            service, region_name=in_region, config=RETRY_CONFIG)
    return AwsFacts(client, region)
