"""StateMachine.from_describe: the definition text parsed strictly (a repeated key keeps the text for the engine to
refuse, as a reader would)."""

from __future__ import annotations

import pytest

from sfn_iam import engine
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.model import StateMachine
from tests.helpers import SM_ARN


def _described(text: str) -> StateMachine:
    return StateMachine.from_describe({"stateMachineArn": SM_ARN, "definition": text})


def test_a_definition_without_repeated_keys_is_parsed() -> None:
    sm = _described('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}')
    assert sm.definition == {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("text", [
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "End": false}}}',  # inner object
    '{"StartAt": "A", "StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}',  # top level
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Task"}}}',  # a state twice
])
def test_a_repeated_key_keeps_the_text_and_the_engine_refuses_it(text: str) -> None:
    sm = _described(text)
    assert sm.definition == text
    with pytest.raises(DefinitionError, match="repeats the key"):
        engine.plan(sm)
