"""Athena reads the data it queries with the caller's credentials: for tables named literally in the query, the
locations come from the Glue catalog (a fact the account answers: engine.facts TABLE_LOCATION) and the reads are
granted on those prefixes; Lake Formation-governed tables need no S3 grant; otherwise a finding names what to
supply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.engine import facts
from sfn_iam.engine.integrations.analytics import query_tables
from sfn_iam.model import StateMachine
from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.helpers import ACCOUNT, REGION, SM_ARN, assert_allows, assert_denies, task

GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def query(sql: str, database: str | None = "sales", jsonata: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {"QueryString": sql, "WorkGroup": "primary",
                              "ResultConfiguration": {"OutputLocation": "s3://results/athena/"}}
    if database is not None:
        params["QueryExecutionContext"] = {"Database": database}
    return task("arn:aws:states:::athena:startQueryExecution.sync", params, jsonata=jsonata)


def plan(definition: dict[str, Any], **locations: facts.Answer) -> engine.Plan:
    known = facts.Facts({facts.Question(facts.TABLE_LOCATION, f"{GLUE}:table/{name.replace('__', '/')}"): answer
                         for name, answer in locations.items()})
    return engine.plan(StateMachine(SM_ARN, definition), known=known)


@pytest.mark.parametrize(("sql", "database", "tables"), [
    ("SELECT * FROM orders", "sales", [("sales", "orders")]),
    ("select o.id from Sales.Orders o join \"crm\".\"customers\" c on o.c = c.id", None,
     [("sales", "orders"), ("crm", "customers")]),
    ("SELECT * FROM awsdatacatalog.sales.orders", None, [("sales", "orders")]),
    ("WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", "sales", [("sales", "orders")]),
    ("SELECT * FROM orders CROSS JOIN UNNEST(items) AS t(i)", "sales", [("sales", "orders")]),
    ("SELECT 1", None, []),
    ("SELECT * FROM orders", None, None),
])
def test_the_tables_a_literal_query_reads(sql: str, database: str | None, tables: list[tuple[str, str]] | None
                                          ) -> None:
    assert query_tables(sql, database) == tables


def test_a_queried_table_is_read_on_its_location_only() -> None:
    p = plan(query("SELECT * FROM orders"), sales__orders=facts.table_location("s3://lake/sales/orders"))
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0001.parquet")
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/sales/ordersx/part-0001.parquet")
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/crm/customers/part-0001.parquet")
    assert_allows(p, "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "sales/orders/"})
    assert_denies(p, "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "crm/"})
    assert_allows(p, "s3:GetBucketLocation", "arn:aws:s3:::lake")
    assert not any("reads the data" in f.message or "queried tables" in f.message for f in p.findings)


def test_a_lake_formation_table_needs_no_s3_grant() -> None:
    p = plan(query("SELECT * FROM orders"), sales__orders=facts.table_location("s3://lake/sales/orders/", True))
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0001.parquet")
    assert_allows(p, "lakeformation:GetDataAccess", "*")


def test_a_lake_formation_table_or_a_view_before_another_table_leaves_its_read() -> None:
    p = plan(query("SELECT * FROM items JOIN orders ON orders.id = items.id"),  # the governed table first
             sales__items=facts.table_location("s3://lake/sales/items/", True),
             sales__orders=facts.table_location("s3://lake/sales/orders/"))
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0001.parquet")
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/sales/items/part-0001.parquet")


def test_an_unanswered_table_is_named_in_a_finding() -> None:
    p = plan(query("SELECT * FROM orders JOIN crm.customers USING (id)"),
             sales__orders=facts.table_location("s3://lake/sales/orders/"))
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/x")
    messages = [f.message for f in p.findings if f.code == "OUT_OF_BAND_PERMISSION"]
    assert any("crm.customers" in m and "sales.orders" not in m for m in messages), messages
    assert facts.Question(facts.TABLE_LOCATION, f"{GLUE}:table/crm/customers") in p.questions


@pytest.mark.parametrize("definition", [
    task("arn:aws:states:::athena:startQueryExecution", {"QueryString.$": "$.sql", "WorkGroup": "primary"}),
    query("SELECT * FROM orders", database=None),
])
def test_tables_that_cannot_be_named_get_a_finding_saying_what_to_supply(definition: dict[str, Any]) -> None:
    p = plan(definition)
    assert any(f.code == "OUT_OF_BAND_PERMISSION" and "name the tables literally" in f.message for f in p.findings)
    assert not any(q.kind == facts.TABLE_LOCATION for q in p.questions)


def test_a_query_built_from_literals_names_its_tables_too() -> None:
    p = plan(query("{% 'SELECT * FROM ' & 'orders' %}", jsonata=True),
             sales__orders=facts.table_location("s3://lake/sales/orders/"))
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/x")


SDK = "arn:aws:states:::aws-sdk:athena:startQueryExecution"


def test_the_sdk_form_reads_a_queried_table_on_its_location_as_the_optimized_one_does() -> None:
    """aws-sdk:athena:startQueryExecution is the same request: the same catalog reads and table data."""
    params = query("SELECT * FROM orders")["States"]["T"]["Parameters"]
    location = facts.table_location("s3://lake/sales/orders")
    sdk = plan(task(SDK, params), sales__orders=location)
    optimized = plan(task("arn:aws:states:::athena:startQueryExecution", params), sales__orders=location)
    for p in (sdk, optimized):
        assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0001.parquet")
        assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/crm/customers/part-0001.parquet")
        assert_allows(p, "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "sales/orders/"})
        assert_denies(p, "s3:ListBucket", "arn:aws:s3:::lake", {"s3:prefix": "crm/"})
        assert_allows(p, "glue:GetTable", f"{GLUE}:table/sales/orders")
        assert_denies(p, "glue:CreateTable", f"{GLUE}:table/sales/orders")  # a read-only query writes no catalog
    assert {r.action for r in sdk.granted} - {r.action for r in optimized.granted} == set()
    ctas = {**params, "QueryString": "CREATE TABLE x AS SELECT * FROM orders"}
    ddl = plan(task(SDK, ctas), sales__orders=location)
    assert_requests(ddl, "glue:CreateTable", f"{GLUE}:table/sales/x")  # (the wildcard rule decides, as below)
    same = plan(task("arn:aws:states:::athena:startQueryExecution", ctas), sales__orders=location)
    assert {(r.action, r.resource) for r in ddl.requirements if r.service == "glue"} == {
        (r.action, r.resource) for r in same.requirements if r.service == "glue"}
    assert {(r.action, r.resource) for r in ddl.granted if r.service == "glue"} == {
        (r.action, r.resource) for r in same.granted if r.service == "glue"}
    unnamed = plan(task(SDK, {**params, "QueryString.$": "$.sql"}))
    assert any(f.code == "OUT_OF_BAND_PERMISSION" and "name the tables literally" in f.message
               for f in unnamed.findings)


def test_a_table_location_that_is_not_an_s3_uri_is_reported_and_read_nowhere() -> None:
    p = plan(query("SELECT * FROM orders JOIN items ON orders.id = items.id"),
             sales__orders=facts.table_location("hdfs://lake/sales/orders"),
             sales__items=facts.table_location("s3://lake/sales/items/"))
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/part-0001.parquet")
    assert [f.message for f in p.findings if f.code == "INVALID_VALUE"] == [
        "sales.orders location 'hdfs://lake/sales/orders' is not an s3:// URI; nothing granted for it"]
    # the next table is still read
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/items/part-0001.parquet")


WORK_GROUP = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg"


@pytest.mark.parametrize(("encryption", "via"), [("SSE_KMS", "s3"), ("CSE_KMS", "athena")])
@pytest.mark.parametrize("region", [REGION, "eu-west-1"])
def test_a_work_group_key_is_used_through_the_service_that_encrypts_in_the_keys_region(encryption: str, via: str,
                                                                                        region: str) -> None:
    key = f"arn:aws:kms:{region}:{ACCOUNT}:key/1234"
    answer = facts.work_group("s3://out/q/", encryption, key)
    p = engine.plan(StateMachine(SM_ARN, task("arn:aws:states:::athena:startQueryExecution",
                                              {"QueryString": "SELECT 1", "WorkGroup": "wg"})),
                    known=facts.Facts({facts.Question(facts.WORK_GROUP, WORK_GROUP): answer}))
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert_allows(p, action, key, {"kms:ViaService": f"{via}.{region}.amazonaws.com"})
        assert_denies(p, action, key)
        other = "athena" if via == "s3" else "s3"
        assert_denies(p, action, key, {"kms:ViaService": f"{other}.{region}.amazonaws.com"})
        elsewhere = "ap-south-1" if region == REGION else REGION
        assert_denies(p, action, key, {"kms:ViaService": f"{via}.{elsewhere}.amazonaws.com"})
    assert_allows(p, "s3:PutObject", "arn:aws:s3:::out/q/1.csv")


@pytest.mark.parametrize(("encryption", "key"), [("SSE_S3", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"),
                                                  ("SSE_KMS", "")])
def test_a_work_group_without_a_kms_key_needs_no_key_grant(encryption: str, key: str) -> None:
    answer = facts.work_group("s3://out/q/", encryption, key)
    p = engine.plan(StateMachine(SM_ARN, task("arn:aws:states:::athena:startQueryExecution",
                                              {"QueryString": "SELECT 1", "WorkGroup": "wg"})),
                    known=facts.Facts({facts.Question(facts.WORK_GROUP, WORK_GROUP): answer}))
    assert_denies(p, "kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234",
                  {"kms:ViaService": f"s3.{REGION}.amazonaws.com"})
    assert [r for r in p.requirements if r.service == "kms"] == []  # on no resource, through no service


# --- pinned by mutation testing of engine/integrations/analytics.py (each checked against its mutant) -------------


def _athena(params: dict[str, Any], answer: facts.Answer | None = None) -> engine.Plan:
    known = facts.Facts({facts.Question(facts.WORK_GROUP, WORK_GROUP): answer} if answer else {})
    return engine.plan(StateMachine(SM_ARN, task("arn:aws:states:::athena:startQueryExecution",
                                                 {"QueryString": "SELECT 1", **params})), known=known)


def test_a_work_group_key_answered_by_the_account_is_used_through_s3_for_sse_kms() -> None:
    # the account's answer is parsed text (GetWorkGroup), never the code's own string object
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    answer = facts.Answer(tuple(json.loads('["s3://out/q/", "SSE_KMS", "' + key + '", ""]')))
    p = _athena({"WorkGroup": "wg"}, answer)
    assert_allows(p, "kms:GenerateDataKey", key, {"kms:ViaService": f"s3.{REGION}.amazonaws.com"})
    assert_denies(p, "kms:GenerateDataKey", key, {"kms:ViaService": f"athena.{REGION}.amazonaws.com"})


@pytest.mark.parametrize("location", ["", {"OutputLocation.$": "$.out"}], ids=["empty", "run-time"])
def test_a_work_group_output_applies_when_the_definition_names_no_location(location: Any) -> None:
    results = location if isinstance(location, dict) else {"OutputLocation": location}
    p = _athena({"WorkGroup": "wg", "ResultConfiguration": results}, facts.work_group("s3://out/q/"))
    assert_allows(p, "s3:PutObject", "arn:aws:s3:::out/q/1.csv")
    assert_denies(p, "s3:PutObject", "arn:aws:s3:::elsewhere/q/1.csv")
    assert_denies(p, "s3:PutObject", "arn:aws:s3:::out/other/1.csv")
    assert not any("output location" in f.message for f in p.findings), p.findings


def test_an_empty_output_location_without_a_work_group_answer_is_the_accounts_buckets_with_a_finding() -> None:
    for results in ({"OutputLocation": ""}, {"OutputLocation.$": "$.out"}):
        p = _athena({"ResultConfiguration": results})
        assert_requests(p, "s3:PutObject", "arn:aws:s3:::any-bucket/q/1.csv", {"s3:ResourceAccount": ACCOUNT})
        assert_not_requested(p, "s3:PutObject", "arn:aws:s3:::any-bucket/q/1.csv", {"s3:ResourceAccount": "999"})
        assert [f.message for f in p.findings if f.code == "DYNAMIC_RESOURCE"] == [
            "the query output location is not in the definition (workgroup setting or run-time value): "
            "S3 result access granted on this account's buckets only"]


def test_a_literal_query_of_a_read_keyword_alone_writes_no_catalog() -> None:
    # not a valid statement (Athena refuses it), but never one that may write
    p = _athena({"QueryString": "SELECT"})
    assert_requests(p, "glue:GetTable", f"{GLUE}:table/sales/orders")
    assert_not_requested(p, "glue:CreateTable", f"{GLUE}:table/sales/orders")


@pytest.mark.parametrize(("sql", "read"), [
    ('SELECT * FROM "table"."orders"', "table/orders"),  # a database may be named like a keyword
    ("WITH sales AS (SELECT 1) SELECT * FROM sales.orders", "sales/orders"),  # a qualified name is no CTE
    ("WITH recent AS (SELECT 1) SELECT * FROM recent JOIN crm.orders ON true", "crm/orders"),  # after a CTE
], ids=["keyword-database", "cte-named-database", "after-a-cte"])
def test_a_qualified_table_is_read_whatever_its_database_is_called(sql: str, read: str) -> None:
    db, table = read.split("/")
    p = plan(query(sql, database=None), **{f"{db}__{table}": facts.table_location(f"s3://lake/{read}/")})
    assert_allows(p, "s3:GetObject", f"arn:aws:s3:::lake/{read}/part-0001.parquet")
    assert_denies(p, "s3:GetObject", "arn:aws:s3:::lake/other/part-0001.parquet")


def test_an_unanswered_table_before_another_leaves_its_read() -> None:
    p = plan(query("SELECT * FROM crm.customers JOIN orders USING (id)"),  # the unanswered table first
             sales__orders=facts.table_location("s3://lake/sales/orders/"))
    assert_allows(p, "s3:GetObject", "arn:aws:s3:::lake/sales/orders/x")
    assert [f.message for f in p.findings if f.code == "OUT_OF_BAND_PERMISSION"] == [
        "Athena reads the data of crm.customers in S3 with this role: grant s3:GetObject and s3:ListBucket on their "
        "locations (the fixer reads them from the Glue catalog; the CLI with --resolve)"]


@pytest.mark.parametrize(("definition", "why"), [
    (task("arn:aws:states:::athena:startQueryExecution", {"QueryString.$": "$.sql"}),
     "the query is built at run time"),
    (query("SELECT * FROM orders", database=None),
     "a table is named without a database and QueryExecutionContext.Database is not literal"),
])
def test_the_finding_says_why_the_tables_cannot_be_named(definition: dict[str, Any], why: str) -> None:
    assert [f.message for f in plan(definition).findings if f.code == "OUT_OF_BAND_PERMISSION"] == [
        f"Athena reads the queried tables' S3 data with this role, and {why}: grant s3:GetObject and s3:ListBucket "
        "on their locations, or name the tables literally (DATABASE.TABLE) in QueryString so their locations can "
        "be read from the Glue catalog"]


def test_a_query_without_a_work_group_runs_in_primary_and_misses_nothing() -> None:
    p = _athena({"ResultConfiguration": {"OutputLocation": "s3://r/p/"}})
    assert_allows(p, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary")
    assert_denies(p, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/other")
    assert "MISSING_PARAMETER" not in {f.code for f in p.findings}
