"""What CI tools read: one JSON shape, SARIF, JUnit, distinct exit codes, one-line input errors; the settings file;
``sfn-iam check``."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sfn_iam.cli import main
from sfn_iam.findings import CODES
from tests.cli.test_templates import CDK, CFN, CONTEXT, SAM
from tests.helpers import without_notes

DYNAMIC = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                                             "Parameters": {"QueueUrl.$": "$.q", "MessageBody": "x"}, "End": True}}}


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), without_notes(err.getvalue())


def write(tmp_path: Path, data: Any, name: str = "d.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_json_is_always_one_object_with_results(tmp_path: Path) -> None:
    states = {f"S{i}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": f"a-rather-long-function-name-number-{i:04d}"}, "End": True}
              for i in range(300)}
    big = write(tmp_path, {"StartAt": "S0", "States": states})
    for path in (big, write(tmp_path, DYNAMIC, "small.json")):
        code, out, _ = run("policy", path, *CONTEXT, "--format", "json")
        data = json.loads(out)
        assert code == 0 and set(data) == {"results", "errors", "notes"}
        (r,) = data["results"]
        # a policy too large for a role's inline budget says where its documents go
        assert set(r) - {"placement"} == {"source", "stateMachine", "documents", "findings", "suppressed"}
        assert ("placement" in r) == (len(r["documents"]) > 1)
        assert isinstance(r["documents"], list)
        assert all(set(f) == {"code", "severity", "path", "message"} for f in r["findings"])


@pytest.mark.parametrize(("args", "code"), [
    (["policy"], 2),  # usage
    (["policy", "x.json", "--format", "xml"], 2),
    (["policy", "x.json", "--fail-on", "severe"], 2),
    (["nope"], 2),
])
def test_usage_errors_exit_2(args: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*args)[0] == code


def test_findings_at_fail_on_exit_3_and_input_errors_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path, DYNAMIC)
    assert run("policy", path, *CONTEXT, "--fail-on", "medium")[0] == 3
    assert run("policy", path, *CONTEXT, "--fail-on", "high")[0] == 0
    assert run("policy", str(tmp_path / "missing.json"))[0] == 1


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"),
    ("  \n", "is empty"),
    ("{not json", "is not valid JSON"),
    ("a: [b", "is not valid YAML (line 2, column 1): "),
    ("- 1\n- 2\n", "must be an object"),
])
def test_bad_input_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    code, out, err = run("policy", write(tmp_path, text))
    assert code == 1 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(DYNAMIC).encode())
    assert run("policy", str(path), *CONTEXT)[0] == 0


def test_one_bad_file_among_good_ones_still_reports_the_good_ones(tmp_path: Path) -> None:
    code, out, err = run("policy", str(CDK), write(tmp_path, "{"), *CONTEXT, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert len(data["results"]) == 1 and len(data["errors"]) == 1
    assert "is not valid JSON" in err


ARCHIVE_LINE = next(i for i, line in enumerate((SAM.parent / "orders.asl.yaml").read_text().splitlines(), 1)
                    if line.strip().startswith("Archive:"))


def test_sarif_has_the_required_structure(tmp_path: Path) -> None:
    """No SARIF schema package is available offline: the structure GitHub code scanning requires, checked by hand
    (SARIF 2.1.0 §3.13-§3.27: version, runs[].tool.driver.name, results[].message.text, ruleId, locations)."""
    code, out, _ = run("policy", str(CFN), str(SAM), *CONTEXT, "--format", "sarif")
    sarif = json.loads(out)
    assert code == 3  # the SAM machine's WILDCARD_READ is high: the default --fail-on
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "sfn-iam" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted(set(rule_ids)) and set(rule_ids) <= set(CODES)
    assert run_["results"]
    for result in run_["results"]:
        assert result["ruleId"] in rule_ids and driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note"}
        assert result["message"]["text"]
        (loc,) = result["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith(("template.json", "template.yaml",
                                                                            "orders.asl.yaml"))
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
    # the state machine's own line, for the annotation
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run_["results"]
             if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("template.yaml")}
    assert lines == {19}  # the DefinitionSubstitutions entry left unknown (the states are in the DefinitionUri file)
    archive = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1]:
               r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run_["results"]
               if r["ruleId"] == "WILDCARD_READ"}
    assert archive == {"orders.asl.yaml": ARCHIVE_LINE}  # the line of the state it is about
    for rule in driver["rules"]:  # code scanning's ranking and the help link to the code's own entry
        assert float(rule["properties"]["security-severity"]) > 0
        assert rule["helpUri"].endswith(f"docs/findings.md#{rule['id'].lower()}")


def test_junit_one_case_per_state_machine(tmp_path: Path) -> None:
    code, out, _ = run("policy", str(FIXTURES_DIR), *CONTEXT, "--format", "junit", "--fail-on", "high")
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 3 and suite.get("tests") == "3"
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["OrdersMachine"]  # WILDCARD_READ (high) on the unresolved bucket
    assert suite.get("failures") == "1" and code == 3


FIXTURES_DIR = SAM.parents[1]


def test_config_file_suppresses_with_reason_and_adds_guardrails(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.sfn-iam]\nextra-denied-actions = ["sqs:SendMessage"]\n'
                      '[[tool.sfn-iam.suppress]]\ncode = "WILDCARD_READ"\npath = "States.Archive"\n'
                      'reason = "the archive bucket is chosen at deploy time"\n')
    code, out, err = run("policy", str(SAM), *CONTEXT, "--format", "json", "--config", str(config))
    (r,) = json.loads(out)["results"]
    assert code == 3, err  # BLOCKED_ACTION (high) stays
    assert "WILDCARD_READ" not in {f["code"] for f in r["findings"]}
    assert [(s["code"], s["reason"]) for s in r["suppressed"]] == [
        ("WILDCARD_READ", "the archive bucket is chosen at deploy time")]
    # the setting the ceiling replaced is translated into a Deny statement of the ceiling: refused as outside it
    refused = [f["message"] for f in r["findings"] if f["code"] == "OUTSIDE_CEILING"]
    assert any(m.startswith("sqs:SendMessage ") and "DeniedByThisDeployment" in m for m in refused), refused
    assert not any("sqs:SendMessage" in s["Action"] for d in r["documents"] for s in d["Statement"])


@pytest.mark.parametrize("body", [
    '[[suppress]]\ncode = "DRIFT"\n',  # no reason
    '[[suppress]]\ncode = "NOPE"\nreason = "x"\n',
    'allowed-services = "lambda"\n',
    'colour = "red"\n',
])
def test_bad_config_is_an_input_error(tmp_path: Path, body: str) -> None:
    config = tmp_path / ".sfn-iam.toml"
    config.write_text(body)
    code, _, err = run("policy", str(CDK), "--config", str(config))
    assert code == 1 and err.startswith("sfn-iam: error:")


def test_check_reports_missing_and_excess_grants() -> None:
    code, out, _ = run("check", str(CFN), str(CDK), str(SAM), *CONTEXT, "--stack-name", "shop", "--format", "json")
    by_machine = {r["stateMachine"]: r["findings"] for r in json.loads(out)["results"]}
    assert code == 3  # a missing grant is high: the default --fail-on
    # CloudFormation: the role allows the function but not the topic
    missing = [f for f in by_machine["Pipeline"] if f["code"] == "MISSING_GRANT"]
    assert [(f["path"], f["severity"]) for f in missing] == [("States.Notify", "HIGH")]
    assert "sns:Publish on arn:aws:sns:eu-west-1:210987654321:shop-alerts" in missing[0]["message"]
    # CDK: DeleteItem and the function's qualified ARNs are declared, not needed
    excess = [f for f in by_machine["StateMachine2E01A3A5"] if f["code"] == "EXCESS_GRANT"]
    assert any("dynamodb:DeleteItem" in f["message"] for f in excess)
    assert not any(f["code"] == "MISSING_GRANT" for f in by_machine["StateMachine2E01A3A5"])
    # SAM: sqs:* on * is a wildcard beyond need (high), DynamoDBCrudPolicy grants more than PutItem (medium);
    # the bucket the workflow reads is declared nowhere (missing)
    sam = by_machine["OrdersMachine"]
    assert any(f["code"] == "EXCESS_GRANT" and f["severity"] == "HIGH" and "sqs:*" in f["message"] for f in sam)
    assert any(f["code"] == "EXCESS_GRANT" and "dynamodb:GetItem" in f["message"] and "DynamoDBCrudPolicy" in f["path"]
               for f in sam)
    assert any(f["code"] == "MISSING_GRANT" and "s3:GetObject" in f["message"] and f["path"] == "States.Archive"
               for f in sam)


def _unnamed_bucket_template(tmp_path: Path, declared: str) -> str:
    """A SAM machine reading one key of a bucket CloudFormation names (so ``*`` stands for it on both sides)."""
    definition = {"StartAt": "Get", "States": {"Get": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True,
        "Parameters": {"Bucket": "${Bucket}", "Key": "listing/today.json"}}}}
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Grant": {"Type": "AWS::IAM::RolePolicy", "Properties": {
            "RoleName": {"Ref": "Role"}, "PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": declared}}]}}},
        "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": {
            "Definition": definition, "DefinitionSubstitutions": {"Bucket": {"Ref": "Bucket"}},
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}}}}}
    return write(tmp_path, template, "template.json")


@pytest.mark.parametrize(("declared", "excess"), [
    ("${Bucket.Arn}/listing/today.json", False),  # exactly the need, the bucket unknown on both sides
    ("${Bucket.Arn}/*", True),  # every key of the bucket where one is needed
    ("arn:${AWS::Partition}:s3:::*", True),  # every object of every bucket
])
def test_check_compares_patterns_of_a_name_known_only_at_deployment(tmp_path: Path, declared: str,
                                                                     excess: bool) -> None:
    code, out, _ = run("check", _unnamed_bucket_template(tmp_path, declared), *CONTEXT, "--format", "json",
                       "--fail-on", "none")
    [result] = json.loads(out)["results"]
    codes = [f["code"] for f in result["findings"]]
    assert code == 0 and "MISSING_GRANT" not in codes
    assert ("EXCESS_GRANT" in codes) is excess, result["findings"]


def test_check_fails_on_missing_grants() -> None:
    assert run("check", str(CFN), *CONTEXT, "--fail-on", "high")[0] == 3


def test_sweep_without_boto3_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "botocore", None)
    monkeypatch.setitem(__import__("sys").modules, "botocore.exceptions", None)
    code, _, err = run("sweep", "--region", "eu-west-1")
    assert code == 1
    assert "pip install 'sfn-iam[aws]'" in err


def test_policy_and_check_do_not_import_boto3() -> None:
    import subprocess
    import sys

    probe = ("import sys, io; from sfn_iam.cli import main; "
             f"main(['check', {str(SAM)!r}, '--format', 'json'], out=io.StringIO(), err=io.StringIO()); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'samtranslator')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2] / "layers" / "sfn_iam")
    assert proc.stdout.strip() == "['samtranslator']"  # only its package marker, for the data file
