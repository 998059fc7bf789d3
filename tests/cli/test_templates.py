"""Templates in: SAM, CloudFormation and CDK-synthesized templates with their substitutions resolved, checked at the
level of the requests the state machine makes (tests/evaluate.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sfn_iam.cli import main
from tests.evaluate import is_allowed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "templates"
SAM = FIXTURES / "sam" / "template.yaml"
CFN = FIXTURES / "cfn" / "template.json"
CDK = FIXTURES / "cdk.out"
ACCOUNT, REGION = "210987654321", "eu-west-1"
CONTEXT = ["--region", REGION, "--account", ACCOUNT]


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def results(*args: str) -> list[dict[str, Any]]:
    code, out, err = run("policy", *args, *CONTEXT, "--format", "json", "--fail-on", "none")
    assert code == 0, err
    data = json.loads(out)
    return list(data["results"])


def resources(result: dict[str, Any]) -> list[str]:
    return [r for doc in result["documents"] for s in doc["Statement"] for r in s["Resource"]]


def test_sam_template_with_definition_uri_yaml_and_substitutions() -> None:
    (r,) = results(str(SAM))
    docs = r["documents"]
    assert r["stateMachine"] == "OrdersMachine"
    assert is_allowed(docs, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:process-orders-dev")
    assert is_allowed(docs, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-dev")
    assert is_allowed(docs, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:audit")
    assert is_allowed(docs, "xray:PutTraceSegments", "*")  # Tracing: Enabled
    # the neighbours: another stage's table, another account's function
    assert not is_allowed(docs, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-prod")
    assert not is_allowed(docs, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:111111111111:function:"
                          "process-orders-dev")
    assert not any("${" in res for res in resources(r))


def test_parameters_take_their_default_or_the_command_line() -> None:
    (r,) = results(str(SAM), "--parameter", "Stage=prod", "--parameter", "ArchiveBucketName=archive")
    docs = r["documents"]
    assert is_allowed(docs, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-prod")
    assert not is_allowed(docs, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-dev")
    own = {"s3:ResourceAccount": ACCOUNT}
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::archive/latest.json", own)
    assert not is_allowed(docs, "s3:GetObject", "arn:aws:s3:::archive/latest.json", {"s3:ResourceAccount": "1" * 12})
    assert not any(f["code"] == "UNRESOLVED_REFERENCE" for f in r["findings"])


def test_a_parameter_without_default_is_unresolved_never_a_policy_variable() -> None:
    (r,) = results(str(SAM))
    unresolved = [f for f in r["findings"] if f["code"] == "UNRESOLVED_REFERENCE"]
    assert [f["path"] for f in unresolved] == ["DefinitionSubstitutions.ArchiveBucket"]
    assert "--parameter ArchiveBucketName=" in unresolved[0]["message"]
    assert not is_allowed(r["documents"], "s3:GetObject", "arn:aws:s3:::${ArchiveBucket}/latest.json",
                          {"s3:ResourceAccount": ACCOUNT})
    assert not any("${" in res for res in resources(r))


def test_cloudformation_fn_sub_with_an_unnamed_function_grants_the_narrowest_pattern() -> None:
    (r,) = results(str(CFN))
    docs = r["documents"]
    # CloudFormation names the function: any function of this account and region, never another account's
    assert is_allowed(docs, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Stack-Worker-X1")
    assert not is_allowed(docs, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:111111111111:function:Worker")
    # ${AWS::StackName}-alerts with no --stack-name is a pattern: the engine treats a literal wildcard exactly like a
    # run-time value (a pattern in a literal never widens a grant), so the topic is any of this account and region
    assert is_allowed(docs, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:mystack-alerts")
    assert not is_allowed(docs, "sns:Publish", f"arn:aws:sns:{REGION}:111111111111:mystack-alerts")
    assert not is_allowed(docs, "sns:Publish", f"arn:aws:sns:us-west-2:{ACCOUNT}:mystack-alerts")
    messages = " ".join(f["message"] for f in r["findings"] if f["code"] == "UNRESOLVED_REFERENCE")
    assert "Worker has no literal FunctionName" in messages and "AWS::StackName" in messages


def test_stack_name_resolves_names_built_from_it() -> None:
    (r,) = results(str(CFN), "--stack-name", "shop")
    assert is_allowed(r["documents"], "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:shop-alerts")
    assert not is_allowed(r["documents"], "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:other-alerts")


def test_cdk_synthesized_fn_join_definition_in_a_directory() -> None:
    (r,) = results(str(CDK))
    assert r["stateMachine"] == "StateMachine2E01A3A5"
    assert r["source"].endswith("OrdersStack.template.json")
    docs = r["documents"]
    assert is_allowed(docs, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cdk-orders-fn")
    assert is_allowed(docs, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/cdk-orders")
    assert not is_allowed(docs, "dynamodb:DeleteItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/cdk-orders")


def test_a_directory_reads_each_template_once_and_not_the_definitions_they_reference() -> None:
    found = results(str(FIXTURES))
    assert sorted((Path(r["source"]).name, r["stateMachine"]) for r in found) == [
        ("OrdersStack.template.json", "StateMachine2E01A3A5"), ("template.json", "Pipeline"),
        ("template.yaml", "OrdersMachine")]


def test_partition_and_region_reach_pseudo_parameters() -> None:
    code, out, _ = run("policy", str(CDK), "--partition", "aws-cn", "--region", "cn-north-1", "--account", ACCOUNT,
                       "--format", "json")
    assert code == 0
    assert "arn:aws-cn:lambda:cn-north-1:210987654321:function:cdk-orders-fn" in out


def test_raw_definition_placeholders_are_unresolved_and_context_defaults_are_said(tmp_path: Path) -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True,
        "Parameters": {"TableName": "${OrdersTableName}", "Item": {}}}}}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(definition))
    code, out, _ = run("policy", str(path), "--format", "json")
    (r,) = json.loads(out)["results"]
    codes = {f["code"] for f in r["findings"]}
    assert code == 3  # a write on a table known only at deploy time is refused (WILDCARD_WRITE, high): fails the run
    assert {"UNRESOLVED_REFERENCE", "ASSUMED_CONTEXT"} <= codes
    assert not any("${" in res for res in resources(r))


def test_yaml_definition_and_stdin() -> None:
    text = "StartAt: T\nStates:\n  T:\n    Type: Task\n    Resource: arn:aws:states:::sqs:sendMessage\n" \
           "    Parameters:\n      QueueUrl: https://sqs.eu-west-1.amazonaws.com/210987654321/jobs\n" \
           "      MessageBody: x\n    End: true\n"
    code, out, err = run("policy", "-", *CONTEXT, "--format", "json", stdin=text)
    assert code == 0, err
    (r,) = json.loads(out)["results"]
    assert r["source"] == "-"
    assert is_allowed(r["documents"], "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs")


def test_several_files_give_one_result_each() -> None:
    found = results(str(SAM), str(CFN))
    assert [r["stateMachine"] for r in found] == ["OrdersMachine", "Pipeline"]
