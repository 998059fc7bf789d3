"""Reading a state machine encrypted with a customer-managed key: the request Step Functions makes to KMS on the
function's behalf (``kms:Decrypt`` through ``states.<region>.amazonaws.com``, with the machine's ARN as encryption
context) is allowed by both functions' policies, and only that request.

moto keeps a machine's ``encryptionConfiguration`` but never calls KMS, so this is checked on the template's
statements with the IAM evaluator, as IAM would see the request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.evaluate import is_allowed

from .test_template_permissions import RESOURCES, T, _applies

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          **{name: str(p.get("Default", "")) for name, p in T["Parameters"].items()}}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
THROUGH_STATES = {"kms:ViaService": "states.us-east-1.amazonaws.com",
                  "kms:EncryptionContext:aws:states:stateMachineArn": MACHINE}


def _resolve(value: Any) -> Any:
    """The statements with pseudo parameters and parameter defaults substituted; ``!GetAtt`` becomes a stand-in."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m.group(1), f"arn:aws:s3:::{m.group(1)}"),
                      value["Fn::Sub"])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return PSEUDO.get(value["Ref"], f"arn:aws:cloudformation:::resource/{value['Ref']}")
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return "arn:aws:cloudformation:::resource/" + ".".join(value["Fn::GetAtt"])
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _policy(name: str) -> list[dict[str, Any]]:
    statements = [_resolve(_applies(s)) for s in RESOURCES[name]["Properties"]["PolicyDocument"]["Statement"]]
    return [{"Version": "2012-10-17", "Statement": statements}]


@pytest.mark.parametrize("policy", ["RoleFixerAppPolicy", "RoleSweeperAppPolicy"])
def test_step_functions_may_decrypt_a_machine_of_this_account_for_the_function(policy: str) -> None:
    docs = _policy(policy)
    assert is_allowed(docs, "kms:Decrypt", KEY, THROUGH_STATES)
    # the key may live in another account (a key ARN in the encryption configuration)
    assert is_allowed(docs, "kms:Decrypt", KEY.replace("123456789012", "210987654321"), THROUGH_STATES)


@pytest.mark.parametrize("policy", ["RoleFixerAppPolicy", "RoleSweeperAppPolicy"])
@pytest.mark.parametrize("context", [
    {},  # a direct Decrypt by the function
    {"kms:ViaService": "s3.us-east-1.amazonaws.com",
     "kms:EncryptionContext:aws:states:stateMachineArn": MACHINE},  # through another service
    {"kms:ViaService": "states.eu-west-1.amazonaws.com",
     "kms:EncryptionContext:aws:states:stateMachineArn": MACHINE},  # Step Functions of another Region
    {"kms:ViaService": "states.us-east-1.amazonaws.com",
     "kms:EncryptionContext:aws:states:stateMachineArn": MACHINE.replace("123456789012", "210987654321")},
    {"kms:ViaService": "states.us-east-1.amazonaws.com"},  # no state machine context (an activity, say)
], ids=["direct", "other-service", "other-region", "other-account-machine", "no-context"])
def test_no_other_decrypt_is_allowed(policy: str, context: dict[str, str]) -> None:
    assert not is_allowed(_policy(policy), "kms:Decrypt", KEY, context)


@pytest.mark.parametrize("policy", ["RoleFixerAppPolicy", "RoleSweeperAppPolicy"])
@pytest.mark.parametrize("action", ["kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"])
def test_no_other_key_use_is_allowed_through_step_functions(policy: str, action: str) -> None:
    assert not is_allowed(_policy(policy), action, KEY, THROUGH_STATES)
