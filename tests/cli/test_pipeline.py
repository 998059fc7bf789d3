"""The CLI as a pipeline step: exit codes like the linters, invalid definitions refused with their paths, `check`
saying "missing" only when a state certainly fails, settings and suppressions as documented, deployable output.

Each false alarm `check` used to raise has a test here with the input's shape (a few lines of template), not the
public project it was seen in.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.cli import main
from tests.evaluate import is_allowed

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "210987654321", "eu-west-1"
CONTEXT = ["--region", REGION, "--account", ACCOUNT]
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
LAMBDA = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                            "Parameters": {"FunctionName": "orders"}, "End": True}}}
# a write on a table known only at run time: refused (WILDCARD_WRITE, high)
REFUSED = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                             "Parameters": {"TableName.$": "$.table", "Item": {}}, "End": True}}}


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, data: Any, name: str = "input.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def findings(out: str, machine: str | None = None) -> list[dict[str, Any]]:
    results = json.loads(out)["results"]
    return [f for r in results if machine is None or r["stateMachine"] == machine for f in r["findings"]]


def codes(out: str, machine: str | None = None) -> list[str]:
    return [f["code"] for f in findings(out, machine)]


# --- exit codes ------------------------------------------------------------------------------------------------------

def test_a_high_finding_fails_by_default_and_none_opts_out(tmp_path: Path) -> None:
    path = write(tmp_path, REFUSED)
    assert run("policy", path, *CONTEXT)[0] == 3
    assert run("policy", path, *CONTEXT, "--fail-on", "none")[0] == 0
    assert run("policy", path, *CONTEXT, "--fail-on", "critical")[0] == 0
    assert run("policy", write(tmp_path, LAMBDA, "ok.json"), *CONTEXT)[0] == 0


def test_the_settings_file_may_say_none_and_the_command_line_wins(tmp_path: Path) -> None:
    config = write(tmp_path, 'fail-on = "none"\n', ".sfn-iam.toml")
    path = write(tmp_path, REFUSED)
    assert run("policy", path, *CONTEXT, "--config", config)[0] == 0
    assert run("policy", path, *CONTEXT, "--config", config, "--fail-on", "high")[0] == 3


def test_help_shows_the_default_and_every_command_has_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "--help")[0] == 0
    assert "default high" in " ".join(capsys.readouterr().out.split())
    assert run("--help")[0] == 0
    out = capsys.readouterr().out
    assert "exit codes" in out
    for command in ("policy", "check", "sweep", "restore"):
        line = next(line for line in out.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split()) > 3  # listed with its one-line description
        assert run(command, "--help")[0] == 0
        text = capsys.readouterr().out
        assert "``" not in text and ":class:" not in text and ":mod:" not in text  # no internal docstrings


@pytest.mark.parametrize(("fail_on", "failures", "code"), [([], 1, 3), (["--fail-on", "none"], 0, 0)])
def test_junit_failures_agree_with_the_exit_code(tmp_path: Path, fail_on: list[str], failures: int, code: int
                                                 ) -> None:
    status, out, _ = run("policy", write(tmp_path, REFUSED), *CONTEXT, "--format", "junit", *fail_on)
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None and suite.get("failures") == str(failures) and status == code


def test_a_policy_with_grants_withheld_says_incomplete_and_what_to_supply(tmp_path: Path) -> None:
    code, out, err = run("policy", write(tmp_path, REFUSED), *CONTEXT, "--fail-on", "none")
    assert code == 0
    assert "INCOMPLETE: 1 permission withheld" in err
    assert f"dynamodb:PutItem on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/* at States.T: supply the resource's " \
           "literal name" in err
    assert not is_allowed([json.loads(out)], "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/x")
    _, _, complete = run("policy", write(tmp_path, LAMBDA, "ok.json"), *CONTEXT)
    assert "INCOMPLETE" not in complete


# --- invalid definitions ---------------------------------------------------------------------------------------------

def _broken(change: str) -> dict[str, Any]:
    states: dict[str, Any] = {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                    "Parameters": {"FunctionName": "orders"}, "Next": "B"},
                              "B": {"Type": "Succeed"}}
    definition: dict[str, Any] = {"StartAt": "A", "States": states}
    if change == "type":
        states["A"]["Type"] = "Taks"
    elif change == "start":
        definition["StartAt"] = "Nowhere"
    elif change == "next":
        states["A"]["Next"] = "C"
    elif change == "end":
        del states["A"]["Next"]
    elif change == "field":
        states["A"]["TimeoutSeconds"] = "sixty"
    return definition


@pytest.mark.parametrize(("change", "path", "words"), [
    ("type", "States.A", "Type: must be one of"),
    ("start", "", "StartAt: names 'Nowhere'"),
    ("next", "States.A", "Next names 'C'"),
    ("end", "States.A", "exactly one of 'Next' or 'End'"),
    ("field", "States.A", "TimeoutSeconds: must be of type number"),
])
def test_invalid_asl_is_a_definition_error_with_its_path(tmp_path: Path, change: str, path: str, words: str) -> None:
    code, out, _ = run("policy", write(tmp_path, _broken(change)), *CONTEXT, "--format", "json")
    (result,) = json.loads(out)["results"]
    errors = [f for f in result["findings"] if f["code"] == "DEFINITION_ERROR"]
    assert code == 1 and result["documents"] == []
    assert any(f["path"] == path and words in f["message"] for f in errors), errors
    assert "NO_PERMISSIONS" not in codes(out)


def test_the_other_machines_of_a_template_are_still_planned(tmp_path: Path) -> None:
    good = json.dumps(LAMBDA)
    bad = json.dumps(_broken("type"))
    template = {"Resources": {
        "Bad": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": bad, "RoleArn": "r"}},
        "Good": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": good,
                                                                            "RoleArn": "r"}}}}
    code, out, _ = run("policy", write(tmp_path, template), *CONTEXT, "--format", "json")
    by_name = {r["stateMachine"]: r for r in json.loads(out)["results"]}
    assert code == 1
    assert [f["code"] for f in by_name["Bad"]["findings"]] == ["DEFINITION_ERROR"]
    assert is_allowed(by_name["Good"]["documents"], "lambda:InvokeFunction",
                      f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders")


def test_valid_definitions_of_every_kind_pass_the_schema(tmp_path: Path) -> None:
    definition = {"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [{"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "End": True}}}]},
        "M": {"Type": "Map", "Items": "{% $states.input.items %}", "Next": "C", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}},
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "S"}], "Default": "F"},
        "S": {"Type": "Succeed", "Output": "{% $states.input %}"},
        "F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    code, _, err = run("policy", write(tmp_path, definition), "--state-machine-arn",
                       f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:stateMachine:S")
    assert code == 0 and "DEFINITION_ERROR" not in err, err


def test_the_schema_is_the_one_cfn_lint_ships() -> None:
    from scripts.copy_asl_schema import TARGET, shipped

    assert TARGET.read_bytes() == shipped(), "run: .venv/bin/python -m scripts.copy_asl_schema"


# --- check: missing only when the state certainly fails ---------------------------------------------------------------

def _template(machine_props: dict[str, Any], **resources: Any) -> dict[str, Any]:
    return {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": machine_props}, **resources}}


def check(tmp_path: Path, template: dict[str, Any], *args: str) -> tuple[int, str]:
    code, out, err = run("check", write(tmp_path, template, "template.json"), *CONTEXT, "--format", "json", *args)
    assert "Traceback" not in err
    return code, out


def test_roles_with_what_cdk_generates_for_logging_are_not_missing_anything(tmp_path: Path) -> None:
    delivery = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups"]  # aws-cdk-lib's StateMachine with logs: no CreateLogStream/PutLogEvents
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": delivery, "Resource": "*"},
                          {"Effect": "Allow", "Action": "lambda:InvokeFunction",
                           "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"}]}}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "machine"}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "DefinitionString": json.dumps(LAMBDA),
            "LoggingConfiguration": {"Level": "ALL", "Destinations": [
                {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}]}}}}}
    code, out = check(tmp_path, template)
    assert code == 0 and "MISSING_GRANT" not in codes(out) and "UNVERIFIED_GRANT" not in codes(out)
    # without the delivery actions, logging certainly fails
    template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"].pop(0)
    code, out = check(tmp_path, template)
    missing = {f["message"].split()[0] for f in findings(out) if f["code"] == "MISSING_GRANT"}
    assert code == 3 and "logs:CreateLogDelivery" in missing


@pytest.mark.parametrize("embedded", [True, False])
def test_sam_connectors_grant_what_sam_writes_for_them(tmp_path: Path, embedded: bool) -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${Fn}"}, "End": True}}}
    connector = {"Destination": {"Id": "Worker"}, "Permissions": ["Write"]}
    props: dict[str, Any] = {"Definition": definition, "DefinitionSubstitutions": {"Fn": {"Ref": "Worker"}}}
    extra: dict[str, Any] = {"Worker": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "work"}}}
    if not embedded:
        extra["Link"] = {"Type": "AWS::Serverless::Connector",
                         "Properties": {"Source": {"Id": "Machine"}, **connector}}
    template = _template(props, **extra)
    if embedded:  # a resource attribute, next to Properties
        template["Resources"]["Machine"]["Connectors"] = {"ToWorker": {"Properties": connector}}
    code, out = check(tmp_path, template)
    assert code == 0 and "MISSING_GRANT" not in codes(out), findings(out)
    # a connector to another function does not let the state invoke this one
    connector["Destination"] = {"Id": "Other"}
    extra["Other"] = {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "other"}}
    if not embedded:
        extra["Link"]["Properties"]["Destination"] = connector["Destination"]
    template["Resources"].update(extra)
    code, out = check(tmp_path, template)
    assert code == 3 and "MISSING_GRANT" in codes(out)


def test_names_built_from_the_stack_id_are_evaluated(tmp_path: Path) -> None:
    uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    suffix = {"Fn::Select": [0, {"Fn::Split": ["-", uuid]}]}
    name = {"Fn::Join": ["-", ["orders", suffix]]}
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "${Queue}", "MessageBody": "x"}, "End": True}}}
    template = _template({"Definition": definition, "DefinitionSubstitutions": {"Queue": {"Ref": "Queue"}},
                          "Policies": [{"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                       "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}]},
                         Queue={"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}})
    code, out = check(tmp_path, template)
    assert code == 0 and not {"MISSING_GRANT", "UNVERIFIED_GRANT"} & set(codes(out)), findings(out)
    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shop/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
    code, out, _ = run("policy", write(tmp_path, template, "template.json"), *CONTEXT, "--parameter",
                       f"AWS::StackId={stack}", "--format", "json")
    (result,) = json.loads(out)["results"]
    assert code == 0 and "note" not in _  # the parameter was used: no "not used" note
    assert is_allowed(result["documents"], "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-1a2b3c4d")
    assert not is_allowed(result["documents"], "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-other")


def test_a_grant_on_a_name_known_at_deploy_time_is_neither_missing_nor_excess(tmp_path: Path) -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "${Table}", "Key": {}}, "End": True}}}
    template = _template({"Definition": definition, "DefinitionSubstitutions": {"Table": {"Ref": "Orders"}},
                          "Policies": [{"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {
                              "Fn::Sub": "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders-${Stage}"}}]}]
                          })
    template["Parameters"] = {"Stage": {"Type": "String"}}  # no Default: unknown offline on the declared side
    template["Resources"]["Orders"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}  # unnamed: generated
    code, out = check(tmp_path, template)
    found = findings(out)
    assert [f["code"] for f in found if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT", "EXCESS_GRANT")] == [
        "UNVERIFIED_GRANT"], found
    assert code == 0  # medium: a question, not a failure


def test_glue_writes_of_an_athena_query_known_at_run_time_are_a_question(tmp_path: Path) -> None:
    definition = {"StartAt": "Q", "States": {"Q": {
        "Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution",
        "Parameters": {"QueryString.$": "$.query", "WorkGroup": "primary",
                       "ResultConfiguration": {"OutputLocation": "s3://results/athena/"}}, "End": True}}}
    reads = ["athena:StartQueryExecution", "athena:GetDataCatalog", "glue:Get*", "glue:BatchGetPartition",
             "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetObject", "s3:PutObject",
             "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
    template = _template({"Definition": definition,
                          "Policies": [{"Statement": [{"Effect": "Allow", "Action": reads, "Resource": "*"}]}]})
    code, out = check(tmp_path, template)
    missing = [f for f in findings(out) if f["code"] == "MISSING_GRANT"]
    unverified = {f["message"].split()[0] for f in findings(out) if f["code"] == "UNVERIFIED_GRANT"}
    assert missing == [] and code in (0, 3)  # 3: glue:Get* is a wildcard action beyond need (EXCESS_GRANT, high)
    assert {"glue:CreateTable", "glue:DeleteTable", "lakeformation:GetDataAccess"} <= unverified


def test_a_role_without_declared_policy_has_nothing_to_compare(tmp_path: Path) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    for props in ({"Definition": LAMBDA, "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
                  {"Definition": LAMBDA, "Role": f"arn:aws:iam::{ACCOUNT}:role/elsewhere"}):
        code, out = check(tmp_path, _template(props, Role=role))
        assert codes(out) == ["NOTHING_TO_COMPARE"] and code == 0
        _, text, _ = run("check", str(tmp_path / "template.json"), *CONTEXT)
        assert "nothing to compare" in text and "0 missing" not in text


def test_check_and_policy_agree_on_what_is_withheld(tmp_path: Path) -> None:
    template = _template({"Definition": REFUSED, "Policies": [{"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}]}]})
    code, out = check(tmp_path, template)
    assert code == 3 and "EXCESS_GRANT" in codes(out)  # granted on every table: what policy refuses to write
    _, _, err = run("policy", str(tmp_path / "template.json"), *CONTEXT)
    assert "WILDCARD_WRITE" in err and "INCOMPLETE" in err


# --- settings, suppressions, inputs ----------------------------------------------------------------------------------

def test_the_documented_settings_example_works_pasted_into_sfn_iam_toml(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    config = write(tmp_path, example, ".sfn-iam.toml")
    code, _, err = run("policy", write(tmp_path, LAMBDA), "--config", config)
    assert code == 0, err


def test_a_suppression_path_is_literal_and_one_matching_nothing_is_reported(tmp_path: Path) -> None:
    template = _template({"Definition": LAMBDA, "Policies": [
        {"Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}]})
    path = write(tmp_path, template, "template.json")
    config = write(tmp_path, '[[suppress]]\ncode = "EXCESS_GRANT"\npath = "Policies[0].Statement[0]"\n'
                   'reason = "reviewed"\n[[suppress]]\ncode = "EXCESS_GRANT"\npath = "Policies[01].Statement[0]"\n'
                   'reason = "a character class would match Policies[0]"\n', ".sfn-iam.toml")
    code, out, err = run("check", path, *CONTEXT, "--config", config, "--format", "json")
    data = json.loads(out)
    assert "EXCESS_GRANT" not in codes(out) and data["results"][0]["suppressed"]
    assert data["notes"] == ["suppress[1] (EXCESS_GRANT at Policies[01].Statement[0]) matched no finding"]
    assert "matched no finding" in err and code == 0


def test_json_is_one_object_even_when_the_settings_are_wrong(tmp_path: Path) -> None:
    config = write(tmp_path, 'colour = "red"\n', ".sfn-iam.toml")
    code, out, _ = run("policy", write(tmp_path, LAMBDA), "--config", config, "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["results"] == [] and "unknown settings" in data["errors"][0]["message"]


def test_a_template_without_state_machine_is_a_note(tmp_path: Path) -> None:
    lambda_only = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}}}
    code, out, err = run("check", write(tmp_path, lambda_only, "template.json"), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["errors"] == [] and "nothing to check" in data["notes"][0]
    assert "no AWS::Serverless::StateMachine" in err


def test_parameters_fill_a_raw_definitions_placeholders_and_unused_ones_are_reported(tmp_path: Path) -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${OrdersFn}"}, "End": True}}}
    code, out, _ = run("policy", write(tmp_path, definition), *CONTEXT, "--parameter", "OrdersFn=orders-prod",
                         "--parameter", "Stage=prod", "--format", "json")
    (result,) = json.loads(out)["results"]
    assert code == 0
    assert is_allowed(result["documents"], "lambda:InvokeFunction",
                      f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-prod")
    assert not is_allowed(result["documents"], "lambda:InvokeFunction",
                          f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-dev")
    assert "UNRESOLVED_REFERENCE" not in codes(out)
    assert json.loads(out)["notes"] == ["--parameter Stage: not used by any input (no parameter, pseudo parameter or "
                                        "${...} placeholder of that name)"]


def test_a_split_policy_is_deployable_as_managed_policies(tmp_path: Path) -> None:
    states = {f"S{i}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": f"a-rather-long-function-name-number-{i:04d}"}, "End": True}
              for i in range(300)}
    code, out, err = run("policy", write(tmp_path, {"StartAt": "S0", "States": states}), *CONTEXT)
    docs = json.loads(out)
    assert code == 0 and len(docs) > 1
    assert all(len(json.dumps(d, separators=(",", ":"))) <= 6_144 for d in docs)
    assert "customer-managed policies of at most 6,144 characters" in err
    for i in (0, 299):
        assert is_allowed(docs, "lambda:InvokeFunction",
                          f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a-rather-long-function-name-number-{i:04d}")


# --- start-up -------------------------------------------------------------------------------------------------------

def _loaded_modules(tmp_path: Path, *args: str) -> set[str]:
    """The top-level modules (sfn_iam's to three levels) loaded by ``sfn-iam ARGS``, run where no settings file is
    found upwards (this checkout's pyproject.toml would load tomllib)."""
    probe = ("import sys, io; from sfn_iam.cli import main; main(sys.argv[1:], out=io.StringIO(), err=io.StringIO()); "
             "print(sorted({m.split('.')[0] if not m.startswith('sfn_iam') else '.'.join(m.split('.')[:3]) "
             "for m in sys.modules}))")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT / "layers" / "sfn_iam")})
    return set(json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_a_small_policy_does_not_import_dataclasses(tmp_path: Path) -> None:
    """Value classes are NamedTuples or slotted classes: ``dataclasses`` (and the ``inspect`` it imports) was a fifth
    of a small policy's start-up."""
    path = write(tmp_path, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    loaded = _loaded_modules(tmp_path, "policy", path, "--region", REGION, "--account", ACCOUNT)
    assert "sfn_iam.engine" in loaded
    assert not loaded & {"dataclasses", "inspect", "copy"}


def test_version_and_a_small_policy_load_only_what_they_use(tmp_path: Path) -> None:
    path = write(tmp_path, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    probe = ("import sys, io; from sfn_iam.cli import main; main(sys.argv[1:], out=io.StringIO(), err=io.StringIO()); "
             "print(sorted({m.split('.')[0] if not m.startswith('sfn_iam') else '.'.join(m.split('.')[:3]) "
             "for m in sys.modules}))")
    env_dir = ROOT / "layers" / "sfn_iam"

    def loaded(*args: str) -> set[str]:
        # run where no settings file is found upwards (this checkout's pyproject.toml would load tomllib)
        proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True,
                              cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(env_dir)})
        return set(json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"')))

    version = loaded("--version")
    assert not version & {"yaml", "sfn_iam.engine", "sfn_iam.cli.sources", "boto3", "samtranslator", "tomllib",
                          "shutil",  # shutil: argparse's help formatter imports it; ours reads the width itself
                          "dataclasses", "inspect"}  # value classes are NamedTuples: dataclasses pulls in inspect
    small = loaded("policy", path)
    assert "sfn_iam.engine" in small and "sfn_iam.cli.aslschema" in small
    assert not small & {"boto3", "botocore", "samtranslator", "sfn_iam.fixing.service", "sfn_iam.governance",
                        "sfn_iam.aws", "xml", "yaml", "sfn_iam.cli.terraform", "sfn_iam.cli.intrinsics"}
    # the heavy standard library: importlib.resources (zipfile, tempfile, shutil, bz2, lzma, pathlib) for package data,
    # hashlib (OpenSSL) for the statement ids of a policy that has none
    assert not small & {"zipfile", "tempfile", "shutil", "bz2", "lzma", "pathlib", "hashlib", "_hashlib",
                        "subprocess", "threading", "concurrent", "email", "urllib", "http", "datetime", "decimal",
                        "tomllib", "warnings"}
    one_task = loaded("policy", write(tmp_path, {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}}}}))
    assert "hashlib" in one_task  # a statement: its Sid
    template = loaded("policy", write(tmp_path, {"Resources": {"M": {"Type": "AWS::StepFunctions::StateMachine",
                                                                      "Properties": {"Definition": LAMBDA}}}}))
    assert "sfn_iam.cli.intrinsics" in template and "sfn_iam.cli.terraform" not in template
    plan = loaded("policy", write(tmp_path, {"format_version": "1.2", "planned_values": {}}))
    assert "sfn_iam.cli.terraform" in plan


def test_a_command_builds_only_its_own_arguments_and_help_still_shows_every_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    from sfn_iam.cli import COMMANDS, _command, build_parser

    def options(parser: argparse.ArgumentParser, command: str) -> set[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return {o for a in sub.choices[command]._actions for o in a.option_strings}

    policy = build_parser("policy")
    assert "--explain" in options(policy, "policy")
    assert all(options(policy, other) == {"-h", "--help"} for other in COMMANDS if other != "policy")
    assert "--workers" in options(build_parser(), "sweep")  # no command named: the whole parser, as before
    assert run("--help")[0] == 0
    listed = capsys.readouterr().out
    assert all(f"    {command} " in listed for command in COMMANDS)
    for command, option in (("policy", "--explain"), ("check", "--fail-on"), ("ceiling", "--boundary"),
                            ("sweep", "--workers"), ("restore", "--apply")):
        assert run(command, "--help")[0] == 0
        assert option in capsys.readouterr().out
    code, _, err = run("sweep", "--workers", "x")  # the named command's arguments are checked, as before
    assert code == 2 and "invalid int value" in err
    code, _, err = run("sweep", "--fail-on", "severe")
    assert code == 2 and "argument --fail-on: unknown severity 'severe'; expected one of info, low" in err
    code, _, err = run()  # no command: argparse says one is required
    assert code == 2 and "the following arguments are required: COMMAND" in err
    # the command as argparse reads it: the first word that is not an option; none, or not a command
    assert [_command(words) for words in (["policy", "a.json", "--region", "r"], ["--format", "json"], ["--version"],
                                          ["bogus", "policy"], [])] == ["policy", None, "", None, ""]


def test_help_is_as_wide_as_argparse_would_make_it(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from sfn_iam.cli import _Formatter

    for columns in ("50", "120", "", "x"):  # "" and "x": no usable COLUMNS, the terminal's or 80
        monkeypatch.setenv("COLUMNS", columns)
        assert _Formatter("sfn-iam")._width == argparse.HelpFormatter("sfn-iam")._width
        assert run("check", "--help")[0] == 0
        described = [line for line in capsys.readouterr().out.splitlines() if not line.lstrip().startswith("[")]
        assert max(map(len, described)) <= argparse.HelpFormatter("sfn-iam")._width  # wrapped where argparse wraps


def test_output_writes_the_report_file_and_the_text_in_one_run(tmp_path: Path) -> None:
    sarif = tmp_path / "out.sarif"
    code, out, _ = run("policy", write(tmp_path, REFUSED), *CONTEXT, "--format", "sarif", "--output", str(sarif))
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert code == 3 and "WILDCARD_WRITE" in {r["ruleId"] for r in results}
    assert json.loads(out)["Statement"] == []  # the text report: the policy on stdout


def test_template_values_are_known_at_deploy_time_and_run_time_values_at_run_time(tmp_path: Path) -> None:
    """And a value the guardrails refuse is not first said to be "granted"."""
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Parameters": {"QueueUrl": "${Queue}", "MessageBody": "x"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": "x"}, "End": True}}}
    template = _template({"Definition": definition, "DefinitionSubstitutions": {"Queue": {"Ref": "Queue"}}},
                         Queue={"Type": "AWS::SQS::Queue", "Properties": {}})
    _, out, _ = run("policy", write(tmp_path, template, "template.json"), *CONTEXT, "--format", "json")
    dynamic = {f["path"]: f["message"] for f in findings(out)
               if f["code"] in ("DYNAMIC_RESOURCE", "UNRESOLVED_REFERENCE")}
    # the queue of the template: CloudFormation generates its name at deploy time (nothing about run time)
    deploy = dynamic["DefinitionSubstitutions.Queue"]
    assert "CloudFormation generates it" in deploy and "run time" not in deploy and "States.A" not in dynamic
    assert "only known at run time" in dynamic["States.B"]
    read = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                                            "Parameters": {"Bucket.$": "$.bucket", "Key": "k"}, "End": True}}}
    _, out, _ = run("policy", write(tmp_path, read, "read.json"), *CONTEXT, "--format", "json")
    said = {f["code"]: f["message"] for f in findings(out) if f["path"] == "States.T"}
    assert "not granted" in said["WILDCARD_READ"] and "WILDCARD_WRITE" not in said  # a read is not called a write
    assert said["DYNAMIC_RESOURCE"].endswith("granted only where the guardrails allow it (see WILDCARD_READ)")


def test_json_is_one_object_even_for_a_usage_error() -> None:
    code, out, err = run("policy", "--format", "json", "--fail-on", "severe", "x.json")
    data = json.loads(out)
    assert code == 2 and data["results"] == [] and "unknown severity 'severe'" in data["errors"][0]["message"]
    assert err.startswith("usage: sfn-iam policy")
    assert out == json.dumps(data, indent=2) + "\n"
    code, out, _ = run("policy", "--fail-on", "severe", "x.json")
    assert code == 2 and out == ""
    for words in (("json", "--fail-on", "severe"), ("x.json", "--format", "text", "--fail-on", "severe")):
        code, out, _ = run("policy", *words)  # a file named json, or --format of another format: no JSON
        assert code == 2 and out == ""


def test_main_reads_the_process_arguments_and_stdin_when_given_none(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    definition = json.dumps({"StartAt": "T", "States": {"T": {"Type": "Task", "End": True,
                                                              "Resource": "arn:aws:states:::sns:publish",
                                                              "Parameters": {"TopicArn": TOPIC, "Message": "m"}}}})
    monkeypatch.setattr(sys, "argv", ["sfn-iam", "policy", "-", "--region", "us-east-1", "--account", "123456789012",
                                      "--format", "json"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(definition))
    assert main() == 0
    documents = json.loads(capsys.readouterr().out)["results"][0]["documents"]
    assert is_allowed(documents, "sns:Publish", TOPIC)
    out = io.StringIO()
    assert main(["policy", "-", "--format", "json"], out=out, err=io.StringIO(), stdin=io.StringIO(definition)) == 0
    assert is_allowed(json.loads(out.getvalue())["results"][0]["documents"], "sns:Publish", TOPIC)


def test_the_package_face_keeps_its_constants_and_the_lazy_progress_bar() -> None:
    from sfn_iam import cli
    from sfn_iam.cli import sources, sweep

    assert cli.MAX_INPUT_CHARS == sources.MAX_INPUT_CHARS
    assert cli.ProgressBar is sweep.ProgressBar
    assert not hasattr(cli, "Nope") and not hasattr(cli, "ProgressBa")  # any other name: AttributeError
    assert getattr(cli, "".join(["Progress", "Bar"])) is sweep.ProgressBar  # a name built at run time, too
    defaults = cli.build_parser("sweep").parse_args(["sweep"])
    assert (defaults.workers, defaults.iam_rate, defaults.mode) == (4, 10.0, "report")  # as its --help says


def test_ceiling_fills_only_the_placeholders_given(capsys: pytest.CaptureFixture[str]) -> None:
    for args, filled, kept in ((["--account", "111122223333"], "111122223333", "${AWS::StackName}"),
                               (["--stack-name", "shop"], "shop", "${AWS::AccountId}"),
                               (["--partition", "aws-cn"], "aws-cn", "${AWS::AccountId}"),
                               ([], "${AWS::AccountId}", "${AWS::StackName}")):
        code, text, _ = run("ceiling", *args)
        assert code == 0
        assert filled in text and kept in text
        assert text == json.dumps(json.loads(text), indent=2) + "\n"  # printed as a person reads and diffs it
    compact = {flag: len(json.dumps(json.loads(run("ceiling", *flag)[1]), separators=(",", ":")))
               for flag in ((), ("--boundary",))}
    assert compact[("--boundary",)] < compact[()]  # the boundary: wider wildcards, to fit IAM's size limit
    code, text, _ = run("ceiling", "--account", "111122223333")
    assert "${AWS::AccountId}" not in text


def test_the_help_width_without_a_terminal_is_argparses(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from sfn_iam.cli import _columns, _Formatter, build_parser

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "__stdout__", None)  # no terminal to ask (a pipeline's runner, pythonw)
    assert _columns() == 80
    monkeypatch.setattr(sys, "__stdout__", sys.stdout)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((132, 40)))  # a terminal 132 wide
    for columns, expected in ((None, 132), ("0", 132), ("1", 1), ("-3", 132)):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        assert _columns() == expected == shutil.get_terminal_size().columns  # as shutil (and argparse) read it
    monkeypatch.setenv("COLUMNS", "200")
    ours, theirs = _Formatter("sfn-iam"), argparse.HelpFormatter("sfn-iam")
    assert (ours._width, ours._max_help_position) == (theirs._width, theirs._max_help_position)
    monkeypatch.setenv("COLUMNS", "100")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for p in (parser, sub.choices["policy"], sub.choices["sweep"]):
        text = p.format_help()
        p.formatter_class = argparse.HelpFormatter
        assert text == p.format_help()  # laid out exactly as argparse lays it out (indents, columns, wrapping)
