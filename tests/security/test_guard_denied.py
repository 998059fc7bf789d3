"""The second line's deny-list answer is remembered per action (engine/guardrails/guard.py ``GuardPolicy.denied``):
the same answer every time, and a policy built from another one never inherits its answers."""

from __future__ import annotations

import pytest

from sfn_iam.engine.guardrails.guard import GuardPolicy
from sfn_iam.engine.guardrails.lists import DenyEntry


def test_the_first_matching_entry_is_the_answer_and_stays_the_answer() -> None:
    first, second = DenyEntry("iam:*", "rewrites permissions"), DenyEntry("iam:PassRole", "passes roles")
    policy = GuardPolicy(deny=(first, second))
    assert policy.denied("iam:PassRole") is first
    assert policy.denied("iam:PassRole") is first
    assert policy.denied("s3:GetObject") is None and policy.denied("s3:GetObject") is None


def test_a_policy_with_another_deny_list_answers_for_itself() -> None:
    policy = GuardPolicy(deny=(DenyEntry("iam:PassRole", "passes roles"),))
    assert policy.denied("iam:PassRole") is not None
    assert policy._replace(deny=()).denied("iam:PassRole") is None
    assert GuardPolicy(deny=()) == policy._replace(deny=())  # what was remembered is not part of the settings


def test_a_policy_is_read_only_equal_and_hashed_by_its_settings_and_copied_with_replace() -> None:
    entry = DenyEntry("iam:PassRole", "passes roles")
    policy = GuardPolicy(deny=(entry,), verified_roles=True)
    policy.denied("iam:PassRole")  # remembered: not part of what it is
    same = GuardPolicy(deny=(entry,), verified_roles=True)
    assert policy == same and hash(policy) == hash(same) and len({policy, same}) == 1
    assert policy != GuardPolicy(deny=(entry,)) and policy != (entry,)
    assert "verified_roles=True" in repr(policy) and "deny=(DenyEntry(" in repr(policy)
    with pytest.raises(AttributeError):
        policy.deny = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del policy.deny  # type: ignore[misc]
    with pytest.raises(ValueError, match="unexpected field names"):
        policy._replace(denny=())
    copied = policy._replace(refused_roles=(("arn:aws:iam::123456789012:role/r", "admin"),))
    assert copied.deny == (entry,) and copied.verified_roles and copied.sensitivity is policy.sensitivity
    assert copied.refused_roles == (("arn:aws:iam::123456789012:role/r", "admin"),) and policy.refused_roles == ()
