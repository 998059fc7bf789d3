"""`check`'s EXCESS_GRANT on SAM policy templates and connectors: fair severity, and what to declare instead.

A SAM policy template scoped to one resource that grants more than the states use is real excess, but not a HIGH one:
its extra actions stay on the resource it names (a name CloudFormation generates is one resource, not a wildcard), and
the wildcard action some templates carry (`SQSSendMessagePolicy`'s `sqs:SendMessage*`) is SAM's, bounded by that
resource. The finding says which template it comes from and which narrower template fits, or that none does. The same
grants written by hand on a real wildcard stay HIGH.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_pipeline import ACCOUNT, REGION, _template, check, findings


def task(resource: str, **parameters: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters,
                                             "End": True}}}


PUT = task("arn:aws:states:::dynamodb:putItem", TableName={"Ref": "Orders"}, Item={})
GET_OBJECT = task("arn:aws:states:::aws-sdk:s3:getObject", Bucket="reports", Key="today.json")
SEND = task("arn:aws:states:::sqs:sendMessage", QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs",
            MessageBody="hi")
UNNAMED_TABLE = {"Type": "AWS::DynamoDB::Table", "Properties": {}}  # CloudFormation generates its name


def excess(out: str) -> list[dict[str, Any]]:
    return [f for f in findings(out) if f["code"] == "EXCESS_GRANT"]


def grants(out: str) -> list[dict[str, Any]]:
    return [f for f in findings(out) if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT", "EXCESS_GRANT")]


def test_a_crud_template_on_a_generated_table_is_medium_and_names_the_narrower_template(tmp_path: Path) -> None:
    template = _template({"Definition": PUT, "Policies": [{"DynamoDBCrudPolicy": {"TableName": {"Ref": "Orders"}}}]},
                         Orders=UNNAMED_TABLE)
    code, out = check(tmp_path, template)
    [found] = excess(out)
    assert found["severity"] == "MEDIUM" and code == 0, found
    assert "dynamodb:DeleteItem" in found["message"] and "dynamodb:PutItem on" not in found["message"]
    assert "from the SAM policy template DynamoDBCrudPolicy" in found["message"]
    assert "the states use only dynamodb:PutItem, which DynamoDBWritePolicy grants with fewer actions" in \
        found["message"]
    # the advice holds: the advised template leaves nothing missing, and grants fewer extra actions
    template["Resources"]["Machine"]["Properties"]["Policies"] = [
        {"DynamoDBWritePolicy": {"TableName": {"Ref": "Orders"}}}]
    code, out = check(tmp_path, template)
    assert [f["code"] for f in grants(out)] == ["EXCESS_GRANT"] and code == 0
    assert "dynamodb:DeleteItem" not in excess(out)[0]["message"]
    assert "the narrowest SAM policy template for what the states use (dynamodb:PutItem)" in excess(out)[0]["message"]


def test_the_same_template_on_every_table_stays_high(tmp_path: Path) -> None:
    template = _template({"Definition": PUT, "Policies": [{"DynamoDBCrudPolicy": {"TableName": "*"}}]},
                         Orders=UNNAMED_TABLE)
    code, out = check(tmp_path, template)
    assert any(f["severity"] == "HIGH" and "dynamodb:DeleteItem" in f["message"] for f in excess(out)), out
    assert code == 3


def test_a_hand_written_write_on_a_generated_table_is_one_table_not_a_wildcard(tmp_path: Path) -> None:
    statement = {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"],
                 "Resource": {"Fn::GetAtt": ["Orders", "Arn"]}}
    code, out = check(tmp_path, _template({"Definition": PUT, "Policies": [{"Statement": [statement]}]},
                                          Orders=UNNAMED_TABLE))
    [found] = excess(out)
    assert found["severity"] == "MEDIUM" and found["message"].startswith("dynamodb:DeleteItem on ") and code == 0
    assert "SAM" not in found["message"]  # written by hand: no template to name


def test_sams_own_wildcard_action_on_one_queue_is_medium_by_hand_it_stays_high(tmp_path: Path) -> None:
    code, out = check(tmp_path, _template({"Definition": SEND, "Policies": [
        {"SQSSendMessagePolicy": {"QueueName": "jobs"}}]}))
    [found] = excess(out)
    assert found["severity"] == "MEDIUM" and code == 0
    assert found["message"] == (
        "sqs:SendMessage* grants every matching action; only sqs:SendMessage needed (from the SAM policy template "
        "SQSSendMessagePolicy, the narrowest SAM policy template for what the states use (sqs:SendMessage): an "
        "inline statement granting only those is least privilege)")
    code, out = check(tmp_path, _template({"Definition": SEND, "Policies": [{"Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage*", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"}]}]}))
    assert [f["severity"] for f in excess(out)] == ["HIGH"] and code == 3


@pytest.mark.parametrize(("bucket", "severity", "exit_code"), [("reports", "MEDIUM", 0), ("*", "HIGH", 3)])
def test_an_unused_object_version_read_is_high_only_on_every_bucket(tmp_path: Path, bucket: str, severity: str,
                                                                    exit_code: int) -> None:
    code, out = check(tmp_path, _template({"Definition": GET_OBJECT, "Policies": [
        {"S3ReadPolicy": {"BucketName": bucket}}]}))
    unused = [f for f in excess(out) if "s3:GetObjectVersion" in f["message"]]
    assert [f["severity"] for f in unused] == [severity], excess(out)
    assert "from the SAM policy template S3ReadPolicy" in unused[0]["message"] and code == exit_code


def test_a_template_nothing_uses_says_remove_it(tmp_path: Path) -> None:
    code, out = check(tmp_path, _template({"Definition": SEND, "Policies": [
        {"SQSSendMessagePolicy": {"QueueName": "jobs"}}, {"LambdaInvokePolicy": {"FunctionName": "unused"}}]}))
    [found] = [f for f in excess(out) if "lambda" in f["message"]]
    assert found["path"] == "Policies[1] (LambdaInvokePolicy).Statement[0]" and found["severity"] == "MEDIUM"
    assert found["message"].endswith("(from the SAM policy template LambdaInvokePolicy, of which no state uses "
                                     "anything: remove it)")
    assert code == 0


def test_a_connector_says_what_its_permission_category_adds(tmp_path: Path) -> None:
    invoke = task("arn:aws:states:::lambda:invoke", FunctionName={"Fn::GetAtt": ["Fn", "Arn"]})
    function = {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}}
    machine = {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke},
               "Connectors": {"ToFn": {"Properties": {"Destination": {"Id": "Fn"}, "Permissions": ["Write"]}}}}
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Machine": machine, "Fn": function}}
    code, out = check(tmp_path, template)
    [found] = excess(out)
    assert found["severity"] == "MEDIUM" and code == 0
    assert found["message"].startswith("lambda:InvokeAsync on ")
    assert "(from the SAM connector's Write permissions, which SAM grants together; the states use only " \
           "lambda:InvokeFunction: an inline statement granting only those is least privilege)" in found["message"]
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders"}}
    machine = {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": PUT},
               "Connectors": {"ToTable": {"Properties": {"Destination": {"Id": "Orders"},
                                                         "Permissions": ["Read", "Write"]}}}}
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Machine": machine, "Orders": table}}
    code, out = check(tmp_path, template)
    read = [f for f in excess(out) if "(Read)" in f["path"]]
    assert read and all(f["message"].endswith("(from the SAM connector's Read permissions, of which no state uses "
                                              "anything: drop Read from the connector's Permissions)") for f in read)
    assert all(f["severity"] == "MEDIUM" for f in excess(out)) and code == 0, excess(out)


def test_a_whole_generated_bucket_where_one_object_is_read_is_still_excess(tmp_path: Path) -> None:
    read = task("arn:aws:states:::aws-sdk:s3:getObject", Bucket={"Ref": "Data"}, Key="listing.json")
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${Data.Arn}/*"}}
    code, out = check(tmp_path, _template({"Definition": read, "Policies": [{"Statement": [statement]}]},
                                          Data={"Type": "AWS::S3::Bucket", "Properties": {}}))
    [found] = excess(out)
    assert found["severity"] == "MEDIUM" and "where only " in found["message"] and "/listing.json" in \
        found["message"], found
    assert code == 0
