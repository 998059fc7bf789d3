"""A Task repeated in many states is decided once (engine.planner): validity, the guardrails and the whole-request
check run on the distinct Tasks, and every state that repeats one gets its outcome, refusals included, under its
own path. Each test repeats Tasks next to others that differ, so that an outcome given to the wrong state, or to
only the first of them, shows."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.engine import facts
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.model import StateMachine
from tests.helpers import ACCOUNT, REGION, SM_ARN, assert_allows, assert_denies

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Worker"
CREATE_KEY = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:createAccessKey",
              "Parameters": {"UserName": "u"}}
QUERY = {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution",
         "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary", "QueryExecutionContext": {"Database": "db"}}}


def _publish(topic: str, **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": topic, "Message": "m"}, **extra}


def _machine(**states: dict[str, Any]) -> dict[str, Any]:
    names = list(states)
    return {"StartAt": names[0], "States": {
        name: {**spec, **({"Next": names[i + 1]} if i + 1 < len(names) else {"End": True})}
        for i, (name, spec) in enumerate(states.items())}}


def _plan(definition: dict[str, Any], guard: GuardPolicy | None = None, **kwargs: Any) -> engine.Plan:
    return engine.plan(StateMachine(arn=SM_ARN, definition=definition, **kwargs), guard)


def _ceiling(*statements: dict[str, Any]) -> GuardPolicy:
    return GuardPolicy(ceiling.parse({"Statement": list(statements)}, source="test administrator"))


def _at(plan: engine.Plan, action: str) -> list[tuple[str, str]]:
    """(code, path) of each finding about ``action``, in the plan's order."""
    return [(f.code, f.path) for f in plan.findings if f.message.startswith(action + " ")]


def test_a_repeated_refusal_is_reported_under_each_path_and_granted_under_none() -> None:
    plan = _plan(_machine(A=CREATE_KEY, B=_publish(TOPIC), C=CREATE_KEY, D=dict(CREATE_KEY)))
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", "States.A"), ("OUTSIDE_CEILING", "States.C"),
                                               ("OUTSIDE_CEILING", "States.D")]
    assert [r.path for r in plan.requirements if r.action == "iam:CreateAccessKey"] == [
        "States.A", "States.C", "States.D"]
    assert [(r.action, r.path) for r in plan.granted] == [("sns:Publish", "States.B")]
    assert_denies(plan, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/u")
    assert_allows(plan, "sns:Publish", TOPIC)


def test_a_request_refused_in_one_state_and_granted_in_another_keeps_both_outcomes_when_repeated() -> None:
    guard = _ceiling({"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC + "-a"})
    plan = _plan(_machine(A=_publish(TOPIC + "-a"), B=_publish(TOPIC + "-b"), C=_publish(TOPIC + "-a"),
                          D=_publish(TOPIC + "-b"), E=_publish(TOPIC + "-b")), guard)
    assert [(r.resource, r.path) for r in plan.granted] == [(TOPIC + "-a", "States.A"), (TOPIC + "-a", "States.C")]
    assert _at(plan, "sns:Publish") == [("OUTSIDE_CEILING", "States.B"), ("OUTSIDE_CEILING", "States.D"),
                                        ("OUTSIDE_CEILING", "States.E")]
    assert [r.path for r in plan.requirements] == ["States.A", "States.B", "States.C", "States.D", "States.E"]
    assert_allows(plan, "sns:Publish", TOPIC + "-a")
    assert_denies(plan, "sns:Publish", TOPIC + "-b")


def test_an_invalid_value_repeated_is_no_requirement_anywhere_and_reported_at_each_state() -> None:
    plan = _plan(_machine(A=_publish("topic"), B=_publish(TOPIC), C=_publish("topic"), D=_publish(TOPIC)))
    assert [(f.code, f.path) for f in plan.findings if f.code == "INVALID_VALUE"] == [
        ("INVALID_VALUE", "States.A"), ("INVALID_VALUE", "States.C")]
    assert [(r.resource, r.path) for r in plan.requirements] == [(TOPIC, "States.B"), (TOPIC, "States.D")]
    assert [(r.resource, r.path) for r in plan.granted] == [(TOPIC, "States.B"), (TOPIC, "States.D")]


def test_a_request_refused_on_one_resource_type_is_dropped_whole_in_every_state_that_repeats_it() -> None:
    # glue:GetTable is authorized on the catalog, the database and the table: the table refused, nothing of it goes
    guard = _ceiling({"Effect": "Allow", "Action": ["athena:*", "s3:*", "lakeformation:*", "sns:*"], "Resource": "*"},
                     {"Effect": "Allow", "Action": "glue:*", "Resource": [
                         f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/*"]})
    plan = _plan(_machine(A=QUERY, B=_publish(TOPIC), C=QUERY), guard)
    whole = [(f.code, f.path) for f in plan.findings
             if f.message.startswith("glue:GetTable not granted on ") and "no part of it is granted" in f.message]
    assert whole == [("OUTSIDE_CEILING", "States.A"), ("OUTSIDE_CEILING", "States.C")]
    assert all("needs its table resource" in f.message for f in plan.findings if "no part of it" in f.message)
    assert not any(r.action == "glue:GetTable" for r in plan.granted)
    assert {r.path for r in plan.granted if r.action == "athena:StartQueryExecution"} == {"States.A", "States.C"}
    assert_denies(plan, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog")
    assert_denies(plan, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/db")
    assert_allows(plan, "glue:GetDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/db")  # a request of its own
    assert_allows(plan, "sns:Publish", TOPIC)


def test_what_the_guardrails_say_of_a_granted_role_is_said_at_each_state_that_repeats_it() -> None:
    assumed = _publish(TOPIC, Credentials={"RoleArn": ROLE})
    plan = _plan(_machine(A=assumed, B=_publish(TOPIC), C=dict(assumed)))
    assert [(f.code, f.path) for f in plan.findings if f.code == "UNVERIFIED_ROLE"] == [
        ("UNVERIFIED_ROLE", "States.A"), ("UNVERIFIED_ROLE", "States.C")]
    assert [r.path for r in plan.granted if r.action == "sts:AssumeRole"] == ["States.A", "States.C"]


def test_a_routed_version_with_the_same_state_names_is_decided_state_by_state() -> None:
    # the version's States.A publishes where the latest definition's States.A is refused: both outcomes stay
    version = StateMachine(arn=f"{SM_ARN}:2", definition=_machine(A=_publish(TOPIC), B=CREATE_KEY))
    plan = _plan(_machine(A=CREATE_KEY, B=CREATE_KEY), versions=(version,))
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", "States.A"), ("OUTSIDE_CEILING", "States.B")]
    assert [(r.action, r.path) for r in plan.granted] == [("sns:Publish", "States.A")]
    assert [(r.action, r.path) for r in plan.requirements] == [
        ("iam:CreateAccessKey", "States.A"), ("iam:CreateAccessKey", "States.B"), ("sns:Publish", "States.A")]


@pytest.mark.parametrize(("inner", "repeat"), [("A", "R"), ("A.B", "R.S")], ids=["one-dotted", "all-dotted"])
def test_a_state_named_like_another_states_path_is_decided_on_its_own(inner: str, repeat: str) -> None:
    # the top state "P.Branches[0].States.<inner>" has the path of the Parallel's <inner>, which <repeat> repeats:
    # what is said of the one at that path (an invalid topic) is not said of <repeat> (all-dotted: every Task's name
    # holds a dot)
    at = f"States.P.Branches[0].States.{inner}"
    definition = {"StartAt": at.removeprefix("States."), "States": {
        at.removeprefix("States."): {**_publish("topic"), "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [{"StartAt": inner, "States": {inner: {**CREATE_KEY, "End": True}}}],
              "Next": "Q"},
        "Q": {"Type": "Parallel", "Branches": [{"StartAt": repeat, "States": {repeat: {**CREATE_KEY, "End": True}}}],
              "End": True}}}
    plan = _plan(definition)
    assert [(f.code, f.path) for f in plan.findings if f.code == "INVALID_VALUE"] == [("INVALID_VALUE", at)]
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", at),
                                               ("OUTSIDE_CEILING", f"States.Q.Branches[0].States.{repeat}")]
    assert plan.granted == ()


def _holding(kind: str, states: dict[str, Any], **extra: Any) -> dict[str, Any]:
    machine = {"StartAt": next(iter(states)), "States": states}
    if kind == "Parallel":
        return {"Type": "Parallel", "Branches": [machine], **extra}
    return {"Type": "Map", "ItemProcessor": machine, **extra}


@pytest.mark.parametrize(("kind", "part"), [("Parallel", "Branches[0]"), ("Map", "ItemProcessor")])
def test_a_container_named_like_another_s_path_gives_its_task_no_one_else_s_outcome(kind: str, part: str) -> None:
    # No Task's name holds a dot, but the top container "P.<part>.States.Z" puts its A at the path of the A inside
    # P's Z, which R repeats: what is said of the first A (an invalid topic) is not said of R
    inner = {"A": {**CREATE_KEY, "End": True}}
    definition = {"StartAt": f"P.{part}.States.Z", "States": {
        f"P.{part}.States.Z": _holding(kind, {"A": {**_publish("topic"), "End": True}}, Next="P"),
        "P": _holding(kind, {"Z": _holding(kind, inner, End=True)}, Next="Q"),
        "Q": _holding(kind, {"R": {**CREATE_KEY, "End": True}}, End=True)}}
    at = f"States.P.{part}.States.Z.{part}.States.A"
    plan = _plan(definition)
    assert [(f.code, f.path) for f in plan.findings if f.code == "INVALID_VALUE"] == [("INVALID_VALUE", at)]
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", at),
                                               ("OUTSIDE_CEILING", f"States.Q.{part}.States.R")]
    assert plan.granted == ()


def test_a_container_named_by_a_number_holds_a_repeat_granted_under_its_own_path() -> None:
    # a YAML template may name a state by a number: its path reads it as text
    branch = {"B": {**_publish(TOPIC), "End": True}}
    definition = {"StartAt": "A", "States": {"A": {**_publish(TOPIC), "Next": 7},
                                             7: _holding("Parallel", branch, End=True)}}
    plan = _plan(definition)
    assert [(r.action, r.resource, r.path) for r in plan.granted] == [
        ("sns:Publish", TOPIC, "States.A"), ("sns:Publish", TOPIC, "States.7.Branches[0].States.B")]
    assert_allows(plan, "sns:Publish", TOPIC)
    assert_denies(plan, "sns:Publish", TOPIC + "-other")


SEND = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", "MessageBody": "m"}}
INVOKE = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}}


@pytest.mark.parametrize(("after", "action"), [(SEND, "sqs:SendMessage"), (INVOKE, "lambda:InvokeFunction")])
def test_the_machine_s_own_needs_are_granted_beside_repeated_tasks(after: dict[str, Any], action: str) -> None:
    logging = {"level": "ALL", "includeExecutionData": False, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:flow:*"}}]}
    plan = _plan(_machine(A=_publish(TOPIC), B=_publish(TOPIC), C=after), logging=logging)
    assert [r.path for r in plan.granted if r.action == "sns:Publish"] == ["States.A", "States.B"]
    assert [r.path for r in plan.granted if r.action == action] == ["States.C"]
    assert {r.path for r in plan.granted if r.action.startswith("logs:")} == {"loggingConfiguration"}
    assert len(plan.granted) == len(set(plan.granted)) == len(plan.requirements)
    assert_allows(plan, "logs:CreateLogDelivery", "*")
    assert_allows(plan, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:flow:log-stream:s")


JOB_QUEUE = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/q"
JOB_DEFINITION = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/d:1"


def test_a_request_on_two_resource_types_is_dropped_whole_when_one_is_refused() -> None:
    # batch:SubmitJob is authorized on the job queue and on the job definition: the queue alone cannot submit
    submit = {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
              "Parameters": {"JobName": "j", "JobQueue": JOB_QUEUE, "JobDefinition": JOB_DEFINITION}}
    guard = _ceiling({"Effect": "Allow", "Action": ["batch:*", "events:*"], "NotResource": JOB_DEFINITION})
    plan = _plan(_machine(A=submit, B=dict(submit)), guard)
    assert [(f.code, f.path) for f in plan.findings if "no part of it is granted" in f.message] == [
        ("OUTSIDE_CEILING", "States.A"), ("OUTSIDE_CEILING", "States.B")]
    assert not any(r.action == "batch:SubmitJob" for r in plan.granted)
    assert_denies(plan, "batch:SubmitJob", JOB_QUEUE)
    assert_allows(plan, "batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/j1")  # a request of its own


def test_a_key_two_requests_of_a_repeated_state_need_is_granted_once_per_state() -> None:
    # the copy reads and writes objects of one bucket: both requests need its key (kms:Decrypt for each)
    copy = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
            "Parameters": {"CopySource": "b/k1", "Bucket": "b", "Key": "k2"}}
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    offline = _plan(_machine(A=copy, B=dict(copy)))
    assert offline.questions == (facts.Question(facts.ENCRYPTION_KEY, "arn:aws:s3:::b"),)
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_machine(A=copy, B=dict(copy))),
                       known=facts.Facts({offline.questions[0]: facts.customer_key(key)}))
    assert [(r.action, r.path) for r in plan.granted if r.action.startswith("kms:")] == [
        ("kms:Decrypt", "States.A"), ("kms:GenerateDataKey", "States.A"),
        ("kms:Decrypt", "States.B"), ("kms:GenerateDataKey", "States.B")]
    assert len(plan.granted) == len(set(plan.granted)) and len(plan.requirements) == len(set(plan.requirements))
    assert_allows(plan, "kms:Decrypt", key, {"kms:ViaService": f"s3.{REGION}.amazonaws.com"})


def test_a_request_refused_everywhere_does_not_stop_the_next_request_of_the_state_from_being_dropped_whole() -> None:
    # glue:GetDatabase is refused on all of its resources (nothing of it to drop); glue:GetTable after it on one
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    guard = _ceiling({"Effect": "Allow", "Action": ["athena:*", "s3:*", "lakeformation:*"], "Resource": "*"},
                     {"Effect": "Allow", "Action": ["glue:GetTable", "glue:GetTables", "glue:GetPartition",
                                                    "glue:GetPartitions", "glue:BatchGetPartition"],
                      "Resource": [f"{glue}:catalog", f"{glue}:database/*"]})
    plan = _plan(_machine(A=QUERY, B=QUERY), guard)
    assert not any(r.action.startswith("glue:") for r in plan.granted)
    assert {(f.code, f.path) for f in plan.findings if f.message.startswith("glue:GetTable not granted on ")} == {
        ("OUTSIDE_CEILING", "States.A"), ("OUTSIDE_CEILING", "States.B")}
    assert not any(f.message.startswith("glue:GetDatabase not granted on ") for f in plan.findings)
    assert_denies(plan, "glue:GetTable", f"{glue}:database/db")
    assert_allows(plan, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary")


def test_a_task_first_seen_after_a_repeat_is_decided_too() -> None:
    plan = _plan(_machine(A=_publish(TOPIC), B=_publish(TOPIC), C=CREATE_KEY, D=_publish(TOPIC + "-d"), E=CREATE_KEY))
    assert [(r.resource, r.path) for r in plan.granted] == [
        (TOPIC, "States.A"), (TOPIC, "States.B"), (TOPIC + "-d", "States.D")]
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", "States.C"), ("OUTSIDE_CEILING", "States.E")]


def _deep() -> dict[str, object]:
    deep: dict[str, object] = {}
    for _ in range(100_000):  # deeper than json's encoder recurses
        deep = {"x": deep}
    return deep


@pytest.mark.parametrize("kind", ["a YAML date", "an int of 5,001 digits", "nested 100,000 deep"])
def test_a_task_whose_arguments_are_not_json_is_mapped_on_its_own(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_iam.engine import planner

    seen: list[str] = []
    mapped = planner.requirements_for

    def counted(node: Any, *args: Any) -> Any:
        seen.append(node.path)
        return mapped(node, *args)

    monkeypatch.setattr(planner, "requirements_for", counted)
    value = {"a YAML date": lambda: datetime.date(2026, 1, 2), "an int of 5,001 digits": lambda: 10 ** 5000,
             "nested 100,000 deep": _deep}[kind]()
    odd = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
           "Parameters": {"FunctionName": "f", "Payload": {"v": value}}}
    plan = _plan(_machine(A=odd, B=dict(odd), C=_publish(TOPIC)))
    assert seen == ["States.A", "States.B", "States.C"]  # no key: each mapped, none given another's outcome
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    assert [(r.resource, r.path) for r in plan.granted if r.action == "lambda:InvokeFunction"] == [
        (function, "States.A"), (function, "States.B")]
    assert_allows(plan, "lambda:InvokeFunction", function)


def test_a_repeated_task_that_needs_nothing_but_is_reported_is_reported_at_each_state() -> None:
    unknown = {"Type": "Task", "Resource": "arn:aws:states:::no-such-service:doThing", "Parameters": {"A": "b"}}
    plan = _plan(_machine(A=unknown, B=_publish(TOPIC), C=dict(unknown)))
    assert [(f.code, f.path) for f in plan.findings if f.code == "UNKNOWN_INTEGRATION"] == [
        ("UNKNOWN_INTEGRATION", "States.A"), ("UNKNOWN_INTEGRATION", "States.C")]
    assert [r.path for r in plan.granted] == ["States.B"]


@pytest.mark.parametrize("repeat", [False, True])
def test_a_refused_key_grant_is_listed_nowhere_when_everything_else_is_granted(repeat: bool) -> None:
    """The account names the queue's key, the guardrails refuse KMS: the key grants are in the plan's
    requirements, never in ``granted`` or the documents, with or without a repeated Task (the plan lists its
    per-state requirements when they are read, after the key grants were added)."""
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    send = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody": "m"}}
    definition = _machine(A=send, B=send) if repeat else _machine(A=send)
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    guard = GuardPolicy.build(extra_deny=["kms:*"])
    asked = _plan(definition, guard).questions
    answers = {q: facts.customer_key(key) for q in asked if q.kind == facts.ENCRYPTION_KEY}
    assert answers
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition), guard, known=facts.Facts(answers))
    assert any(r.action == "kms:GenerateDataKey" and r.resource == key for r in plan.requirements)
    assert not any(r.service == "kms" for r in plan.granted)
    assert [r.path for r in plan.granted] == (["States.A", "States.B"] if repeat else ["States.A"])
    assert_denies(plan, "kms:GenerateDataKey", key)
    assert_allows(plan, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
    assert plan.granted is plan.granted  # listed once, when first read


def test_the_logging_grants_of_a_machine_of_one_repeated_task_are_listed() -> None:
    logging = {"level": "ALL", "includeExecutionData": False, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:*"}}]}
    plan = _plan(_machine(A=_publish(TOPIC), B=_publish(TOPIC)), logging=logging)
    for listed in (plan.requirements, plan.granted):
        assert {r.path for r in listed} == {"States.A", "States.B", "loggingConfiguration"}
    assert_allows(plan, "logs:CreateLogDelivery", "*")


@pytest.mark.parametrize("repeat", [False, True])
def test_no_key_is_granted_for_a_request_the_guardrails_refused(repeat: bool) -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    send = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody": "m"}}
    states = {"A": send, "B": _publish(TOPIC), "C": send} if repeat else {"A": send, "B": _publish(TOPIC)}
    definition = _machine(**states)
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    holder = facts.Question(facts.ENCRYPTION_KEY, f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
    assert holder in _plan(definition).questions
    guard = GuardPolicy.build(extra_deny=["sqs:SendMessage"])
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition), guard,
                       known=facts.Facts({holder: facts.customer_key(key)}))
    assert [r.action for r in plan.granted] == ["sns:Publish"]
    assert not any(r.service == "kms" for r in plan.requirements)
    assert_denies(plan, "kms:GenerateDataKey", key)


@pytest.mark.parametrize("other", ["States.Z", "States.0"])  # another state's path after or before the Task's own
@pytest.mark.parametrize("foreign", ["requirement", "finding"])
def test_a_task_whose_outcome_names_another_state_has_each_repeat_mapped_on_its_own(
        monkeypatch: pytest.MonkeyPatch, foreign: str, other: str) -> None:
    # No integration gives an output under another state's path today; if one did, that output could not be given
    # to the Task's repeats under their own paths: each repeat must go through the integrations itself.
    from sfn_iam.engine import planner
    from sfn_iam.findings import Finding
    from sfn_iam.model import Requirement

    seen: list[str] = []
    mapped = planner.requirements_for

    def elsewhere(node: Any, ctx: Any, reqs: list[Requirement], findings: list[Finding], *rest: Any) -> Any:
        seen.append(node.path)
        out = mapped(node, ctx, reqs, findings, *rest)
        if node.path in ("States.A", "States.C"):
            if foreign == "requirement":
                reqs.append(Requirement("sns:Publish", f"{TOPIC}-{node.path[-1]}", (), other))
            else:
                findings.append(Finding.of("DYNAMIC_RESOURCE", f"seen from {node.path}", other))
        return out

    monkeypatch.setattr(planner, "requirements_for", elsewhere)
    plan = _plan(_machine(A=_publish(TOPIC), B=_publish(TOPIC + "-b"), C=_publish(TOPIC), D=_publish(TOPIC)))
    assert sorted(seen) == ["States.A", "States.B", "States.C", "States.D"]  # each state mapped, once
    assert [(r.resource, r.path) for r in plan.granted if r.path != other] == [
        (TOPIC, "States.A"), (TOPIC + "-b", "States.B"), (TOPIC, "States.C"), (TOPIC, "States.D")]
    if foreign == "requirement":  # C's own output is C's, not a copy of A's
        assert [(r.resource, r.path) for r in plan.granted if r.path == other] == [
            (TOPIC + "-A", other), (TOPIC + "-C", other)]
        assert_allows(plan, "sns:Publish", TOPIC + "-C")
    else:
        assert [f.message for f in plan.findings if f.path == other] == [
            "seen from States.A", "seen from States.C"]


@pytest.mark.parametrize("resource", [{"Fn::GetAtt": ["Fn", "Arn"]}, ["a", "list"], None])
def test_tasks_whose_resource_is_no_string_are_each_reported(resource: object) -> None:
    # an intrinsic a template did not resolve: no key (a dict cannot be one), each state mapped and reported
    odd = {"Type": "Task", "Resource": resource, "Parameters": {"A": "b"}}
    plan = _plan(_machine(A=odd, B=dict(odd), C=_publish(TOPIC)))
    assert [(f.code, f.path) for f in plan.findings if f.code == "UNKNOWN_INTEGRATION"] == [
        ("UNKNOWN_INTEGRATION", "States.A"), ("UNKNOWN_INTEGRATION", "States.B")]
    assert [(r.resource, r.path) for r in plan.granted] == [(TOPIC, "States.C")]


@pytest.mark.parametrize("target", ["States.C", "States.A"])  # the repeated Task's path after or before B's
def test_an_output_under_a_repeated_task_s_path_from_another_state_is_not_given_to_its_repeats(
        monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    # B is not repeated but gives a request under C's path (no integration does today): the plan is then decided
    # state by state, so what the guardrails say of that request is said at C only, not at D, which repeats C
    from sfn_iam.engine import planner
    from sfn_iam.model import Requirement

    mapped = planner.requirements_for

    def elsewhere(node: Any, ctx: Any, reqs: list[Requirement], *rest: Any) -> Any:
        out = mapped(node, ctx, reqs, *rest)
        if node.path == "States.B":
            reqs.append(Requirement("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/u", (), target))
        return out

    monkeypatch.setattr(planner, "requirements_for", elsewhere)
    activity = {"Type": "Task", "Resource": f"arn:aws:states:{REGION}:{ACCOUNT}:activity:a"}  # needs nothing itself
    if target == "States.C":
        plan = _plan(_machine(B=activity, C=_publish(TOPIC), D=_publish(TOPIC)))
        assert [(r.resource, r.path) for r in plan.granted] == [(TOPIC, "States.C"), (TOPIC, "States.D")]
    else:
        plan = _plan(_machine(A=_publish(TOPIC), B=activity, C=_publish(TOPIC)))
        assert [(r.resource, r.path) for r in plan.granted] == [(TOPIC, "States.A"), (TOPIC, "States.C")]
    assert _at(plan, "iam:CreateAccessKey") == [("OUTSIDE_CEILING", target)]
    assert_denies(plan, "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/u")


def test_the_logging_grants_of_a_machine_without_repeats_are_listed_once() -> None:
    logs = {"level": "ALL", "destinations": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:*"]}
    plan = _plan(_machine(A=_publish(TOPIC), B=_publish(TOPIC + "-b")), logging=logs)
    assert any(r.action.startswith("logs:") for r in plan.requirements)
    assert len(plan.requirements) == len(set(plan.requirements))
    assert len(plan.granted) == len(set(plan.granted))


@pytest.mark.parametrize("other", ["States.A", "States.C"])  # a state before B, or after it
def test_a_request_dropped_whole_takes_the_code_of_its_own_state_s_refusal_not_of_another_state_s_finding(
        monkeypatch: pytest.MonkeyPatch, other: str) -> None:
    # another state is told something about glue:GetTable; B's table is refused by the ceiling: B's request is
    # dropped whole with B's own refusal's code, whatever another state was told about the same action
    from sfn_iam.engine import planner
    from sfn_iam.findings import Finding
    from sfn_iam.model import Requirement

    mapped = planner.requirements_for

    def told(node: Any, ctx: Any, reqs: list[Requirement], findings: list[Finding], *rest: Any) -> Any:
        out = mapped(node, ctx, reqs, findings, *rest)
        if node.path == other:
            findings.append(Finding.of("DYNAMIC_RESOURCE", f"glue:GetTable seen from {other}", other))
        return out

    monkeypatch.setattr(planner, "requirements_for", told)
    guard = _ceiling({"Effect": "Allow", "Action": ["athena:*", "s3:*", "lakeformation:*", "sns:*"], "Resource": "*"},
                     {"Effect": "Allow", "Action": "glue:*", "Resource": [
                         f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/*"]})
    activity = {"Type": "Task", "Resource": f"arn:aws:states:{REGION}:{ACCOUNT}:activity:a"}  # needs nothing itself
    plan = _plan(_machine(A=activity, B=QUERY) if other == "States.A" else _machine(B=QUERY, C=activity), guard)
    assert [(f.code, f.path) for f in plan.findings if f.message.startswith("glue:GetTable not granted on ")] == [
        ("OUTSIDE_CEILING", "States.B")]
    assert_denies(plan, "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog")
    assert_allows(plan, "athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary")
