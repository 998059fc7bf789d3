"""The walker: every state at any depth, both query languages, dynamic values, no trap in loops or deep nesting."""

from __future__ import annotations

import json

import pytest

from sfn_iam.engine.asl import DYNAMIC, Args, DefinitionError, walk

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
