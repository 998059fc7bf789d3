"""StateMachine.from_describe: the definition text parsed strictly (a repeated key keeps the text for the engine to
refuse, as a reader would)."""

from __future__ import annotations

import json

import pytest

from sfn_iam import engine
from sfn_iam.engine.asl import DefinitionError
from sfn_iam.model import Requirement, StateMachine, _unique_pairs
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


def test_a_described_machine_keeps_its_role_type_and_configuration_objects() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    logging = {"level": "ALL", "destinations": []}
    sm = StateMachine.from_describe({"stateMachineArn": SM_ARN, "definition": definition, "roleArn": "arn:r",
                                     "type": "EXPRESS", "loggingConfiguration": logging,
                                     "tracingConfiguration": "not an object", "encryptionConfiguration": None})
    assert sm.definition is definition  # an already parsed definition is taken as it is
    assert (sm.role_arn, sm.type) == ("arn:r", "EXPRESS")
    assert sm.logging is logging and sm.tracing == {} and sm.encryption == {}
    bare = StateMachine.from_describe({"definition": definition}, arn=SM_ARN)
    assert (bare.arn, bare.role_arn, bare.type) == (SM_ARN, "", "STANDARD")


def test_a_definition_with_many_keys_is_parsed_and_a_repeated_key_is_named() -> None:
    states = {f"S{i}": {"Type": "Pass", "End": True} for i in range(300)}  # more keys than Python's cached ints
    text = json.dumps({"StartAt": "S0", "States": states})
    assert _described(text).definition == {"StartAt": "S0", "States": states}
    with pytest.raises(ValueError, match="duplicate key 'b'"):
        _unique_pairs([("a", 1), ("b", 2), ("b", 3)])


def test_a_requirement_names_its_service_in_lower_case() -> None:
    assert Requirement("S3:GetObject", "*").service == "s3"
    assert Requirement("states:StartExecution:extra", "*").service == "states"
