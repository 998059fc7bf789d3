"""Why a role may not be passed or assumed under a ceiling (engine/guardrails/roles.py ``unfit``): the message names
the role's first grant beyond the ceiling and counts them all, so that an administrator knows what to narrow."""

from __future__ import annotations

import pytest

from sfn_iam.engine.guardrails.ceiling import parse
from sfn_iam.engine.guardrails.roles import unfit

CEILING = parse({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


def _role(*actions: str) -> list[dict[str, object]]:
    return [{"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}]


def test_the_message_names_the_first_grant_beyond_the_ceiling_in_policy_order_and_counts_every_one() -> None:
    why = unfit(CEILING, _role("s3:GetObject", "sqs:SendMessage", "sns:Publish"))
    assert why is not None
    assert "it may do 2 actions beyond" in why and "such as sqs:SendMessage on *;" in why
    assert "sns:Publish" not in why


def test_a_role_whose_grants_fit_the_ceiling_or_that_carries_it_is_fit() -> None:
    assert unfit(CEILING, _role("s3:GetObject")) is None
    assert unfit(CEILING, _role("sqs:SendMessage"), carries_ceiling=True) is None
    assert unfit(CEILING, _role("sqs:SendMessage"), boundary=_role("s3:GetObject")[0]) is None
    assert unfit(CEILING, _role("sqs:SendMessage"), boundary=_role("sqs:SendMessage")[0]) is not None


def test_a_boundary_whose_allow_uses_not_action_leaves_escalation_possible() -> None:
    from sfn_iam.engine.guardrails.roles import admin_equivalence

    everything = _role("*")
    not_s3 = {"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}
    why = admin_equivalence(everything, boundary=not_s3)
    assert why is not None and "its permissions boundary allows" in why
    assert admin_equivalence(everything, boundary=_role("s3:GetObject")[0]) is None


def test_a_grant_of_exactly_the_launch_actions_counts_only_next_to_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_iam.engine.guardrails import roles

    actions = {"ec2:runinstances": "launches code", "iam:passrole": "passes roles"}
    data: tuple[dict[str, str], dict[str, str], frozenset[str]] = (actions, {}, frozenset({"ec2:runinstances"}))
    monkeypatch.setattr(roles, "_admin_data", lambda: data)  # a data set whose only launch action is granted alone
    assert roles.admin_equivalence(_role("ec2:RunInstances")) is None
    why = roles.admin_equivalence(_role("ec2:RunInstances", "iam:PassRole"))
    assert why is not None and "iam:PassRole" in why
