"""Distributed Map S3 input and output: ``ItemReader`` and ``ResultWriter``. Pure core."""

from __future__ import annotations

from sfn_iam.engine.asl import DYNAMIC, Args, Dynamic
from sfn_iam.engine.integrations.base import Call
from sfn_iam.engine.integrations.common import s3_arn
from sfn_iam.model import Condition

RESULT_WRITER_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")


def s3_object(call: Call, bucket: str | Dynamic, key: str | Dynamic, *, key_is_prefix: bool = False) -> str:
    """The object ARN (or narrowest pattern) for ``bucket``/``key``, with a finding for each run-time part;
    ``key_is_prefix`` appends ``*``."""
    if isinstance(bucket, Dynamic):
        call.finding("DYNAMIC_RESOURCE", "Bucket is only known at run time; objects granted in any bucket")
    if isinstance(key, Dynamic):
        call.finding("DYNAMIC_RESOURCE", "Key/Prefix is only known at run time; granted on every key of the bucket")
    return s3_arn(call, bucket, key, prefix=key_is_prefix)


def item_reader(call: Call, reader: Args) -> None:
    args = call.args
    bucket = args.get("Bucket")
    if bucket is None or bucket == "":
        call.missing("Bucket")
        return
    if call.api == "listObjectsV2":
        prefix = args.get("Prefix")
        conditions: tuple[Condition, ...] = ()
        if isinstance(prefix, str) and prefix:
            conditions = (Condition("StringLike", "s3:prefix", (prefix,)),)
        call.allow("s3:ListBucket", s3_arn(call, bucket), *conditions)
        # Listed objects are read only when the reader loads them (ReaderConfig.Transformation LOAD_AND_FLATTEN,
        # https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html); otherwise the items are
        # the listing's metadata and the read the IAM page's generated policy adds is never made (AWS CDK's
        # S3ObjectsItemReader grants s3:ListBucket alone). A run-time Transformation may load: the read is granted.
        transformation = reader.get("Transformation")
        if transformation == "LOAD_AND_FLATTEN" or isinstance(transformation, Dynamic):
            call.allow("s3:GetObject", s3_object(call, bucket, prefix if prefix is not None else "",
                                                 key_is_prefix=True))
        return
    key = args.get("Key")
    if key is None or key == "":
        call.missing("Key")
        return
    action = "s3:GetObjectVersion" if args.has("VersionId") else "s3:GetObject"
    call.allow(action, s3_object(call, bucket, key))
    manifest = reader.get("ManifestType")
    input_type = reader.get("InputType")
    if manifest == "S3_INVENTORY" or (input_type == "MANIFEST" and manifest != "ATHENA_DATA"):
        # An S3 inventory manifest lists data files under the inventory's ".../data/" folder beside its date folder.
        parent = key.rsplit("/", 2)[0] if isinstance(key, str) and key.count("/") >= 2 else None
        data = f"{parent}/data/" if parent is not None else None
        call.allow("s3:GetObject", s3_object(call, bucket, data if data is not None else DYNAMIC, key_is_prefix=True))
    elif manifest == "ATHENA_DATA":
        folder = key.rsplit("/", 1)[0] + "/" if isinstance(key, str) and "/" in key else ""
        call.finding("DYNAMIC_RESOURCE", "the Athena manifest lists its data objects at run time; "
                     "granted on its folder")
        call.allow("s3:GetObject", s3_object(call, bucket, folder, key_is_prefix=True))


def result_writer(call: Call) -> None:
    args = call.args
    bucket = args.get("Bucket")
    if bucket is None or bucket == "":
        call.missing("Bucket")
        return
    prefix = args.get("Prefix")
    if isinstance(prefix, str) and prefix:
        key: str | Dynamic = prefix.rstrip("/") + "/"
    elif isinstance(prefix, Dynamic):
        key = prefix
    else:
        key = ""
    call.allow(RESULT_WRITER_ACTIONS, s3_object(call, bucket, key, key_is_prefix=True))
