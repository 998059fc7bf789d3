"""Property: whatever a definition asks for, over every SDK operation Step Functions accepts, nothing outside the
ceiling is ever granted — checked at request level against the ceiling as IAM reads it (tests/evaluate.py).

Each generated definition calls SDK operations drawn from the whole generated table (every service and operation),
with parameters literal, run-time (``.$``, JSONata) or hostile, in the machine's account or another. Every request
the written documents allow (each statement's action on its resource, under its conditions) must be allowed by the
default ceiling document as well; and what the engine refuses as outside the ceiling is never in the documents.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfn_iam import engine
from sfn_iam.engine.guardrails import ceiling
from sfn_iam.engine.integrations.sdk import table
from sfn_iam.model import StateMachine
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, SM_ARN, with_owner

OPERATIONS = sorted(
    (service, record["n"])
    for service, entry in table.index()["services"].items() if "file" in entry
    for record in table.service_table(entry["file"])["ops"].values()
)
CEILING = [ceiling.filled(ceiling.default_document(), {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT,
                                                       "AWS::StackName": "sfn-iam",
                                                       "ManagedPolicyPath": "/sfn-iam/"})]
NAMES = ["Name", "FunctionName", "QueueUrl", "TopicArn", "TableName", "Bucket", "Key", "RoleArn", "Role", "ClusterId",
         "StateMachineArn", "SecretId", "KeyId", "ResourceArn", "Arn", "Id", "InstanceIds", "DomainName", "Rule"]
VALUES = st.sampled_from([
    "orders", f"arn:aws:iam::{ACCOUNT}:role/Worker", "arn:aws:iam::999999999999:role/Admin", "*",
    f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "arn:aws:sns:us-east-1:999999999999:t", "sfn-iam-LedgerTable-1",
    f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q", "arn:aws:s3:::bucket/key", ["i-0123456789abcdef0"],
])
PARAMETERS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4).map(
    lambda d: {**d, **{f"{k}Dyn.$": "$.x" for k in list(d)[:1]}})


def _definition(calls: list[tuple[tuple[str, str], dict[str, Any]]]) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for n, ((service, api), params) in enumerate(calls):
        states[f"S{n}"] = {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:{service}:{api}",
                           "Parameters": {k.replace("Dyn.$", ".$"): v for k, v in params.items()},
                           **({"Next": f"S{n + 1}"} if n + 1 < len(calls) else {"End": True})}
    return {"StartAt": "S0", "States": states}


def _requests(documents: tuple[dict[str, Any], ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per statement action and resource, with the context its conditions require."""
    out = []
    for document in documents:
        for stmt in document["Statement"]:
            context: dict[str, Any] = {}
            for block in stmt.get("Condition", {}).values():
                for key, values in block.items():
                    context[key] = values[0] if isinstance(values, list) else values
            for action in stmt["Action"]:
                for resource in stmt["Resource"]:
                    out.append((action, resource, context))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), PARAMETERS), min_size=1, max_size=4))
def test_no_grant_outside_the_ceiling_over_every_sdk_operation(calls: list[tuple[tuple[str, str],
                                                                              dict[str, Any]]]) -> None:
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_definition(calls)))
    for action, resource, context in _requests(plan.documents):
        assert is_allowed(CEILING, action, resource, with_owner(resource, context)), (
            f"{action} on {resource} {context} granted outside the ceiling:\n{json.dumps(list(plan.documents))}")
    outside = {(f.path, f.message.split(" on ", 1)[0]) for f in plan.findings if f.code == "OUTSIDE_CEILING"}
    assert not {(r.path, r.action) for r in plan.granted} & outside


def test_the_operations_cover_the_whole_table_and_the_property_sees_grants() -> None:
    assert len(OPERATIONS) > 10_000
    plan = engine.plan(StateMachine(arn=SM_ARN, definition=_definition([
        (("sqs", "sendMessage"), {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"}),
        (("s3", "putObject"), {"Bucket": "bucket", "Key": "key"})])))
    requests = _requests(plan.documents)
    assert {a for a, _, _ in requests} >= {"sqs:SendMessage", "s3:PutObject"}
    assert all(is_allowed(CEILING, a, r, with_owner(r, c)) for a, r, c in requests)
    assert not is_allowed(CEILING, "s3:PutObject", "arn:aws:s3:::bucket/key", with_owner("arn:aws:s3:::bucket/key",
                                                                                     {}, account="999999999999"))
