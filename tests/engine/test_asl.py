"""The walker: every state at any depth, both query languages, dynamic values, no trap in loops or deep nesting."""

from __future__ import annotations

import json

import pytest

from sfn_iam.engine.asl import DYNAMIC, Args, DefinitionError, loads, walk
from tests.helpers import ACCOUNT, REGION, SM_ARN, assert_allows, assert_denies, plan_for, task

SNS = "arn:aws:states:::sns:publish"


def _task(name: str) -> dict[str, object]:
    return {name: {"Type": "Task", "Resource": SNS, "Parameters": {"TopicArn": "t"}, "End": True}}


def test_walks_parallel_map_iterator_and_distributed_map_parts() -> None:
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": _task("A")},
            {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, "Iterator": {
                "StartAt": "B", "States": _task("B")}}}},
        ]},
        "D": {"Type": "Map", "End": True,
              "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}},
              "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}},
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "C", "States": _task("C")}},
    }}
    nodes, findings = walk(definition)
    assert findings == []
    assert sorted((n.kind, n.path) for n in nodes) == sorted([
        ("task", "States.P.Branches[0].States.A"),
        ("task", "States.P.Branches[1].States.M.Iterator.States.B"),
        ("distributed_map", "States.D"),
        ("item_reader", "States.D.ItemReader"),
        ("result_writer", "States.D.ResultWriter"),
        ("task", "States.D.ItemProcessor.States.C"),
    ])


def test_next_loops_are_not_followed() -> None:
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": SNS, "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}
    nodes, _ = walk(definition)
    assert [n.path for n in nodes] == ["States.A"]


def test_deep_nesting_does_not_hit_the_recursion_limit() -> None:
    inner: dict[str, object] = {"StartAt": "T", "States": _task("T")}
    for _ in range(2000):
        inner = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [inner], "End": True}}}
    nodes, _ = walk(inner)
    assert len(nodes) == 1 and nodes[0].path.count("Branches[0]") == 2000


def test_query_language_is_inherited_and_overridden() -> None:
    definition = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": SNS, "Arguments": {"TopicArn": "{% $t %}"}, "End": True},
        "B": {"Type": "Task", "QueryLanguage": "JSONPath", "Resource": SNS, "Parameters": {"TopicArn.$": "$.t"},
              "End": True},
    }}
    nodes, _ = walk(definition)
    by_path = {n.path: n for n in nodes}
    assert by_path["States.A"].jsonata and not by_path["States.B"].jsonata
    assert by_path["States.A"].args.get("TopicArn") is DYNAMIC
    assert by_path["States.B"].args.get("TopicArn") is DYNAMIC


@pytest.mark.parametrize(
    ("raw", "jsonata", "expected"),
    [
        ({"K": "v"}, False, "v"),
        ({"K.$": "$.v"}, False, DYNAMIC),
        ({"K.$": "States.Format('a{}', $.x)"}, False, DYNAMIC),
        ({"K.$": "$$.Execution.Id"}, False, DYNAMIC),
        ({"K.$": "$myVariable"}, False, DYNAMIC),
        ({"K": "$.not-a-path-without-dollar-key"}, False, "$.not-a-path-without-dollar-key"),
        ({"K": "{% $x %}"}, True, DYNAMIC),
        ({"K": "{% $x %}"}, False, "{% $x %}"),
        ({"K": "plain"}, True, "plain"),
        ("{% $states.input %}", True, DYNAMIC),
        ({}, False, None),
        ({"K": 42}, False, "42"),
        ({"K": True}, False, None),  # a boolean is not a name
        ({"K": False}, True, None),
        ({"K": {"nested": 1}}, False, None),
    ],
)
def test_args_classify_static_and_dynamic_values(raw: object, jsonata: bool, expected: object) -> None:
    assert Args(raw, jsonata).get("K") == expected


def test_absent_parameters_mean_the_whole_input_is_sent() -> None:
    nodes, _ = walk({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": SNS, "End": True}}})
    assert nodes[0].args.dynamic and nodes[0].args.get("TopicArn") is DYNAMIC


@pytest.mark.parametrize("definition", [[], "x", {"StartAt": "A"}, {"States": []}])
def test_non_definitions_raise_definition_error(definition: object) -> None:
    with pytest.raises(DefinitionError):
        walk(definition)


def test_broken_parts_become_findings_not_exceptions() -> None:
    definition = {"StartAt": "A", "States": {
        "A": "not a state", "B": {"Type": "Parallel", "Branches": "nope"},
        "C": {"Type": "Map"}, "D": {"Type": "Map", "ItemProcessor": {"States": 3}},
    }}
    _, findings = walk(json.loads(json.dumps(definition)))
    assert {f.path for f in findings} == {"States.A", "States.B", "States.C", "States.D.ItemProcessor"}
    assert {f.code for f in findings} == {"DEFINITION_ERROR"}


# --- Pinned by mutation testing (docs/mutation.md): what the walker reads decides what is requested ---------------

FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"


def _distributed_map(reader: dict[str, object], *, jsonata: bool = False) -> dict[str, object]:
    definition: dict[str, object] = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True, "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def test_a_jsonata_definition_read_from_text_uses_its_arguments() -> None:
    """The query language read from JSON text is not the code's own "JSONata" object: compared by value."""
    text = json.dumps(task("arn:aws:states:::lambda:invoke", {"FunctionName": FUNCTION}, jsonata=True))
    plan = plan_for(text)
    assert_allows(plan, "lambda:InvokeFunction", FUNCTION)
    assert_denies(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:g")


@pytest.mark.parametrize("as_text", [False, True])
def test_a_task_in_its_own_query_language_is_read_in_it(as_text: bool) -> None:
    """A JSONata Task in a JSONPath machine sends its Arguments (and a JSONPath Task beside it its Parameters),
    whether the definition is given as objects or read from text (where "JSONata" is not the code's own object)."""
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
              "Arguments": {"FunctionName": FUNCTION}, "Next": "B"},
        "B": {"Type": "Task", "Resource": SNS, "Arguments": {"TopicArn": "ignored"},
              "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"}, "End": True}}}
    nodes, _ = walk(loads(json.dumps(definition)) if as_text else definition)
    assert [(n.path, n.jsonata) for n in nodes] == [("States.A", True), ("States.B", False)]
    plan = plan_for(json.dumps(definition) if as_text else definition)
    assert_allows(plan, "lambda:InvokeFunction", FUNCTION)
    assert_denies(plan, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:g")
    assert_allows(plan, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:t")
    assert_denies(plan, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:ignored")


@pytest.mark.parametrize("jsonata", [False, True])
def test_a_distributed_map_reads_its_item_reader_in_its_own_language(jsonata: bool) -> None:
    reader = {"Resource": "arn:aws:states:::s3:getObject",
              "Arguments" if jsonata else "Parameters": {"Bucket": "data-bucket", "Key": "in/items.json"}}
    plan = plan_for(json.dumps(_distributed_map(reader, jsonata=jsonata)))
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::data-bucket/in/items.json")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::data-bucket/other.json")
    assert_denies(plan, "s3:GetObject", "arn:aws:s3:::other-bucket/in/items.json")
    assert_allows(plan, "states:StartExecution", SM_ARN)  # the Mode read from text starts child executions


def test_an_inline_map_starts_no_child_executions() -> None:
    definition = _distributed_map({"Resource": "arn:aws:states:::s3:getObject",
                                   "Parameters": {"Bucket": "data-bucket", "Key": "in/items.json"}})
    definition["States"]["M"]["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}  # type: ignore[index]
    plan = plan_for(definition)
    assert_denies(plan, "states:StartExecution", SM_ARN)
    assert_allows(plan, "s3:GetObject", "arn:aws:s3:::data-bucket/in/items.json")


def test_a_table_whose_request_is_a_path_is_named_without_its_suffix() -> None:
    """JSONPath ``"Orders.$": "$.keys"`` sends the table Orders the keys of the input."""
    plan = plan_for(task("arn:aws:states:::aws-sdk:dynamodb:batchGetItem",
                         {"RequestItems": {"Orders.$": "$.keys", "Customers": {"Keys": [{"id": {"S": "1"}}]}}}))
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    assert_allows(plan, "dynamodb:BatchGetItem", f"{table}/Orders")
    assert_allows(plan, "dynamodb:BatchGetItem", f"{table}/Customers")
    assert_denies(plan, "dynamodb:BatchGetItem", f"{table}/Or")
    assert_denies(plan, "dynamodb:BatchGetItem", f"{table}/Other")


@pytest.mark.parametrize(("value", "pattern"), [
    ("reports/2024-0?.csv", True),  # "?" alone: an IAM pattern of one character
    ("reports/*.csv", True),
    ("bucket/key?versionId=3", False),  # a query suffix
    ("SELECT * FROM t", False),
    ("https://example.com/a?b=*", False),
    ("reports/2024.csv", False),
])
def test_a_literal_iam_would_read_as_a_pattern_is_a_run_time_value(value: str, pattern: bool) -> None:
    assert (Args({"K": value}, False).get("K") is DYNAMIC) is pattern


@pytest.mark.parametrize(("raw", "jsonata"), [
    ({"Path.$": "States.Format('/@connections/{}', $.id)"}, False),
    ({"Path": "{% '/@connections/' & $id %}"}, True),
])
def test_the_literal_start_of_a_run_time_value_is_known(raw: dict[str, object], jsonata: bool) -> None:
    args = Args(raw, jsonata)
    assert args.get("Path") is DYNAMIC
    assert args.literal_prefix("Path") == "/@connections/"
    assert Args({"Path": "/@connections/abc"}, jsonata).literal_prefix("Path") == "/@connections/abc"
    assert Args({}, jsonata).literal_prefix("Path") is None


@pytest.mark.parametrize(("jsonata", "expected"), [
    (False, ["a", DYNAMIC, "{% $x %}"]),  # JSONPath: a pattern is a run-time value, "{% %}" is text
    (True, ["a", DYNAMIC, DYNAMIC]),
])
def test_array_elements_are_classified_one_by_one(jsonata: bool, expected: list[object]) -> None:
    items = Args({"L": ["a", "b*", "{% $x %}"]}, jsonata).items("L")
    assert isinstance(items, list)
    assert [item.raw for item in items] == expected
    assert Args({"L.$": "$.l"}, False).items("L") is DYNAMIC


@pytest.mark.parametrize(("length", "shown"), [(5, True), (100, True), (101, False)])
def test_a_repeated_key_is_quoted_up_to_100_characters(length: int, shown: bool) -> None:
    key = "k" * length
    with pytest.raises(DefinitionError) as raised:
        loads('{"StartAt": "A", "States": {}, "' + key + '": 1, "' + key + '": 2}')
    assert (f"repeats the key {key!r} in one object" in str(raised.value)) is shown
    assert (f"repeats the key {key[:100] + '...'!r}" in str(raised.value)) is not shown


def test_a_parameter_present_or_absent_decides_the_extra_action() -> None:
    """GetObject with a VersionId reads a version (s3:GetObjectVersion); without one it does not."""
    key = "arn:aws:s3:::data-bucket/in/a.csv"
    versioned = plan_for(task("arn:aws:states:::aws-sdk:s3:getObject",
                              {"Bucket": "data-bucket", "Key": "in/a.csv", "VersionId": "3"}))
    assert_allows(versioned, "s3:GetObjectVersion", key)
    latest = plan_for(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data-bucket", "Key": "in/a.csv"}))
    assert_allows(latest, "s3:GetObject", key)
    assert_denies(latest, "s3:GetObjectVersion", key)


def test_a_run_time_value_counts_as_given() -> None:
    """DYNAMIC is truthy: a role only known at run time is a role (EKS CreateCluster is requested and the pass is
    reported), not a missing parameter."""
    plan = plan_for(task("arn:aws:states:::eks:createCluster",
                         {"Name": "c", "RoleArn.$": "$.role", "ResourcesVpcConfig": {}}))
    assert_allows(plan, "eks:CreateCluster", "*")
    assert {f.code for f in plan.findings} == {"PASSROLE_UNSCOPED"}
