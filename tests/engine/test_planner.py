"""The planner end to end: the definition, its routed versions and the machine's settings make one policy; the
NO_PERMISSIONS finding only when nothing at all is needed (pinned by mutation testing, docs/mutation.md)."""

from __future__ import annotations

import json

import pytest

from sfn_iam import engine
from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.model import StateMachine
from tests.helpers import ACCOUNT, REGION, SM_ARN, assert_allows, assert_denies, codes, plan_for, task

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Cross"


def _publish(topic: str, **extra: object) -> dict[str, object]:
    return task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "m"}, **extra)


def test_a_routed_version_is_granted_beside_the_latest_definition() -> None:
    publish = _publish(TOPIC + "-v3")["States"]["T"]  # type: ignore[index]
    assumed = {**_publish(TOPIC + "-cross", Credentials={"RoleArn": ROLE})["States"]["T"]}  # type: ignore[index]
    definition = {"StartAt": "A", "States": {"A": {**publish, "End": False, "Next": "B"}, "B": assumed}}
    version = StateMachine(arn=f"{SM_ARN}:3", definition=definition, logging={"level": "ALL"},
                           tracing={"enabled": True})
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_publish(TOPIC), versions=(version,)))
    assert_allows(plan, "sns:Publish", TOPIC)
    assert_allows(plan, "sns:Publish", TOPIC + "-v3")
    assert_allows(plan, "sts:AssumeRole", ROLE)  # the version's Task assumes it: its role is a credentials role
    assert_allows(plan, "logs:CreateLogDelivery", "*")  # the version logs
    assert_allows(plan, "xray:PutTraceSegments", "*")
    assert_denies(plan, "sns:Publish", TOPIC + "-other")


def test_a_version_without_settings_adds_only_its_definition() -> None:
    version = StateMachine(arn=f"{SM_ARN}:3", definition=_publish(TOPIC + "-v3"))
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=PASS, versions=(version,)))
    assert_allows(plan, "sns:Publish", TOPIC + "-v3")
    assert_denies(plan, "logs:CreateLogDelivery", "*")
    assert "NO_PERMISSIONS" not in codes(plan)


def test_a_machine_that_needs_nothing_says_so() -> None:
    plan = plan_for(PASS)
    assert plan.documents == () and plan.granted == ()
    assert [f.code for f in plan.findings] == ["NO_PERMISSIONS"]


def test_no_policy_is_not_reported_as_needing_nothing_when_something_was_refused_or_unknown() -> None:
    refused = plan_for(task("arn:aws:states:::aws-sdk:iam:createAccessKey", {"UserName": "u"}))
    assert refused.documents == () and "NO_PERMISSIONS" not in codes(refused)
    unknown = plan_for(task("arn:aws:states:::no-such-service:doThing", {}))
    assert unknown.documents == () and "NO_PERMISSIONS" not in codes(unknown)


def test_findings_are_unique_and_ordered_by_path() -> None:
    definition = {"StartAt": "B", "States": {
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn.$": "$.t"},
              "Next": "A"},
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn.$": "$.t"},
              "End": True}}}
    plan = plan_for(definition)
    paths = [f.path for f in plan.findings]
    assert paths == sorted(paths) and len(plan.findings) == len(set(plan.findings))
    assert {"States.A", "States.B"} <= set(paths)


def test_requirements_are_unique_in_document_order() -> None:
    definition = {"StartAt": "B", "States": {
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
              "Parameters": {"TopicArn": TOPIC + "-b", "Message": "m"}, "Next": "A"},
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
              "Parameters": {"TopicArn": TOPIC + "-a", "Message": "m"}, "End": True}}}
    plan = plan_for(definition)
    assert [r.resource for r in plan.requirements] == [TOPIC + "-b", TOPIC + "-a"]
    assert [r.resource for r in plan.granted] == [TOPIC + "-b", TOPIC + "-a"]
    assert plan.statements == [s for d in plan.documents for s in d["Statement"]]


def test_a_plan_cannot_be_changed_after_it_was_made() -> None:
    """The fixer writes, re-checks and reports the one plan: nothing may alter it on the way."""
    plan = plan_for(_publish(TOPIC))
    with pytest.raises(AttributeError):
        plan.documents = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        plan.granted = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del plan.findings


# -- a Task repeated in many states is mapped once (engine.planner._derive) ----------------------------------------
INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


def _states(**tasks: dict[str, object]) -> dict[str, object]:
    return {"StartAt": next(iter(tasks)), "States": {name: {"Type": "Task", "Resource": INVOKE, **spec, "End": True}
                                                     for name, spec in tasks.items()}}


def test_a_repeated_task_is_granted_and_reported_under_each_of_its_own_paths() -> None:
    same = {"Parameters": {"FunctionName.$": "$.fn", "Payload.$": "$"}}  # a run-time name: a finding each time
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_states(A=same, B=same, C=dict(same))))
    assert [r.path for r in plan.requirements] == ["States.A", "States.B", "States.C"]
    assert {r.resource for r in plan.requirements} == {FUNCTION + "*"}
    assert [(f.code, f.path) for f in plan.findings if f.code == "DYNAMIC_RESOURCE"] == [
        ("DYNAMIC_RESOURCE", "States.A"), ("DYNAMIC_RESOURCE", "States.B"), ("DYNAMIC_RESOURCE", "States.C")]


@pytest.mark.parametrize(("first", "second"), [
    ({"Parameters": {"FunctionName": "true"}}, {"Parameters": {"FunctionName": True}}),  # text or a JSON boolean
    ({"Parameters": {"FunctionName": "f", "Qualifier": "1.0"}},
     {"Parameters": {"FunctionName": "f", "Qualifier": 1.0}}),
    ({"Parameters": {"FunctionName": "f", "Qualifier": 1}},  # equal in Python, not in JSON
     {"Parameters": {"FunctionName": "f", "Qualifier": 1.0}}),
    ({}, {"Parameters": None}),  # no Parameters sends the input (run time); null sends nothing
    ({"Parameters": {"FunctionName": "f"}}, {"Parameters": {"FunctionName": "f"}, "QueryLanguage": "JSONata"}),
    ({"Parameters": {"FunctionName": "f"}}, {"Parameters": {"FunctionName": "f"}, "Credentials": {"RoleArn": ROLE}}),
])
@pytest.mark.parametrize("as_text", [False, True])  # a dict keyed by the JSON encoder, text by marshal
def test_tasks_that_differ_in_a_value_type_language_or_credentials_are_each_mapped(
        first: dict[str, object], second: dict[str, object], as_text: bool) -> None:
    def written(definition: dict[str, object]) -> dict[str, object] | str:
        return json.dumps(definition) if as_text else definition

    alone = [engine.plan(StateMachine(arn=SM_ARN, definition=written(_states(A=spec)))) for spec in (first, second)]
    both = engine.plan(StateMachine(arn=SM_ARN, definition=written(_states(A=first, B=second))))
    expected = [(r.action, r.resource) for r in alone[0].requirements]
    expected += [(r.action, r.resource) for r in alone[1].requirements]
    assert [(r.action, r.resource) for r in both.requirements] == expected
    assert {(f.code, f.message) for f in both.findings if f.path == "States.B"} == {
        (f.code, f.message) for f in alone[1].findings if f.path == "States.A"}


def test_each_distinct_task_goes_through_the_integrations_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_iam.engine import planner

    seen: list[str] = []
    mapped = planner.requirements_for

    def counted(node: object, *args: object, **kwargs: object) -> object:
        seen.append(node.path)  # type: ignore[attr-defined]
        return mapped(node, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "requirements_for", counted)
    dynamic = {"Parameters": {"FunctionName.$": "$.fn"}}  # a finding as well as a grant
    other = {"Parameters": {"FunctionName": "f"}}
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_states(A=dynamic, B=other, C=dynamic, D=other,
                                                                   E=dict(dynamic))))
    assert seen == ["States.A", "States.B"]
    assert [r.path for r in plan.requirements] == ["States.A", "States.B", "States.C", "States.D", "States.E"]


# -- a request granted whole or not at all (planner._whole) looks at resource types, not resources -----------------
@pytest.mark.parametrize(("resource", "kind"), [
    ("arn:aws:s3:::b", "bucket"), ("arn:aws:s3:::b/k", "object"), ("*", "*"),
    (f"arn:aws:glue:{REGION}:{ACCOUNT}:table/db/t", "table"), (f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog", "catalog"),
    (f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m", "stateMachine"),  # services after "s3" too
    (f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:e", "execution"),
    (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/j", "training-job"),
])
def test_the_resource_type_the_whole_request_check_compares(resource: str, kind: str) -> None:
    from sfn_iam.engine import planner

    assert planner._resource_type(resource) == kind


def _ceiling(*statements: dict[str, object]) -> GuardPolicy:
    return GuardPolicy(ceiling.parse({"Statement": list(statements)}, source="test administrator"))


def test_a_refused_resource_takes_nothing_of_its_own_type_away() -> None:
    # $LATEST is authorized on the function and on its $LATEST ARN, both functions: refusing one keeps the other
    guard = _ceiling({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION + "f"})
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_states(
        A={"Parameters": {"FunctionName": "f", "Qualifier": "$LATEST"}})), guard)
    assert [(r.action, r.resource) for r in plan.granted] == [("lambda:InvokeFunction", FUNCTION + "f")]
    assert not any("no part of it is granted" in f.message for f in plan.findings)


def test_a_request_refused_on_every_resource_gets_no_finding_about_its_other_parts() -> None:
    guard = _ceiling({"Effect": "Allow", "Action": "athena:*", "Resource": "*"})  # no Glue at all
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=task("arn:aws:states:::athena:startQueryExecution", {
        "QueryString": "SELECT 1", "WorkGroup": "primary", "QueryExecutionContext": {"Database": "db"}})), guard)
    assert not any(r.action.startswith("glue:") for r in plan.granted)
    assert any(f.code == "OUTSIDE_CEILING" and f.message.startswith("glue:") for f in plan.findings)
    assert not any("no part of it is granted" in f.message for f in plan.findings)


def test_only_tasks_are_mapped_once_a_map_reader_with_a_tasks_resource_and_arguments_is_its_own() -> None:
    get_object = "arn:aws:states:::s3:getObject"
    arguments = {"Bucket": "items", "Key": "list.json"}
    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": get_object, "Parameters": arguments, "Next": "M"},  # not a Task integration
        "M": {"Type": "Map", "ItemReader": {"Resource": get_object, "Parameters": arguments},
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=definition))
    assert ("s3:GetObject", "arn:aws:s3:::items/list.json", "States.M.ItemReader") in {
        (r.action, r.resource, r.path) for r in plan.granted}
    assert {(f.code, f.path) for f in plan.findings if f.code == "UNKNOWN_INTEGRATION"} == {
        ("UNKNOWN_INTEGRATION", "States.T")}


_FIRST_PLAN = """
import json, sys
from sfn_iam import engine
from sfn_iam.model import StateMachine
name = "sfn_iam.engine.integrations.messaging"
before = name in sys.modules
definition = json.loads(sys.argv[1])
plans = [engine.plan(StateMachine(arn=sys.argv[2], definition=definition)) for _ in range(2)]
print(json.dumps({"before": before, "after": name in sys.modules, "documents": [list(p.documents) for p in plans]}))
"""


def test_an_integration_module_is_loaded_by_the_first_plan_that_uses_it_and_serves_the_next() -> None:
    # a fresh process: the first plan imports the module that registers sns:publish (integrations._entry), the second
    # finds it loaded; both grant the same request and nothing beside it
    import subprocess
    import sys
    from pathlib import Path

    from tests.evaluate import is_allowed

    root = Path(__file__).resolve().parents[2]
    definition = _publish(TOPIC)
    out = subprocess.run([sys.executable, "-c", _FIRST_PLAN, json.dumps(definition), SM_ARN], check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(root / "layers" / "sfn_iam")})
    seen = json.loads(out.stdout)
    assert (seen["before"], seen["after"]) == (False, True)
    for documents in seen["documents"]:
        assert is_allowed(documents, "sns:Publish", TOPIC)
        assert not is_allowed(documents, "sns:Publish", TOPIC + "-other")
        assert not is_allowed(documents, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:topic")


# A fresh process whose import of the module registering sns:publish pauses after the module entered sys.modules and
# before its code ran (what a thread sees while another thread imports it); the main thread plans meanwhile.
_CONCURRENT_PLANS = """
import importlib.abc, importlib.util, json, sys, threading, time
from sfn_iam import engine
from sfn_iam.engine import integrations
from sfn_iam.model import StateMachine
name = "sfn_iam.engine.integrations." + integrations.MODULES["sns"]
started = threading.Event()

class Paused(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        inner = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return inner.create_module(spec)

            def exec_module(self, module):
                started.set()
                time.sleep(1.0)
                inner.exec_module(module)

        spec.loader = Loader()
        return spec

sys.meta_path.insert(0, Paused())
definition = json.loads(sys.argv[1])
machine = StateMachine(arn=sys.argv[2], definition=definition)
plans = {}
first = threading.Thread(target=lambda: plans.update(first=engine.plan(machine)))
first.start()
started.wait(30)
during = name in sys.modules
plans["second"] = engine.plan(machine)
first.join()
print(json.dumps({"during": during, "documents": {k: list(p.documents) for k, p in plans.items()},
                  "codes": {k: [f.code for f in p.findings] for k, p in plans.items()}}))
"""


def test_a_plan_made_while_another_thread_imports_an_integration_module_gets_its_grants() -> None:
    # the sweep plans on worker threads: a module being imported is in sys.modules before its handlers register, so a
    # Task planned meanwhile must wait for the import, not be reported as an unknown integration and granted nothing
    import subprocess
    import sys
    from pathlib import Path

    from tests.evaluate import is_allowed

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _CONCURRENT_PLANS, json.dumps(_publish(TOPIC)), SM_ARN], check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(root / "layers" / "sfn_iam")})
    seen = json.loads(out.stdout)
    assert seen["during"] is True  # the second plan started while the module was being imported
    assert seen["codes"] == {"first": [], "second": []}
    for documents in seen["documents"].values():
        assert is_allowed(documents, "sns:Publish", TOPIC)
        assert not is_allowed(documents, "sns:Publish", TOPIC + "-other")
