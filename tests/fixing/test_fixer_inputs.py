"""Pure inputs of the role fixer: event parsing (on events/*.json), settings, policy names, role scope."""

from __future__ import annotations

import pytest

from scripts import sandbox
from sfn_iam.fixing import events, naming, scope
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.ports import Role

ACCOUNT = "123456789012"
SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:OrderProcessing"


@pytest.mark.parametrize(("file", "expected"), [
    ("create_state_machine.json", ("CreateStateMachine", None)),
    ("update_state_machine_definition.json", ("UpdateStateMachine", None)),
    ("update_state_machine_role.json", ("UpdateStateMachine",
                                        f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/OrderProcessingRoleV2")),
    ("delete_state_machine.json", ("DeleteStateMachine", None)),
    ("publish_state_machine_version.json", ("PublishStateMachineVersion", None)),
    ("update_state_machine_alias.json", ("UpdateStateMachineAlias", None)),
])
def test_events_that_trigger(file: str, expected: tuple[str, str | None]) -> None:
    parsed = events.parse(sandbox.load_event(file), ACCOUNT)
    assert isinstance(parsed, events.Trigger)
    assert (str(parsed.action), parsed.role_in_request) == expected
    assert parsed.state_machine_arn == SM
    assert parsed.event_id == sandbox.load_event(file)["id"]


@pytest.mark.parametrize(("file", "reason"), [
    ("create_state_machine_failed_call.json", "FAILED_CALL"),
    ("unrelated_event.json", "UNHANDLED_EVENT_NAME"),
])
def test_events_that_are_ignored(file: str, reason: str) -> None:
    parsed = events.parse(sandbox.load_event(file), ACCOUNT)
    assert isinstance(parsed, events.Ignored) and parsed.reason == reason


def test_foreign_account_and_qualified_arns() -> None:
    assert events.parse(sandbox.load_event("create_state_machine.json"), "210987654321").reason == "FOREIGN_ACCOUNT"
    event = sandbox.load_event("update_state_machine_definition.json")
    event["detail"]["requestParameters"]["stateMachineArn"] = SM + ":prod"
    parsed = events.parse(event, ACCOUNT)
    assert isinstance(parsed, events.Trigger) and parsed.state_machine_arn == SM


@pytest.mark.parametrize(("name", "request_parameters", "response"), [
    ("PublishStateMachineVersion", {"stateMachineArn": SM}, {"stateMachineVersionArn": SM + ":3"}),
    ("DeleteStateMachineVersion", {"stateMachineVersionArn": SM + ":3"}, {}),
    ("CreateStateMachineAlias", {"name": "live", "routingConfiguration": [
        {"stateMachineVersionArn": SM + ":3", "weight": 100}]}, {"stateMachineAliasArn": SM + ":live"}),
    ("CreateStateMachineAlias", {"name": "live", "routingConfiguration": [
        {"stateMachineVersionArn": SM + ":3", "weight": 100}]}, {}),  # response redacted: the route names the machine
    ("UpdateStateMachineAlias", {"stateMachineAliasArn": SM + ":live"}, {}),
    ("DeleteStateMachineAlias", {"stateMachineAliasArn": SM + ":live"}, {}),
])
def test_version_and_alias_events_re_fix_their_machine(name: str, request_parameters: dict[str, object],
                                                      response: dict[str, object]) -> None:
    event = sandbox.load_event("update_state_machine_alias.json")
    event["detail"].update(eventName=name, requestParameters=request_parameters, responseElements=response)
    parsed = events.parse(event, ACCOUNT, "us-east-1")
    assert isinstance(parsed, events.Trigger)
    assert (str(parsed.action), parsed.state_machine_arn, parsed.role_in_request) == (name, SM, None)


@pytest.mark.parametrize("request_parameters", [
    {}, {"stateMachineAliasArn": 3}, {"stateMachineAliasArn": "arn:aws:states:nope"},
    {"routingConfiguration": "x"}, {"routingConfiguration": [None]},
    {"stateMachineAliasArn": "arn:aws:states:us-east-1:210987654321:stateMachine:OrderProcessing:live"},
])
def test_bad_alias_events_are_ignored(request_parameters: dict[str, object]) -> None:
    event = sandbox.load_event("update_state_machine_alias.json")
    event["detail"]["requestParameters"] = request_parameters
    parsed = events.parse(event, ACCOUNT, "us-east-1")
    assert isinstance(parsed, events.Ignored) and parsed.reason in {"MALFORMED_EVENT", "FOREIGN_ACCOUNT"}


def test_settings_defaults_and_guardrails() -> None:
    s = config.from_env({"ACCOUNT_ID": ACCOUNT})
    assert (s.mode, s.role_path, s.policy_prefix) == (config.Mode.ENFORCE, "/", "sfn-iam.")
    # the guardrails start from the default ceiling of this account (another account's role is outside it)
    assert s.guard.ceiling.source == "default"
    assert s.guard.ceiling.allows("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app")
    assert not s.guard.ceiling.allows("iam:PassRole", "arn:aws:iam::210987654321:role/app")
    # the settings the ceiling replaced stop the function with the way to write them into a ceiling
    for name, value in (("EXTRA_DENIED_ACTIONS", "s3:DeleteBucket, ec2:*"), ("ALLOWED_SERVICES", "sns,sqs"),
                        ("PASSABLE_ROLE_PATTERNS", f"arn:aws:iam::{ACCOUNT}:role/app-*")):
        with pytest.raises(config.ConfigError, match=f"{name} is replaced by the ceiling.*CeilingPolicyArn"):
            config.from_env({"ACCOUNT_ID": ACCOUNT, name: value})
    # left empty (the template's default), they are no setting at all
    empty = config.from_env({"ACCOUNT_ID": ACCOUNT, "EXTRA_DENIED_ACTIONS": "", "ALLOWED_SERVICES": " "})
    assert empty.guard.ceiling.statements == s.guard.ceiling.statements


@pytest.mark.parametrize("env", [
    {},
    {"ACCOUNT_ID": "12345"},
    {"ACCOUNT_ID": ACCOUNT, "MODE": "yolo"},
    {"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "stepfunctions"},
    {"ACCOUNT_ID": ACCOUNT, "POLICY_NAME_PREFIX": "bad prefix"},
    {"ACCOUNT_ID": ACCOUNT, "EXTRA_DENIED_ACTIONS": "not-an-action"},
    {"ACCOUNT_ID": ACCOUNT, "ALLOWED_SERVICES": "S3 Bucket"},
    {"ACCOUNT_ID": ACCOUNT, "FIXER_ROLE_ARN": "arn:aws:iam::1:user/x"},
    {"ACCOUNT_ID": ACCOUNT, "DESCRIBE_ATTEMPTS": "many"},
    {"ACCOUNT_ID": ACCOUNT, "MANAGED_POLICY_PATH": "/"},
])
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError):
        config.from_env(env)


def test_policy_names_are_deterministic_valid_and_region_aware() -> None:
    assert naming.policy_name("sfn-iam.", SM) == "sfn-iam.us-east-1.OrderProcessing"
    assert naming.policy_name("sfn-iam.", SM + ":3") == "sfn-iam.us-east-1.OrderProcessing"
    assert naming.policy_name("sfn-iam.", SM.replace("us-east-1", "eu-west-1")) != naming.policy_name("sfn-iam.", SM)
    long_a = naming.policy_name("sfn-iam.", SM.replace("OrderProcessing", "A" * 80))
    long_b = naming.policy_name("sfn-iam.", SM.replace("OrderProcessing", "A" * 79 + "B"))
    odd = naming.policy_name("sfn-iam.", SM.replace("OrderProcessing", "Ordres-été!"))
    for name in (long_a, long_b, odd):
        assert len(naming.overflow_name(name, 20)) <= naming.MAX_NAME
        assert naming.valid_prefix(name[:32])
    assert long_a != long_b
    assert naming.is_overflow_of("p.x", "p.x.2") and not naming.is_overflow_of("p.x", "p.x2.1")


def _role(trust: dict[str, object], path: str = "/stepfunctions/", tags: dict[str, str] | None = None) -> Role:
    return Role(f"arn:aws:iam::{ACCOUNT}:role{path}r", "r", path, trust, tags or {})


def _trust(principal: object, action: object = "sts:AssumeRole", effect: str = "Allow") -> dict[str, object]:
    return {"Statement": [{"Effect": effect, "Principal": principal, "Action": action}]}


SETTINGS = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})


@pytest.mark.parametrize(("trust", "ok"), [
    (_trust({"Service": "states.amazonaws.com"}), True),
    (_trust({"Service": ["states.amazonaws.com", "states.eu-west-1.amazonaws.com"]}), True),
    (_trust({"Service": "states.amazonaws.com"}, action=["sts:AssumeRole", "sts:TagSession"]), True),
    (_trust({"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]}), False),
    (_trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), False),
    (_trust("*"), False),
    (_trust({"Service": "states.amazonaws.com"}, action="sts:TagSession"), False),
    (_trust({"Service": "states.amazonaws.com"}, effect="Deny"), False),
    ({"Statement": []}, False),
])
def test_trust_policy_must_admit_step_functions_alone(trust: dict[str, object], ok: bool) -> None:
    assert scope.trusted_only_by_states(trust) is ok


def test_role_scope_by_path_tag_account_and_own_role() -> None:
    good = _trust({"Service": "states.amazonaws.com"})
    assert scope.role_problem(_role(good), SETTINGS) is None
    assert "path" in (scope.role_problem(_role(good, path="/"), SETTINGS) or "")
    assert "opt-out" in (scope.role_problem(_role(good, tags={"sfn-iam:opt-out": ""}), SETTINGS) or "")
    assert "account" in (scope.arn_problem("arn:aws:iam::210987654321:role/stepfunctions/r", SETTINGS) or "")
    own = config.from_env({"ACCOUNT_ID": ACCOUNT, "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/fixer"})
    assert "own role" in (scope.arn_problem(f"arn:aws:iam::{ACCOUNT}:role/fixer", own) or "")


def test_ignored_events_carry_their_name_and_strings_copied_from_events_are_bounded() -> None:
    event = sandbox.load_event("create_state_machine_failed_call.json")
    event["id"] = "x" * 100_000
    parsed = events.parse(event, ACCOUNT, "us-east-1")
    assert isinstance(parsed, events.Ignored) and parsed.action == "CreateStateMachine"
    assert len(parsed.event_id) == events.MAX_ID


@pytest.mark.parametrize(("region", "ignored"), [("us-east-1", False), ("eu-west-1", True), ("cn-north-1", True)])
def test_only_machines_of_the_functions_own_region_and_partition_are_handled(region: str, ignored: bool) -> None:
    parsed = events.parse(sandbox.load_event("delete_state_machine.json"), ACCOUNT, region)
    assert isinstance(parsed, events.Ignored) is ignored
    if ignored:
        assert isinstance(parsed, events.Ignored) and parsed.reason == "FOREIGN_REGION"
