"""The engine with facts from the account as plain input (engine.facts): questions asked offline, answers used,
nothing guessed. Request-level: what the role may do with the context IAM sees, and the neighbouring request."""

from __future__ import annotations

from typing import Any

from sfn_iam import engine
from sfn_iam.engine import facts
from sfn_iam.model import StateMachine
from tests.evaluate import is_allowed as _is_allowed
from tests.helpers import with_owner


def is_allowed(docs: Any, action: str, resource: str, context: dict[str, Any] | None = None) -> bool:
    """IAM's answer for the request as S3 sends it too (``s3:ResourceAccount`` on every bucket or object ARN)."""
    return _is_allowed(docs, action, resource, with_owner(resource, context))

ACCOUNT, REGION = "123456789012", "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:M"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"


def _task(resource: str, parameters: dict[str, Any]) -> StateMachine:
    return StateMachine(SM, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource,
                                                              "Parameters": parameters, "End": True}}})


def _plan(sm: StateMachine, answers: dict[facts.Question, facts.Answer] | None = None) -> engine.Plan:
    return engine.plan(sm, known=facts.Facts(answers or {}))


ECS = _task("arn:aws:states:::ecs:runTask.sync", {"TaskDefinition": "app", "Cluster": "c"})
TD = facts.Question(facts.TASK_DEFINITION, f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app")


def test_offline_the_engine_asks_and_grants_nothing_it_would_have_to_guess() -> None:
    plan = _plan(ECS)
    assert TD in plan.questions
    assert not any(r.action == "iam:PassRole" for r in plan.granted)
    assert "OUT_OF_BAND_PERMISSION" in {f.code for f in plan.findings}


def test_task_definition_roles_are_passed_to_ecs_tasks_only() -> None:
    plan = _plan(ECS, {TD: facts.task_definition(ROLE + "task", ROLE + "exec")})
    docs = plan.documents
    assert TD not in plan.questions
    for role in ("task", "exec"):
        assert is_allowed(docs, "iam:PassRole", ROLE + role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
        assert not is_allowed(docs, "iam:PassRole", ROLE + role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert "OUT_OF_BAND_PERMISSION" not in {f.code for f in plan.findings}


def test_an_override_replaces_the_task_definitions_role() -> None:
    sm = _task("arn:aws:states:::ecs:runTask", {"TaskDefinition": "app", "Cluster": "c",
                                                "Overrides": {"TaskRoleArn": ROLE + "override"}})
    docs = _plan(sm, {TD: facts.task_definition(ROLE + "task", ROLE + "exec")}).documents
    to_ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert is_allowed(docs, "iam:PassRole", ROLE + "override", to_ecs)
    assert is_allowed(docs, "iam:PassRole", ROLE + "exec", to_ecs)
    assert not is_allowed(docs, "iam:PassRole", ROLE + "task", to_ecs)


def test_a_task_definition_known_only_at_run_time_asks_nothing() -> None:
    sm = _task("arn:aws:states:::ecs:runTask", {"TaskDefinition.$": "$.td", "Cluster": "c"})
    assert not any(q.kind == facts.TASK_DEFINITION for q in _plan(sm).questions)


QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
SQS = _task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "m"})


def test_a_customer_key_of_the_queue_is_usable_through_sqs_in_its_region_only() -> None:
    question = facts.Question(facts.ENCRYPTION_KEY, QUEUE)
    assert question in _plan(SQS).questions
    docs = _plan(SQS, {question: facts.customer_key(KEY)}).documents
    via_sqs = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
    assert is_allowed(docs, "kms:GenerateDataKey", KEY, via_sqs)
    assert is_allowed(docs, "kms:Decrypt", KEY, via_sqs)
    assert not is_allowed(docs, "kms:Decrypt", KEY)  # called directly, not through SQS
    assert not is_allowed(docs, "kms:Decrypt", KEY, {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"})
    assert not is_allowed(docs, "kms:Encrypt", KEY, via_sqs)


def test_aws_managed_keys_add_nothing() -> None:
    question = facts.Question(facts.ENCRYPTION_KEY, QUEUE)
    assert not any(r.service == "kms" for r in _plan(SQS, {question: facts.customer_key(None)}).granted)


def test_kinesis_keys_are_pinned_to_the_stream_encryption_context() -> None:
    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s"
    sm = _task("arn:aws:states:::aws-sdk:kinesis:putRecord", {"StreamName": "s", "Data": "x", "PartitionKey": "k"})
    plan = _plan(sm)
    holders = [q.resource for q in plan.questions if q.kind == facts.ENCRYPTION_KEY]
    assert holders, plan.questions
    docs = _plan(sm, {facts.Question(facts.ENCRYPTION_KEY, h): facts.customer_key(KEY) for h in holders}).documents
    ctx = {"kms:ViaService": f"kinesis.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:kinesis:arn": stream}
    assert is_allowed(docs, "kms:GenerateDataKey", KEY, ctx)
    assert not is_allowed(docs, "kms:GenerateDataKey", KEY, {**ctx, "kms:EncryptionContext:aws:kinesis:arn":
                                                              stream + "2"})
    assert not is_allowed(docs, "kms:Decrypt", KEY, ctx)  # a producer does not read


def test_a_refused_request_raises_no_key_question() -> None:
    # a bucket known only at run time: its objects are a pattern, so no key is asked for (never guessed)
    sm = _task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket.$": "$.b", "Key": "k"})
    assert not any(q.kind == facts.ENCRYPTION_KEY for q in _plan(sm).questions)


def test_the_work_group_output_replaces_the_any_bucket_grant() -> None:
    sm = _task("arn:aws:states:::athena:startQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "wg"})
    question = facts.Question(facts.WORK_GROUP, f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg")
    offline = _plan(sm)
    assert question in offline.questions
    # offline the output location is unknown and a write to any bucket is refused (WILDCARD_WRITE): the query fails
    assert not is_allowed(offline.documents, "s3:PutObject", "arn:aws:s3:::out/q/1.csv",
                          {"s3:ResourceAccount": ACCOUNT})
    assert "WILDCARD_WRITE" in {f.code for f in offline.findings}
    resolved = _plan(sm, {question: facts.work_group("s3://out/q/")})
    docs = resolved.documents
    assert {"WILDCARD_WRITE", "DYNAMIC_RESOURCE"}.isdisjoint(f.code for f in resolved.findings)
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::out/q/1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::out/other/1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::any/x", {"s3:ResourceAccount": ACCOUNT})


def test_an_enforcing_work_group_wins_over_the_definitions_output() -> None:
    sm = _task("arn:aws:states:::athena:startQueryExecution", {
        "QueryString": "SELECT 1", "WorkGroup": "wg", "ResultConfiguration": {"OutputLocation": "s3://mine/"}})
    question = facts.Question(facts.WORK_GROUP, f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/wg")
    docs = _plan(sm, {question: facts.work_group("s3://theirs/p/", enforced=True)}).documents
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::theirs/p/1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::mine/1.csv")
    docs = _plan(sm, {question: facts.work_group("s3://theirs/p/", enforced=False)}).documents
    assert is_allowed(docs, "s3:PutObject", "arn:aws:s3:::mine/1.csv")
    assert not is_allowed(docs, "s3:PutObject", "arn:aws:s3:::theirs/p/1.csv")


def test_instance_profile_role_from_the_account() -> None:
    sm = _task("arn:aws:states:::elasticmapreduce:createCluster", {
        "Name": "c", "ReleaseLabel": "emr-7.0.0", "JobFlowRole": "Prof", "ServiceRole": "EMR_DefaultRole",
        "Instances": {}})
    question = facts.Question(facts.INSTANCE_PROFILE, f"arn:aws:iam::{ACCOUNT}:instance-profile/Prof")
    assert question in _plan(sm).questions
    docs = _plan(sm, {question: facts.instance_profile([ROLE + "Inner"])}).documents
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert is_allowed(docs, "iam:PassRole", ROLE + "Inner", to_ec2)
    assert not is_allowed(docs, "iam:PassRole", ROLE + "Prof", to_ec2)
    empty = _plan(sm, {question: facts.instance_profile([])})
    assert not is_allowed(empty.documents, "iam:PassRole", ROLE + "Prof", to_ec2)
    assert "INVALID_VALUE" in {f.code for f in empty.findings}


def test_the_same_facts_give_byte_identical_documents() -> None:
    answers = {TD: facts.task_definition(ROLE + "task", ROLE + "exec")}
    assert _plan(ECS, answers).documents == _plan(ECS, dict(reversed(list(answers.items())))).documents
