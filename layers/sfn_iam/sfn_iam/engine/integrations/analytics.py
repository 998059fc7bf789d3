"""Analytics jobs: AWS Glue, Glue DataBrew and Amazon Athena. Pure core."""

from __future__ import annotations

import re

from sfn_iam.engine import facts
from sfn_iam.engine.asl import DYNAMIC, Dynamic
from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import caller_key, s3_arn, s3_uri
from sfn_iam.engine.integrations.registry import register
from sfn_iam.engine.integrations.sdk.scoping import _values as values
from sfn_iam.engine.integrations.sdk.table import operation
from sfn_iam.model import Condition

# --- AWS Glue and Glue DataBrew: one job resource, .sync polls and stops it ----------------------------------------


@register("glue", "startJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def glue_job(call: Call) -> None:
    # The Step Functions page says Glue has no resource-level control; Glue's authorization reference has job/NAME.
    job = call.named("JobName", "glue", "job/{}")
    if job is None:
        return
    call.allow("glue:StartJobRun", job)
    if call.sync:
        call.allow(("glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"), job)


@register("databrew", "startJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def databrew_job(call: Call) -> None:
    job = call.named("Name", "databrew", "job/{}")
    if job is None:
        return
    call.allow("databrew:StartJobRun", job)
    if call.sync:
        call.allow(("databrew:ListJobRuns", "databrew:StopJobRun"), job)


# --- Amazon Athena ---------------------------------------------------------------------------------------------------

ATHENA_SYNC = (
    "athena:StopQueryExecution", "athena:GetQueryExecution", "athena:GetWorkGroup",
    "athena:BatchGetQueryExecution", "athena:GetQueryResults", "athena:ListQueryExecutions",
)
GLUE_READ = (
    "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
    "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
)
GLUE_WRITE = (
    "glue:CreateDatabase", "glue:UpdateDatabase", "glue:DeleteDatabase", "glue:CreateTable", "glue:UpdateTable",
    "glue:DeleteTable", "glue:BatchDeleteTable", "glue:BatchCreatePartition", "glue:CreatePartition",
    "glue:UpdatePartition", "glue:DeletePartition", "glue:BatchDeletePartition",
)
S3_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
S3_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
# Statements that only read the catalog. Athena runs exactly one statement per StartQueryExecution, so text injected
# after a read-only keyword at run time cannot append a second, writing statement.
_READ_ONLY_SQL = re.compile(r"(select|with|show|describe|desc|values)(?=[\s(*]|$)", re.IGNORECASE)
_EXPLAIN_SQL = re.compile(r"explain(?:\s+analyze)?(?:\s+verbose)?(?:\s*\([^()]*\))?(?=[\s(]|$)", re.IGNORECASE)
_SQL_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)


def read_only_sql(text: str, *, complete: bool) -> bool:
    """``text`` (the whole statement, or only its literal beginning when not ``complete``) can only read.

    Leading white space, comments and parentheses are skipped; ``EXPLAIN [ANALYZE]`` is read-only when the statement
    it explains is (``EXPLAIN ANALYZE`` runs it). A beginning must hold the whole keyword and what follows it
    (``'SEL'`` or ``'SELECT'`` alone could still become another statement), so ``'SELECT {}'`` reads and ``'{}'``
    may write.
    """
    noise = _SQL_NOISE.match(text)
    rest = text[noise.end():] if noise else text
    explain = _EXPLAIN_SQL.match(rest)
    if explain:
        return read_only_sql(rest[explain.end():], complete=complete)
    m = _READ_ONLY_SQL.match(rest)
    if not m:
        return False
    return complete or m.end() < len(rest)


def _work_group_output(call: Call, workgroup: str, location: str | Dynamic | None) -> str | None:
    """The result location the work group imposes (it wins when it enforces its settings, and applies when the
    definition names none), and its result encryption key: facts from the account (``athena:GetWorkGroup``)."""
    if "*" in workgroup:
        return None
    answer = call.fact(facts.WORK_GROUP, workgroup)
    if answer is None:
        return None
    output, encryption, key, enforced = (*answer.values, "", "", "", "")[:4]
    if key and encryption in ("SSE_KMS", "CSE_KMS"):
        # Athena encrypts results with the caller's credentials: SSE_KMS through S3, CSE_KMS by Athena itself.
        via = "s3" if encryption == "SSE_KMS" else "athena"
        region = key.split(":")[3] if key.count(":") >= 5 else call.ctx.region
        call.allow(("kms:Decrypt", "kms:GenerateDataKey"), key,
                   Condition("StringEquals", "kms:ViaService", (f"{via}.{region}.amazonaws.com",)))
    if output and (enforced or location is None or location == "" or isinstance(location, Dynamic)):
        return output
    return None


def _query_output(call: Call, workgroup: str = "") -> None:
    results = call.args.sub("ResultConfiguration")
    owner = call.s3_owner(results.get("ExpectedBucketOwner"), "ResultConfiguration.ExpectedBucketOwner")
    location = results.get("OutputLocation")
    location = _work_group_output(call, workgroup, location) or location if workgroup else location
    if location is None or location == "" or isinstance(location, Dynamic):
        call.finding(
            "DYNAMIC_RESOURCE",
            "the query output location is not in the definition (workgroup setting or run-time value): "
            "S3 result access granted on this account's buckets only",
        )
        call.allow(S3_BUCKET_ACTIONS, s3_arn(call, DYNAMIC), owner)
        call.allow(S3_OBJECT_ACTIONS, s3_arn(call, DYNAMIC, DYNAMIC), owner)
        return
    parsed = s3_uri(call, location, "ResultConfiguration.OutputLocation")
    if parsed is None:
        return
    bucket, prefix = parsed
    call.allow(S3_BUCKET_ACTIONS, s3_arn(call, bucket), owner)
    call.allow(S3_OBJECT_ACTIONS, s3_arn(call, bucket, prefix, prefix=True), owner)


def catalog_access(call: Call) -> None:
    """Glue Data Catalog access; DDL and writes only when the query is not a literal read-only statement."""
    catalog = call.arn("glue", "catalog")
    # The SQL text may name any database or table: the catalog of this account and region. Each action only on the
    # resource types IAM defines for it (database actions take no table ARN; none of them takes a function ARN).
    databases = [catalog, call.arn("glue", "database/*")]
    tables = [*databases, call.arn("glue", "table/*")]
    query = call.args.get("QueryString")
    if isinstance(query, str):
        reads_only = read_only_sql(query, complete=True)
    else:  # a run-time query: States.Format('SELECT ...', ...) or {% 'SELECT ...' & $x %} still shows its verb
        beginning = call.args.literal_prefix("QueryString")
        reads_only = beginning is not None and read_only_sql(beginning, complete=False)
    for action in GLUE_READ:
        call.allow(action, databases if action.startswith("glue:GetDatabase") else tables)
    if not reads_only:
        for action in GLUE_WRITE:
            call.allow(action, databases if action.endswith("Database") else tables)
    call.allow("lakeformation:GetDataAccess", "*")  # no resource-level permissions
    table_data(call, query)


# Athena reads a table's data in S3 with the caller's credentials (Athena user guide, "Access to Amazon S3":
# s3:GetBucketLocation, s3:GetObject and s3:ListBucket on the table's location,
# https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html), unless Lake Formation governs the table and
# vends the credentials itself (https://docs.aws.amazon.com/athena/latest/ug/lf-athena-limitations.html). The
# locations are in the Glue catalog: asked of the account (engine.facts TABLE_LOCATION, glue:GetTable).
_TABLE_REF = re.compile(
    r"\b(?:from|join)\s+(?P<ref>(?:\"[^\"]+\"|`[^`]+`|[A-Za-z_][\w-]*)(?:\s*\.\s*(?:\"[^\"]+\"|`[^`]+`|[A-Za-z_][\w-]*)){0,2})",
    re.IGNORECASE)
_CTE = re.compile(r"(?:\bwith\s+(?:recursive\s+)?|,\s*)(?P<name>[A-Za-z_]\w*)\s*(?:\([^()]*\)\s*)?as\s*\(",
                  re.IGNORECASE)
_NOT_TABLES = {"unnest", "lateral", "table", "values"}


def query_tables(query: str, database: str | None) -> list[tuple[str, str]] | None:
    """``(database, table)`` of every table a literal query reads (``FROM``/``JOIN``, optionally ``db.`` or
    ``catalog.db.`` qualified, quoted or not), names lower-cased as the Glue catalog keeps them; CTE names are not
    tables. ``None`` when an unqualified table has no database to belong to."""
    ctes = {m["name"].lower() for m in _CTE.finditer(query)}
    found: dict[tuple[str, str], None] = {}
    for m in _TABLE_REF.finditer(query):
        parts = [p.strip().strip('"`').lower() for p in m["ref"].split(".")]
        if parts[-1] in _NOT_TABLES or (len(parts) == 1 and parts[0] in ctes):
            continue
        if len(parts) == 1:
            if not database:
                return None
            parts = [database.lower(), parts[0]]
        found[(parts[-2], parts[-1])] = None
    return list(found)


def table_data(call: Call, query: str | Dynamic | None) -> None:
    database = call.args.sub("QueryExecutionContext").get("Database")
    named = query_tables(query, database if isinstance(database, str) else None) if isinstance(query, str) else None
    if named is None:
        what = "the query is built at run time" if not isinstance(query, str) else (
            "a table is named without a database and QueryExecutionContext.Database is not literal")
        call.finding("OUT_OF_BAND_PERMISSION", f"Athena reads the queried tables' S3 data with this role, and {what}: "
                     "grant s3:GetObject and s3:ListBucket on their locations, or name the tables literally "
                     "(DATABASE.TABLE) in QueryString so their locations can be read from the Glue catalog")
        return
    unknown: list[str] = []
    for db, table in named:
        answer = call.fact(facts.TABLE_LOCATION, call.arn("glue", f"table/{db}/{table}"))
        if answer is None:
            unknown.append(f"{db}.{table}")
            continue
        location, governed = (*answer.values, "", "")[:2]
        if governed or not location:
            continue  # Lake Formation vends the credentials; a view has no data of its own
        parsed = s3_uri(call, location.replace("s3a://", "s3://").replace("s3n://", "s3://"), f"{db}.{table} location")
        if parsed is None:
            continue
        bucket, prefix = parsed
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        listing = (Condition("StringLike", "s3:prefix", (f"{prefix}*",)),) if prefix else ()
        call.allow("s3:GetBucketLocation", s3_arn(call, bucket))
        call.allow("s3:ListBucket", s3_arn(call, bucket), *listing)
        call.allow("s3:GetObject", s3_arn(call, bucket, prefix, prefix=True))
    if unknown:
        call.finding("OUT_OF_BAND_PERMISSION", f"Athena reads the data of {', '.join(unknown)} in S3 with this role: "
                     "grant s3:GetObject and s3:ListBucket on their locations (the fixer reads them from the Glue "
                     "catalog; the CLI with --resolve)")


def data_catalogs(call: Call) -> None:
    """athena:GetDataCatalog for a StartQueryExecution request, optimized or SDK: Step Functions' own policy for it
    grants the action on the account's data catalogs (https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html),
    and the SQL text may name any of them, so it stays on this account's catalogs."""
    call.allow("athena:GetDataCatalog", call.arn("athena", "datacatalog/*"))


@register("athena", "startQueryExecution", patterns=(REQUEST_RESPONSE, SYNC))
def start_query(call: Call) -> None:
    if call.args.get("QueryString") is None:
        call.missing("QueryString")
        return
    workgroup = call.named("WorkGroup", "athena", "workgroup/{}", required=False) or call.arn(
        "athena", "workgroup/primary"
    )
    call.allow("athena:StartQueryExecution", workgroup)
    data_catalogs(call)
    if call.sync:
        call.allow(ATHENA_SYNC, workgroup)
    _query_output(call, workgroup)
    catalog_access(call)
    # The result encryption key: the same generated data as aws-sdk:athena:startQueryExecution.
    for path, actions, via in (operation("athena", "startQueryExecution") or {}).get("k", ()):
        for value in values(call.args, path):
            caller_key(call, value, path, actions, via)


_ATHENA_SINGLE = {
    "stopqueryexecution": "athena:StopQueryExecution",
    "getqueryexecution": "athena:GetQueryExecution",
    "getqueryresults": "athena:GetQueryResults",
}


@register("athena", "stopQueryExecution", "getQueryExecution", "getQueryResults")
def query_by_id(call: Call) -> None:
    if call.args.get("QueryExecutionId") is None:
        call.missing("QueryExecutionId")
        return
    # A query ID does not tell its workgroup: any workgroup of this account and region.
    call.allow(_ATHENA_SINGLE[call.api.lower()], call.arn("athena", "workgroup/*"))
    if call.api.lower() == "getqueryresults":
        # Athena reads the result object with this role; where it lies is only known from the query.
        call.finding("DYNAMIC_RESOURCE", "the result location is unknown; s3:GetObject on this account's buckets")
        call.allow("s3:GetObject", s3_arn(call, DYNAMIC, DYNAMIC))  # pinned to this account's buckets by allow
