"""The organisation roll-out: a service-managed StackSet with automatic deployment to every account of the target
OUs in several regions, deploying the *expanded* sfn-iam template (StackSets do not run AWS::Serverless), with no
central role able to change policies across accounts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from . import template

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = ROOT / "stacksets" / "org-rollout.yaml"
sys.path.insert(0, str(ROOT / "stacksets"))

import expand_template  # noqa: E402


def rollout() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(ROLLOUT.read_text(encoding="utf-8"), Loader=template._Loader)
    return data


def expanded() -> dict[str, Any]:
    text = template.TEMPLATE.read_text(encoding="utf-8")
    for local in ("functions/role_fixer/", "functions/role_sweeper/", "functions/sweep_steps/", "layers/sfn_iam/",
                  "statemachines/sweep.asl.json"):
        text = text.replace(f"Uri: {local}", f"Uri: s3://artifacts-us-east-1/{local.strip('/').replace('/', '-')}.zip")
    return expand_template.expand(text)


def test_stack_set_is_service_managed_auto_deployed_multi_region() -> None:
    r = rollout()
    props = r["Resources"]["SfnIamStackSet"]["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert props["TemplateURL"] == {"Ref": "TemplateURL"}
    [group] = props["StackInstancesGroup"]
    assert group["Regions"] == {"Ref": "Regions"} and r["Parameters"]["Regions"]["Type"] == "CommaDelimitedList"
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}}
    assert props["Capabilities"] == ["CAPABILITY_IAM"]  # no CAPABILITY_AUTO_EXPAND: the template is pre-expanded


def test_no_central_role_only_the_stack_set_and_the_trail() -> None:
    types = {res["Type"] for res in rollout()["Resources"].values()}
    assert types == {"AWS::CloudFormation::StackSet", "AWS::S3::Bucket", "AWS::S3::BucketPolicy",
                     "AWS::CloudTrail::Trail"}


def test_organization_trail_is_optional_multi_region_and_organization_wide() -> None:
    r = rollout()
    trail = r["Resources"]["OrganizationTrail"]
    assert trail["Condition"] == "WithOrganizationTrail"
    assert trail["Properties"]["IsOrganizationTrail"] is True and trail["Properties"]["IsMultiRegionTrail"] is True
    stack_parameters = {p["ParameterKey"]: p["ParameterValue"]
                        for p in r["Resources"]["SfnIamStackSet"]["Properties"]["Parameters"]}
    assert stack_parameters["CreateTrail"] == "false"  # the organisation trail serves every account


def test_every_parameter_passed_exists_in_the_expanded_template() -> None:
    passed = {p["ParameterKey"] for p in rollout()["Resources"]["SfnIamStackSet"]["Properties"]["Parameters"]}
    assert passed <= set(expanded()["Parameters"])


def test_expansion_leaves_no_macro_and_reads_code_from_the_regional_bucket() -> None:
    t = expanded()
    assert "Transform" not in t
    types = {res["Type"] for res in t["Resources"].values()}
    assert not {ty for ty in types if ty.startswith("AWS::Serverless::")}
    code = [res["Properties"].get("Code") or res["Properties"].get("Content") for res in t["Resources"].values()
            if res["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion")]
    assert len(code) == 4
    assert all(c["S3Bucket"] == {"Fn::Sub": "${ArtifactBucketPrefix}-${AWS::Region}"} for c in code)
    keys = {c["S3Key"] for c in code}
    assert keys == {"functions-role_fixer.zip", "functions-role_sweeper.zip", "functions-sweep_steps.zip",
                    "layers-sfn_iam.zip"}
    # the sweep state machine's definition file, packaged next to the code
    location = t["Resources"]["SweepStateMachine"]["Properties"]["DefinitionS3Location"]
    assert location["Bucket"] == {"Fn::Sub": "${ArtifactBucketPrefix}-${AWS::Region}"}


def test_roles_in_each_account_are_assumable_by_lambda_only_but_the_sweep_s() -> None:
    resources = expanded()["Resources"]
    for name, res in resources.items():
        if res["Type"] == "AWS::IAM::Role":
            principals = [s["Principal"] for s in res["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
            if name == "SweepStateMachineRole":
                assert principals == [{"Service": "states.amazonaws.com"}], principals
            elif name == "SweepStateMachineScheduleRole":  # SAM's: the schedule starts the sweep, nothing else
                assert principals == [{"Service": ["events.amazonaws.com"]}], principals
                [policy] = res["Properties"]["Policies"]
                [statement] = policy["PolicyDocument"]["Statement"]
                assert statement["Action"] == "states:StartExecution"
                assert statement["Resource"] == {"Ref": "SweepStateMachine"}
            else:
                assert principals == [{"Service": "lambda.amazonaws.com"}], (name, principals)


def test_the_script_refuses_an_unpackaged_template(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "stacksets" / "expand_template.py"), str(template.TEMPLATE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "sam package" in result.stderr
    out = subprocess.run([sys.executable, str(ROOT / "stacksets" / "expand_template.py"), "--placeholder-code",
                          str(template.TEMPLATE)], capture_output=True, text=True, check=True)
    assert "Transform" not in json.loads(out.stdout)
