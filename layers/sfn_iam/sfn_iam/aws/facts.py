"""Read-only adapter of :class:`sfn_iam.fixing.facts.AccountFacts`: what the account knows about a definition's targets.

One method per question, one read per question plus ``kms:DescribeKey`` for a key not named as an AWS-managed
alias (the fixer's resolver caches both per invocation). Clients are created on first use, per service and Region
(the resource's Region: a definition may name resources elsewhere), so a machine that asks nothing costs no client
and the cold start is unchanged. Every AWS error (AccessDenied, not found, retries exhausted) becomes
:class:`FactUnavailableError`: the fixer plans without that fact and reports ``FACT_UNRESOLVED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.engine import facts
from sfn_iam.fixing.facts import FactUnavailableError

REQUIRED_ACTIONS = frozenset({
    "ecs:DescribeTaskDefinition",  # task_definition
    "sqs:GetQueueAttributes",  # encryption_key of a queue
    "sns:GetTopicAttributes",  # encryption_key of a topic
    "s3:GetEncryptionConfiguration",  # encryption_key of a bucket (GetBucketEncryption)
    "kinesis:DescribeStreamSummary",  # encryption_key of a stream
    "secretsmanager:DescribeSecret",  # encryption_key of a secret
    "ssm:DescribeParameters",  # encryption_key of a SecureString parameter
    "kms:DescribeKey",  # encryption_key: who manages the key, and its ARN
    "athena:GetWorkGroup",  # work_group
    "iam:GetInstanceProfile",  # instance_profile
    "glue:GetTable",  # table_location
})
ClientFactory = Callable[[str, str], Any]  # (service, region) → boto3 client
_AWS_MANAGED_ALIAS = "alias/aws/"


class AwsFacts:
    def __init__(self, client: ClientFactory, region: str) -> None:
        self._factory = client
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}
        self._keys: dict[str, str | None] = {}  # key reference → customer-managed key ARN (None: AWS-managed)

    def _client(self, service: str, region: str = "") -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self._factory(*key)
        return self._clients[key]

    # -- the questions ---------------------------------------------------------------------------------------

    def task_definition(self, arn: str) -> facts.Answer:
        parts = _parts(arn)
        name = parts[5].split("/", 1)[1] if len(parts) == 6 and "/" in parts[5] else arn
        # A family without a revision reads the latest ACTIVE revision, which is what RunTask starts.
        ref = arn if name.rsplit(":", 1)[-1].isdigit() else name
        r = _call(self._client("ecs", _region(arn)).describe_task_definition, taskDefinition=ref)
        td = r.get("taskDefinition") or {}
        return facts.task_definition(str(td.get("taskRoleArn") or ""), str(td.get("executionRoleArn") or ""))

    def encryption_key(self, resource: str) -> facts.Answer:
        parts = _parts(resource)
        if len(parts) != 6:
            raise FactUnavailableError(f"{resource[:200]!r} is not an ARN")
        service, region, account, rest = parts[2], parts[3], parts[4], parts[5]
        reader = {
            "sqs": self._queue_key, "sns": self._topic_key, "s3": self._bucket_key, "kinesis": self._stream_key,
            "secretsmanager": self._secret_key, "ssm": self._parameter_key,
        }.get(service)
        if reader is None:
            raise FactUnavailableError(f"no key reader for {service}")
        reference = reader(resource, region or self.region, account, rest)
        return facts.customer_key(self._customer_key(reference, parts[1], region or self.region, account))

    def work_group(self, arn: str) -> facts.Answer:
        name = _parts(arn)[5].split("/", 1)[-1] if len(_parts(arn)) == 6 else arn
        region = _region(arn)
        r = _call(self._client("athena", region).get_work_group, WorkGroup=name)
        conf = (r.get("WorkGroup") or {}).get("Configuration") or {}
        result = conf.get("ResultConfiguration") or {}
        encryption = result.get("EncryptionConfiguration") or {}
        option = str(encryption.get("EncryptionOption") or "")
        key = ""
        if option in ("SSE_KMS", "CSE_KMS") and encryption.get("KmsKey"):
            parts = _parts(arn)
            key = self._customer_key(str(encryption["KmsKey"]), parts[1] if len(parts) == 6 else "aws",
                                     region, parts[4] if len(parts) == 6 else "") or ""
        return facts.work_group(str(result.get("OutputLocation") or ""), option, key,
                                bool(conf.get("EnforceWorkGroupConfiguration")))

    def instance_profile(self, arn: str) -> facts.Answer:
        name = arn.rsplit("/", 1)[-1]
        r = _call(self._client("iam").get_instance_profile, InstanceProfileName=name)
        roles = (r.get("InstanceProfile") or {}).get("Roles") or []
        return facts.instance_profile(str(role["Arn"]) for role in roles if role.get("Arn"))

    def table_location(self, arn: str) -> facts.Answer:
        parts = _parts(arn)
        path = parts[5].split("/") if len(parts) == 6 else []
        if len(path) != 3 or path[0] != "table":
            raise FactUnavailableError(f"{arn[:200]!r} is not a Glue table ARN")
        r = _call(self._client("glue", _region(arn)).get_table, CatalogId=parts[4], DatabaseName=path[1],
                  Name=path[2])
        table = r.get("Table") or {}
        location = str((table.get("StorageDescriptor") or {}).get("Location") or "")
        return facts.table_location(location, bool(table.get("IsRegisteredWithLakeFormation")))

    # -- the key each kind of resource names ----------------------------------------------------------------

    def _queue_key(self, arn: str, region: str, account: str, name: str) -> str:
        url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        r = _call(self._client("sqs", region).get_queue_attributes, QueueUrl=url, AttributeNames=["KmsMasterKeyId"])
        return str((r.get("Attributes") or {}).get("KmsMasterKeyId") or "")

    def _topic_key(self, arn: str, region: str, account: str, name: str) -> str:
        r = _call(self._client("sns", region).get_topic_attributes, TopicArn=arn)
        return str((r.get("Attributes") or {}).get("KmsMasterKeyId") or "")

    def _bucket_key(self, arn: str, region: str, account: str, bucket: str) -> str:
        try:
            r = _call(self._client("s3").get_bucket_encryption, Bucket=bucket)
        except FactUnavailableError as exc:
            if "ServerSideEncryptionConfigurationNotFoundError" in str(exc):
                return ""  # no default encryption configured: SSE-S3 applies
            raise
        rules = ((r.get("ServerSideEncryptionConfiguration") or {}).get("Rules")) or []
        default: Mapping[str, Any] = (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}
        if not str(default.get("SSEAlgorithm") or "").startswith("aws:kms"):
            return ""
        return str(default.get("KMSMasterKeyID") or _AWS_MANAGED_ALIAS + "s3")

    def _stream_key(self, arn: str, region: str, account: str, rest: str) -> str:
        r = _call(self._client("kinesis", region).describe_stream_summary, StreamARN=arn)
        summary = r.get("StreamDescriptionSummary") or {}
        return str(summary.get("KeyId") or "") if summary.get("EncryptionType") == "KMS" else ""

    def _secret_key(self, arn: str, region: str, account: str, rest: str) -> str:
        r = _call(self._client("secretsmanager", region).describe_secret, SecretId=arn)
        return str(r.get("KmsKeyId") or _AWS_MANAGED_ALIAS + "secretsmanager")

    def _parameter_key(self, arn: str, region: str, account: str, rest: str) -> str:
        tail = rest.split("/", 1)[1] if "/" in rest else rest  # parameter/NAME or parameter/PATH/TO/NAME
        name = "/" + tail if "/" in tail else tail
        r = _call(self._client("ssm", region).describe_parameters,
                  ParameterFilters=[{"Key": "Name", "Values": [name]}])
        found = r.get("Parameters") or []
        if not found:
            raise FactUnavailableError("ParameterNotFound")
        if found[0].get("Type") != "SecureString":
            return ""
        return str(found[0].get("KeyId") or _AWS_MANAGED_ALIAS + "ssm")

    def _customer_key(self, reference: str, partition: str, region: str, account: str) -> str | None:
        """The ARN of the key ``reference`` names when a customer manages it; ``None`` for AWS-managed keys."""
        if not reference or reference.startswith(_AWS_MANAGED_ALIAS) or f":{_AWS_MANAGED_ALIAS}" in reference:
            return None
        if not reference.startswith("arn:") and account:
            # A bare key ID or alias is resolved in the resource's account and Region, not the caller's.
            resource = reference if reference.startswith("alias/") else f"key/{reference}"
            reference = f"arn:{partition}:kms:{region}:{account}:{resource}"
        if reference not in self._keys:
            r = _call(self._client("kms", _region(reference) or region).describe_key, KeyId=reference)
            meta = r.get("KeyMetadata") or {}
            self._keys[reference] = str(meta["Arn"]) if meta.get("KeyManager") == "CUSTOMER" and meta.get("Arn") \
                else None
        return self._keys[reference]


def _parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else []


def _region(arn: str) -> str:
    parts = _parts(arn)
    return parts[3] if parts else ""


def _call(method: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = method(**kwargs)
    except ClientError as exc:
        raise FactUnavailableError(error_code(exc) or "ClientError") from exc
    except BotoCoreError as exc:
        raise FactUnavailableError(type(exc).__name__) from exc
    return result
