"""Calls per Create with facts from the account, on moto in-process.

Run: .venv/bin/python bench/facts_cost.py
A machine whose definition implies facts it does not say: an ECS task definition with a task and an execution role,
a queue, a topic and a bucket encrypted with customer-managed keys, an Athena work group whose output location is set
on the work group. It prints the calls of its Create with resolution on and off, split into the fixer's own calls and
the facts adapter's. Target: the facts add at most one call per distinct resource resolved, plus one
kms:DescribeKey per distinct key (who manages it decides whether anything is granted), cached per invocation.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "sfn_iam"), str(ROOT)]

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from scripts import sandbox  # noqa: E402
from sfn_iam.aws.facts import AwsFacts  # noqa: E402
from sfn_iam.aws.iam import IamRolePolicyStore  # noqa: E402
from sfn_iam.aws.ledger import DynamoDbLedger, create_table  # noqa: E402
from sfn_iam.aws.stepfunctions import StepFunctionsReader  # noqa: E402
from sfn_iam.fixing import settings as config  # noqa: E402
from sfn_iam.fixing.service import RoleFixer  # noqa: E402

TABLE = sandbox.FIXER_ENV["LEDGER_TABLE_NAME"]
KW = {"region_name": sandbox.REGION}


def _world() -> dict[str, Any]:
    c = {s: boto3.client(s, **KW) for s in ("kms", "sqs", "sns", "s3", "ecs", "athena", "iam")}
    keys = [c["kms"].create_key()["KeyMetadata"]["Arn"] for _ in range(2)]
    role = lambda n: sandbox.create_role(c["iam"], n, path="/")  # noqa: E731
    c["ecs"].register_task_definition(family="app", taskRoleArn=role("T"), executionRoleArn=role("E"),
                                      containerDefinitions=[{"name": "a", "image": "busybox", "memory": 128}])
    url = c["sqs"].create_queue(QueueName="q", Attributes={"KmsMasterKeyId": keys[0]})["QueueUrl"]
    topic = c["sns"].create_topic(Name="t", Attributes={"KmsMasterKeyId": keys[0]})["TopicArn"]
    c["s3"].create_bucket(Bucket="items")
    c["s3"].put_bucket_encryption(Bucket="items", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys[1]}}]})
    c["athena"].create_work_group(Name="wg", Configuration={"ResultConfiguration": {
        "OutputLocation": "s3://items/athena/"}})

    def task(resource: str, params: dict[str, Any], nxt: str) -> dict[str, Any]:
        return {"Type": "Task", "Resource": resource, "Parameters": params, "Next": nxt}
    return {"StartAt": "Ecs", "States": {
        "Ecs": task("arn:aws:states:::ecs:runTask.sync", {"TaskDefinition": "app", "Cluster": "c"}, "Sqs"),
        "Sqs": task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "m"}, "Sns"),
        "Sns": task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "m"}, "S3"),
        "S3": task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "items", "Key": "k"}, "Athena"),
        "Athena": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution",
                   "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "wg"}, "End": True}}}


def create(resolve: bool) -> tuple[Counter[str], Counter[str], str]:
    with mock_aws():
        definition = _world()
        sfn, iam, ddb = (boto3.client(s, **KW) for s in ("stepfunctions", "iam", "dynamodb"))
        create_table(ddb, TABLE)
        own: Counter[str] = Counter()
        facts: Counter[str] = Counter()

        def counting(counter: Counter[str], client: Any) -> Any:
            client.meta.events.register("provide-client-params", lambda model, **_: counter.update(
                [f"{model.service_model.service_name}:{model.name}"]))
            return client
        for client in (sfn, iam, ddb):
            counting(own, client)
        settings = config.from_env({**sandbox.FIXER_ENV, "RESOLVE_FACTS": str(resolve).lower()})
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path)
        adapter = AwsFacts(lambda service, region: counting(facts, boto3.client(service, region_name=region)),
                           sandbox.REGION) if resolve else None
        fixer = RoleFixer(StepFunctionsReader(sfn), store, settings, ledger=DynamoDbLedger(ddb, TABLE),
                          region=sandbox.REGION, facts=adapter)
        role = sandbox.create_role(iam, "BenchRole")
        arn = sfn.create_state_machine(name="Bench", definition=json.dumps(definition), roleArn=role)[
            "stateMachineArn"]
        own.clear()
        outcome = fixer.handle_event(sandbox.patch_event(sandbox.load_event("create_state_machine.json"),
                                                         state_machine_arn=arn))
        return own, facts, f"{outcome.status}, findings {sorted({f.code for f in outcome.findings})}"


def main() -> int:
    ok = True
    for resolve in (False, True):
        own, facts, status = create(resolve)
        print(f"resolve={str(resolve).lower():<5} fixer {sum(own.values())} calls, facts {sum(facts.values())} calls "
              f"({', '.join(f'{k} {v}' for k, v in sorted(facts.items())) or '-'}); {status}")
        if resolve:
            resources = sum(v for k, v in facts.items() if k != "kms:DescribeKey")
            keys = facts["kms:DescribeKey"]
            print(f"  {resources} distinct resources resolved, {keys} distinct keys described")
            ok = ok and resources <= 5 and keys <= 2
    print("target met" if ok else "target MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
