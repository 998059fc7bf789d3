"""The ceiling (engine/guardrails/ceiling.py) pinned by mutation testing (docs/mutation.md): what its verdicts and
findings say for grants at the edges the other ceiling tests leave out."""

from __future__ import annotations

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.engine.guardrails.ceiling import default
from sfn_iam.model import Requirement
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
