"""`sfn-iam check` in detail: how declared statements are read (and which are not grants), when a need is missing
rather than unverifiable, and what the findings say. Pinned by mutation testing of cli/check.py: each test fails on
a small change of the comparison it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.cli import check as check_module
from tests.cli.test_pipeline import ACCOUNT, CONTEXT, REGION, _template, check, findings, run, write

FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
INVOKE: dict[str, Any] = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                            "Parameters": {"FunctionName": FUNCTION}, "End": True}}}
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}


def get_object(bucket: Any, *keys: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i, key in enumerate(keys):
        states[f"G{i}"] = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                           "Parameters": {"Bucket": bucket, "Key": key}}
        states[f"G{i}"]["Next" if i + 1 < len(keys) else "End"] = f"G{i + 1}" if i + 1 < len(keys) else True
    return {"StartAt": "G0", "States": states}


def allow(action: str | list[str], resource: str | list[str], effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def of(code: str, out: str) -> list[dict[str, Any]]:
    return [f for f in findings(out) if f["code"] == code]


def sam(tmp_path: Path, definition: dict[str, Any], *statements: Any, **resources: Any) -> str:
    _, out = check(tmp_path, _template({"Definition": definition, "Policies": [{"Statement": list(statements)}]},
                                       **resources))
    return out


# --- which declared statements grant ---------------------------------------------------------------------------------

def test_a_statement_that_is_not_an_object_does_not_hide_the_ones_after_it(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, "not a statement", allow("lambda:InvokeFunction", FUNCTION))
    assert not [f for f in findings(out) if f["code"] in ("MISSING_GRANT", "NOTHING_TO_COMPARE")], findings(out)


def test_only_the_exact_effect_allow_grants_and_a_deny_takes_away(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION, effect="ALLOW"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"]  # IAM knows "Allow" and "Deny" only
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", "*"), allow("lambda:InvokeFunction", FUNCTION, "Deny"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"]


def test_a_customer_policy_named_like_an_aws_managed_one_is_not_read_as_it(tmp_path: Path) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "ManagedPolicyArns": [
        f"arn:aws:iam::{ACCOUNT}:policy/AWSLambdaRole"]}}
    _, out = check(tmp_path, {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": role}})
    [unverified] = of("UNVERIFIED_GRANT", out)
    assert f"arn:aws:iam::{ACCOUNT}:policy/AWSLambdaRole may grant it" in unverified["message"]
    assert unverified["path"] == "States.T"
    role["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AWSLambdaRole"]  # AWS's own: read
    _, out = check(tmp_path, {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": role}})
    assert not of("UNVERIFIED_GRANT", out) and not of("MISSING_GRANT", out)


def test_a_role_that_is_not_a_plain_reference_to_a_role_of_the_template_has_nothing_to_compare(
        tmp_path: Path) -> None:
    granting = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}}]}}
    for role in ({"Fn::GetAtt": ["Role", "Arn"], "Comment": "two keys: not an intrinsic function"},
                 {"Value": "Role"},  # a key that is not Ref
                 {"Fn::GetAtt": ["Elsewhere", "Arn"]}):  # no such resource
        _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": role}, Role=granting))
        assert [f["code"] for f in findings(out) if f["code"] in (
            "NOTHING_TO_COMPARE", "MISSING_GRANT", "UNVERIFIED_GRANT")] == ["NOTHING_TO_COMPARE"], (role, out)
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": {"Fn::GetAtt": ["Role", "Arn"]}}, Role=granting))
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == []  # the plain reference compares


def test_a_connector_category_the_destination_lacks_does_not_hide_the_next(tmp_path: Path) -> None:
    machine = {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": {
        "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                         "Parameters": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}}, "End": True}}}},
        "Connectors": {"ToFn": {"Properties": {"Destination": {"Id": "Fn"}, "Permissions": ["Read", "Write"]}}}}
    function = {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}}
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31",
                              "Resources": {"Machine": machine, "Fn": function}})
    assert not [f for f in findings(out) if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT", "NOTHING_TO_COMPARE")]


# --- missing or unverifiable ---------------------------------------------------------------------------------------

def test_a_literal_key_is_missing_when_the_declared_key_differs_even_with_punctuation(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object("reports", "data 1.csv"),  # a space is not a wildcard
              allow("s3:GetObject", "arn:aws:s3:::reports/data-backup-1.csv"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.G0"], findings(out)


def test_a_generated_bucket_may_be_the_one_a_declared_name_grants(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object({"Ref": "Data"}, "listing.json"),
              allow("s3:GetObject", "arn:aws:s3:::prod-data-abc123/*"),
              Data={"Type": "AWS::S3::Bucket", "Properties": {}})
    [unverified] = of("UNVERIFIED_GRANT", out)
    assert unverified["path"] == "States.G0" and "name known only at deploy time" in unverified["message"]
    assert not of("MISSING_GRANT", out)


def test_a_long_resource_is_compared_to_its_end(tmp_path: Path) -> None:
    key = "k" * 300  # longer than the small integers CPython shares
    out = sam(tmp_path, get_object("reports", key), allow("s3:GetObject", f"arn:aws:s3:::reports/{key}*X"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.G0"], findings(out)


def test_missing_says_when_policy_withholds_the_same_request(tmp_path: Path) -> None:
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
              "Parameters": {"TableName.$": "$.table", "Item": {}}, "Next": "T"},
        "T": INVOKE["States"]["T"]}}
    out = sam(tmp_path, definition, allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"))
    by_path = {f["path"]: f["message"] for f in of("MISSING_GRANT", out)}
    assert by_path["States.P"].endswith("(sfn-iam policy withholds it too: see its findings)")
    assert "withholds" not in by_path["States.T"]


# --- what EXCESS_GRANT says ------------------------------------------------------------------------------------------

def test_a_sam_template_on_every_queue_keeps_its_wildcard_action_high(tmp_path: Path) -> None:
    send = {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                                             "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/"
                                                            f"{ACCOUNT}/jobs", "MessageBody": "x"}, "End": True}}}
    _, out = check(tmp_path, _template({"Definition": send, "Policies": [{"SQSSendMessagePolicy": {
        "QueueName": "*"}}]}))
    assert any(f["severity"] == "HIGH" and f["message"].startswith("sqs:SendMessage* grants every matching action")
               for f in of("EXCESS_GRANT", out)), findings(out)


def test_a_key_sorting_before_the_wildcard_is_still_narrower(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object("reports", "(draft).json"), allow("s3:GetObject", "arn:aws:s3:::reports/*"))
    [excess] = of("EXCESS_GRANT", out)
    assert excess["message"] == ("s3:GetObject on arn:aws:s3:::reports/* where only arn:aws:s3:::reports/(draft).json "
                                 "is needed")


def test_the_narrower_list_shows_five_and_says_when_there_are_more(tmp_path: Path) -> None:
    for count, tail in ((5, "e.json is needed"), (6, "e.json ... is needed"), (1, "a.json is needed")):
        keys = [f"{c}.json" for c in "abcdef"[:count]]
        out = sam(tmp_path, get_object("reports", *keys), allow("s3:GetObject", "arn:aws:s3:::reports/*"))
        [excess] = of("EXCESS_GRANT", out)
        assert excess["message"].endswith(tail), excess
        assert "f.json" not in excess["message"]


def test_unused_actions_show_eight_and_count_the_rest_and_three_resources(tmp_path: Path) -> None:
    actions = [f"lambda:{verb}" for verb in (
        "GetFunction", "GetAlias", "GetPolicy", "ListAliases", "ListVersionsByFunction", "GetFunctionConfiguration",
        "ListTags", "GetLayerVersion", "GetProvisionedConcurrencyConfig", "ListProvisionedConcurrencyConfigs")]
    resources = [f"{FUNCTION}{suffix}" for suffix in ("", ":1", ":2", ":3")]
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION), allow(actions, resources))
    [excess] = of("EXCESS_GRANT", out)
    assert excess["message"] == (", ".join(actions[:8]) + f" (+2 more) on {', '.join(resources[:3])} not needed by "
                                 "any state")


def test_a_distributed_map_role_covering_its_child_executions_is_not_asked_for_the_sample_form(
        tmp_path: Path) -> None:
    definition = {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "Label": "Fan", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mc"
    start = allow("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mc")

    def grants(*statements: Any) -> list[tuple[str, str]]:
        _, out = check(tmp_path, _template({"Name": "mc", "Definition": definition,
                                            "Policies": [{"Statement": list(statements)}]}))
        return sorted((f["code"], f["message"].split(" on ", 1)[1].split(" ", 1)[0]) for f in findings(out)
                      if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT") and "DescribeExecution" in f["message"])

    assert grants(start, allow(["states:DescribeExecution", "states:StopExecution"], f"{executions}/Fan:*")) == []
    assert grants(start) == [("MISSING_GRANT", f"{executions}/Fan:*"), ("UNVERIFIED_GRANT", f"{executions}:*")]


def test_a_managed_policy_of_the_template_is_read_however_it_is_attached(tmp_path: Path) -> None:
    document = {"Version": "2012-10-17", "Statement": [allow("lambda:InvokeFunction", FUNCTION)]}
    machine = {"Type": "AWS::StepFunctions::StateMachine",
               "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}}
    for role_props, policy_props in (
            ({"ManagedPolicyArns": [{"Ref": "Pol"}]}, {}),  # attached by the role only
            ({}, {"Roles": [{"Ref": "Role"}]}),  # by the policy only
            ({"ManagedPolicyArns": [{"Ref": "Pol"}]}, {"Roles": [{"Ref": "Role"}]})):  # both: read once
        role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, **role_props}}
        policy = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document, **policy_props}}
        _, out = check(tmp_path, {"Resources": {"Machine": machine, "Role": role, "Pol": policy}})
        assert not [f for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"], (role_props, findings(out))
    # SAM: a policy of the template named in Policies (SAM attaches it to the role it creates)
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [{"Ref": "Pol"}]}, Pol={
        "Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}))
    assert not of("MISSING_GRANT", out) and not of("UNVERIFIED_GRANT", out), findings(out)


def test_a_connector_of_another_machine_does_not_grant_this_one(tmp_path: Path) -> None:
    invoke = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                               "Parameters": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}},
                                               "End": True}}}
    resources = {
        "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke, "Policies": [
            {"Statement": [allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")]}]}},
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}},
        "Conn": {"Type": "AWS::Serverless::Connector", "Properties": {
            "Source": {"Id": "Another"}, "Destination": {"Id": "Fn"}, "Permissions": ["Write"]}},
        "Another": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke}}}
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
    assert [f["path"] for f in of("MISSING_GRANT", out) if "lambda:InvokeFunction" in f["message"]] == ["States.T"]
    resources["Conn"]["Properties"]["Source"]["Id"] = "Machine"
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
    assert not [f for f in of("MISSING_GRANT", out) if "lambda:InvokeFunction" in f["message"]]


def test_a_long_generated_name_may_still_be_the_declared_one(tmp_path: Path) -> None:
    key = "k" * 300
    out = sam(tmp_path, get_object({"Ref": "Data"}, key), allow("s3:GetObject", f"arn:aws:s3:::prod-data-abc123/{key}"),
              Data={"Type": "AWS::S3::Bucket", "Properties": {}})
    assert [f["code"] for f in findings(out) if "GRANT" in f["code"]] == ["UNVERIFIED_GRANT"], findings(out)


def test_the_narrower_template_may_take_fewer_parameters(tmp_path: Path) -> None:
    send = {"StartAt": "S", "States": {"S": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ses:sendEmail",
        "Parameters": {"Source": "me@example.com", "Destination": {"ToAddresses": ["a@example.com"]},
                       "Message": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "y"}}}}, "End": True}}}
    _, out = check(tmp_path, _template({"Definition": send, "Policies": [{"SESBulkTemplatedCrudPolicy_v2": {
        "IdentityName": "example.com", "TemplateName": "t"}}]}))
    excess = of("EXCESS_GRANT", out)
    assert excess and all(f["message"].endswith("(from the SAM policy template SESBulkTemplatedCrudPolicy_v2; the "
                                                "states use only ses:SendEmail, which SESCrudPolicy grants with fewer "
                                                "actions)") for f in excess), excess


def delete_object(bucket: str, key: str) -> dict[str, Any]:
    return {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:deleteObject",
                                             "Parameters": {"Bucket": bucket, "Key": key}, "End": True}}}


def test_actions_are_compared_without_case(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, allow("Lambda:invokefunction", FUNCTION))
    assert not [f for f in findings(out) if "GRANT" in f["code"] or f["code"] == "NOTHING_TO_COMPARE"], findings(out)
    # a need on the very pattern declared (a key known at run time) is not called narrower, whatever the case
    definition = get_object("reports", "k.json")
    definition["States"]["G0"] |= {"Next": "R"}
    del definition["States"]["G0"]["End"]
    definition["States"]["R"] = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                                 "Parameters": {"Bucket": "reports", "Key.$": "$.key"}, "End": True}
    out = sam(tmp_path, definition, allow("S3:GETOBJECT", "arn:aws:s3:::reports/*"))
    assert not [f for f in findings(out) if "GRANT" in f["code"] or f["code"] == "NOTHING_TO_COMPARE"], findings(out)


def test_policies_of_every_shape_and_only_this_roles_are_read(tmp_path: Path) -> None:
    # SAM Policies given as one document, not a list
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": {
        "Statement": [allow("lambda:InvokeFunction", FUNCTION)]}}))
    assert not of("MISSING_GRANT", out) and not of("NOTHING_TO_COMPARE", out), findings(out)
    document = {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}
    for other in ("Other", "Zed"):  # names sorting before and after the machine's role
        resources = {
            "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                        "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
                {"PolicyName": "p", "PolicyDocument": {"Statement": [allow("sqs:SendMessage", "*")]}}]}},
            other: {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Pol": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "PolicyDocument": document,
                                                               "Roles": [{"Ref": other}]}},
            "RolePol": {"Type": "AWS::IAM::RolePolicy", "Properties": {"PolicyName": "p", "PolicyDocument": document,
                                                                       "RoleName": {"Ref": other}}}}
        _, out = check(tmp_path, {"Resources": resources})
        assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"], (other, findings(out))
    for key in ([], ""):  # Fn::GetAtt without a resource
        _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": {"Fn::GetAtt": key}}))
        assert "NOTHING_TO_COMPARE" in [f["code"] for f in findings(out)]


def test_connectors_are_read_from_their_source_and_say_where(tmp_path: Path) -> None:
    invoke = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                               "Parameters": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}},
                                               "End": True}}}
    for source in ("Another", "Zed"):
        resources = {
            "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke, "Policies": [
                {"Statement": [allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")]}]}},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}},
            "Conn": {"Type": "AWS::Serverless::Connector", "Properties": {
                "Source": {"Id": source}, "Destination": {"Id": "Fn"}, "Permissions": ["Write"]}}}
        _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
        assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"], source
    resources["Conn"]["Properties"]["Source"]["Id"] = "Machine"
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
    assert [f["path"] for f in of("EXCESS_GRANT", out) if "lambda:InvokeAsync" in f["message"]] == [
        "Conn.Destination (Write).Statement[0]"]
    resources["Conn"]["Properties"]["Destination"] = [{"Id": "Fn"}]
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
    assert [f["path"] for f in of("EXCESS_GRANT", out) if "lambda:InvokeAsync" in f["message"]] == [
        "Conn.Destination[0] (Write).Statement[0]"]


def test_what_a_template_is_used_for_counts_names_known_only_at_deploy_time(tmp_path: Path) -> None:
    put = {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                            "Parameters": {"TableName.$": "$.table", "Item": {}}, "End": True}}}
    _, out = check(tmp_path, _template({"Definition": put, "Policies": [{"DynamoDBCrudPolicy": {
        "TableName": {"Ref": "Orders"}}}]}, Orders={"Type": "AWS::DynamoDB::Table", "Properties": {}}))
    excess = of("EXCESS_GRANT", out)
    assert excess and all(f["message"].endswith("the states use only dynamodb:PutItem, which DynamoDBWritePolicy "
                                                "grants with fewer actions)") for f in excess), excess


def test_the_narrower_template_is_found_whatever_its_name_sorts_as(tmp_path: Path) -> None:
    _, out = check(tmp_path, _template({"Definition": delete_object("reports", "old.json"), "Policies": [
        {"S3FullAccessPolicy": {"BucketName": "reports"}}]}))
    excess = of("EXCESS_GRANT", out)
    assert excess and all(f["message"].endswith("the states use only s3:DeleteObject, which S3CrudPolicy grants "
                                                "with fewer actions)") for f in excess), excess


def test_not_resource_allows_everything_else(tmp_path: Path) -> None:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "NotResource": f"{FUNCTION}-other"}
    out = sam(tmp_path, INVOKE, statement)
    assert [(f["severity"], f["message"]) for f in of("EXCESS_GRANT", out)] == [
        ("HIGH", "NotAction/NotResource allows everything else: far beyond need")]
    assert not of("MISSING_GRANT", out)


def test_only_sam_connectors_are_read_as_connectors(tmp_path: Path) -> None:
    invoke = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                               "Parameters": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}},
                                               "End": True}}}
    resources = {
        "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke, "Policies": [
            {"Statement": [allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")]}]}},
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}},
        "Custom": {"Type": "Custom::Connector", "Properties": {  # a custom resource, whatever its properties say
            "ServiceToken": "arn:aws:lambda:eu-west-1:210987654321:function:x",
            "Source": {"Id": "Machine"}, "Destination": {"Id": "Fn"}, "Permissions": ["Write"]}}}
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"], findings(out)


# --- second round of mutation testing --------------------------------------------------------------------------------

def test_why_nothing_was_compared_names_where_the_role_would_be(tmp_path: Path) -> None:
    _, out, _ = run("check", write(tmp_path, INVOKE), *CONTEXT, "--format", "json")
    [nothing] = of("NOTHING_TO_COMPARE", out)
    assert nothing["message"].startswith("a definition alone declares no role policy"), nothing
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": f"arn:aws:iam::{ACCOUNT}:role/elsewhere"}))
    [nothing] = of("NOTHING_TO_COMPARE", out)
    assert nothing["message"].startswith("the role comes from outside the template"), nothing


def test_a_sam_policy_item_with_two_keys_is_no_template_and_hides_nothing(tmp_path: Path) -> None:
    code, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [
        {"LambdaInvokePolicy": {"FunctionName": "orders"}, "SQSPollerPolicy": {"QueueName": "q"}},
        {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}]}))
    assert code == 0 and [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == [], findings(out)


def test_an_unused_wildcard_action_is_high_by_hand_and_medium_from_a_scoped_sam_template(tmp_path: Path) -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION), allow("sqs:*", queue))
    assert [(f["severity"], f["message"]) for f in of("EXCESS_GRANT", out)] == [
        ("HIGH", f"sqs:* on {queue} not needed by any state")]
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [
        {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}, {"SQSPollerPolicy": {"QueueName": "jobs"}}]}))
    excess = of("EXCESS_GRANT", out)
    assert excess and {f["severity"] for f in excess} == {"MEDIUM"}, excess


def test_a_distributed_map_stop_on_the_sample_form_is_judged_by_the_child_stops_alone(tmp_path: Path) -> None:
    definition = {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "Label": "Fan", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mc"
    _, out = check(tmp_path, _template({"Name": "mc", "Definition": definition, "Policies": [{"Statement": [
        allow("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mc"),
        allow(["states:DescribeExecution", "states:StopExecution"], f"{executions}/Fan:*")]}]}))
    # RedriveExecution on the children is not granted: that is its own finding, not one about StopExecution
    asked = sorted(f["message"].split(" cannot", 1)[0].split(" is not", 1)[0] for f in findings(out)
                   if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT"))
    assert asked == [f"states:RedriveExecution on {executions}/Fan:*"], findings(out)


def test_a_template_needing_a_parameter_not_given_is_not_the_narrower_one(tmp_path: Path) -> None:
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
    read = {"StartAt": "R", "States": {"R": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:"
                                             "getSecretValue", "Parameters": {"SecretId": secret}, "End": True}}}
    _, out = check(tmp_path, _template({"Definition": read, "Policies": [
        {"AWSSecretsManagerRotationPolicy": {"FunctionName": "rotator"}}]}))
    excess = of("EXCESS_GRANT", out)
    # AWSSecretsManagerGetSecretValuePolicy grants with fewer actions, but takes a SecretArn this one is not given
    assert excess and all(f["message"].endswith("(from the SAM policy template AWSSecretsManagerRotationPolicy, the "
                                                "narrowest SAM policy template for what the states use "
                                                "(secretsmanager:GetSecretValue): an inline statement granting only "
                                                "those is least privilege)") for f in excess), excess


def test_the_narrower_template_is_the_one_with_fewest_actions_whichever_comes_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def sqs_template(*actions: str) -> dict[str, Any]:
        arn = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}"
        return {"Parameters": {"QueueName": {"Description": "the queue"}}, "Definition": {"Statement": [{
            "Effect": "Allow", "Action": [f"sqs:{a}" for a in actions],
            "Resource": {"Fn::Sub": [arn, {"queueName": {"Ref": "QueueName"}}]}}]}}

    send = {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                                             "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/"
                                                            f"{ACCOUNT}/jobs", "MessageBody": "x"}, "End": True}}}
    small, middle = sqs_template("SendMessage"), sqs_template("SendMessage", "GetQueueUrl")
    wide = sqs_template("SendMessage", "GetQueueUrl", "GetQueueAttributes", "ChangeMessageVisibility")
    for templates in ({"Small": small, "Middle": middle, "Wide": wide},
                      {"Middle": middle, "Small": small, "Wide": wide}):
        monkeypatch.setattr(check_module, "sam_policy_templates", lambda t=templates: t)
        _, out = check(tmp_path, _template({"Definition": send, "Policies": [{"Wide": {"QueueName": "jobs"}}]}))
        excess = of("EXCESS_GRANT", out)
        assert excess and all(f["message"].endswith("the states use only sqs:SendMessage, which Small grants with "
                                                    "fewer actions)") for f in excess), (list(templates), excess)


def test_a_broad_pattern_after_a_literal_resource_is_still_called_broader(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object("reports", "b.json"),
              allow("s3:GetObject", ["arn:aws:s3:::archive/x.json", "arn:aws:s3:::reports/*"]))
    assert [f["message"] for f in of("EXCESS_GRANT", out)] == [
        "s3:GetObject on arn:aws:s3:::reports/* where only arn:aws:s3:::reports/b.json is needed"]


def test_a_managed_policy_arn_given_as_a_parameter_is_read_by_its_value(tmp_path: Path) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {},
                                                     "ManagedPolicyArns": [{"Ref": "InvokePolicy"}]}}
    _, out = check(tmp_path, {
        "Parameters": {"InvokePolicy": {"Type": "String", "Default": "arn:aws:iam::aws:policy/AWSLambdaRole"}},
        "Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}}, "Role": role}})
    # the machine's invoke is granted (by AWSLambdaRole, on every function: broader than needed)
    assert [(f["code"], f["path"]) for f in findings(out) if "GRANT" in f["code"] or f["code"] == "NOTHING_TO_COMPARE"
            ] == [("EXCESS_GRANT", "Role.ManagedPolicyArns[0] (managed AWSLambdaRole).Statement[0]")], findings(out)


def test_a_pattern_not_comparable_offline_does_not_hide_the_next_one(tmp_path: Path) -> None:
    tables = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    definition = {"StartAt": "Known", "States": {
        "Known": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                  "Parameters": {"TableName": "orders", "Key": {}}, "Next": "Later"},
        "Later": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                  "Parameters": {"TableName.$": "$.table", "Key": {}}, "End": True}}}
    out = sam(tmp_path, definition, allow("dynamodb:GetItem", [f"{tables}*", f"{tables}/ord*"]))
    # table* against table/<a name known at run time>: two patterns, not comparable offline (and a read: not high)
    assert [f["message"] for f in of("EXCESS_GRANT", out)] == [
        f"dynamodb:GetItem on {tables}/ord* where only {tables}/orders is needed"]


@pytest.mark.parametrize("data", ["{not json", None], ids=["corrupt", "missing"])
def test_sam_data_that_cannot_be_read_leaves_templates_and_connectors_uncompared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str | None) -> None:
    import importlib.resources

    package = tmp_path / "samtranslator"
    for name in ("policy_templates_data/policy_templates.json", "model/connector_profiles/profiles.json"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            (package / name).write_text(data, encoding="utf-8")
    monkeypatch.setattr(importlib.resources, "files", lambda _name: package)
    check_module.sam_policy_templates.cache_clear()  # read again, from the broken package; and after the test
    check_module.sam_connector_profiles.cache_clear()
    try:
        machine = {"Type": "AWS::Serverless::StateMachine", "Properties": {
            "Definition": INVOKE, "Policies": [{"LambdaInvokePolicy": {"FunctionName": "orders"}}]},
            "Connectors": {"ToFn": {"Properties": {"Destination": {"Id": "Fn"}, "Permissions": ["Write"]}}}}
        _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
            "Machine": machine, "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}}})
    finally:
        check_module.sam_policy_templates.cache_clear()
        check_module.sam_connector_profiles.cache_clear()
    assert sorted(f["message"] for f in of("UNRESOLVED_REFERENCE", out)) == [
        "LambdaInvokePolicy is not a SAM policy template this version knows: not compared",
        "a connector to a AWS::Lambda::Function is not known to this SAM version: not compared"], findings(out)


def test_a_state_writing_log_events_itself_needs_them_whatever_the_role_delivers(tmp_path: Path) -> None:
    put = {"StartAt": "W", "States": {"W": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:cloudwatchlogs:putLogEvents",
        "Parameters": {"LogGroupName": "audit", "LogStreamName": "s", "LogEvents": []}, "End": True}}}
    out = sam(tmp_path, put, allow(["logs:CreateLogDelivery", "logs:GetLogDelivery"], "*"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.W"], findings(out)


def test_a_custom_resource_shaped_like_a_role_policy_is_not_read_as_one(tmp_path: Path) -> None:
    document = {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}
    resources: dict[str, Any] = {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Attach": {"Type": "Custom::RolePolicy", "Properties": {
            "ServiceToken": FUNCTION, "RoleName": {"Ref": "Role"}, "PolicyName": "p", "PolicyDocument": document}}}
    _, out = check(tmp_path, {"Resources": resources})
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == ["NOTHING_TO_COMPARE"], \
        findings(out)
    resources["Attach"]["Type"] = "AWS::IAM::RolePolicy"
    _, out = check(tmp_path, {"Resources": resources})
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == [], findings(out)


def test_sam_policies_by_name_are_aws_managed_and_by_arn_are_what_the_arn_says(tmp_path: Path) -> None:
    for policy, unknown in ((f"arn:aws:iam::{ACCOUNT}:policy/AWSLambdaRole", f"arn:aws:iam::{ACCOUNT}:policy/"
                             "AWSLambdaRole"), ("OrdersPolicy", "arn:aws:iam::aws:policy/OrdersPolicy")):
        _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [policy]}))
        [unverified] = of("UNVERIFIED_GRANT", out)
        assert unverified["message"].endswith(f"cannot be verified: {unknown} may grant it (not evaluated offline)")
    for policy in ("AWSLambdaRole", "arn:aws:iam::aws:policy/AWSLambdaRole"):
        _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [policy]}))
        assert [(f["code"], f["path"]) for f in findings(out) if "GRANT" in f["code"]] == [
            ("EXCESS_GRANT", "Policies[0] (managed AWSLambdaRole).Statement[0]")], findings(out)


def test_a_pattern_matching_nothing_needed_does_not_hide_the_next_one(tmp_path: Path) -> None:
    tables = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    definition = {"StartAt": "Known", "States": {"Known": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "orders", "Key": {}}, "End": True}}}
    out = sam(tmp_path, definition, allow("dynamodb:GetItem", [f"{tables}/archive*", f"{tables}/ord*"]))
    assert [f["message"] for f in of("EXCESS_GRANT", out)] == [
        f"dynamodb:GetItem on {tables}/ord* where only {tables}/orders is needed"]


def test_a_generated_name_cannot_be_a_declared_one_without_the_text_after_it(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object({"Ref": "Data"}, "listing.json"),
              allow("s3:GetObject", "arn:aws:s3:::prod-data-abc123-listing.json"),  # no "/" before the key
              Data={"Type": "AWS::S3::Bucket", "Properties": {}})
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.G0"] and not of("UNVERIFIED_GRANT", out), \
        findings(out)


def test_not_action_is_compared_without_case(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, {"Effect": "Allow", "NotAction": "LAMBDA:INVOKEFUNCTION", "Resource": FUNCTION})
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"], findings(out)


def test_a_managed_policy_arn_from_another_kind_of_resource_is_not_known_offline(tmp_path: Path) -> None:
    lookup = {"Type": "Custom::PolicyLookup", "Properties": {  # returns some policy's ARN: what it grants is not known
        "ServiceToken": FUNCTION, "PolicyDocument": {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}}}
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {},
                                                     "ManagedPolicyArns": [{"Fn::GetAtt": ["Lookup", "Arn"]}]}}
    _, out = check(tmp_path, {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": role, "Lookup": lookup}})
    assert [f["code"] for f in findings(out) if "GRANT" in f["code"]] == ["UNVERIFIED_GRANT"], findings(out)


def test_a_managed_policy_of_the_template_attached_to_two_roles_is_read_for_this_one(tmp_path: Path) -> None:
    document = {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}
    for other in ("Another", "Zed"):  # names sorting before and after the machine's role
        _, out = check(tmp_path, {"Resources": {
            "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                        "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {},
                                                             "ManagedPolicyArns": [{"Ref": "Pol"}]}},
            other: {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Pol": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document,
                                                                      "Roles": [{"Ref": other}]}}}})
        assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == [], (other, findings(out))


def test_sam_adds_the_x_ray_policy_when_tracing_is_enabled(tmp_path: Path) -> None:
    policies = [{"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}]
    for enabled in (True, "true"):
        _, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": policies,
                                            "Tracing": {"Enabled": enabled}}))
        assert not of("MISSING_GRANT", out), (enabled, findings(out))  # xray:PutTraceSegments, ... are granted


def test_not_resource_excluding_the_need_is_missing_not_unverifiable(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, {"Effect": "Allow", "Action": "lambda:InvokeFunction", "NotResource": FUNCTION})
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"] and not of("UNVERIFIED_GRANT", out), \
        findings(out)


def test_a_generated_name_is_compared_character_by_character(tmp_path: Path) -> None:
    for declared in ("arn:aws:s3:::prod-data-abc123/listing.jsoa",  # "a" sorts before "n"
                     "arn:aws:s3:::prod-data-abc123/listing.js",  # the start of it only
                     "arn:aws:s3:::prod-data-abc123/" + "k" * 300 + "X"):  # long, and no match
        key = "k" * 300 if declared.endswith("X") else "listing.json"
        out = sam(tmp_path, get_object({"Ref": "Data"}, key), allow("s3:GetObject", declared),
                  Data={"Type": "AWS::S3::Bucket", "Properties": {}})
        assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.G0"] and not of("UNVERIFIED_GRANT", out), \
            findings(out)


def test_punctuation_in_a_declared_name_is_literal(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object("reports", "data_1.csv"), allow("s3:GetObject", "arn:aws:s3:::reports/data-1.csv"))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.G0"], findings(out)


def test_nine_unused_actions_show_eight_and_one_more(tmp_path: Path) -> None:
    actions = [f"lambda:{verb}" for verb in (
        "GetFunction", "GetAlias", "GetPolicy", "ListAliases", "ListVersionsByFunction", "GetFunctionConfiguration",
        "ListTags", "GetLayerVersion", "GetProvisionedConcurrencyConfig")]
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION), allow(actions, FUNCTION))
    [excess] = of("EXCESS_GRANT", out)
    assert excess["message"] == ", ".join(actions[:8]) + f" (+1 more) on {FUNCTION} not needed by any state"


def test_an_action_on_a_name_known_at_deploy_time_is_compared_without_case(tmp_path: Path) -> None:
    out = sam(tmp_path, get_object({"Ref": "Data"}, "listing.json"),
              allow("S3:GETOBJECT", "arn:aws:s3:::prod-data-abc123/*"),
              Data={"Type": "AWS::S3::Bucket", "Properties": {}})
    assert [f["path"] for f in of("UNVERIFIED_GRANT", out)] == ["States.G0"] and not of("MISSING_GRANT", out), \
        findings(out)


def test_a_role_named_by_get_att_in_its_dotted_form_is_compared(tmp_path: Path) -> None:
    granting = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}}]}}
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": {"Fn::GetAtt": "Role.Arn"}}, Role=granting))
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == [], findings(out)


def test_a_role_from_a_mapping_named_like_a_resource_has_nothing_to_compare(tmp_path: Path) -> None:
    granting = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}}]}}
    template = _template({"Definition": INVOKE, "Role": {"Fn::FindInMap": ["Role", "prod", "Arn"]}}, Role=granting)
    template["Mappings"] = {"Role": {"prod": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/elsewhere"}}}
    _, out = check(tmp_path, template)
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == ["NOTHING_TO_COMPARE"], \
        findings(out)


def test_a_deny_statement_is_never_an_excess_grant(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION), allow("sqs:SendMessage", "*", "Deny"))
    assert [f for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == []


def test_a_managed_policy_that_is_not_an_arn_is_not_known_offline(tmp_path: Path) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {},
                                                     "ManagedPolicyArns": ["orders-policy"]}}
    _, out = check(tmp_path, {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}}, "Role": role}})
    [unverified] = of("UNVERIFIED_GRANT", out)
    assert "orders-policy may grant it" in unverified["message"], findings(out)


def test_no_other_resource_type_is_read_as_a_connector(tmp_path: Path) -> None:
    invoke = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                               "Parameters": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}},
                                               "End": True}}}
    for kind in ("AWS::CloudFormation::CustomResource", "Custom::Connector"):  # sorting before and after SAM's
        resources = {
            "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": invoke}},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "worker"}},
            "Custom": {"Type": kind, "Properties": {
                "ServiceToken": FUNCTION, "Source": {"Id": "Machine"}, "Destination": {"Id": "Fn"},
                "Permissions": ["Write"]}}}
        _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources})
        assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == ["NOTHING_TO_COMPARE"], \
            (kind, findings(out))


def test_a_connector_to_another_state_machine_grants_its_executions_in_this_account(tmp_path: Path) -> None:
    run_child = {"StartAt": "C", "States": {"C": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": {"Ref": "Child"}, "Input": {}}, "End": True}}}
    machine = {"Type": "AWS::Serverless::StateMachine", "Properties": {"Definition": run_child},
               "Connectors": {"ToChild": {"Properties": {"Destination": {"Id": "Child"},
                                                          "Permissions": ["Read", "Write"]}}}}
    child = {"Type": "AWS::Serverless::StateMachine", "Properties": {"Name": "child", "Definition": {
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}
    _, out = check(tmp_path, {"Transform": "AWS::Serverless-2016-10-31",
                              "Resources": {"Machine": machine, "Child": child}})
    # the profile's arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:child:* is substituted
    assert not [f for f in findings(out, "Machine") if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT")], \
        findings(out, "Machine")


def test_vended_logs_do_not_end_the_comparison_of_the_states(tmp_path: Path) -> None:
    delivery = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups"]
    _, out = check(tmp_path, {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": [allow(delivery, "*")]}}]}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "machine"}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "Definition": INVOKE,
            "LoggingConfiguration": {"Level": "ALL", "Destinations": [
                {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}]},
            "TracingConfiguration": {"Enabled": True}}}}})
    assert sorted({f["path"] for f in of("MISSING_GRANT", out)}) == ["States.T", "tracingConfiguration"], findings(out)


def test_resources_are_compared_with_their_case(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION.replace(":orders", ":Orders")))
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.T"], findings(out)


def test_only_the_exact_effect_deny_takes_away(tmp_path: Path) -> None:
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION),
              allow("lambda:InvokeFunction", FUNCTION, "deny"))  # IAM knows "Allow" and "Deny" only
    assert not of("MISSING_GRANT", out), findings(out)


def test_a_distributed_map_whose_children_are_covered_does_not_end_the_comparison(tmp_path: Path) -> None:
    definition = {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "Label": "Fan", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "Next": "T"},
        "T": INVOKE["States"]["T"]}}
    executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:mc"
    _, out = check(tmp_path, _template({"Name": "mc", "Definition": definition, "Policies": [{"Statement": [
        allow("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mc"),
        allow(["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
              f"{executions}/Fan:*")]}]}))
    assert [(f["code"], f["path"]) for f in findings(out) if "GRANT" in f["code"]] == [
        ("MISSING_GRANT", "States.T")], findings(out)


def test_a_resource_that_is_not_an_object_does_not_hide_the_policies_after_it(tmp_path: Path) -> None:
    _, out = check(tmp_path, {"Resources": {
        "Machine": {"Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"Definition": INVOKE, "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Broken": "not a resource",
        "Pol": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Roles": [{"Ref": "Role"}],
                                                           "PolicyDocument": {"Statement": [
                                                               allow("lambda:InvokeFunction", FUNCTION)]}}}}})
    assert not [f for f in findings(out) if "GRANT" in f["code"] or f["code"] == "NOTHING_TO_COMPARE"], findings(out)


def test_a_broader_resource_is_excess_whatever_the_case_of_the_action(tmp_path: Path) -> None:
    functions = FUNCTION.replace(":orders", ":*")
    out = sam(tmp_path, INVOKE, allow("LAMBDA:INVOKEFUNCTION", functions))
    assert [f["message"] for f in of("EXCESS_GRANT", out)] == [
        f"LAMBDA:INVOKEFUNCTION on {functions} where only {FUNCTION} is needed"]


def test_an_empty_role_reference_has_nothing_to_compare(tmp_path: Path) -> None:
    _, out = check(tmp_path, _template({"Definition": INVOKE, "Role": {}}))
    assert [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == ["NOTHING_TO_COMPARE"], \
        findings(out)


def test_a_terraform_roles_aws_managed_policy_is_read(tmp_path: Path) -> None:
    from scripts import terraform_plans as tf

    role = {"name": "orders-sfn", "assume_role_policy": "{}", "inline_policy": [], "path": "/",
            "managed_policy_arns": ["arn:aws:iam::aws:policy/AWSLambdaRole"]}
    machine = {"name": "orders", "definition": json.dumps(tf.DEFINITION), "type": "STANDARD",
               "logging_configuration": [], "tracing_configuration": [{"enabled": False}],
               "encryption_configuration": []}
    plan = tf.plan({"aws_iam_role.sfn": role, "aws_sfn_state_machine.orders": machine},
                   {"aws_sfn_state_machine.orders": {"role_arn": ["aws_iam_role.sfn.arn", "aws_iam_role.sfn"]}})
    _, out, _ = run("check", write(tmp_path, plan, "plan.json"), "--region", tf.REGION, "--account", tf.ACCOUNT,
                    "--format", "json")
    # the invoke is granted (by AWSLambdaRole), the table write is not
    assert [f["path"] for f in of("MISSING_GRANT", out)] == ["States.Save"], findings(out)


def test_an_empty_sam_policy_item_hides_nothing(tmp_path: Path) -> None:
    code, out = check(tmp_path, _template({"Definition": INVOKE, "Policies": [
        {}, {"Statement": [allow("lambda:InvokeFunction", FUNCTION)]}]}))
    assert code == 0 and [f["code"] for f in findings(out) if f["code"] != "ASSUMED_CONTEXT"] == [], findings(out)


def test_eight_unused_actions_are_all_shown_without_a_count(tmp_path: Path) -> None:
    actions = [f"lambda:{verb}" for verb in (
        "GetFunction", "GetAlias", "GetPolicy", "ListAliases", "ListVersionsByFunction", "GetFunctionConfiguration",
        "ListTags", "GetLayerVersion")]
    out = sam(tmp_path, INVOKE, allow("lambda:InvokeFunction", FUNCTION), allow(actions, FUNCTION))
    [excess] = of("EXCESS_GRANT", out)
    assert excess["message"] == ", ".join(actions) + f" on {FUNCTION} not needed by any state"
