"""Terraform plans (``terraform show -json``) in: the state machines' policies, and `check` against the role policy the
plan declares. The plans are written by scripts/terraform_plans.py in the documented JSON format."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from scripts import terraform_plans
from sfn_iam.cli import main
from tests.evaluate import is_allowed

CONTEXT = ["--region", terraform_plans.REGION, "--account", terraform_plans.ACCOUNT]


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return terraform_plans.write(tmp_path_factory.mktemp("plans"))


def run(*args: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, *CONTEXT, "--format", "json"], out=out, err=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def test_a_plan_gives_each_state_machine_its_policy(plans: dict[str, Path]) -> None:
    code, data, _ = run("policy", str(plans["role-policy"]))
    (result,) = data["results"]
    assert code == 0 and result["stateMachine"] == "aws_sfn_state_machine.orders"
    assert is_allowed(result["documents"], "lambda:InvokeFunction", terraform_plans.FUNCTION)
    assert is_allowed(result["documents"], "dynamodb:PutItem", terraform_plans.TABLE)
    assert not is_allowed(result["documents"], "dynamodb:PutItem", terraform_plans.TABLE + "-archive")


def test_check_compares_with_the_role_policy_the_plan_declares(plans: dict[str, Path]) -> None:
    code, data, _ = run("check", str(plans["role-policy"]))
    missing = [f for f in data["results"][0]["findings"] if f["code"] == "MISSING_GRANT"]
    assert code == 3
    assert [(f["path"], f["message"].split(" is ")[0]) for f in missing] == [
        ("States.Save", f"dynamodb:PutItem on {terraform_plans.TABLE}")]


def test_policies_attached_in_a_module_are_read(plans: dict[str, Path]) -> None:
    code, data, _ = run("check", str(plans["module-attachment"]))
    (result,) = data["results"]
    assert result["stateMachine"] == "module.orders.aws_sfn_state_machine.orders"
    assert not [f for f in result["findings"] if f["code"] in ("MISSING_GRANT", "UNVERIFIED_GRANT",
                                                                 "NOTHING_TO_COMPARE")]
    assert code == 0


def test_a_definition_known_only_after_apply_is_said(plans: dict[str, Path]) -> None:
    code, data, err = run("policy", str(plans["unknown-definition"]))
    assert code == 1 and data["results"] == []
    assert "known only after apply" in data["errors"][0]["message"] and "Traceback" not in err


def test_another_major_format_version_is_refused(tmp_path: Path) -> None:
    plan = terraform_plans.cases()["role-policy"]
    plan["format_version"] = "2.0"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    code, data, _ = run("policy", str(path))
    assert code == 1 and "format version '2.0' is not supported" in data["errors"][0]["message"]
