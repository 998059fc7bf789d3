"""What a template already says, read instead of reported unknown: the customer-managed key of a queue or topic
defined in the same template (kms:GenerateDataKey and kms:Decrypt through the service), the roles of a task definition
defined there (iam:PassRole to ECS tasks); and, when neither the template nor the account can tell, a finding."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.cli import main, sources, template_facts
from tests.engine.integrations.optimized_helpers import assert_not_requested, assert_requests
from tests.evaluate import is_allowed

ACCOUNT, REGION = "210987654321", "eu-west-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
VIA_SQS = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
VIA_SNS = {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
TO_ECS = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}


def template(state: dict[str, Any], **resources: Any) -> dict[str, Any]:
    return {"Resources": {**resources, "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "Definition": {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True, **state}}}}}}}


def send(queue: Any) -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": queue, "MessageBody": "x"}}


def publish(topic: Any) -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": topic, "Message": "x"}}


def policy(data: dict[str, Any], *extra: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["policy", "-", "--region", REGION, "--account", ACCOUNT, "--format", "json", "--fail-on", "none",
                 *extra], out=out,
                err=err, stdin=io.StringIO(json.dumps(data)))
    assert code == 0, err.getvalue()
    (result,) = json.loads(out.getvalue())["results"]
    return dict(result)


def allowed(result: dict[str, Any], action: str, resource: str, context: dict[str, Any] | None = None) -> bool:
    return is_allowed(result["documents"], action, resource, context)


def queue(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs", **props}}


QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"


@pytest.mark.parametrize("key", [KEY, KEY_ID])
def test_a_queue_encrypted_with_a_customer_key_of_the_template_may_use_that_key_through_sqs(key: str) -> None:
    result = policy(template(send({"Ref": "Jobs"}), Jobs=queue(KmsMasterKeyId=key)))
    assert allowed(result, "sqs:SendMessage", QUEUE)
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert allowed(result, action, KEY, VIA_SQS)
        assert not allowed(result, action, KEY)
        assert not allowed(result, action, KEY, VIA_SNS)
        assert not allowed(result, action, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab",
                           VIA_SQS)


@pytest.mark.parametrize("props", [{}, {"KmsMasterKeyId": "alias/aws/sqs"}, {"SqsManagedSseEnabled": True}])
def test_a_queue_without_a_customer_key_needs_no_key(props: dict[str, Any]) -> None:
    result = policy(template(send({"Ref": "Jobs"}), Jobs=queue(**props)))
    assert not any(a.startswith("kms:") for d in result["documents"] for s in d["Statement"] for a in s["Action"])
    assert not any("customer managed key" in f["message"] for f in result["findings"])


def test_a_topic_encrypted_with_a_template_key_named_by_its_alias_is_granted_on_the_key_carrying_it() -> None:
    data = template(publish({"Ref": "Alerts"}),
                    Alerts={"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts",
                                                                      "KmsMasterKeyId": {"Ref": "TopicKey"}}},
                    TopicKey={"Type": "AWS::KMS::Key", "Properties": {}},
                    TopicKeyAlias={"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/alerts",
                                                                             "TargetKeyId": {"Ref": "TopicKey"}}})
    result = policy(data)
    any_key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
    assert allowed(result, "kms:GenerateDataKey", any_key, {**VIA_SNS, "kms:ResourceAliases": ["alias/alerts"]})
    assert not allowed(result, "kms:GenerateDataKey", any_key, {**VIA_SNS, "kms:ResourceAliases": ["alias/x"]})
    assert not allowed(result, "kms:GenerateDataKey", any_key, VIA_SNS)


def test_a_template_key_without_an_alias_is_asked_for_on_the_accounts_keys_and_reported() -> None:
    data = template(send({"Ref": "Jobs"}), Jobs=queue(KmsMasterKeyId={"Fn::GetAtt": ["QueueKey", "Arn"]}),
                    QueueKey={"Type": "AWS::KMS::Key", "Properties": {}})
    options = sources.Options(region=REGION, account=ACCOUNT)
    machine = next(m for m in sources.load_one("t.json", data, options, explicit=True) if m.name == "Machine")
    assert machine.template is not None and machine.resolver is not None
    plan = engine.plan(machine.state_machine, known=template_facts.of_template(machine.template, machine.resolver))
    assert_requests(plan, "kms:GenerateDataKey", KEY, VIA_SQS)
    assert_not_requested(plan, "kms:GenerateDataKey", KEY, VIA_SNS)
    assert any(f.code == "WILDCARD_WRITE" and "kms:" in f.message for f in plan.findings) or any(
        r.action == "kms:GenerateDataKey" for r in plan.granted)


@pytest.mark.parametrize("state", [
    send(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/elsewhere"),
    publish(f"arn:aws:sns:{REGION}:{ACCOUNT}:elsewhere"),
])
def test_a_target_outside_the_template_says_its_key_is_unknown(state: dict[str, Any]) -> None:
    result = policy(template(state))
    notes = [f["message"] for f in result["findings"] if f["code"] == "OUT_OF_BAND_PERMISSION"]
    assert any("elsewhere may be encrypted with a customer managed key" in n and "kms:GenerateDataKey" in n
               for n in notes), notes


def test_a_queue_key_from_a_parameter_without_value_stays_unknown_with_the_finding() -> None:
    data = template(send({"Ref": "Jobs"}), Jobs=queue(KmsMasterKeyId={"Ref": "KeyParam"}))
    data["Parameters"] = {"KeyParam": {"Type": "String"}}
    result = policy(data)
    assert any("may be encrypted with a customer managed key" in f["message"] for f in result["findings"])
    assert not allowed(result, "kms:Decrypt", KEY, VIA_SQS)


def run_task(definition: Any) -> dict[str, Any]:
    return {"Resource": "arn:aws:states:::ecs:runTask.sync", "Parameters": {
        "Cluster": "arn:aws:ecs:eu-west-1:210987654321:cluster/c", "TaskDefinition": definition,
        "LaunchType": "FARGATE"}}


def task_definition(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [], **props}}


def test_the_roles_of_a_task_definition_of_the_template_are_passed_to_ecs_tasks() -> None:
    data = template(run_task({"Ref": "Task"}),
                    Task=task_definition(Family="worker", TaskRoleArn={"Fn::GetAtt": ["TaskRole", "Arn"]},
                                         ExecutionRoleArn=f"{ROLE}/exec"),
                    TaskRole={"Type": "AWS::IAM::Role", "Properties": {"RoleName": "worker-task"}})
    result = policy(data)
    for role in (f"{ROLE}/worker-task", f"{ROLE}/exec"):
        assert allowed(result, "iam:PassRole", role, TO_ECS)
        assert not allowed(result, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(result, "iam:PassRole", f"{ROLE}/other", TO_ECS)
    assert not any("roles in the task definition itself" in f["message"] for f in result["findings"])


def test_a_task_definition_without_roles_passes_none_and_says_nothing() -> None:
    result = policy(template(run_task({"Ref": "Task"}), Task=task_definition(Family="worker")))
    assert not any("iam:PassRole" in s["Action"] for d in result["documents"] for s in d["Statement"])
    assert not any("roles in the task definition itself" in f["message"] for f in result["findings"])


def test_an_unnamed_task_definition_of_the_template_still_passes_its_roles() -> None:
    data = template(run_task({"Ref": "Task"}), Task=task_definition(TaskRoleArn=f"{ROLE}/worker-task"))
    result = policy(data, "--stack-name", "shop")
    assert allowed(result, "iam:PassRole", f"{ROLE}/worker-task", TO_ECS)
