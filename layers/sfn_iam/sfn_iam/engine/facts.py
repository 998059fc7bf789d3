"""Facts from the account: what a definition implies but does not say. Pure core: standard library only.

The engine never reads the account. While it plans, an integration that would need to know something the definition
does not say (the roles inside an ECS task definition, the customer-managed key of a queue, a work group's result
location, the role inside an instance profile) *asks* a :class:`Question`. ``plan(...)`` returns the questions it
could not answer; the use case (``sfn_iam.fixing.facts``) or the CLI with ``--resolve`` asks an adapter and plans
again with the :class:`Facts` as plain input next to the definition. Offline, nothing is answered and the engine
keeps its offline behaviour (a finding where a fact would have helped).

Answers are tuples of strings, their meaning fixed per kind (see the constructors below), so facts stay hashable,
comparable and printable. An unanswered question is never guessed: no answer, no grant from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from sfn_iam.engine.static import Known
from sfn_iam.model import Condition, Requirement

TASK_DEFINITION: Final = "ecs:task-definition"  # resource: a task definition ARN (without a revision: the latest)
ENCRYPTION_KEY: Final = "kms:key-of"  # resource: the ARN of a queue, topic, bucket, stream, secret or parameter
WORK_GROUP: Final = "athena:work-group"  # resource: a work group ARN
INSTANCE_PROFILE: Final = "iam:instance-profile"  # resource: an instance profile ARN
TABLE_LOCATION: Final = "glue:table-location"  # resource: a Glue table ARN (table/DATABASE/TABLE)
KINDS: Final = (TASK_DEFINITION, ENCRYPTION_KEY, WORK_GROUP, INSTANCE_PROFILE, TABLE_LOCATION)


class Question(NamedTuple):
    kind: str
    resource: str


class Answer(NamedTuple):
    """``values`` per kind: TASK_DEFINITION (task role ARN, execution role ARN), "" when absent; ENCRYPTION_KEY
    (customer-managed key ARN,) or () when AWS-owned/AWS-managed/unencrypted; WORK_GROUP (output location,
    encryption option, key ARN, "true" when the work group enforces its settings); INSTANCE_PROFILE the role ARNs;
    TABLE_LOCATION (the table's S3 location or "", "true" when Lake Formation governs the table)."""

    values: tuple[str, ...] = ()


class Facts(NamedTuple):
    answers: Mapping[Question, Answer] = MappingProxyType({})  # shared, immutable: nothing answered

    def get(self, question: Question) -> Answer | None:
        return self.answers.get(question)

    def __bool__(self) -> bool:
        return bool(self.answers)


NO_FACTS: Final = Facts()


def task_definition(task_role: str = "", execution_role: str = "") -> Answer:
    return Answer((task_role, execution_role))


def customer_key(key_arn: str | None) -> Answer:
    """A customer-managed key ARN; ``None`` (AWS-owned or AWS-managed key, or no encryption) needs no grant."""
    return Answer((key_arn,) if key_arn else ())


def work_group(output: str = "", encryption: str = "", key_arn: str = "", enforced: bool = False) -> Answer:
    return Answer((output, encryption, key_arn, "true" if enforced else ""))


def instance_profile(roles: Iterable[str]) -> Answer:
    return Answer(tuple(sorted(roles)))


def table_location(location: str = "", governed: bool = False) -> Answer:
    """A Glue table's ``StorageDescriptor.Location`` ("" for a view) and whether Lake Formation governs its data
    (``IsRegisteredWithLakeFormation``: Lake Formation vends the credentials, the caller needs no S3 grant)."""
    return Answer((location, "true" if governed else ""))


# -- customer-managed keys of the targets ------------------------------------------------------------------------
# Who needs what on a customer-managed key when the state machine's role calls the service (each service's page):
#   SQS SendMessage: kms:GenerateDataKey and kms:Decrypt (SQS developer guide, "Key management").
#   SNS Publish: kms:GenerateDataKey and kms:Decrypt (SNS developer guide, "Key management").
#   S3 PutObject: kms:GenerateDataKey, and kms:Decrypt for multipart uploads; GetObject: kms:Decrypt (S3 user
#     guide, "Using server-side encryption with AWS KMS keys").
#   Kinesis PutRecord(s): kms:GenerateDataKey; GetRecords: kms:Decrypt (Kinesis developer guide, "Permissions to use
#     user-generated KMS keys"), with the stream ARN as encryption context.
#   Secrets Manager GetSecretValue: kms:Decrypt (Secrets Manager user guide, "Secret encryption and decryption").
#   SSM GetParameter(s) of a SecureString: kms:Decrypt (Systems Manager user guide, "Parameter Store and KMS").
#   EventBridge PutEvents on a bus with a customer-managed key: nothing for the caller; the key policy authorizes
#     events.amazonaws.com (EventBridge user guide, "Authorizing EventBridge to use a customer managed key").
# Every grant is pinned with kms:ViaService to the service in the key's Region (the resource and its key share it).
_GENERATE_AND_DECRYPT = ("kms:Decrypt", "kms:GenerateDataKey")
_DECRYPT = ("kms:Decrypt",)
KEY_USE: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "sqs:sendmessage": ("sqs", _GENERATE_AND_DECRYPT),
    "sqs:receivemessage": ("sqs", _DECRYPT),
    "sns:publish": ("sns", _GENERATE_AND_DECRYPT),
    "s3:putobject": ("s3", _GENERATE_AND_DECRYPT),
    "s3:getobject": ("s3", _DECRYPT),
    "s3:getobjectversion": ("s3", _DECRYPT),
    "kinesis:putrecord": ("kinesis", ("kms:GenerateDataKey",)),
    "kinesis:putrecords": ("kinesis", ("kms:GenerateDataKey",)),
    "kinesis:getrecords": ("kinesis", _DECRYPT),
    "secretsmanager:getsecretvalue": ("secretsmanager", _DECRYPT),
    "ssm:getparameter": ("ssm", _DECRYPT),
    "ssm:getparameters": ("ssm", _DECRYPT),
}
_CONTEXT_KEYS: Final = {"kinesis": "kms:EncryptionContext:aws:kinesis:arn"}
_SECRET_SUFFIX: Final = "-??????"  # the engine's pattern for the random suffix of a secret named without it


def key_holder(requirement: Requirement, patterns: frozenset[str] = frozenset()) -> str | None:
    """The resource whose encryption key a request uses: the bucket of an object, the resource itself otherwise;
    ``None`` when the request needs no key or the resource is a pattern (an unknowable resource is not resolved),
    unless the pattern is the generated name of a resource the machine's source creates (``patterns``)."""
    if requirement.action.lower() not in KEY_USE:
        return None
    resource = requirement.resource
    if resource.startswith("arn:") and ":s3:::" in resource:
        bucket = resource.split(":::", 1)[1].split("/", 1)[0]
        resource = resource.split(":::", 1)[0] + ":::" + bucket if bucket else ""
    elif resource.endswith(_SECRET_SUFFIX) and ":secretsmanager:" in resource:
        resource = resource[: -len(_SECRET_SUFFIX)]  # a partial secret ARN: DescribeSecret accepts it
    if not resource.startswith("arn:"):
        return None
    if ("*" in resource or "?" in resource) and not Known(patterns=patterns).vouches(resource):
        return None
    return resource


def key_questions(requirements: Iterable[Requirement], patterns: frozenset[str] = frozenset()) -> list[Question]:
    """The key questions a list of requirements raises, in first-seen order."""
    seen: dict[Question, None] = {}
    judged: set[tuple[str, str]] = set()  # a definition repeats its grants state after state: each judged once
    for req in requirements:
        pair = (req.action, req.resource)
        if pair in judged:
            continue
        judged.add(pair)
        holder = key_holder(req, patterns)
        if holder is not None:
            seen.setdefault(Question(ENCRYPTION_KEY, holder))
    return list(seen)


def key_requirements(requirements: Iterable[Requirement], facts: Facts, patterns: frozenset[str] = frozenset()
                     ) -> list[Requirement]:
    """What the customer-managed keys of the requests' targets add: the KMS actions each service documents, on the
    key, only through that service. Unanswered questions and AWS-managed keys add nothing. A key answered by its
    alias (``arn:...:alias/NAME``: the CLI reads a template's KmsMasterKeyId) is granted on the keys of its account
    and Region that carry the alias (``kms:ResourceAliases``): IAM never authorizes a key through an alias ARN."""
    out: list[Requirement] = []
    if not facts:
        return out  # nothing answered: no key to grant (offline, or an account without customer-managed keys)
    for req in requirements:
        holder = key_holder(req, patterns)
        answer = facts.get(Question(ENCRYPTION_KEY, holder)) if holder else None
        if answer is None or not answer.values:
            continue
        key = answer.values[0]
        service, actions = KEY_USE[req.action.lower()]
        region = key.split(":")[3] if key.count(":") >= 5 else ""
        if not region:
            continue
        conditions = [Condition("StringEquals", "kms:ViaService", (f"{service}.{region}.amazonaws.com",))]
        if service in _CONTEXT_KEYS and holder:
            conditions.append(Condition("StringEquals", _CONTEXT_KEYS[service], (holder,)))
        head, _, alias = key.partition(":alias/")
        if alias:
            if alias.startswith("aws/"):
                continue  # an AWS managed key: its key policy allows the account's principals through the service
            conditions.append(Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", (f"alias/{alias}",)))
            key = f"{head}:key/*"
        for action in actions:
            out.append(Requirement(action, key, tuple(sorted(conditions)), req.path))
    return out
