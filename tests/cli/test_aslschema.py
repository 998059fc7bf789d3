"""The States Language check: each keyword of cfn-lint's schema as the interpreter applies it, the references a schema
cannot express, the tolerances for JSONata and offline unknowns, and the state paths the problems are reported at."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sfn_iam.cli import aslschema

TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
        "End": True}


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


def problems(definition: Any) -> list[tuple[str, str]]:
    return aslschema.problems(definition)


def test_a_valid_definition_has_no_problem_and_non_objects_are_left_to_the_engine() -> None:
    assert problems(one(TASK)) == []
    assert problems("not a mapping") == [] and problems(None) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"Type": "Taks"}, ("States.S", 'Type: must be one of "Pass", "Task"')),
    ({"TimeoutSeconds": "60"}, ("States.S", 'TimeoutSeconds: must be of type number (got "60")')),
    ({"TimeoutSeconds": True}, ("States.S", "TimeoutSeconds: must be of type number (got true)")),
    ({"TimeoutSeconds": 0}, ("States.S", "TimeoutSeconds: must be at least 1")),
    ({"Retry": [{"ErrorEquals": "x"}]}, ("States.S", "Retry[0].ErrorEquals: must be of type array")),
    ({"Retry": [{}]}, ("States.S", "Retry[0]: lacks the required field 'ErrorEquals'")),
    ({"Retry": [{"ErrorEquals": [1]}]}, ("States.S", "Retry[0].ErrorEquals[0]: must be of type string (got 1)")),
    ({"ResultPath": "x"}, ("States.S", 'ResultPath: "x" is not of the expected form (^\\$)')),
    ({"Colour": "red"}, ("States.S", "Colour: is not a field of this state")),
    ({"Next": "S"}, ("States.S", "needs exactly one of 'Next' or 'End' (has 'Next' and 'End')")),
    ({"End": False}, ("States.S", "End: must be one of true (got false)")),
])
def test_each_kind_of_problem_is_reported_at_its_state_and_field(change: dict[str, Any],
                                                                 expected: tuple[str, str]) -> None:
    state = {**TASK, **change}
    found = problems(one(state))
    assert any(path == expected[0] and message.startswith(expected[1]) for path, message in found), found


def test_a_wait_may_not_be_longer_than_the_schema_says() -> None:
    state = {"Type": "Wait", "Seconds": 100_000_000, "End": True}
    assert problems(one(state)) == [("States.S", "Seconds: must be at most 99999999")]
    assert problems(one({**state, "Seconds": 99_999_999})) == []


def test_missing_next_and_end_and_missing_top_level_fields() -> None:
    state = {k: v for k, v in TASK.items() if k != "End"}
    assert problems(one(state)) == [("States.S", "needs exactly one of 'Next' or 'End'")]
    assert problems({"States": {"S": TASK}}) == [("", "lacks the required field 'StartAt'")]
    assert problems({"StartAt": "S", "States": {"S": TASK}, "Extra": 1}) == [("", "Extra: is not an allowed field")]


def test_references_name_states_of_the_same_states_at_every_depth() -> None:
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Gone"}],
              "Default": "Away"}
    catch = {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Lost"}]}
    branch = {"StartAt": "Missing", "States": {"B": {"Type": "Pass", "Next": "Nowhere"}}}
    parallel = {"Type": "Parallel", "Branches": [branch], "End": True}
    inner = {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Elsewhere"}}}
    mapped = {"Type": "Map", "ItemProcessor": inner, "End": True}
    definition = {"StartAt": "C", "States": {"C": choice, "T": catch, "P": parallel, "M": mapped}}
    found = set(problems(definition))
    assert {("States.C", "Choices[0].Next names 'Gone', which is not a state of the same States"),
            ("States.C", "Default names 'Away', which is not a state of the same States"),
            ("States.T", "Catch[0].Next names 'Lost', which is not a state of the same States"),
            ("States.P.Branches[0].States.B", "Next names 'Nowhere', which is not a state of the same States"),
            ("States.M.ItemProcessor.States.I", "Next names 'Elsewhere', which is not a state of the same States"),
            } <= found
    assert ("States.P", "Branches[0].StartAt: names 'Missing', which is not a state of these States") in found
    legacy = {"Type": "Map", "Iterator": inner, "End": True}  # the legacy field is checked the same way
    assert ("States.M.Iterator.States.I", "Next names 'Elsewhere', which is not a state of the same States") in \
        set(problems({"StartAt": "M", "States": {"M": legacy}}))


def test_a_branch_is_validated_as_a_whole_machine() -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pasz", "End": True}}}
    found = problems(one({"Type": "Parallel", "Branches": [branch], "End": True}))
    assert [p for p, m in found if m.startswith("Type: must be one of")] == ["States.S.Branches[0].States.B"]


def test_jsonata_inherited_from_the_top_allows_expressions_and_refuses_jsonpath_fields() -> None:
    wait = {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "End": True}
    assert problems(one(wait, QueryLanguage="JSONata")) == []
    jsonpath_field = {**TASK, "Parameters": {"FunctionName": "f"}}
    assert problems(one(jsonpath_field, QueryLanguage="JSONata")) == [
        ("States.S", "Parameters: is not allowed here")]
    assert problems(one({**TASK, "Arguments": {}, "Parameters": None})) != []  # JSONPath: Arguments refused
    # a state's own QueryLanguage wins over the top's
    own = {**jsonpath_field, "QueryLanguage": "JSONPath"}
    assert problems(one(own, QueryLanguage="JSONata")) == []


def test_choice_rules_follow_the_query_language() -> None:
    jsonata = {"Type": "Choice", "QueryLanguage": "JSONata", "Choices": [{"Condition": "{% true %}", "Next": "E"}],
               "Default": "E"}
    definition = {"StartAt": "C", "States": {"C": jsonata, "E": {"Type": "Succeed"}}}
    assert problems(definition) == []
    jsonata["Choices"] = [{"Next": "E"}]
    assert ("States.C", "Choices[0]: lacks the required field 'Condition'") in problems(definition)


def test_other_partitions_and_offline_unknowns_are_not_pattern_errors() -> None:
    for resource in ("arn:aws-cn:states:::lambda:invoke", "arn:aws-us-gov:states:::sqs:sendMessage",
                     "arn:aws:lambda:eu-west-1:210987654321:function:*"):
        assert problems(one({**TASK, "Resource": resource})) == [], resource
    found = problems(one({**TASK, "Resource": "lambda:invoke"}))
    assert found and found[0][1].startswith('Resource: "lambda:invoke" is not of the expected form')


def test_a_succeed_state_may_have_its_paths_and_query_language() -> None:
    succeed = {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b", "QueryLanguage": "JSONPath"}
    assert problems(one(succeed)) == []
    assert ("States.S", "Next: is not a field of this state") in problems(one({"Type": "Succeed", "Next": "S"}))


def test_the_number_of_problems_is_bounded_and_each_is_said_once() -> None:
    states = {f"S{i}": {"Type": "Taks", "End": True} for i in range(aslschema.MAX_PROBLEMS + 5)}
    found = problems({"StartAt": "S0", "States": states})
    assert len(found) == aslschema.MAX_PROBLEMS and len(set(found)) == len(found)


def test_integers_and_booleans_are_told_apart() -> None:
    definition = one(TASK, TimeoutSeconds=1.5)
    assert problems(definition) == [("", "TimeoutSeconds: must be of type integer (got 1.5)")]
    assert problems(one(TASK, TimeoutSeconds=2.0)) == []
    assert problems(one(TASK, TimeoutSeconds=False)) == [("", "TimeoutSeconds: must be of type integer (got false)")]


def test_the_definition_given_is_not_changed() -> None:
    definition = one({"Type": "Pass", "End": True}, QueryLanguage="JSONata")
    before = copy.deepcopy(definition)
    problems(definition)
    assert definition == before


def test_a_long_value_is_shown_cut_at_eighty_characters() -> None:
    resource = "not-an-arn-" + "x" * 100
    ((_, message),) = problems(one({**TASK, "Resource": resource}))
    assert message.startswith(f'Resource: "{resource[:79]} is not of the expected form')


def test_numbers_integers_and_booleans_per_type() -> None:
    assert problems(one({**TASK, "TimeoutSeconds": 1.5})) == []  # a Task's TimeoutSeconds is a number
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": 1.0, "Next": "E"}], "Default": "E"}
    found = problems({"StartAt": "C", "States": {"C": choice, "E": {"Type": "Succeed"}}})
    assert ("States.C", "Choices[0].BooleanEquals: must be of type boolean (got 1.0)") in found
    assert problems(one({"Type": "Wait", "Seconds": 10, "End": True})) == []


def test_the_bound_is_twenty() -> None:
    assert aslschema.MAX_PROBLEMS == 20


def test_jsonata_reaches_map_processors_and_parallel_branches() -> None:
    inner = {"StartAt": "I", "States": {"I": {"Type": "Pass", "Output": "{% $states.input %}", "End": True}}}
    mapped = {"Type": "Map", "ItemProcessor": inner, "Next": "P"}
    parallel = {"Type": "Parallel", "Branches": [copy.deepcopy(inner)], "End": True}
    definition = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": mapped, "P": parallel}}
    assert problems(definition) == []
    del definition["QueryLanguage"]  # JSONPath states may not have Output
    found = {path for path, message in problems(definition) if message == "Output: is not allowed here"}
    assert found == {"States.M.ItemProcessor.States.I", "States.P.Branches[0].States.I"}


def test_an_explicit_jsonpath_choice_needs_next_in_each_rule() -> None:
    choice = {"Type": "Choice", "QueryLanguage": "JSONPath", "Choices": [{"Variable": "$.x", "IsPresent": True}],
              "Default": "E"}
    found = problems({"StartAt": "C", "States": {"C": choice, "E": {"Type": "Succeed"}}})
    assert ("States.C", "Choices[0]: lacks the required field 'Next'") in found


@pytest.mark.parametrize(("value", "rule", "expected"), [
    ({"a": 1, "b": "x"}, {"type": "object", "properties": {"a": {"type": "integer"}},
                          "additionalProperties": {"type": "integer"}},
     [(("b",), 'must be of type integer (got "x")')]),
    ({"a": "x"}, {"type": "object", "properties": {"a": {"type": "string"}},
                  "additionalProperties": {"type": "integer"}}, []),  # a declared field is not "additional"
    ("x", {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, [((), "does not match any allowed shape")]),
    (1, {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, []),
    (1, {"not": {"type": "integer"}}, [((), "has a shape that is not allowed")]),
    ("x", {"not": {"type": "integer"}}, []),
    (1, {"oneOf": [{"type": "integer"}, {"type": "number"}]}, [((), "does not match exactly one allowed shape")]),
    (1, {"if": {"type": "string"}, "then": {"const": "a"}, "else": {"const": 2}}, [((), "must be 2")]),
    ("a", {"if": {"type": "string"}, "then": {"const": "a"}, "else": {"const": 2}}, []),
    (3, {"if": {"type": "string"}, "then": {"const": "a"}}, []),
    ("a", False, [((), "is not allowed here")]),
    ("a", True, []),
    ("a", "not a rule", []),
])
def test_the_interpreter_keyword_by_keyword(value: Any, rule: Any, expected: list[Any]) -> None:
    assert list(aslschema._errors(value, rule, ())) == expected


def test_problems_of_the_top_level_fields_are_at_the_machine() -> None:
    assert problems({"StartAt": "A", "States": []}) == [("", "States: must be of type object (got [])")]


def test_a_long_value_is_shown_cut_at_sixty_characters_in_a_list_of_choices() -> None:
    kind = "T" * 100
    ((path, message),) = problems(one({"Type": kind, "End": True}))
    assert path == "States.S" and message.endswith(f"(got {json.dumps(kind)[:60]})")


def test_a_long_value_of_the_wrong_type_is_cut_at_sixty_characters() -> None:
    value = "9" * 100
    ((_, message),) = problems(one({**TASK, "TimeoutSeconds": value}))
    assert message == f"TimeoutSeconds: must be of type number (got {json.dumps(value)[:60]})"


def test_a_state_s_own_query_language_reaches_its_branches() -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"a": 1}, "End": True}}}
    parallel = {"Type": "Parallel", "QueryLanguage": "JSONPath", "Branches": [branch], "End": True}
    assert problems({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": parallel}}) == []


def test_a_location_outside_any_state_is_all_field() -> None:
    assert aslschema._state_path(("Comment", "x")) == ("", "Comment.x")
    assert aslschema._state_path(("States", "A", "Retry", 0)) == ("States.A", "Retry[0]")


def test_a_processor_whose_states_are_not_an_object_is_reported_at_its_map() -> None:
    mapped = {"Type": "Map", "ItemProcessor": {"StartAt": "X", "States": []}, "End": True}
    assert problems(one(mapped)) == [("States.S", "ItemProcessor.States: must be of type object (got [])")]


def test_a_minimum_is_allowed_itself() -> None:
    assert problems(one({**TASK, "TimeoutSeconds": 1, "HeartbeatSeconds": 1})) == []
    assert problems(one({"Type": "Wait", "Seconds": 0, "End": True})) == []


def test_a_broken_state_does_not_hide_the_references_of_the_next_ones() -> None:
    found = problems({"StartAt": "A", "States": {"A": "not a state", "B": {"Type": "Pass", "Next": "Z"}}})
    assert ("States.B", "Next names 'Z', which is not a state of the same States") in found
