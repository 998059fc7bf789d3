"""Distributed Map ItemReader and ResultWriter, at the level of requests (s3io.py; gaps found by mutation testing).

What AWS documents for each reader and writer:
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (IAM policies for datasets) and
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html (IAM policies for ResultWriter).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam import engine
from tests.helpers import assert_allows, assert_denies, codes
from tests.helpers import plan_for as plan_for_mapping


def plan_for(definition: dict[str, Any]) -> engine.Plan:
    """The definition as DescribeStateMachine returns it: JSON text, so its strings are not this module's constants
    (``manifest is "S3_INVENTORY"`` would hold for an interned literal, never for a parsed value)."""
    return plan_for_mapping(json.dumps(definition))

B = "arn:aws:s3:::data-bucket"


def dmap(reader: dict[str, Any] | None = None, writer: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    }
    if reader is not None:
        state["ItemReader"] = reader
    if writer is not None:
        state["ResultWriter"] = writer
    return {"StartAt": "M", "States": {"M": state}}


def get_object(key: Any = "in/items.csv", reader_config: dict[str, Any] | None = None, **params: Any
               ) -> dict[str, Any]:
    parameters = {"Bucket": "data-bucket", **({"Key": key} if key is not None else {}), **params}
    reader: dict[str, Any] = {"Resource": "arn:aws:states:::s3:getObject", "Parameters": parameters}
    if reader_config is not None:
        reader["ReaderConfig"] = reader_config
    return reader


# --- getObject ---------------------------------------------------------------------------------------------------

def test_get_object_reads_exactly_its_key() -> None:
    plan = plan_for(dmap(get_object()))
    assert_allows(plan, "s3:GetObject", f"{B}/in/items.csv")
    assert_denies(plan, "s3:GetObject", f"{B}/in/items.csv.bak")
    assert_denies(plan, "s3:GetObject", f"{B}/in/other.csv")
    assert_denies(plan, "s3:GetObjectVersion", f"{B}/in/items.csv")
    assert_denies(plan, "s3:ListBucket", B)
    assert not codes(plan) & {"DYNAMIC_RESOURCE", "MISSING_PARAMETER"}


def test_get_object_with_a_version_reads_that_version() -> None:
    plan = plan_for(dmap(get_object(VersionId="3HL4kqtJlcpXroDTDmJ")))
    assert_allows(plan, "s3:GetObjectVersion", f"{B}/in/items.csv")
    assert_denies(plan, "s3:GetObjectVersion", f"{B}/in/other.csv")


def test_inventory_manifest_reads_the_manifest_and_the_data_files_beside_its_date_folder() -> None:
    key = "inventory/data-bucket/daily/2024-05-01T01-00Z/manifest.json"
    plan = plan_for(dmap(get_object(key, {"InputType": "MANIFEST"})))
    assert_allows(plan, "s3:GetObject", f"{B}/{key}")
    assert_allows(plan, "s3:GetObject", f"{B}/inventory/data-bucket/daily/data/0c1e.csv.gz")
    assert_denies(plan, "s3:GetObject", f"{B}/inventory/data-bucket/daily/other/0c1e.csv.gz")
    assert_denies(plan, "s3:GetObject", f"{B}/inventory/data-bucket/data/0c1e.csv.gz")
    assert_denies(plan, "s3:GetObject", f"{B}/inventory/data-bucket/daily/2024-05-01T01-00Z/data/x")


@pytest.mark.parametrize("config", [{"ManifestType": "S3_INVENTORY"}, {"InputType": "MANIFEST"},
                                    {"InputType": "MANIFEST", "ManifestType": "S3_INVENTORY"}])
def test_every_way_to_name_an_inventory_manifest_reads_its_data_folder(config: dict[str, str]) -> None:
    key = "inv/src/cfg/2024-05-01T01-00Z/manifest.json"
    plan = plan_for(dmap(get_object(key, config)))
    assert_allows(plan, "s3:GetObject", f"{B}/inv/src/cfg/data/part-0.parquet")
    assert_denies(plan, "s3:GetObject", f"{B}/inv/src/other/data/part-0.parquet")


def test_an_inventory_manifest_two_folders_deep_reads_the_data_folder_of_its_configuration() -> None:
    key = "cfg/2024-05-01T01-00Z/manifest.json"
    plan = plan_for(dmap(get_object(key, {"ManifestType": "S3_INVENTORY"})))
    assert_allows(plan, "s3:GetObject", f"{B}/cfg/data/part-0.parquet")
    assert_denies(plan, "s3:GetObject", f"{B}/other/data/part-0.parquet")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


@pytest.mark.parametrize("key", ["manifest.json", "cfg/manifest.json"])
def test_an_inventory_manifest_too_shallow_for_a_data_folder_is_granted_on_the_bucket_with_a_finding(key: str
                                                                                                    ) -> None:
    plan = plan_for(dmap(get_object(key, {"ManifestType": "S3_INVENTORY"})))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "s3:GetObject", f"{B}/{key}")


def test_a_plain_csv_reader_reads_no_data_folder() -> None:
    key = "inv/src/cfg/2024-05-01T01-00Z/items.csv"
    plan = plan_for(dmap(get_object(key, {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})))
    assert_allows(plan, "s3:GetObject", f"{B}/{key}")
    assert_denies(plan, "s3:GetObject", f"{B}/inv/src/cfg/data/part-0.parquet")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


@pytest.mark.parametrize("input_type", [None, "MANIFEST"])
def test_an_athena_manifest_reads_its_own_folder(input_type: str | None) -> None:
    key = "athena/results/q-1/manifest.csv"
    config = {"ManifestType": "ATHENA_DATA", **({"InputType": input_type} if input_type else {})}
    plan = plan_for(dmap(get_object(key, config)))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "s3:GetObject", f"{B}/{key}")
    assert_allows(plan, "s3:GetObject", f"{B}/athena/results/q-1/part-00000.csv")
    assert_denies(plan, "s3:GetObject", f"{B}/athena/results/q-2/part-00000.csv")
    assert_denies(plan, "s3:GetObject", f"{B}/athena/results/data/part-0")  # not an inventory's data folder


def test_an_athena_manifest_at_the_bucket_root_reads_the_bucket() -> None:
    plan = plan_for(dmap(get_object("manifest.csv", {"ManifestType": "ATHENA_DATA"})))
    assert_allows(plan, "s3:GetObject", f"{B}/anything.csv")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::other-bucket/anything.csv")


@pytest.mark.parametrize("params", [{"Bucket": "data-bucket"}, {"Bucket": "data-bucket", "Key": ""},
                                    {"Key": "k"}, {"Bucket": "", "Key": "k"}])
def test_a_reader_without_bucket_or_key_grants_nothing_and_says_so(params: dict[str, str]) -> None:
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:getObject", "Parameters": params}))
    assert "MISSING_PARAMETER" in codes(plan)
    assert not [a for s in plan.statements for a in s["Action"] if a.startswith("s3:")]


def test_a_dynamic_key_is_granted_on_the_bucket_with_a_finding() -> None:
    plan = plan_for(dmap(get_object(None, **{"Key.$": "$.key"})))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "s3:GetObject", f"{B}/any/key")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::other-bucket/any/key")


# --- listObjectsV2 -----------------------------------------------------------------------------------------------

def test_list_objects_without_bucket_grants_nothing() -> None:
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Prefix": "in/"}}))
    assert "MISSING_PARAMETER" in codes(plan)
    assert_denies(plan, "s3:ListBucket", "arn:aws:s3:::None")
    assert not [a for s in plan.statements for a in s["Action"] if a.startswith("s3:")]


LOAD = {"ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN"}}


def test_list_objects_with_an_empty_prefix_lists_the_whole_bucket_without_condition() -> None:
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2",
                          "Parameters": {"Bucket": "data-bucket", "Prefix": ""}, **LOAD}))
    assert_allows(plan, "s3:ListBucket", B)
    assert_allows(plan, "s3:GetObject", f"{B}/k")


def test_list_objects_with_a_dynamic_prefix_reads_the_bucket_with_a_finding() -> None:
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2",
                          "Parameters": {"Bucket": "data-bucket", "Prefix.$": "$.prefix"}, **LOAD}))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "s3:ListBucket", B)
    assert_allows(plan, "s3:GetObject", f"{B}/any/key")


def test_list_objects_with_a_dynamic_bucket_reads_any_bucket_with_a_finding() -> None:
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2",
                          "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"}, **LOAD}))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::any-bucket/out/k")


@pytest.mark.parametrize(("reader", "reads"), [
    ({}, False),
    ({"ReaderConfig": {"Transformation": "NONE"}}, False),
    ({"ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN", "InputType": "JSONL"}}, True),
    ({"ReaderConfig": {"Transformation.$": "$.how"}}, True),
])
def test_a_listing_reader_reads_the_listed_objects_only_when_it_loads_them(reader: dict[str, Any], reads: bool
                                                                            ) -> None:
    """input-output-itemreader.html: LOAD_AND_FLATTEN reads each listed object; a plain listing reads none."""
    plan = plan_for(dmap({"Resource": "arn:aws:states:::s3:listObjectsV2",
                          "Parameters": {"Bucket": "data-bucket", "Prefix": "in/"}, **reader}))
    assert_allows(plan, "s3:ListBucket", B, {"s3:prefix": "in/"})
    (assert_allows if reads else assert_denies)(plan, "s3:GetObject", f"{B}/in/a.json")
    assert_denies(plan, "s3:GetObject", f"{B}/out/a.json")


def test_a_jsonata_listing_reader_that_loads_reads_the_objects() -> None:
    definition = dmap({"Resource": "arn:aws:states:::s3:listObjectsV2",
                       "Arguments": {"Bucket": "data-bucket", "Prefix": "in/"},
                       "ReaderConfig": {"Transformation": "LOAD_AND_FLATTEN"}})
    definition["QueryLanguage"] = "JSONata"
    plan = plan_for(definition)
    assert_allows(plan, "s3:GetObject", f"{B}/in/a.json")


# --- ResultWriter ------------------------------------------------------------------------------------------------

WRITES = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]


def writer(**params: Any) -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "data-bucket", **params}}


@pytest.mark.parametrize("prefix", ["results", "results/", "results//"])
@pytest.mark.parametrize("action", WRITES)
def test_result_writer_writes_below_its_prefix_only(prefix: str, action: str) -> None:
    plan = plan_for(dmap(writer=writer(Prefix=prefix)))
    assert_allows(plan, action, f"{B}/results/0c1e/SUCCEEDED_0.json")
    assert_denies(plan, action, f"{B}/resultsX/0c1e/SUCCEEDED_0.json")
    assert_denies(plan, action, f"{B}/other/0c1e/SUCCEEDED_0.json")


@pytest.mark.parametrize("params", [{}, {"Prefix": ""}])
def test_result_writer_without_prefix_writes_anywhere_in_its_bucket(params: dict[str, str]) -> None:
    plan = plan_for(dmap(writer=writer(**params)))
    assert_allows(plan, "s3:PutObject", f"{B}/0c1e/manifest.json")
    assert_denies(plan, "s3:PutObject", "arn:aws:s3:::other-bucket/0c1e/manifest.json")
    assert "DYNAMIC_RESOURCE" not in codes(plan)


def test_result_writer_with_a_dynamic_prefix_writes_in_its_bucket_with_a_finding() -> None:
    plan = plan_for(dmap(writer=writer(**{"Prefix.$": "$.out"})))
    assert "DYNAMIC_RESOURCE" in codes(plan)
    assert_allows(plan, "s3:PutObject", f"{B}/anything/manifest.json")


@pytest.mark.parametrize("params", [{"Bucket": ""}, {"Bucket": None}])
def test_result_writer_without_bucket_grants_nothing(params: dict[str, Any]) -> None:
    w = writer(Prefix="results")
    w["Parameters"].update(params)
    if params["Bucket"] is None:
        del w["Parameters"]["Bucket"]
    plan = plan_for(dmap(writer=w))
    assert "MISSING_PARAMETER" in codes(plan)
    assert not [a for s in plan.statements for a in s["Action"] if a.startswith("s3:")]
