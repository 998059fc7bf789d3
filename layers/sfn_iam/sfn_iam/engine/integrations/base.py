"""What every integration handler receives and how it reports. Pure core: standard library only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Final, NamedTuple

from sfn_iam.engine.asl import DYNAMIC, Args, Dynamic
from sfn_iam.engine.facts import NO_FACTS, Answer, Facts, Question
from sfn_iam.findings import Finding, Severity
from sfn_iam.lazyre import compiled
from sfn_iam.model import Condition, Context, Requirement

SYNC: Final = ".sync"
SYNC2: Final = ".sync:2"
CALLBACK: Final = ".waitForTaskToken"
REQUEST_RESPONSE: Final = ""
# Every S3 action on a bucket or object supports it (Service Authorization Reference, Amazon S3 actions table):
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
S3_RESOURCE_ACCOUNT: Final = "s3:ResourceAccount"
_ACCOUNT_RE = compiled(globals(), "_ACCOUNT_RE", r"^\d{12}$")

_SERVICE_RESOURCE_RE = compiled(globals(), "_SERVICE_RESOURCE_RE",
    r"^arn:(?P<partition>aws[a-z-]*):states:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)?:(?P<account>\d{12})?:"
    r"(?P<service>[a-z0-9-]+):(?P<api>[A-Za-z0-9]+)"
    r"(?::(?P<sdk_api>[A-Za-z0-9]+))?(?P<pattern>\.sync:2|\.sync|\.waitForTaskToken)?$"
)


class ServiceResource(NamedTuple):
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


class Call:
    """One integration call found in the definition, and the collector for what it needs.

    Handlers read ``args`` and ``ctx`` and call :meth:`allow` / :meth:`finding`; they never raise for bad input.
    """

    __slots__ = ("_s3_pin", "api", "args", "created", "ctx", "facts", "findings", "path", "pattern", "questions",
                 "requirements")

    def __init__(self, ctx: Context, path: str, args: Args, api: str = "", pattern: str = REQUEST_RESPONSE,
                 requirements: list[Requirement] | None = None, findings: list[Finding] | None = None,
                 _s3_pin: Condition | None = None, facts: Facts = NO_FACTS,
                 created: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
                 questions: list[Question] | None = None) -> None:
        self.ctx = ctx
        self.path = path
        self.args = args
        self.api = api
        self.pattern = pattern
        self.requirements: list[Requirement] = [] if requirements is None else requirements
        self.findings: list[Finding] = [] if findings is None else findings
        self._s3_pin = _s3_pin
        self.facts = facts  # what the account told (engine.facts); empty offline
        # What the machine's own creating states set on what they create: kind ("emr-cluster", ...) -> the literal
        # tags (key, value) every creator of that kind sets (empty: a creator exists, no tag in common). See
        # created_tags.
        self.created: Mapping[str, tuple[tuple[str, str], ...]] = {} if created is None else created
        self.questions: list[Question] = [] if questions is None else questions  # every fact asked, answered or not

    @property
    def sync(self) -> bool:
        return self.pattern in (SYNC, SYNC2)

    def s3_owner(self, value: str | Dynamic | None, key: str = "ExpectedBucketOwner") -> Condition:
        """The ``s3:ResourceAccount`` condition for buckets whose owner parameter ``key`` holds ``value``.

        S3 ARNs carry no account, so a grant on ``arn:aws:s3:::name`` would follow the name into whichever account
        owns it. The owner is this state machine's account unless the request names another one
        (``ExpectedBucketOwner``: the call fails for any other owner), which is reported.
        """
        account = self.ctx.account
        if isinstance(value, Dynamic):
            self.finding("DYNAMIC_RESOURCE", f"{key} is only known at run time; S3 access granted on buckets of "
                                             f"this account ({account}) only")
        elif isinstance(value, str) and _ACCOUNT_RE.match(value) and value != account:
            self.finding("CROSS_ACCOUNT_RESOURCE", f"{key} names account {value}: S3 access is granted on that "
                                                   "account's buckets, which must also allow it in their policy")
            account = value
        elif value:
            self.finding("INVALID_VALUE", f"{key} {value[:50]!r} is not an account ID; S3 access granted on buckets "
                                          f"of this account ({account}) only")
        return Condition("StringEquals", S3_RESOURCE_ACCOUNT, (account,))

    def allow(self, actions: str | Iterable[str], resources: str | Iterable[str], *conditions: Condition) -> None:
        """Require each action on each resource. An S3 bucket or object ARN is pinned to its owner
        (``s3:ResourceAccount``, see :meth:`s3_owner`) unless the caller pinned it already."""
        acts = [actions] if isinstance(actions, str) else list(actions)
        ress = [resources] if isinstance(resources, str) else list(resources)
        cond = tuple(sorted(conditions)) if len(conditions) > 1 else conditions
        s3 = f"arn:{self.ctx.partition}:s3:::"
        for action in acts:
            pin = action.startswith("s3:") and not any(c.key == S3_RESOURCE_ACCOUNT for c in cond)
            for resource in ress:
                if pin and resource.startswith(s3):
                    if self._s3_pin is None:
                        self._s3_pin = self.s3_owner(self.args.get("ExpectedBucketOwner"))
                    pinned = tuple(sorted((*cond, self._s3_pin)))
                    self.requirements.append(Requirement(action, resource, pinned, self.path))
                else:
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
        *, required: bool = True, normalize: Callable[[str], str] | None = None,
    ) -> str | None:
        """Resolve parameter ``key`` into an ARN ``arn:..:service:R:A:resource_format.format(name)``.

        A dynamic value yields the ``dynamic_resource`` pattern (default: the format with ``*``) and a finding;
        an absent one yields ``None`` and, when ``required``, a ``MISSING_PARAMETER`` finding. See :meth:`resolve`.
        """
        return self.resolve(self.args.get(key), key, service, resource_format, dynamic_resource,
                            required=required, normalize=normalize)

    def resolve(
        self, value: str | Dynamic | None, key: str, service: str, resource_format: str,
        dynamic_resource: str | None = None, *, required: bool = True, normalize: Callable[[str], str] | None = None,
    ) -> str | None:
        """:meth:`named` for a value read elsewhere (an array element, a nested structure): the one place that turns
        "literal name -> ARN / run-time value -> narrowest pattern with a finding / missing -> finding" into a resource.

        ``normalize`` maps a literal first (SageMaker lower-cases names; EMR takes the ID out of an ARN); a literal
        that is then an ARN is taken as is.
        """
        if isinstance(value, Dynamic):
            pattern = dynamic_resource if dynamic_resource is not None else resource_format.format("*")
            return self.dynamic(key, self.arn(service, pattern))
        if value is None or value == "":
            if required:
                self.missing(key)
            return None
        if normalize is not None:
            value = normalize(value)
        if value.startswith("arn:"):
            return value
        return self.arn(service, resource_format.format(value))


Handler = Callable[[Call], None]

__all__ = ["CALLBACK", "DYNAMIC", "REQUEST_RESPONSE", "SYNC", "SYNC2", "Call", "Condition", "Dynamic", "Handler"]
