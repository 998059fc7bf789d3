"""The ceiling (engine/guardrails/ceiling.py) pinned by mutation testing (docs/mutation.md): what its verdicts and
findings say for grants at the edges the other ceiling tests leave out."""

from __future__ import annotations

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.engine.guardrails.ceiling import default, exceeding, parse
from sfn_iam.engine.guardrails.lists import known_actions
from sfn_iam.model import Condition, Requirement
from tests.helpers import ACCOUNT

POLICIES = f"arn:aws:iam::{ACCOUNT}:policy"


def test_the_default_protects_the_managed_policies_under_the_products_own_path() -> None:
    """ProtectThisProduct denies the product's managed-policy path: /sfn-iam/ unless the deployment chose another."""
    for path, protected, other in ((None, "/sfn-iam/", "/custom/"), ("/custom/", "/custom/", "/sfn-iam/")):
        ceiling = default(account=ACCOUNT) if path is None else default(account=ACCOUNT, managed_path=path)
        assert ceiling.check(Requirement("iam:GetPolicy", f"{POLICIES}{protected}x")).denied
        assert not ceiling.check(Requirement("iam:GetPolicy", f"{POLICIES}{other}x")).denied
        _, (finding,) = guardrails.apply([Requirement("iam:GetPolicy", f"{POLICIES}{protected}x", path="States.G")],
                                         GuardPolicy(ceiling), account=ACCOUNT)
        assert finding.code == "OUTSIDE_CEILING" and finding.message.startswith(
            f"iam:GetPolicy on {POLICIES}{protected}x not granted: the default ceiling denies it (statement "
            "ProtectThisProduct)") and finding.message.endswith("; only narrowing that Deny statement would allow it")


def test_a_grant_condition_on_another_key_never_proves_a_conditional_deny_false() -> None:
    """Only the grant's conditions on the Deny's own key can show the Deny cannot apply, whichever key sorts first."""
    ceiling = parse({"Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]})
    in_region = Condition("StringEquals", "aws:RequestedRegion", ("us-east-1",))
    assert ceiling.check(Requirement("sqs:SendMessage", "*", (in_region,))).inside
    for key in ("iam:PassedToService", "aws:PrincipalTag/region", "a:b"):  # after and before the Deny's key
        other = Condition("StringEquals", key, ("us-east-1",))
        assert ceiling.check(Requirement("sqs:SendMessage", "*", (other,))).denied, key


def test_a_statement_without_an_allow_effect_grants_nothing_beyond_the_ceiling() -> None:
    ceiling = parse({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    beyond = {"Action": "sqs:*", "Resource": "*"}
    for effect in ({}, {"Effect": ""}, {"Effect": "Deny"}, {"Effect": "allow"}):
        assert exceeding(ceiling, [{"Statement": [{**beyond, **effect}]}], known_actions()) == [], effect
    assert exceeding(ceiling, [{"Statement": [{**beyond, "Effect": "Allow"}]}], known_actions())
