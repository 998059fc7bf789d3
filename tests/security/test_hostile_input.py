"""Hostile and broken input: the result is a policy with findings or a documented error, never anything else.

Documented errors: :class:`sfn_iam.engine.asl.DefinitionError` and :class:`sfn_iam.arns.ArnError` (both ``ValueError``).
Every policy that does come out must lint clean against the offline IAM reference.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfn_iam import arns, cli, engine
from sfn_iam.engine import asl
from sfn_iam.model import StateMachine
from tests.helpers import SM_ARN, plan_for, without_notes
from tests.tools import iam_reference, lint

LAMBDA = "arn:aws:states:::lambda:invoke"


def _lambda(name: Any = "f", **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": name}, **extra}


def _nested(levels: int, kind: str) -> dict[str, Any]:
    inner: dict[str, Any] = {"StartAt": "Leaf", "States": {"Leaf": _lambda("leaf", End=True)}}
    for i in range(levels):
        if kind == "Parallel" or (kind == "mixed" and i % 2):
            state: dict[str, Any] = {"Type": "Parallel", "Branches": [inner], "End": True}
        else:
            state = {"Type": "Map", "ItemProcessor": inner, "End": True}
        inner = {"StartAt": f"L{i}", "States": {f"L{i}": state}}
    return inner


def _many_states(count: int) -> dict[str, Any]:
    states = {f"S{i}": _lambda(f"fn-{i % 500}", Next=f"S{i + 1}") for i in range(count)}
    states[f"S{count}"] = {"Type": "Succeed"}
    return {"StartAt": "S0", "States": states}


# (id, definition as Python value or JSON text)
HOSTILE: list[tuple[str, Any]] = [
    ("invalid-json", '{"StartAt": "A", "States": {'),
    ("empty-text", ""),
    ("json-null", "null"),
    ("json-array", "[1, 2]"),
    ("json-string", '"States"'),
    ("json-number", "42"),
    ("python-list", []),
    ("python-int", 7),
    ("python-none", None),
    ("missing-states", {"StartAt": "A"}),
    ("states-is-list", {"StartAt": "A", "States": [_lambda()]}),
    ("states-is-string", {"StartAt": "A", "States": "A"}),
    ("missing-startat", {"States": {"A": _lambda(End=True)}}),
    ("startat-wrong-type", {"StartAt": ["A"], "States": {"A": _lambda(End=True)}}),
    ("empty-states", {"StartAt": "A", "States": {}}),
    ("state-is-number", {"StartAt": "A", "States": {"A": 1, "B": None, "C": [], "D": "x"}}),
    ("type-wrong-type", {"StartAt": "A", "States": {"A": {"Type": ["Task"], "Resource": LAMBDA}}}),
    ("resource-wrong-types", {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": 1}, "B": {"Type": "Task", "Resource": None},
        "C": {"Type": "Task", "Resource": {"Fn::Sub": "x"}}, "D": {"Type": "Task"}}}),
    ("parameters-wrong-types", {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": LAMBDA, "Parameters": "x"},
        "B": {"Type": "Task", "Resource": LAMBDA, "Parameters": [1, 2]},
        "C": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": {"nested": True}}},
        "D": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": 12.5}},
        "E": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": True}},
        "F": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": ["u"]}}}}),
    ("credentials-wrong-types", {"StartAt": "A", "States": {
        "A": _lambda(Credentials="arn:aws:iam::123456789012:role/R"), "B": _lambda(Credentials=[1]),
        "C": _lambda(Credentials={"RoleArn": 5}), "D": _lambda(Credentials={"RoleArn": "not-an-arn"})}}),
    ("query-language-wrong-type", {"QueryLanguage": 3, "StartAt": "A", "States": {"A": _lambda(QueryLanguage=[1])}}),
    ("parallel-without-branches", {"StartAt": "P", "States": {
        "P": {"Type": "Parallel"}, "Q": {"Type": "Parallel", "Branches": {"a": 1}},
        "R": {"Type": "Parallel", "Branches": [1, None, {"States": 1}, {"StartAt": "x"}]}}}),
    ("map-without-processor", {"StartAt": "M", "States": {
        "M": {"Type": "Map"}, "N": {"Type": "Map", "ItemProcessor": "x"}, "O": {"Type": "Map", "Iterator": []},
        "P": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": "DISTRIBUTED", "States": {}},
              "ItemReader": "s3", "ResultWriter": [1]}}}),
    ("self-loop", {"StartAt": "A", "States": {"A": _lambda(Next="A")}}),
    ("two-state-loop", {"StartAt": "A", "States": {"A": _lambda(Next="B"), "B": _lambda("g", Next="A")}}),
    ("choice-loop", {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "C"}],
              "Default": "C"}}}),
    ("next-to-nowhere", {"StartAt": "Nowhere", "States": {"A": _lambda(Next="Missing")}}),
    ("nesting-500-parallel", _nested(500, "Parallel")),
    ("nesting-500-map", _nested(500, "Map")),
    ("nesting-400-mixed", _nested(400, "mixed")),
    ("nesting-100k-json-text", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ("array-100k-json-text", "[" * 100_000 + "]" * 100_000),
    ("one-megabyte", _many_states(6_500)),
    ("huge-function-name", {"StartAt": "A", "States": {"A": _lambda("x" * 1_000_000, End=True)}}),
    ("huge-state-name", {"StartAt": "A", "States": {"A" * 1_000_000: _lambda(End=True)}}),
    ("huge-resource", {"StartAt": "A", "States": {"A": {"Type": "Task",
                                                        "Resource": "arn:aws:states:::" + "a" * 10**6}}}),
    ("huge-queue-url", {"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 10**6}}}}),
    ("huge-role-path", {"StartAt": "A", "States": {"A": _lambda(
        Credentials={"RoleArn": "arn:aws:iam::123456789012:role/" + "/" * 200_000 + "x"})}}),
    ("star-storm", {"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
        "Parameters": {"Bucket": "b" + "*" * 100_000, "Key": "*" * 100_000}}}}),
    ("unicode-names", {"StartAt": "é", "States": {
        "é": _lambda("f", Next="\u202e"), "\u202e": _lambda("g", Next="🙂"), "🙂": _lambda("h", Next="\u0000"),
        "\u0000": _lambda("i", Next="a\u0301"), "a\u0301": _lambda("j", Next="\x1b[2J"),
        "\x1b[2J": _lambda("k", End=True)}}),
    ("lone-surrogates-json-text", '{"StartAt": "\\ud800", "States": {"\\ud800": {"Type": "Task", "Resource": '
                                  '"arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f\\udc00"}}}}'),
    ("nan-and-infinity", '{"StartAt": "A", "States": {"A": {"Type": "Task", '
                         '"Resource": "arn:aws:states:::lambda:invoke",'
                         ' "Parameters": {"FunctionName": NaN, "Qualifier": Infinity}}}}'),
    ("giant-integer", '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",'
                      ' "Parameters": {"FunctionName": ' + "9" * 5000 + "}}}}"),
    ("duplicate-keys", '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",'
                       ' "Parameters": {"FunctionName": "a", "FunctionName": "b"}}, "A": {"Type": "Pass"}}}'),
    ("jsonata-garbage", {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": LAMBDA, "Arguments": "{% %}"},
        "B": {"Type": "Task", "Resource": LAMBDA, "Arguments": {"FunctionName": "{%"}},
        "C": {"Type": "Task", "Resource": LAMBDA, "Arguments": {"FunctionName": "%}{%"}}}}),
]


def _outcome(definition: Any, **settings: Any) -> engine.Plan | ValueError:
    try:
        return engine.plan(StateMachine(arn=settings.pop("arn", SM_ARN), definition=definition, **settings))
    except (asl.DefinitionError, arns.ArnError) as exc:  # the documented errors
        return exc


@pytest.mark.parametrize(("definition"), [d for _, d in HOSTILE], ids=[n for n, _ in HOSTILE])
def test_hostile_definition_gives_a_policy_or_a_documented_error(definition: Any) -> None:
    start = time.perf_counter()
    result = _outcome(definition)
    assert time.perf_counter() - start < 10
    if isinstance(result, engine.Plan):
        assert lint.errors(lint.lint(result.documents, iam_reference.load())) == []
        for finding in result.findings:
            assert len(finding.message) < 2_000, "findings quote bounded excerpts of hostile values"
    else:
        assert str(result)


def test_errors_are_the_documented_ones() -> None:
    assert isinstance(_outcome("{"), asl.DefinitionError)
    assert isinstance(_outcome([]), asl.DefinitionError)
    assert isinstance(_outcome({"StartAt": "A"}), asl.DefinitionError)
    assert isinstance(_outcome({"StartAt": "A", "States": {}}, arn="arn:aws:states:::nope"), arns.ArnError)
    assert issubclass(asl.DefinitionError, ValueError) and issubclass(arns.ArnError, ValueError)


def test_deep_nesting_is_walked_to_the_bottom() -> None:
    plan = plan_for(_nested(500, "mixed"))
    assert any(r.resource.endswith(":function:leaf") for r in plan.granted)
    deepest = max((n.path for n in asl.walk(_nested(500, "mixed"))[0]), key=len)
    assert deepest.count(".States.") == 500


def test_loops_terminate_and_every_state_is_seen() -> None:
    plan = plan_for({"StartAt": "A", "States": {"A": _lambda("a", Next="B"), "B": _lambda("b", Next="A")}})
    assert {r.resource.rsplit(":", 1)[1] for r in plan.granted} == {"a", "b"}


def test_broken_states_are_reported_and_the_rest_still_granted() -> None:
    plan = plan_for({"StartAt": "A", "States": {"A": 1, "B": _lambda("ok", End=True),
                                                 "P": {"Type": "Parallel", "Branches": "x"}}})
    assert {f.path for f in plan.findings if f.code == "DEFINITION_ERROR"} == {"States.A", "States.P"}
    assert any(r.resource.endswith(":function:ok") for r in plan.granted)


def test_settings_of_the_wrong_type_do_not_raise() -> None:
    result = _outcome({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                      logging=[1], tracing="on", encryption={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": ["x"]})
    assert isinstance(result, engine.Plan)


# --- the CLI: one-line error, exit 1, nothing on stdout (no partial output) --------------------------------------

CLI_INPUTS: list[tuple[str, Callable[[Path], str]]] = [
    ("invalid-json", lambda d: _write(d, "x.json", "{")),
    ("not-utf8", lambda d: _write_bytes(d, "x.json", b"\xff\xfe\x00{")),
    ("directory", lambda d: str(d)),
    ("missing-file", lambda d: str(d / "nope.json")),
    ("array", lambda d: _write(d, "x.json", "[]")),
    ("no-states", lambda d: _write(d, "x.json", '{"StartAt": "A"}')),
    ("definition-not-json", lambda d: _write(d, "x.json", '{"definition": "{"}')),
    ("definition-wrong-type", lambda d: _write(d, "x.json", '{"definition": 5}')),
    ("logging-wrong-type", lambda d: _write(d, "x.json", '{"definition": "{}", "loggingConfiguration": [1]}')),
    ("bad-state-machine-arn", lambda d: _write(d, "x.json", json.dumps(
        {"stateMachineArn": "arn:aws:states:x", "definition": {"StartAt": "A", "States": {}}}))),
    ("deep-json", lambda d: _write(d, "x.json", "[" * 100_000 + "]" * 100_000)),
]


def _write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder / name)


def _write_bytes(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return str(folder / name)


@pytest.mark.parametrize("make", [m for _, m in CLI_INPUTS], ids=[n for n, _ in CLI_INPUTS])
def test_cli_refuses_hostile_input_cleanly(make: Callable[[Path], str], tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["policy", make(tmp_path)], out=out, err=err, stdin=io.StringIO())
    assert code == 1
    assert out.getvalue() == ""
    lines = without_notes(err.getvalue()).strip().splitlines()  # the note says which ceiling, not about the input
    assert len(lines) == 1 and lines[0].startswith("sfn-iam: error:") and len(lines[0]) < 1_000


def test_cli_escapes_control_and_bidi_characters_of_state_names(tmp_path: Path) -> None:
    """A state named with a terminal escape or a bidi override is shown escaped, not interpreted."""
    definition = {"StartAt": "\x1b]0;pwned\x07", "States": {
        "\x1b]0;pwned\x07": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:createAccessKey",
                             "Parameters": {"UserName": "admin"}, "Next": "\u202eevil"},
        "\u202eevil": {"Type": "Task", "Resource": "arn:aws:states:::nope:nope", "End": True}}}
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["policy", _write(tmp_path, "x.json", json.dumps(definition)), "--explain"],
                    out=out, err=err, stdin=io.StringIO())
    assert code == 3  # a blocked action and an unknown integration: high findings fail the run by default
    text = err.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]0;pwned\\x07" in text and "\\u202eevil" in text


@pytest.mark.parametrize("suffix", ["\n", " ", "\t", "\r\n"])
def test_role_arns_with_trailing_whitespace_are_not_roles(suffix: str) -> None:
    """'$' also matches before a final newline: 'role/Admin\\n' was passed on (iam:PassRole on a resource with a
    newline) and, in Credentials, split the engine's and the guard's idea of the role."""
    role = f"arn:aws:iam::123456789012:role/Admin{suffix}"
    assert not arns.is_role_arn(role)
    plan = plan_for({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "End": True,
              "Parameters": {"TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/a:1",
                             "Cluster": "c", "Overrides": {"TaskRoleArn": role}}}}})
    assert not any(r.action == "iam:PassRole" for r in plan.granted)
    assert lint.errors(lint.lint(plan.documents, iam_reference.load())) == []
    with pytest.raises(arns.ArnError):
        arns.parse_state_machine_arn(f"arn:aws:states:us-east-1:123456789012:stateMachine:M{suffix}")


def test_cli_stops_reading_oversized_input() -> None:
    """Reading was unbounded: /dev/zero or a runaway pipe grew memory until the process died."""
    padded = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}},
                         "Comment": "x" * (cli.MAX_INPUT_CHARS + 10)})
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["policy", "-"], out=out, err=err, stdin=io.StringIO(padded)) == 1
    assert out.getvalue() == "" and "larger than" in err.getvalue()
