"""The offline CLI: output shapes, findings on stderr, exit codes, and one-line errors instead of tracebacks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sfn_iam.cli import main
from tests.helpers import ACCOUNT, REGION, task, without_notes

LAMBDA = task("arn:aws:states:::lambda:invoke", {"FunctionName": "orders", "Payload.$": "$"})
DYNAMIC = task("arn:aws:states:::sqs:sendMessage", {"QueueUrl.$": "$.q", "MessageBody": "x"})


def run(tmp_path: Path, data: object, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "input.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    out, err = io.StringIO(), io.StringIO()
    context = [] if "--state-machine-arn" in args else ["--region", REGION, "--account", ACCOUNT]
    code = main(["policy", str(path), *context, *args], out=out, err=err)
    return code, out.getvalue(), without_notes(err.getvalue())


def test_the_default_ceiling_is_announced_once_and_a_given_one_is_not(tmp_path: Path) -> None:
    """Which ceiling decided is said on stderr as a note when it refused something (the error and finding lines stay
    as they were); a happy path says nothing."""
    path = tmp_path / "input.json"
    path.write_text(json.dumps(LAMBDA))
    out, err = io.StringIO(), io.StringIO()
    assert main(["policy", str(path), "--region", REGION, "--account", ACCOUNT], out=out, err=err) == 0
    assert not [line for line in err.getvalue().splitlines() if line.startswith("sfn-iam: note: ")]
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({"StartAt": "S", "States": {"S": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:stopInstances",
        "Parameters": {"InstanceIds": ["i-0123456789abcdef0"]}, "End": True}}}))
    out, err = io.StringIO(), io.StringIO()
    main(["policy", str(refused), "--region", REGION, "--account", ACCOUNT, "--fail-on", "none"], out=out, err=err)
    notes = [line for line in err.getvalue().splitlines() if line.startswith("sfn-iam: note: ")]
    assert len(notes) == 1 and "default ceiling" in notes[0]
    own = tmp_path / "ceiling.json"
    own.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}))
    out, err = io.StringIO(), io.StringIO()
    assert main(["policy", str(path), "--region", REGION, "--account", ACCOUNT, "--ceiling", str(own)],
                out=out, err=err) == 0
    assert "default ceiling" not in err.getvalue()
    assert json.loads(out.getvalue())["Statement"][0]["Action"] == ["lambda:InvokeFunction"]


def test_raw_definition_prints_one_document(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, LAMBDA)
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert doc["Statement"][0]["Resource"] == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"]


def test_state_machine_arn_sets_region_and_account(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, LAMBDA, "--state-machine-arn",
                       "arn:aws-cn:states:cn-north-1:210987654321:stateMachine:X")
    assert code == 0
    assert json.loads(out)["Statement"][0]["Resource"] == ["arn:aws-cn:lambda:cn-north-1:210987654321:function:orders"]


def test_describe_state_machine_response_uses_its_settings(tmp_path: Path) -> None:
    response = {
        "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Orders",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/OrdersRole",
        "definition": json.dumps(LAMBDA), "type": "STANDARD",
        "loggingConfiguration": {"level": "ERROR", "includeExecutionData": False},
        "tracingConfiguration": {"enabled": True},
    }
    code, out, _ = run(tmp_path, response)
    actions = {a for s in json.loads(out)["Statement"] for a in s["Action"]}
    assert code == 0
    assert {"logs:CreateLogDelivery", "xray:PutTraceSegments", "lambda:InvokeFunction"} <= actions


def test_findings_go_to_stderr_with_code_severity_and_path(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, DYNAMIC)
    assert code == 0
    assert err.startswith("MEDIUM DYNAMIC_RESOURCE at States.T: ")


def test_fail_on_sets_the_exit_code(tmp_path: Path) -> None:
    assert run(tmp_path, DYNAMIC, "--fail-on", "medium")[0] == 3
    assert run(tmp_path, DYNAMIC, "--fail-on", "high")[0] == 0


def test_explain_names_the_states(tmp_path: Path) -> None:
    _, _, err = run(tmp_path, LAMBDA, "--explain")
    assert "lambda:InvokeFunction <- States.T" in err


def test_several_documents_print_as_an_array(tmp_path: Path) -> None:
    states = {f"S{i}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": f"a-rather-long-function-name-number-{i:04d}"}, "End": True}
              for i in range(300)}
    code, out, err = run(tmp_path, {"StartAt": "S0", "States": states})
    assert code == 0
    assert isinstance(json.loads(out), list) and len(json.loads(out)) > 1
    assert "POLICY_SPLIT" in err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must be an object"),
        ({"foo": 1}, "neither 'States'"),
        ({"StartAt": "A", "States": []}, "DEFINITION_ERROR: States: must be of type object"),
        ({"definition": "{]", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:X"},
         "not valid JSON"),
        ({"definition": "{}", "stateMachineArn": "not-an-arn"}, "not a state machine ARN"),
    ],
)
def test_invalid_input_is_one_line_and_exit_1(tmp_path: Path, data: object, message: str) -> None:
    code, out, err = run(tmp_path, data)
    assert code == 1 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["policy", str(tmp_path / "nope.json")], out=out, err=err) == 1
    assert "cannot read" in err.getvalue()


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(LAMBDA))
    proc = subprocess.run([sys.executable, "-m", "sfn_iam.cli", "policy", str(path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Version"] == "2012-10-17"
