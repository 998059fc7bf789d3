"""Values known before run time: literals computed by an intrinsic or a JSONata expression, and the context object's
fields fixed for the machine, are granted like the literals they are (the request allowed, its neighbour denied);
anything that depends on the input, a variable or the execution stays a run-time value."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.engine.static import UNKNOWN, Known, context_fields, evaluate
from tests.helpers import ACCOUNT, REGION, SM_ARN, SM_NAME, assert_allows, assert_denies, codes, plan_for, task

FIELDS = context_fields(SM_ARN, SM_NAME)
MACHINES = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine"


@pytest.mark.parametrize(("text", "jsonata", "value"), [
    ("States.Format('{}/{}', 'https://api.example.com', 'orders')", False, "https://api.example.com/orders"),
    ("States.Format('https://api.example.com/v1')", False, "https://api.example.com/v1"),
    ("  States.Format( 'a-{}' , States.Format('{}', 'b') ) ", False, "a-b"),
    ("States.Format('{}:{}', 1, true)", False, "1:true"),
    ("States.Format('it\\'s {}', 'x')", False, "it's x"),
    ("States.ArrayGetItem(States.StringSplit('a,b,c', ','), 1)", False, "b"),
    ("States.ArrayGetItem(States.Array('x', 'y'), 0)", False, "x"),
    ("States.MathAdd(5, 3)", False, 8),
    ("States.Format('{}-{}', false, true)", False, "false-true"),
    ("{% 'a\\'b' %}", True, "a'b"),
    ("{% '" + "a" * 300 + "' & $states.context.StateMachine.Name%}", True, "a" * 300 + SM_NAME),
    ("$$.StateMachine.Id", False, SM_ARN),
    ("States.Format('{}-child', $$.StateMachine.Name)", False, f"{SM_NAME}-child"),
    ("{% 'task_table' %}", True, "task_table"),
    ("{% \"a\" & 'b' & 1 %}", True, "ab1"),
    ("  {% $states.context.StateMachine.Id %} ", True, SM_ARN),
    ("{% $states.context.StateMachine.Name & '-child' %}", True, f"{SM_NAME}-child"),
    ("{% 'it\\'s' %}", True, "it's"),
    ("{% 42 %}", True, 42),
    ("{% 1 & 'a' %}", True, "1a"),
    ("{% 1.5 %}", True, 1.5),
    ("{% 'a'&'b' %}", True, "ab"),
    ("States.JsonToString(States.Array())", False, "[]"),
    ("{%'a'%}", True, "a"),
    ("{% 'abcdefghijklmnop' & $states.context.StateMachine.Name %}", True, f"abcdefghijklmnop{SM_NAME}"),
    ("States.Format('{}', States.Array('a', 1))", False, '["a",1]'),
    ("States.Format('{} {}', 1.5, null)", False, "1.5 null"),
    ("States.JsonToString(States.Array(1, 'b'))", False, '[1,"b"]'),
    # more placeholders than CPython caches small integers for: the counts are compared by value
    ("States.Format('" + "{}" * 300 + "', " + ", ".join(["1"] * 300) + ")", False, "1" * 300),
])
def test_values_known_before_run_time_are_computed(text: str, jsonata: bool, value: Any) -> None:
    assert evaluate(text, jsonata, FIELDS) == value


@pytest.mark.parametrize(("text", "jsonata"), [
    ("States.Format('{}', $.name)", False),
    ("States.Format('{}', $name)", False),
    ("States.Format('{} {}', 'one')", False),
    ("States.Format('\\{}', 'x')", False),
    ("States.UUID()", False),
    ("States.Hash('a', 'SHA-256')", False),
    ("States.Format('a')extra", False),
    ("States.Format('a'", False),
    ("States.Format''a')", False),
    ("{% 'abc' &x", True),
    ("States.MathAdd(1, 2, 3)", False),
    ("States.Hash(1, 2)", False),
    ("States.UUID(1, 2)", False),
    ("States.Hash('a,b', ',')", False),
    ("States.StringToJson('{}')", False),
    ("States.ArrayContains(States.Array('a'), 0)", False),
    ("States.Hash(States.Array('a'), 0)", False),
    ("{% 'a' !'b' %}", True),
    ("{% 'a\\'%}", True),
    ("States.Format('{}{}', 'a'+'b')", False),
    ("States.Format('{}{}', 'a'.'b')", False),
    ("States.Format('\\{a{}', 'x')", False),
    ("States.UUID('a,b', ',')", False),
    ("States.Abc('a')", False),
    ("States.ArrayGetItem(States.Array('a'), 0, 1)", False),
    ("States.MathAdd('a', 'b')", False),
    ("States.Base64Encode('a')", False),
    ("States.JsonToString('a', 'b')", False),
    ("$$.Execution.Id", False),
    ("$$.StateMachine.Id", None),
    ("$.input", False),
    ("{% $states.input.t %}", True),
    ("{% 'a' & $x %}", True),
    ("{% 'a' 'b' %}", True),
    ("{% 'a' & %}", True),
    ("{% $uppercase('a') %}", True),
    ("{% 'unterminated %}", True),
    ("{% $states.context.Execution.Id %}", True),
    ("{% 'a' + 'b' %}", True),
    ("{% %}", True),
    ("'a'", True),
    ("States.Format('" + "x" * 5000 + "')", False),
    # the reader's punctuation exactly: an opening bracket that is not "(", a separator that is not "," or ")",
    # an argument that is not a quote, a path, a call, a number or a word (double quotes are not ASL strings)
    ("States.Array[1)", False),
    ("States.Array]1)", False),
    ("States.Array(States.Array(1!, 2)", False),
    ("States.Array(States.Array(1', 2)", False),
    ("States.Array(!)", False),
    ('States.Format("x")', False),
    ("States.Array(#)", False),
    ("States.Array(", False),
    # StringSplit takes exactly a string and a one-character splitter (what the reader is sure of)
    ("States.StringSplit('a,b', ',', 'x')", False),
    ("States.StringSplit('a;b', ';,')", False),
    # "States." that does not go on with a function name, as the whole value or as an argument
    ("States.('a')", False),
    ("States.Format('{}', States.)", False),
    # a string that never closes, a template that is not a string, an escape JSONata has but the reader does not
    ("States.Format('abc", False),
    ("States.Format('a\\", False),
    ("States.Format(1)", False),
    ("States.Format(States.Array('a'))", False),
    ("{% 'a\\u0041' %}", True),
    ("{% 'a\\", True),
])
def test_anything_else_stays_a_run_time_value(text: str, jsonata: bool | None) -> None:
    assert evaluate(text, bool(jsonata), FIELDS if jsonata is not None else None) is UNKNOWN


def test_unknown_reads_as_unknown() -> None:
    assert repr(UNKNOWN) == "UNKNOWN"


@pytest.mark.parametrize(("params", "jsonata"), [
    ({"ApiEndpoint.$": "States.Format('{}/{}', 'https://api.example.com', 'orders')"}, False),
    ({"ApiEndpoint": "{% 'https://api.example.com' & '/orders' %}"}, True),
])
def test_an_http_endpoint_built_from_literals_gets_its_endpoint_condition(params: dict[str, str], jsonata: bool
                                                                          ) -> None:
    connection = f"arn:aws:events:{REGION}:{ACCOUNT}:connection/c/0a1b2c3d-4e5f"
    plan = plan_for(task("arn:aws:states:::http:invoke", {**params, "Method": "GET",
                                                          "Authentication": {"ConnectionArn": connection}},
                         jsonata=jsonata))
    endpoint = {"states:HTTPMethod": "GET", "states:HTTPEndpoint": "https://api.example.com/orders"}
    assert_allows(plan, "states:InvokeHTTPEndpoint", SM_ARN, endpoint)
    assert_denies(plan, "states:InvokeHTTPEndpoint", SM_ARN, {**endpoint, "states:HTTPEndpoint": "https://evil.test"})
    assert "DYNAMIC_RESOURCE" not in codes(plan)


@pytest.mark.parametrize(("params", "jsonata"), [
    ({"StateMachineArn": f"{{% '{MACHINES}:child' %}}"}, True),
    ({"StateMachineArn.$": f"States.Format('{MACHINES}:{{}}', 'child')"}, False),
])
def test_a_literal_child_machine_is_started_alone(params: dict[str, str], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::states:startExecution", params, jsonata=jsonata))
    assert_allows(plan, "states:StartExecution", f"{MACHINES}:child")
    assert_denies(plan, "states:StartExecution", f"{MACHINES}:other")


@pytest.mark.parametrize(("params", "jsonata"), [
    ({"TableName": "{% 'task_table' %}", "Item": {}}, True),
    ({"TableName.$": "States.Format('task_{}', 'table')", "Item": {}}, False),
])
def test_a_literal_table_is_written(params: dict[str, Any], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:putItem", params, jsonata=jsonata))
    assert_allows(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/task_table")
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other")
    assert "WILDCARD_WRITE" not in codes(plan)


@pytest.mark.parametrize(("params", "jsonata"), [
    ({"StateMachineArn.$": "$$.StateMachine.Id"}, False),
    ({"StateMachineArn": "{% $states.context.StateMachine.Id %}"}, True),
])
def test_a_machine_that_restarts_itself_may_start_itself_only(params: dict[str, str], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::states:startExecution", params, jsonata=jsonata))
    assert_allows(plan, "states:StartExecution", SM_ARN)
    assert_denies(plan, "states:StartExecution", f"{MACHINES}:other")


def test_the_machines_name_builds_a_sibling_machine_arn() -> None:
    plan = plan_for(task("arn:aws:states:::states:startExecution", {
        "StateMachineArn.$": f"States.Format('{MACHINES}:{{}}-child', $$.StateMachine.Name)"}))
    assert_allows(plan, "states:StartExecution", f"{MACHINES}:{SM_NAME}-child")
    assert_denies(plan, "states:StartExecution", f"{MACHINES}:other")


@pytest.mark.parametrize(("params", "jsonata"), [
    ({"TableName.$": "States.Format('{}', $.table)", "Item": {}}, False),
    ({"TableName.$": "$$.Execution.Name", "Item": {}}, False),
    ({"TableName": "{% 'tasks-' & $states.input.env %}", "Item": {}}, True),
])
def test_values_that_depend_on_the_run_stay_run_time_values(params: dict[str, Any], jsonata: bool) -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:putItem", params, jsonata=jsonata))
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tasks-prod")
    assert "DYNAMIC_RESOURCE" in codes(plan) or "WILDCARD_WRITE" in codes(plan)


def test_a_computed_pattern_is_still_a_pattern() -> None:
    plan = plan_for(task("arn:aws:states:::dynamodb:putItem", {"TableName": "{% 'tab' & '*' %}", "Item": {}},
                         jsonata=True))
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tab1")


def test_a_literal_role_to_assume_built_by_format_is_assumed() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/worker"
    plan = plan_for(task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"},
                         Credentials={"RoleArn.$": f"States.Format('arn:aws:iam::{{}}:role/worker', '{ACCOUNT}')"}))
    assert_allows(plan, "sts:AssumeRole", role)
    assert_denies(plan, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/other")


def test_values_nested_in_arrays_are_evaluated_too() -> None:
    plan = plan_for(task("arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", {
        "TransactItems": [{"Put": {"TableName": "{% 'orders' %}", "Item": {}}}]}, jsonata=True))
    assert_allows(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders")
    assert_denies(plan, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other")


# --- a request that needs several resources is granted whole or not at all ---------------------------------------

GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def test_glue_writes_are_not_half_granted_on_the_catalog_when_database_and_table_are_refused() -> None:
    plan = plan_for(task("arn:aws:states:::athena:startQueryExecution", {
        "QueryString.$": "$.query", "WorkGroup": "primary", "QueryExecutionContext": {"Database.$": "$.db"}}))
    assert_denies(plan, "glue:CreateTable", f"{GLUE}:catalog")
    assert_denies(plan, "glue:DeleteTable", f"{GLUE}:catalog")
    assert any(f.code == "WILDCARD_WRITE" and "no part of it is granted" in f.message and f.message.startswith(
        "glue:CreateTable") for f in plan.findings)
    # the reads the guardrails let through stay whole: catalog, database and table
    for resource in (f"{GLUE}:catalog", f"{GLUE}:database/any", f"{GLUE}:table/any/t"):
        assert_allows(plan, "glue:GetTable", resource)


def test_a_pattern_is_vouched_only_where_a_generated_name_stands() -> None:
    known = Known(FIELDS, frozenset({"shop-Jobs-*"}))
    assert known.vouches(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/shop-Jobs-*")
    assert not known.vouches("plain-name")
    assert not known.vouches("shop-Jobs-*/*")
    assert not Known(FIELDS).vouches("shop-Jobs-*")
    # a longer pattern first: a shorter one inside it must not leave the rest of it behind
    nested = Known(FIELDS, frozenset({"*-A-*", "*-A-*-B-*"}))
    assert nested.vouches("arn:aws:sqs:r:a:*-A-*-B-*")
    assert Known(FIELDS, frozenset({"*-B-*"})).vouches("a/*-B-*z")


def test_what_is_known_cannot_change_once_given() -> None:
    known = Known(FIELDS, frozenset({"x-*"}))
    with pytest.raises(AttributeError):
        known.patterns = frozenset()  # type: ignore[misc]


def test_text_up_to_the_bound_is_evaluated_and_longer_text_is_not() -> None:
    inside = "States.Format('" + "x" * 4079 + "')"
    assert len(inside) == 4096 and evaluate(inside, False) == "x" * 4079
    assert evaluate("States.Format('" + "x" * 4080 + "')", False) is UNKNOWN
