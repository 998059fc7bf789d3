"""The policy builder's merging, covered-grant removal, condition blocks, Sids and order (pinned by mutation testing).

Every covered-grant case is checked at the level of requests: removing a grant must never deny a request that
the requirements allowed, and must leave no redundant statement behind.
"""

from __future__ import annotations

import re

import pytest

from sfn_iam.engine import policy
from sfn_iam.model import Condition, Requirement
from tests.evaluate import is_allowed

S3 = "arn:aws:s3:::b"
TAG_A = Condition("StringEquals", "aws:RequestTag/a", ("1",))
TAG_B = Condition("StringEquals", "aws:RequestTag/b", ("2",))
CTX = {"aws:RequestTag/a": "1", "aws:RequestTag/b": "2"}


def grants(reqs: list[Requirement]) -> list[tuple[str, str, str]]:
    """(action, resource, condition block) of every statement."""
    return [(a, r, repr(s.get("Condition"))) for s in policy.statements(reqs) for a in s["Action"]
            for r in s["Resource"]]


def docs(reqs: list[Requirement]) -> list[policy.Document]:
    return policy.documents(reqs, 10**9)[0]


# --- covered grants ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("resource", [f"{S3}/*", f"{S3}/in/x.json"])
def test_the_same_conditions_in_another_order_are_one_grant(resource: str) -> None:
    reqs = [Requirement("s3:GetObject", resource, (TAG_A, TAG_B)),
            Requirement("s3:GetObject", resource, (TAG_B, TAG_A))]
    assert len(grants(reqs)) == 1
    assert is_allowed(docs(reqs), "s3:GetObject", resource.replace("*", "k"), CTX)
    assert not is_allowed(docs(reqs), "s3:GetObject", resource.replace("*", "k"), {"aws:RequestTag/a": "1"})


def test_the_same_values_in_another_order_are_one_grant() -> None:
    two = Condition("StringEquals", "aws:RequestTag/a", ("1", "2"))
    reqs = [Requirement("s3:GetObject", f"{S3}/*", (two,)),
            Requirement("s3:GetObject", f"{S3}/*", (Condition(two.operator, two.key, ("2", "1", "2")),))]
    assert len(grants(reqs)) == 1


def test_of_two_patterns_covering_each_other_the_smaller_stays() -> None:
    reqs = [Requirement("s3:GetObject", f"{S3}/**"), Requirement("s3:GetObject", f"{S3}/*")]
    assert [r for _, r, _ in grants(reqs)] == [f"{S3}/*"]


def test_an_unconditioned_pattern_covers_a_conditioned_one_it_matches_both_ways() -> None:
    reqs = [Requirement("s3:GetObject", f"{S3}/**"), Requirement("s3:GetObject", f"{S3}/*", (TAG_A,))]
    assert grants(reqs) == [("s3:GetObject", f"{S3}/**", "None")]


def test_an_unconditioned_pattern_covers_conditioned_names() -> None:
    reqs = [Requirement("s3:GetObject", f"{S3}/*"), Requirement("s3:GetObject", f"{S3}/k", (TAG_A,))]
    assert grants(reqs) == [("s3:GetObject", f"{S3}/*", "None")]


@pytest.mark.parametrize("name", ["$folder$", "(1).csv", "!x", "#x", " x"])
def test_a_pattern_covers_names_that_sort_before_it(name: str) -> None:
    """``b/*`` covers ``b/$folder$`` although ``$`` sorts before ``*``."""
    reqs = [Requirement("s3:GetObject", f"{S3}/*"), Requirement("s3:GetObject", f"{S3}/{name}")]
    assert [r for _, r, _ in grants(reqs)] == [f"{S3}/*"]


def test_a_pattern_with_text_after_its_wildcard_covers_what_it_matches() -> None:
    reqs = [Requirement("s3:GetObject", f"{S3}/*/x.json"), Requirement("s3:GetObject", f"{S3}/day/x.json")]
    assert [r for _, r, _ in grants(reqs)] == [f"{S3}/*/x.json"]


def test_a_pattern_with_a_question_mark_never_removes_a_wider_pattern() -> None:
    """``b/?x*`` matches the text ``b/*x`` (``?`` takes the ``*``) but does not cover the pattern ``b/*x``."""
    reqs = [Requirement("s3:GetObject", f"{S3}/?x*"), Requirement("s3:GetObject", f"{S3}/*x")]
    d = docs(reqs)
    assert is_allowed(d, "s3:GetObject", f"{S3}/abcx")
    assert is_allowed(d, "s3:GetObject", f"{S3}/ax-more")


def test_an_exact_resource_granted_with_and_without_a_condition_keeps_the_unconditioned_grant() -> None:
    reqs = [Requirement("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
            Requirement("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t", (TAG_A,))]
    assert is_allowed(docs(reqs), "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")


@pytest.mark.parametrize(("patterns", "searched"), [(policy.SUBSUME_LIMIT, True), (policy.SUBSUME_LIMIT + 1, False)])
def test_covered_names_are_searched_up_to_the_pattern_limit(patterns: int, searched: bool) -> None:
    assert policy.SUBSUME_LIMIT == 256
    reqs = [Requirement("s3:GetObject", f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(patterns)]
    reqs.append(Requirement("s3:GetObject", "arn:aws:s3:::bucket-0000/key"))
    resources = [r for _, r, _ in grants(reqs)]
    assert ("arn:aws:s3:::bucket-0000/key" not in resources) is searched
    assert len(resources) == patterns + (0 if searched else 1)


def test_an_action_past_the_pattern_limit_does_not_stop_the_others() -> None:
    reqs = [Requirement("s3:GetObject", f"arn:aws:s3:::bucket-{i:04d}/*") for i in range(policy.SUBSUME_LIMIT + 5)]
    reqs += [Requirement("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
             Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")]
    d = docs(reqs)
    assert is_allowed(d, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")
    assert is_allowed(d, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")


# --- rendering -----------------------------------------------------------------------------------------------------

def test_a_condition_with_several_values_lists_them_all() -> None:
    cond = Condition("StringEquals", "iam:PassedToService", ("states.amazonaws.com", "ecs-tasks.amazonaws.com"))
    [stmt] = policy.statements([Requirement("iam:PassRole", "arn:aws:iam::123456789012:role/r", (cond,))])
    assert stmt["Condition"] == {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com",
                                                                          "states.amazonaws.com"]}}
    d = [policy.document([stmt])]
    for service in cond.values:
        assert is_allowed(d, "iam:PassRole", "arn:aws:iam::123456789012:role/r", {"iam:PassedToService": service})


def test_sid_is_the_services_then_eight_hex_digits() -> None:
    [stmt] = policy.statements([Requirement("sns:Publish", "arn:t")])
    assert re.fullmatch(r"Sns[0-9A-F]{8}", stmt["Sid"]), stmt["Sid"]
    [stmt] = policy.statements([Requirement("sns:Publish", "*"), Requirement("sqs:SendMessage", "*"),
                                Requirement("sns:Subscribe", "*")])
    assert re.fullmatch(r"SnsSqs[0-9A-F]{8}", stmt["Sid"]), stmt["Sid"]


def test_sid_keeps_at_most_48_characters_of_service_names() -> None:
    services = [f"svc{i:02d}" for i in range(20)]  # 5 characters each once title-cased: "Svc00"
    [stmt] = policy.statements([Requirement(f"{s}:Do", "*") for s in services])
    assert stmt["Sid"][:-8] == "".join(s.title() for s in services)[:48]
    assert len(stmt["Sid"]) == 48 + 8


def test_statements_are_ordered_by_first_action_then_first_resource_then_condition() -> None:
    reqs = [
        Requirement("a:A", "arn:9"), Requirement("z:Z", "arn:9"),      # one statement: first action a:A
        Requirement("m:M", "arn:5"),
        Requirement("b:B", "arn:1"), Requirement("b:B", "arn:8"),      # b:B on arn:1 and arn:8
        Requirement("b:B", "arn:4", (TAG_A,)),                        # b:B on arn:4 under a condition
    ]
    order = [(s["Action"], s["Resource"]) for s in policy.statements(reqs)]
    assert order == [(["a:A", "z:Z"], ["arn:9"]), (["b:B"], ["arn:1", "arn:8"]), (["b:B"], ["arn:4"]),
                     (["m:M"], ["arn:5"])]


def test_statements_sharing_action_and_resource_are_ordered_by_their_canonical_condition() -> None:
    like = Condition("StringLike", "s3:prefix", ("in/*",))
    eq_k = Condition("StringEquals", "k", ("v",))
    eq_k2 = Condition("StringEquals", "k2", ("v",))
    reqs = [Requirement("s3:ListBucket", S3, (eq_k2,)), Requirement("s3:ListBucket", S3, (like, eq_k))]
    conditions = [s["Condition"] for s in policy.statements(reqs)]
    # sorted by the condition block's JSON with its keys sorted: {"StringEquals":{"k":...  before  ..."k2":...
    assert conditions == [{"StringEquals": {"k": "v"}, "StringLike": {"s3:prefix": "in/*"}},
                          {"StringEquals": {"k2": "v"}}]


def test_size_counts_a_non_ascii_character_once() -> None:
    plain = policy.document(policy.statements([Requirement("s3:GetObject", f"{S3}/cafe")]))
    accented = policy.document(policy.statements([Requirement("s3:GetObject", f"{S3}/café")]))
    assert policy.size(accented) == policy.size(plain)


# --- findings when splitting ---------------------------------------------------------------------------------------

def test_one_statement_refused_for_size_and_the_rest_in_one_document_is_not_a_split() -> None:
    huge = Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:" + "q" * 7000)
    small = Requirement("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")
    result, findings = policy.documents([huge, small], 6_144)
    assert [f.code for f in findings] == ["POLICY_TOO_LARGE"]
    assert len(result) == 1 and is_allowed(result, "sns:Publish", small.resource)


def test_only_statements_too_large_give_no_document_and_no_split() -> None:
    huge = Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:" + "q" * 7000)
    result, findings = policy.documents([huge], 6_144)
    assert result == [] and [f.code for f in findings] == ["POLICY_TOO_LARGE"]
