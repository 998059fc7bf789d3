"""Write Terraform plans in the JSON format ``terraform show -json PLANFILE`` prints (format version 1.2), for the
tests of `sfn-iam policy|check` on Terraform (tests/cli/test_terraform.py). No terraform binary is needed: the format
is documented (https://developer.hashicorp.com/terraform/internals/json-format) and these plans hold what it says a
plan holds for each case — ``planned_values`` with the values known at plan time, ``resource_changes`` with
``after_unknown`` for the rest, ``configuration`` with each attribute's ``references``.

    .venv/bin/python -m scripts.terraform_plans OUT_DIR     # writes one PLAN.json per case
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REGION, ACCOUNT = "eu-west-1", "210987654321"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
DEFINITION = {"StartAt": "Invoke", "States": {
    "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
               "Parameters": {"FunctionName": FUNCTION, "Payload.$": "$"}, "Next": "Save"},
    "Save": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
             "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}}}, "End": True}}}


def _policy(actions: list[str], resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resource}]})  # jsonencode(...) is a string in the plan


def _resource(address: str, values: dict[str, Any]) -> dict[str, Any]:
    kind, name = address.rsplit(".", 2)[-2:]
    return {"address": address, "mode": "managed", "type": kind, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0, "values": values,
            "sensitive_values": {}}


def plan(resources: dict[str, dict[str, Any]], references: dict[str, dict[str, list[str]]],
         unknown: dict[str, dict[str, bool]] | None = None) -> dict[str, Any]:
    """A plan creating ``resources`` (address -> known values), whose configuration refers as ``references`` says
    (address -> attribute -> references), with ``unknown`` attributes known only after apply."""
    unknown = unknown or {}
    root: dict[str, Any] = {"resources": []}
    modules: dict[str, dict[str, Any]] = {}
    config_root: dict[str, Any] = {"resources": [], "module_calls": {}}
    for address, values in resources.items():
        resource = _resource(address, values)
        if address.startswith("module."):
            module = ".".join(address.split(".")[:2])
            modules.setdefault(module, {"resources": [], "address": module})["resources"].append(resource)
            call = config_root["module_calls"].setdefault(module.split(".")[1], {"module": {"resources": []}})
            target = call["module"]["resources"]
            local = ".".join(address.split(".")[2:])
        else:
            root["resources"].append(resource)
            target = config_root["resources"]
            local = address
        target.append({"address": local, "mode": "managed", "type": resource["type"], "name": resource["name"],
                       "expressions": {attr: {"references": refs}
                                       for attr, refs in references.get(address, {}).items()}})
    if modules:
        root["child_modules"] = list(modules.values())
    changes = [{"address": address, "mode": "managed", "type": address.rsplit(".", 2)[-2],
                "name": address.rsplit(".", 1)[-1],
                "change": {"actions": ["create"], "before": None, "after": values,
                           "after_unknown": {"id": True, "arn": True, **unknown.get(address, {})}}}
               for address, values in resources.items()]
    return {"format_version": "1.2", "terraform_version": "1.9.5",
            "planned_values": {"root_module": root}, "resource_changes": changes,
            "configuration": {"provider_config": {"aws": {"name": "aws", "full_name":
                                                          "registry.terraform.io/hashicorp/aws"}},
                              "root_module": config_root}}


def cases() -> dict[str, dict[str, Any]]:
    role = {"name": "orders-sfn", "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        "inline_policy": [], "path": "/"}
    machine = {"name": "orders", "definition": json.dumps(DEFINITION), "type": "STANDARD",
               "logging_configuration": [], "tracing_configuration": [{"enabled": False}],
               "encryption_configuration": []}
    role_ref = {"role_arn": ["aws_iam_role.sfn.arn", "aws_iam_role.sfn"]}
    return {
        # the role policy invokes the function but does not write the table
        "role-policy": plan(
            {"aws_iam_role.sfn": role, "aws_sfn_state_machine.orders": machine,
             "aws_iam_role_policy.invoke": {"name": "invoke", "policy": _policy(["lambda:InvokeFunction"], FUNCTION)}},
            {"aws_sfn_state_machine.orders": role_ref,
             "aws_iam_role_policy.invoke": {"role": ["aws_iam_role.sfn.id", "aws_iam_role.sfn"]}},
            {"aws_iam_role_policy.invoke": {"role": True}}),
        # in a module: an aws_iam_policy attached to the role, granting both
        "module-attachment": plan(
            {"module.orders.aws_iam_role.sfn": role, "module.orders.aws_sfn_state_machine.orders": machine,
             "module.orders.aws_iam_policy.sfn": {"name": "sfn", "policy": json.dumps({
                 "Version": "2012-10-17", "Statement": [
                     {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION},
                     {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}]})},
             "module.orders.aws_iam_role_policy_attachment.sfn": {}},
            {"module.orders.aws_sfn_state_machine.orders": role_ref,
             "module.orders.aws_iam_role_policy_attachment.sfn": {
                 "role": ["aws_iam_role.sfn.name", "aws_iam_role.sfn"],
                 "policy_arn": ["aws_iam_policy.sfn.arn", "aws_iam_policy.sfn"]}},
            {"module.orders.aws_iam_role_policy_attachment.sfn": {"role": True, "policy_arn": True}}),
        # the definition is built from a function created in the same plan: known only after apply
        "unknown-definition": plan(
            {"aws_iam_role.sfn": role, "aws_sfn_state_machine.orders": {k: v for k, v in machine.items()
                                                                         if k != "definition"}},
            {"aws_sfn_state_machine.orders": role_ref},
            {"aws_sfn_state_machine.orders": {"definition": True}}),
    }


def write(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in cases().items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written[name] = path
    return written


if __name__ == "__main__":
    for name, path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "terraform-plans")).items():
        print(f"{name}: {path}")
