"""Scoping code for the reviewed SDK overrides whose resources are not top-level parameters. Pure core.

Each handler is named by ``scripts/sdk_sources/overrides.json`` (key ``handler``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sfn_iam.engine.asl import DYNAMIC, Dynamic
from sfn_iam.engine.integrations.base import Call
from sfn_iam.engine.integrations.common import s3_arn
from sfn_iam.engine.integrations.emr import cluster_tags, serverless_linked_role
from sfn_iam.engine.integrations.lambda_ import invoke
from sfn_iam.engine.integrations.messaging import put_events
from sfn_iam.engine.integrations.ml import guardrail, model_resources
from sfn_iam.engine.integrations.s3io import s3_object
from sfn_iam.engine.integrations.sdk.scoping import Value, generic, kms_alias
from sfn_iam.model import Condition


def _s3(call: Call, bucket: Value, key: Value | None) -> str | None:
    """Bucket (``key is None``) or object ARN; ``None`` and a finding when the bucket is absent."""
    if bucket is None or bucket == "":
        call.missing("Bucket")
        return None
    if key is None:
        if isinstance(bucket, Dynamic):
            call.dynamic("Bucket", s3_arn(call, bucket))
        return s3_arn(call, bucket)
    return s3_object(call, bucket, key if key != "" else DYNAMIC)


def _s3_list(call: Call, op: Mapping[str, Any]) -> None:
    bucket = _s3(call, call.args.get("Bucket"), None)
    if bucket is None:
        return
    prefix = call.args.get("Prefix")
    conditions = (Condition("StringLike", "s3:prefix", (prefix,)),) if isinstance(prefix, str) and prefix else ()
    call.allow("s3:ListBucket", bucket, *conditions)


def _s3_object_read(call: Call, op: Mapping[str, Any]) -> None:
    obj = _s3(call, call.args.get("Bucket"), call.args.get("Key") or "")
    if obj is None:
        return
    for act in op["a"]:
        action = act["x"]
        if action == "s3:GetObject" and call.args.has("VersionId"):
            action = "s3:GetObjectVersion"
        call.allow(action, obj)


def _copy_source(call: Call) -> tuple[str, str] | None:
    """CopySource ``bucket/key[?versionId=v]`` -> (object ARN, read action)."""
    source = call.args.get("CopySource")
    if isinstance(source, Dynamic):
        return call.dynamic("CopySource", s3_arn(call, DYNAMIC, DYNAMIC)), "s3:GetObject"
    if not source:
        call.missing("CopySource")
        return None
    path, _, query = source.lstrip("/").partition("?")
    action = "s3:GetObjectVersion" if "versionId=" in query else "s3:GetObject"
    if path.startswith("arn:"):  # access point form: arn:...:accesspoint/NAME/object/KEY
        return path, action
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        call.finding("INVALID_VALUE", f"CopySource {source[:200]!r} is not BUCKET/KEY; nothing granted for it")
        return None
    return s3_arn(call, bucket, key), action


def _s3_copy(call: Call, op: Mapping[str, Any]) -> None:
    destination = _s3(call, call.args.get("Bucket"), call.args.get("Key") or "")
    if destination is not None:
        call.allow("s3:PutObject", destination)
        if call.args.has("Tagging"):
            call.allow("s3:PutObjectTagging", destination)
        if any(call.args.has(k) for k in ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")):
            call.allow("s3:PutObjectAcl", destination)
    source = _copy_source(call)
    if source is not None:
        # The source bucket's owner is its own parameter (ExpectedSourceBucketOwner), not ExpectedBucketOwner.
        owner = call.s3_owner(call.args.get("ExpectedSourceBucketOwner"), "ExpectedSourceBucketOwner")
        call.allow(source[1], source[0], owner)
        if call.api.lower() == "copyobject" and call.args.get("TaggingDirective") != "REPLACE":
            call.allow("s3:GetObjectTagging", source[0], owner)  # tags are copied from the source by default


def _s3_delete_objects(call: Call, op: Mapping[str, Any]) -> None:
    bucket = call.args.get("Bucket")
    objects = call.args.sub("Delete").items("Objects")
    if isinstance(objects, list) and objects and all(isinstance(o.get("Key"), str) for o in objects):
        for o in objects:
            obj = _s3(call, bucket, o.get("Key"))
            if obj:
                call.allow("s3:DeleteObject", obj)
        return
    obj = _s3(call, bucket, DYNAMIC)
    if obj:
        call.allow("s3:DeleteObject", obj)


def _lambda_invoke(call: Call, op: Mapping[str, Any]) -> None:
    invoke(call)


_DDB_ITEM_ACTIONS = {
    "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}


def _table(call: Call, name: Value) -> str | None:
    return call.resolve(name, "TableName", "dynamodb", "table/{}")


def _ddb_transact(call: Call, kinds: Mapping[str, str]) -> None:
    items = call.args.items("TransactItems")
    if isinstance(items, Dynamic) or items is None:
        if items is None:
            call.missing("TransactItems")
            return
        table = call.dynamic("TransactItems", call.arn("dynamodb", "table/*"))
        call.allow([f"dynamodb:{a}" for a in kinds.values()], table)
        return
    for item in items:
        if item.dynamic:
            call.allow([f"dynamodb:{a}" for a in kinds.values()], call.dynamic("TransactItems[]", call.arn(
                "dynamodb", "table/*")))
            continue
        for kind, action in kinds.items():
            if item.has(kind):
                item_table = _table(call, item.sub(kind).get("TableName"))
                if item_table:
                    call.allow(f"dynamodb:{action}", item_table)


def _ddb_transact_write(call: Call, op: Mapping[str, Any]) -> None:
    _ddb_transact(call, _DDB_ITEM_ACTIONS)


def _ddb_transact_get(call: Call, op: Mapping[str, Any]) -> None:
    _ddb_transact(call, {"Get": "GetItem"})


def _ddb_batch(call: Call, op: Mapping[str, Any]) -> None:
    action = op["a"][0]["x"]
    request = call.args.sub("RequestItems")
    if request.dynamic:
        call.allow(action, call.dynamic("RequestItems", call.arn("dynamodb", "table/*")))
        return
    tables = request.keys()
    if not tables:
        call.missing("RequestItems")
        return
    for name in tables:
        table = _table(call, name)
        if table:
            call.allow(action, table)


_PARTIQL_RE = re.compile(
    r"^\s*(?P<verb>SELECT|INSERT|UPDATE|DELETE|EXISTS)\b.*?\b(?:FROM|INTO|UPDATE)\s+"
    r"(?P<table>\"[^\"]+\"|[A-Za-z0-9_.-]+)(?:\.(?P<index>\"[^\"]+\"|[A-Za-z0-9_.-]+))?",
    re.IGNORECASE | re.DOTALL,
)
_PARTIQL_UPDATE_RE = re.compile(r"^\s*UPDATE\s+(?P<table>\"[^\"]+\"|[A-Za-z0-9_.-]+)", re.IGNORECASE)
_PARTIQL_ACTIONS = {"select": "PartiQLSelect", "exists": "PartiQLSelect", "insert": "PartiQLInsert",
                    "update": "PartiQLUpdate", "delete": "PartiQLDelete"}


def _partiql(call: Call, statement: Value) -> None:
    if not isinstance(statement, str):
        if statement is None:
            call.missing("Statement")
            return
        actions = sorted({f"dynamodb:{a}" for a in _PARTIQL_ACTIONS.values()})
        call.allow(actions, call.dynamic("Statement", call.arn("dynamodb", "table/*")))
        return
    m = _PARTIQL_UPDATE_RE.match(statement) or _PARTIQL_RE.match(statement)
    if not m:
        call.finding("INVALID_VALUE", f"PartiQL statement {statement[:120]!r} names no table; nothing granted")
        return
    verb = (m.groupdict().get("verb") or "UPDATE").lower()
    table = m["table"].strip('"')
    index = (m.groupdict().get("index") or "").strip('"')
    resource = call.arn("dynamodb", f"table/{table}" + (f"/index/{index}" if index and verb == "select" else ""))
    call.allow(f"dynamodb:{_PARTIQL_ACTIONS[verb]}", resource)


def _ddb_partiql(call: Call, op: Mapping[str, Any]) -> None:
    api = call.api.lower()
    if api == "executestatement":
        _partiql(call, call.args.get("Statement"))
        return
    key = "Statements" if api == "batchexecutestatement" else "TransactStatements"
    items = call.args.items(key)
    if items is None:
        call.missing(key)
    elif isinstance(items, Dynamic):
        _partiql(call, DYNAMIC)
    else:
        for item in items:
            _partiql(call, item.get("Statement"))


def _bedrock_model(call: Call, op: Mapping[str, Any]) -> None:
    resources = model_resources(call)
    if resources:
        call.allow(op["a"][0]["x"], resources)
        guardrail(call)


def _emr_run_job_flow(call: Call, op: Mapping[str, Any]) -> None:
    generic(call, op)
    cluster_tags(call)


def _emr_serverless_create(call: Call, op: Mapping[str, Any]) -> None:
    generic(call, op)
    serverless_linked_role(call)


def _redshift_data(call: Call, op: Mapping[str, Any]) -> None:
    generic(call, op)
    args = call.args
    secret = args.get("SecretArn")
    if secret is not None:
        if isinstance(secret, Dynamic):
            resource = call.dynamic("SecretArn", call.arn("secretsmanager", "secret:*"))
        else:
            resource = secret if secret.startswith("arn:") else call.arn("secretsmanager", f"secret:{secret}-??????")
        call.allow("secretsmanager:GetSecretValue", resource)
        return
    cluster = args.get("ClusterIdentifier")
    if cluster is not None:
        c = "*" if isinstance(cluster, Dynamic) else cluster
        database = args.get("Database")
        db = "*" if not isinstance(database, str) else database
        user = args.get("DbUser")
        if user is not None:
            u = "*" if isinstance(user, Dynamic) else user
            resources_ = [call.arn("redshift", f"dbuser:{c}/{u}"), call.arn("redshift", f"dbname:{c}/{db}")]
            if "*" in "".join(resources_):
                call.finding("DYNAMIC_RESOURCE", f"cluster, user or database is dynamic; granted on {resources_}")
            call.allow("redshift:GetClusterCredentials", resources_)
        else:
            resource = call.arn("redshift", f"dbname:{c}/{db}")
            if "*" in resource:
                call.finding("DYNAMIC_RESOURCE", f"cluster or database known at run time; granted on {resource}")
            call.allow("redshift:GetClusterCredentialsWithIAM", resource)
        return
    workgroup = args.get("WorkgroupName")
    if isinstance(workgroup, str) and workgroup.startswith("arn:"):
        call.allow("redshift-serverless:GetCredentials", workgroup)
    elif workgroup is not None:
        # a workgroup ARN carries its id, not its name: the name cannot be scoped
        call.allow("redshift-serverless:GetCredentials", call.dynamic(
            "the workgroup id", call.arn("redshift-serverless", "workgroup/*")))


def _athena_query(call: Call, op: Mapping[str, Any]) -> None:
    args = call.args
    if not args.has("WorkGroup") and not args.dynamic:
        call.allow("athena:StartQueryExecution", call.arn("athena", "workgroup/primary"))
    else:
        generic(call, op)
    # What the optimized athena:startQueryExecution requests besides the call: the data catalogs, the Glue Data
    # Catalog entries and the tables' S3 data the query reads, with the caller's credentials (analytics.py, the Step
    # Functions and Athena pages cited there).
    from sfn_iam.engine.integrations import analytics  # imports the SDK table itself

    analytics.data_catalogs(call)
    results = args.sub("ResultConfiguration")
    location = results.get("OutputLocation")
    if isinstance(location, Dynamic) or (isinstance(location, str) and location.startswith("s3://")):
        owner = call.s3_owner(results.get("ExpectedBucketOwner"), "ResultConfiguration.ExpectedBucketOwner")
    if isinstance(location, Dynamic):
        objects = call.dynamic("OutputLocation", s3_arn(call, DYNAMIC, DYNAMIC))
        call.allow(("s3:PutObject", "s3:GetObject"), objects, owner)
    elif isinstance(location, str) and location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        call.allow(("s3:GetBucketLocation", "s3:ListBucket"), s3_arn(call, bucket), owner)
        call.allow(("s3:PutObject", "s3:GetObject"), s3_arn(call, bucket, prefix, prefix=True), owner)
    analytics.catalog_access(call)
    analytics.table_data(call, args.get("QueryString"))


def _kms_key(call: Call, key: Value, what: str) -> str:
    if isinstance(key, Dynamic) or not key:
        return call.dynamic(what, call.arn("kms", "key/*"))
    if key.startswith("arn:") and ":key/" in key:
        return key
    if key.startswith("alias/") or ":alias/" in key:
        return call.dynamic(f"the key behind {key}", call.arn("kms", "key/*"))
    return call.arn("kms", f"key/{key}")


def _kms_reencrypt(call: Call, op: Mapping[str, Any]) -> None:
    """Both keys of a ReEncrypt. A key named by an alias is granted on the keys of the alias's account and Region
    that carry that alias (``ForAnyValue:StringEquals kms:ResourceAliases``), not with ``kms:RequestAlias`` as the
    single-key operations are (``scoping.kms_alias``): a ReEncrypt request names two keys, and the AWS KMS Developer
    Guide defines kms:RequestAlias for "the alias used to identify the KMS key in the request" without saying which
    of the two ReEncryptFrom is evaluated with (a source key may even be left out and read from the ciphertext);
    the key's own aliases do not depend on the request
    (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases)."""
    for action, member in (("kms:ReEncryptFrom", "SourceKeyId"), ("kms:ReEncryptTo", "DestinationKeyId")):
        key = call.args.get(member)
        aliased = kms_alias(call, key)
        if aliased is not None:
            alias = aliased[1].values
            call.allow(action, aliased[0], Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", alias))
        else:
            call.allow(action, _kms_key(call, key, member))


_ADDRESS_RE = re.compile(r"<([^<>@\s]+@[^<>@\s]+)>\s*$|^\s*([^<>@\s]+@[^<>@\s]+)\s*$")


def _ses_send(call: Call, op: Mapping[str, Any]) -> None:
    action = op["a"][0]["x"]
    args = call.args
    identity_arn = args.get("FromEmailAddressIdentityArn") if args.has("FromEmailAddressIdentityArn") else args.get(
        "SourceArn")
    sender = args.get("FromEmailAddress") if args.has("FromEmailAddress") else args.get("Source")
    if isinstance(identity_arn, str):
        call.allow(action, identity_arn)
    elif isinstance(sender, str) and (m := _ADDRESS_RE.search(sender)):
        address = m.group(1) or m.group(2)
        # the verified identity is the address itself or its domain; either authorizes the send
        domain = address.split("@")[1]
        call.allow(action, [call.arn("ses", f"identity/{address}"), call.arn("ses", f"identity/{domain}")])
    elif isinstance(sender, str):
        call.finding("INVALID_VALUE", f"sender {sender[:200]!r} is not an email address; nothing granted for it")
    else:
        call.allow(action, call.dynamic("the sender identity", call.arn("ses", "identity/*")))
    config_set = args.get("ConfigurationSetName")
    if isinstance(config_set, Dynamic):
        call.allow(action, call.dynamic("ConfigurationSetName", call.arn("ses", "configuration-set/*")))
    elif config_set:
        call.allow(action, call.arn("ses", f"configuration-set/{config_set}"))


def _events_put(call: Call, op: Mapping[str, Any]) -> None:
    put_events(call)


HANDLERS: dict[str, Callable[[Call, Mapping[str, Any]], None]] = {
    "s3_list": _s3_list,
    "s3_object_read": _s3_object_read,
    "s3_copy": _s3_copy,
    "s3_delete_objects": _s3_delete_objects,
    "lambda_invoke": _lambda_invoke,
    "ddb_transact_write": _ddb_transact_write,
    "ddb_transact_get": _ddb_transact_get,
    "ddb_batch": _ddb_batch,
    "ddb_partiql": _ddb_partiql,
    "bedrock_model": _bedrock_model,
    "emr_run_job_flow": _emr_run_job_flow,
    "emr_serverless_create": _emr_serverless_create,
    "redshift_data": _redshift_data,
    "athena_query": _athena_query,
    "kms_reencrypt": _kms_reencrypt,
    "ses_send": _ses_send,
    "events_put": _events_put,
}
