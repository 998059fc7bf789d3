"""What every integration handler receives and how it reports. Pure core: standard library only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from sfn_iam.engine.asl import DYNAMIC, Args, Dynamic
from sfn_iam.engine.facts import NO_FACTS, Answer, Facts, Question
from sfn_iam.findings import Finding, Severity
from sfn_iam.model import Condition, Context, Requirement

SYNC: Final = ".sync"
SYNC2: Final = ".sync:2"
CALLBACK: Final = ".waitForTaskToken"
REQUEST_RESPONSE: Final = ""

_SERVICE_RESOURCE_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):states:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)?:(?P<account>\d{12})?:"
    r"(?P<service>[a-z0-9-]+):(?P<api>[A-Za-z0-9]+)"
    r"(?::(?P<sdk_api>[A-Za-z0-9]+))?(?P<pattern>\.sync:2|\.sync|\.waitForTaskToken)?$"
)


@dataclass(frozen=True, slots=True)
class ServiceResource:
    """A parsed ``arn:PARTITION:states:[REGION]:[ACCOUNT]:SERVICE:API[.PATTERN]`` (``aws-sdk:SERVICE:API`` keeps SERVICE
    in ``sdk_service``). The documented Task syntax is ``arn:partition:service:region:account:task_type:name``; most
    definitions leave region and account empty, some (CDK, hand-written) fill them in."""

    service: str
    api: str
    pattern: str
    sdk_service: str = ""
    region: str = ""
    account: str = ""


@lru_cache(maxsize=1024)
def parse_service_resource(resource: str) -> ServiceResource | None:
    m = _SERVICE_RESOURCE_RE.match(resource)
    if not m or m["service"] == "activity":  # arn:aws:states:REGION:ACCOUNT:activity:NAME is an activity
        return None
    if m["service"] == "aws-sdk":
        if not m["sdk_api"]:
            return None
        return ServiceResource("aws-sdk", m["sdk_api"], m["pattern"] or "", sdk_service=m["api"],
                               region=m["region"] or "", account=m["account"] or "")
    if m["sdk_api"]:
        return None
    return ServiceResource(m["service"], m["api"], m["pattern"] or "", region=m["region"] or "",
                           account=m["account"] or "")


@dataclass(slots=True)
class Call:
    """One integration call found in the definition, and the collector for what it needs.

    Handlers read ``args`` and ``ctx`` and call :meth:`allow` / :meth:`finding`; they never raise for bad input.
    """

    ctx: Context
    path: str
    args: Args
    api: str = ""
    pattern: str = REQUEST_RESPONSE
    requirements: list[Requirement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: Facts = NO_FACTS  # what the account told (engine.facts); empty offline
    questions: list[Question] = field(default_factory=list)  # every fact asked, answered or not

    @property
    def sync(self) -> bool:
        return self.pattern in (SYNC, SYNC2)

    def allow(self, actions: str | Iterable[str], resources: str | Iterable[str], *conditions: Condition) -> None:
        acts = [actions] if isinstance(actions, str) else list(actions)
        ress = [resources] if isinstance(resources, str) else list(resources)
        cond = tuple(sorted(conditions)) if len(conditions) > 1 else conditions
        for action in acts:
            for resource in ress:
                self.requirements.append(Requirement(action, resource, cond, self.path))

    def fact(self, kind: str, resource: str) -> Answer | None:
        """Ask the account (through the use case) about ``resource``; ``None`` when it was not answered."""
        question = Question(kind, resource)
        self.questions.append(question)
        return self.facts.get(question)

    def finding(self, code: str, message: str, severity: Severity | None = None) -> None:
        self.findings.append(Finding.of(code, message, self.path, severity))

    def dynamic(self, what: str, pattern: str) -> str:
        """Report that ``what`` is only known at run time and return the pattern granted instead."""
        self.finding("DYNAMIC_RESOURCE", f"{what} is only known at run time; narrowest pattern: {pattern}")
        return pattern

    def missing(self, what: str) -> None:
        self.finding("MISSING_PARAMETER", f"{what} is missing: the call cannot succeed, nothing granted for it")

    def arn(self, service: str, resource: str) -> str:
        return self.ctx.arn(service, resource)

    def managed_rule(self, rule: str) -> None:
        """The EventBridge managed rule Step Functions creates to watch a ``.sync`` job."""
        self.allow(
            ("events:PutTargets", "events:PutRule", "events:DescribeRule"), self.arn("events", f"rule/{rule}")
        )

    def named(
        self, key: str, service: str, resource_format: str, dynamic_resource: str | None = None,
        *, required: bool = True,
    ) -> str | None:
        """Resolve parameter ``key`` into an ARN ``arn:..:service:R:A:resource_format.format(name)``.

        A dynamic value yields the ``dynamic_resource`` pattern (default: the format with ``*``) and a finding;
        an absent one yields ``None`` and, when ``required``, a ``MISSING_PARAMETER`` finding.
        """
        value = self.args.get(key)
        if isinstance(value, Dynamic):
            pattern = dynamic_resource if dynamic_resource is not None else resource_format.format("*")
            return self.dynamic(key, self.arn(service, pattern))
        if value is None or value == "":
            if required:
                self.missing(key)
            return None
        if value.startswith("arn:"):
            return value
        return self.arn(service, resource_format.format(value))


Handler = Callable[[Call], None]

__all__ = ["CALLBACK", "DYNAMIC", "REQUEST_RESPONSE", "SYNC", "SYNC2", "Call", "Condition", "Dynamic", "Handler"]
