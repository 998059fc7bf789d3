"""The ceiling (engine/guardrails/ceiling.py) pinned by mutation testing (docs/mutation.md): what its verdicts and
findings say for grants at the edges the other ceiling tests leave out."""

from __future__ import annotations

import json

from sfn_iam.engine import guardrails
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.engine.guardrails.ceiling import default, exceeding, parse
from sfn_iam.engine.guardrails.lists import known_actions
from sfn_iam.engine.guardrails.roles import unfit
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


def test_a_grant_condition_proves_a_conditional_deny_false_after_conditions_on_other_keys() -> None:
    """The grant's own condition on the Deny's key may come after others: each of the grant's conditions is read."""
    ceiling = parse({"Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringNotEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}}}]})
    other = Condition("StringLike", "iam:AssociatedResourceArn", ("arn:aws:ecs:*:*:task/*",))
    ecs = Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",))
    role = f"arn:aws:iam::{ACCOUNT}:role/task"
    assert ceiling.check(Requirement("iam:PassRole", role, (other, ecs))).inside
    assert ceiling.check(Requirement("iam:PassRole", role, (ecs, other))).inside
    assert ceiling.check(Requirement("iam:PassRole", role, (other,))).denied


def test_the_ceiling_vouches_for_a_role_only_when_an_allow_names_it_for_passing_or_assuming() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/worker"

    def vouches(**stmt: object) -> bool:
        return parse({"Statement": [{"Effect": "Allow", "Resource": role, **stmt}]}).vouches_for(role)

    assert vouches(Action="iam:PassRole")
    assert vouches(Action="sts:AssumeRole")
    assert vouches(Action=["IAM:passrole", "sqs:SendMessage"])
    assert not vouches(Action="iam:Pass*")
    assert not vouches(Action="iam:GetRole")
    assert not vouches(Action="iam:PassRole", Effect="Deny")
    assert not parse({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "NotResource": [role]}]}
                     ).vouches_for(role)
    assert not parse({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"{role}*"}]}
                     ).vouches_for(role)


def test_a_ceiling_from_a_policy_or_a_file_is_named_in_its_findings() -> None:
    """Only the built-in default is "the default ceiling"; a policy ARN or a file path (sorting before or after the
    word "default") is quoted."""
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    for source in (f"{POLICIES}/ceiling", "/etc/sfn-iam/ceiling.json", "ceiling.json", "zz.json"):
        verdict = parse(document, source=source).check(Requirement("sqs:SendMessage", "*"))
        assert verdict.why == f"the ceiling ({source}) does not allow it", source
    assert default().check(Requirement("iam:CreateUser", "*")).why == "the default ceiling does not allow it"


def test_exceeding_reads_documents_as_iam_returns_them_after_statements_it_skips() -> None:
    """Documents parsed from JSON text (not the code's own string literals), with a Deny statement first: the Allow
    after it is still read."""
    ceiling = parse({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    text = ('{"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::secret"},'
            ' "not a statement", {"Effect": "Allow", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::b"}]}')
    assert exceeding(ceiling, [json.loads(text)], known_actions()) == [("s3:DeleteBucket", "arn:aws:s3:::b")]


def test_an_action_pattern_in_another_case_stands_for_the_actions_it_matches() -> None:
    ceiling = parse({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]})
    found = exceeding(ceiling, [{"Statement": [{"Effect": "Allow", "Action": "SQS:delete*", "Resource": "*"}]}],
                      known_actions())
    assert found == [("sqs:DeleteMessage", "*"), ("sqs:DeleteQueue", "*")]


def test_exceeding_names_each_action_once_per_statement_as_the_findings_count_actions() -> None:
    """An action outside the ceiling on two resources is one action beyond it, on the first of them: the role's
    finding counts actions."""
    ceiling = parse({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}, source="c.json")
    policy = {"Statement": [{"Effect": "Allow", "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy"],
                             "Resource": ["arn:aws:s3:::a", "arn:aws:s3:::b"]}]}
    assert exceeding(ceiling, [policy], known_actions()) == [("s3:DeleteBucket", "arn:aws:s3:::a"),
                                                            ("s3:PutBucketPolicy", "arn:aws:s3:::a")]
    assert unfit(ceiling, [policy]) == (
        "it may do 2 actions beyond the ceiling (c.json), such as s3:DeleteBucket on arn:aws:s3:::a; give it the "
        "ceiling as its permissions boundary, or narrow its policies")
