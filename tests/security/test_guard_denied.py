"""The second line's deny-list answer is remembered per action (engine/guardrails/guard.py ``GuardPolicy.denied``):
the same answer every time, and a policy built from another one never inherits its answers."""

from __future__ import annotations

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
