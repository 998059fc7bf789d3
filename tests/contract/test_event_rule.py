"""Every events/*.json matches, or deliberately misses, the EventBridge pattern declared in template.yaml.

moto's ``EventPattern`` is EventBridge's matcher re-implemented offline (moto's TestEventPattern API is a no-op).
"""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from scripts import sandbox

from . import template

PATTERN = template.load()["Resources"]["RoleFixerFunction"]["Properties"]["Events"]["StateMachineChanges"][
    "Properties"]["Pattern"]
MATCHES = {
    "create_state_machine.json": True,
    "update_state_machine_definition.json": True,
    "update_state_machine_role.json": True,
    "delete_state_machine.json": True,
    "publish_state_machine_version.json": True,
    "update_state_machine_alias.json": True,
    "create_state_machine_failed_call.json": False,  # errorCode exists
    "unrelated_event.json": False,  # TagResource
}
FILES = sorted(p.name for p in sandbox.EVENTS.glob("*.json") if not p.name.startswith("env."))


def matches(event: dict[str, object]) -> bool:
    return bool(EventPattern.load(json.dumps(PATTERN)).matches_event(event))


def test_every_event_file_has_an_expectation() -> None:
    assert sorted(MATCHES) == FILES


@pytest.mark.parametrize("file", FILES)
def test_event_file_against_the_rule(file: str) -> None:
    assert matches(sandbox.load_event(file)) is MATCHES[file]


def test_the_matcher_is_not_vacuous() -> None:
    event = sandbox.load_event("create_state_machine.json")
    event["source"] = "aws.lambda"
    assert not matches(event)
    event = sandbox.load_event("delete_state_machine.json")
    event["detail"]["errorCode"] = "StateMachineDoesNotExist"
    assert not matches(event)
