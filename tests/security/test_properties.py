"""Property-based tests: walker, engine + guardrails, policy builder and event parser under generated input.

Properties: no undocumented exception (only ``asl.DefinitionError`` / ``arns.ArnError`` from the engine, nothing
from the event parser), and no deny-listed action or sensitive wildcard write ever allowed by the output,
checked with :func:`tests.evaluate.is_allowed` at the level of requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfn_iam import arns, engine
from sfn_iam.engine import asl, guardrails, policy
from sfn_iam.fixing import events
from sfn_iam.model import Requirement, StateMachine
from sfn_iam.wildcards import matches
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, ROOT, SM_ARN

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# --- generated definitions ------------------------------------------------------------------------------------

RESOURCES = [
    "arn:aws:states:::lambda:invoke", "arn:aws:states:::sns:publish", "arn:aws:states:::sqs:sendMessage",
    "arn:aws:states:::dynamodb:putItem", "arn:aws:states:::dynamodb:deleteItem", "arn:aws:states:::ecs:runTask.sync",
    "arn:aws:states:::batch:submitJob.sync", "arn:aws:states:::glue:startJobRun", "arn:aws:states:::http:invoke",
    "arn:aws:states:::states:startExecution.sync:2", "arn:aws:states:::codebuild:startBuild",
    "arn:aws:states:::sagemaker:createTrainingJob", "arn:aws:states:::events:putEvents",
    "arn:aws:states:::aws-sdk:iam:createAccessKey", "arn:aws:states:::aws-sdk:iam:putRolePolicy",
    "arn:aws:states:::aws-sdk:iam:passRole", "arn:aws:states:::aws-sdk:sts:assumeRole",
    "arn:aws:states:::aws-sdk:s3:deleteObject", "arn:aws:states:::aws-sdk:s3:putBucketPolicy",
    "arn:aws:states:::aws-sdk:s3:getObject", "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
    "arn:aws:states:::aws-sdk:kms:createGrant", "arn:aws:states:::aws-sdk:kms:decrypt",
    "arn:aws:states:::aws-sdk:lambda:createFunction", "arn:aws:states:::aws-sdk:lambda:updateFunctionCode",
    "arn:aws:states:::aws-sdk:ssm:getParameter", "arn:aws:states:::aws-sdk:ssm:sendCommand",
    "arn:aws:states:::aws-sdk:organizations:createAccount", "arn:aws:states:::aws-sdk:ec2:runInstances",
    "arn:aws:states:::aws-sdk:cloudformation:createStack", "arn:aws:states:::aws-sdk:dynamodb:deleteTable",
    "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:999999999999:function:x",
    "arn:aws:states:us-east-1:123456789012:activity:a",
]
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Admin"
KEYS = ["FunctionName", "TopicArn", "QueueUrl", "TableName", "TaskDefinition", "Cluster", "JobName", "JobQueue",
        "JobDefinition", "ProjectName", "StateMachineArn", "ApiEndpoint", "Method", "Bucket", "Key", "SecretId",
        "KeyId", "Name", "RoleArn", "Role", "RoleARN", "UserName", "RoleName", "PolicyArn", "Entries",
        "Overrides", "TaskRoleArn", "ExecutionRoleArn", "Authentication", "ConnectionArn", "InstanceIds"]
VALUES = ["f", "known", ADMIN, "arn:aws:iam::999999999999:role/X", "*", "arn:aws:s3:::*", "$.x", "{% $x %}",
          "https://sqs.us-east-1.amazonaws.com/123456789012/q", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "GET",
          "https://api.example.com", f"arn:aws:events:us-east-1:{ACCOUNT}:connection/c/1", "", "\u202e", "a" * 300]

scalars = st.none() | st.booleans() | st.integers(-5, 10**6) | st.sampled_from(VALUES) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS) | st.sampled_from([f"{k}.$" for k in KEYS]) | st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
params = st.dictionaries(st.sampled_from(KEYS) | st.sampled_from([f"{k}.$" for k in KEYS]),
                         st.sampled_from(VALUES) | json_values, max_size=5)
task = st.fixed_dictionaries(
    {"Type": st.just("Task"), "Resource": st.sampled_from(RESOURCES)},
    optional={"Parameters": params, "Arguments": params | st.sampled_from(["{% $x %}"]),
              "Credentials": st.fixed_dictionaries({}, optional={"RoleArn": st.sampled_from(VALUES),
                                                                  "RoleArn.$": st.just("$.r")}),
              "QueryLanguage": st.sampled_from(["JSONata", "JSONPath"])},
)


def _machine(states: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"StartAt": st.text(max_size=3), "States": states},
                                 optional={"QueryLanguage": st.sampled_from(["JSONata", "JSONPath", 7])})


names = st.text(max_size=6)
states = st.recursive(
    st.dictionaries(names, task | json_values, max_size=4),
    lambda inner: st.dictionaries(names, st.one_of(
        task,
        st.builds(lambda b: {"Type": "Parallel", "Branches": [{"StartAt": "x", "States": s} for s in b]},
                  st.lists(inner, max_size=2)),
        st.builds(lambda s, mode: {"Type": "Map", "ItemProcessor": {
            "StartAt": "x", "States": s, "ProcessorConfig": {"Mode": mode}}}, inner,
            st.sampled_from(["INLINE", "DISTRIBUTED"])),
    ), max_size=3),
    max_leaves=8,
)
definitions = _machine(states)

_EXCEPTED = {"iam:passrole", "sts:assumerole", "iam:createservicelinkedrole", "iam:getrole",
             "iam:listattachedrolepolicies", "logs:putresourcepolicy"}
_LITERAL_DENIED = sorted({e.action for e in guardrails.DEFAULT_DENY if "*" not in e.action})


def _credential_roles(value: Any) -> set[str]:
    """Every string that appears anywhere under a Credentials key (an over-approximation of the allowed roles)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Credentials":
                found |= set(_strings(v))
            found |= _credential_roles(v)
    elif isinstance(value, list):
        for v in value:
            found |= _credential_roles(v)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@FAST
@given(definitions)
def test_walker_terminates_and_paths_are_rooted(definition: dict[str, Any]) -> None:
    try:
        nodes, findings = asl.walk(definition)
    except asl.DefinitionError:
        return
    assert all(n.path.startswith("States.") for n in nodes)
    assert all(n.kind in ("task", "item_reader", "result_writer", "distributed_map") for n in nodes)
    assert all(f.code == "DEFINITION_ERROR" for f in findings)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(definitions)
def test_no_deny_listed_action_or_sensitive_wildcard_is_ever_allowed(definition: dict[str, Any]) -> None:
    try:
        plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition))
    except (asl.DefinitionError, arns.ArnError):
        return
    docs = plan.documents
    resources = {r for s in plan.statements for r in s["Resource"]} | {"*", ADMIN, "arn:aws:s3:::victim/x"}
    for action in _LITERAL_DENIED:
        if action.lower() in _EXCEPTED:
            continue
        for resource in resources:
            assert not is_allowed(docs, action, resource), (action, resource)
    allowed_roles = _credential_roles(definition)
    for resource in resources:
        if resource not in allowed_roles:
            assert not is_allowed(docs, "sts:AssumeRole", resource), resource
    assert not is_allowed(docs, "iam:PassRole", "*")
    for stmt in plan.statements:
        for action in stmt["Action"]:
            assert action.lower() in _EXCEPTED or guardrails.GuardPolicy().denied(action) is None, action
            for resource in stmt["Resource"]:
                if action.lower() not in _EXCEPTED and "Condition" not in stmt:
                    assert guardrails.wildcard_problem(Requirement(action, resource)) is None, (action, resource)


# --- the policy builder ---------------------------------------------------------------------------------------

ACTIONS = ["s3:GetObject", "s3:PutObject", "sns:Publish", "lambda:InvokeFunction", "dynamodb:GetItem"]
SEGMENTS = ["a", "b", "ab", "*", "?", "x/y", "a*", "*b", ""]
resources_st = st.builds(lambda svc, parts: f"arn:aws:{svc}:us-east-1:{ACCOUNT}:" + "/".join(parts),
                         st.sampled_from(["s3", "sns", "lambda", "dynamodb"]),
                         st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3))
# conditions and path given: hypothesis fills every field of a NamedTuple, defaults included
requirements_st = st.lists(st.builds(Requirement, st.sampled_from(ACTIONS), resources_st, st.just(()), st.just("")),
                           max_size=40)
concrete = st.builds(lambda svc, parts: f"arn:aws:{svc}:us-east-1:{ACCOUNT}:" + "/".join(parts),
                     st.sampled_from(["s3", "sns", "lambda", "dynamodb"]),
                     st.lists(st.sampled_from(["a", "b", "ab", "x/y", "zz", "*", "?"]), min_size=1, max_size=3))


@FAST
@given(requirements_st, st.lists(st.tuples(st.sampled_from(ACTIONS), concrete), max_size=20),
       st.sampled_from([policy.INLINE_LIMIT, 400]))
def test_policy_builder_grants_exactly_the_union(reqs: list[Requirement], probes: list[tuple[str, str]],
                                                 limit: int) -> None:
    docs, findings = policy.documents(reqs, limit)
    too_large = any(f.code == "POLICY_TOO_LARGE" for f in findings)
    for doc in docs:
        assert policy.size(doc) <= limit
    if not too_large:
        for r in reqs:  # complete: every requested grant is there (a request equal to the resource string)
            assert is_allowed(docs, r.action, r.resource), r
    for action, resource in probes + [(r.action, r.resource) for r in reqs]:  # sound: never wider than the union
        if is_allowed(docs, action, resource):
            assert any(r.action == action and matches(r.resource, resource) for r in reqs), (action, resource)


# --- the event parser -----------------------------------------------------------------------------------------

_EVENTS = [json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json"))
           if "detail" in json.loads(p.read_text())]


def _mutate(base: Any, path: list[str], value: Any) -> Any:
    if not path or not isinstance(base, dict):
        return value
    out = dict(base)
    out[path[0]] = _mutate(base.get(path[0]), path[1:], value)
    return out


event_paths = st.lists(st.sampled_from(["detail", "requestParameters", "responseElements", "stateMachineArn",
                                        "roleArn", "eventName", "eventSource", "errorCode", "account", "source",
                                        "detail-type", "recipientAccountId", "id"]), min_size=1, max_size=3)


@FAST
@given(st.sampled_from(_EVENTS) if _EVENTS else st.just({}), st.lists(st.tuples(event_paths, json_values), max_size=4))
def test_event_parser_never_raises_and_only_triggers_for_our_account(base: Any, edits: list[Any]) -> None:
    event = base
    for path, value in edits:
        event = _mutate(event, path, value)
    result = events.parse(event, ACCOUNT)
    assert isinstance(result, events.Trigger | events.Ignored)
    if isinstance(result, events.Trigger):
        assert result.account == ACCOUNT and result.state_machine_arn.split(":")[4] == ACCOUNT
        assert isinstance(event, dict) and "errorCode" not in event["detail"]


@FAST
@given(json_values)
def test_event_parser_survives_any_json(value: Any) -> None:
    assert isinstance(events.parse(value, ACCOUNT), events.Trigger | events.Ignored)


def test_event_fixtures_exist() -> None:
    assert _EVENTS and Path(ROOT / "events").is_dir()
