"""The oracle's own tests: each IAM rule tests/evaluate.py implements, with a request it allows and one it denies.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
reference_policies_condition-single-vs-multi-valued-context-keys.html, reference_policies_elements_resource.html,
reference_policies_variables.html and reference_policies_evaluation-logic.html (same folder).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.evaluate import InvalidPolicy, Unsupported, is_allowed

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:t"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: str | list[str] = "*", resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def when(operator: str, key: str, value: Any, context: dict[str, Any] | None, *,
         action: str = "sns:Publish", resource: str = TOPIC) -> bool:
    """Is the request allowed by one Allow statement carrying ``{operator: {key: value}}``?"""
    return is_allowed([doc(allow(Condition={operator: {key: value}}))], action, resource, context)


# --- action, resource, effect ---------------------------------------------------------------------------------

def test_actions_match_case_insensitively_with_wildcards() -> None:
    policy = [doc(allow("sns:Pub*", TOPIC))]
    assert is_allowed(policy, "SNS:publish", TOPIC)
    assert is_allowed(policy, "sns:PublishBatch", TOPIC)
    assert not is_allowed(policy, "sns:Subscribe", TOPIC)
    assert is_allowed([doc(allow("sns:p?blish", TOPIC))], "sns:Publish", TOPIC)
    assert not is_allowed([doc(allow("sns:p?blish", TOPIC))], "sns:Pblish", TOPIC)


def test_resources_match_case_sensitively() -> None:
    policy = [doc(allow("sns:Publish", TOPIC))]
    assert is_allowed(policy, "sns:Publish", TOPIC)
    assert not is_allowed(policy, "sns:Publish", TOPIC.replace(":t", ":T"))
    bucket = [doc(allow("s3:GetObject", "arn:aws:s3:::Bucket/*"))]
    assert not is_allowed(bucket, "s3:GetObject", "arn:aws:s3:::bucket/k")


def test_resource_wildcard_stays_in_its_arn_segment_unless_it_ends_the_segment() -> None:
    mid_segment = [doc(allow("sns:Publish", f"arn:aws:sns:*-1:{ACCOUNT}:t"))]
    assert is_allowed(mid_segment, "sns:Publish", TOPIC)
    assert not is_allowed(mid_segment, "sns:Publish", f"arn:aws:sns:us:east-1:{ACCOUNT}:t")  # '*' would span a ':'
    single = [doc(allow("sns:Publish", f"arn:aws:sns:us-east-?:{ACCOUNT}:t"))]
    assert is_allowed(single, "sns:Publish", TOPIC)
    assert not is_allowed(single, "sns:Publish", f"arn:aws:sns:us-east-:{ACCOUNT}:t")
    # '*' as the last character of a segment may expand beyond the colon boundaries
    assert is_allowed([doc(allow("sns:Publish", "arn:aws:sns:us-east-1:*"))], "sns:Publish", TOPIC)
    assert is_allowed([doc(allow("sns:Publish", f"arn:aws:sns:*:{ACCOUNT}:t"))], "sns:Publish",
                      f"arn:aws:sns:us-east-1:999:{ACCOUNT}:t")
    assert is_allowed([doc(allow("sns:Publish", "arn:aws:sns:*"))], "sns:Publish", TOPIC)
    assert not is_allowed([doc(allow("sns:Publish", "arn:aws:sns:*"))], "sns:Publish", "arn:aws:sqs:us-east-1:1:q")
    # the sixth segment (the resource) may itself contain colons
    fn = [doc(allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f*"))]
    assert is_allowed(fn, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:prod")
    assert not is_allowed(fn, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:g:prod")


def test_explicit_deny_wins_and_nothing_matching_is_an_implicit_deny() -> None:
    deny = {"Effect": "Deny", "Action": "sns:Publish", "Resource": TOPIC}
    assert not is_allowed([doc(allow()), doc(deny)], "sns:Publish", TOPIC)
    assert is_allowed([doc(allow()), doc(deny)], "sns:Publish", TOPIC + "2")
    assert not is_allowed([doc(allow("sqs:*"))], "sns:Publish", TOPIC)
    assert not is_allowed([], "sns:Publish", TOPIC)


def test_not_action_matches_every_other_action() -> None:
    policy = [doc({"Effect": "Allow", "NotAction": ["iam:*", "sts:AssumeRole"], "Resource": "*"})]
    assert is_allowed(policy, "s3:GetObject", "arn:aws:s3:::b/k")
    assert not is_allowed(policy, "IAM:PassRole", ROLE)
    assert not is_allowed(policy, "sts:AssumeRole", ROLE)


def test_not_resource_matches_every_other_resource() -> None:
    policy = [doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"})]
    assert is_allowed(policy, "s3:GetObject", "arn:aws:s3:::public/k")
    assert not is_allowed(policy, "s3:GetObject", "arn:aws:s3:::secret/k")
    fence = [doc(allow(), {"Effect": "Deny", "Action": "*", "NotResource": ["arn:aws:s3:::mine/*"]})]
    assert is_allowed(fence, "s3:GetObject", "arn:aws:s3:::mine/k")
    assert not is_allowed(fence, "s3:GetObject", "arn:aws:s3:::theirs/k")


# --- string operators and condition-key names ---------------------------------------------------------------------

def test_condition_key_names_are_case_insensitive() -> None:
    assert when("StringEquals", "iam:PassedToService", "states.amazonaws.com",
                {"iam:passedtoservice": "states.amazonaws.com"})
    assert when("StringEquals", "IAM:PASSEDTOSERVICE", "states.amazonaws.com",
                {"iam:PassedToService": "states.amazonaws.com"})
    assert not when("StringEquals", "iam:PassedToService", "states.amazonaws.com",
                    {"iam:passedtoservice": "ec2.amazonaws.com"})


def test_string_values_are_case_sensitive_unless_ignore_case() -> None:
    assert not when("StringEquals", "k", "Prod", {"k": "prod"})
    assert when("StringEquals", "k", "Prod", {"k": "Prod"})
    assert when("StringEqualsIgnoreCase", "k", "Prod", {"k": "pROD"})
    assert not when("StringEqualsIgnoreCase", "k", "Prod", {"k": "dev"})
    assert not when("StringNotEqualsIgnoreCase", "k", "Prod", {"k": "pROD"})
    assert when("StringNotEquals", "k", "Prod", {"k": "prod"})


def test_string_like_takes_wildcards_string_equals_does_not() -> None:
    assert when("StringLike", "s3:prefix", "in/*", {"s3:prefix": "in/a/b"})
    assert not when("StringLike", "s3:prefix", "in/*", {"s3:prefix": "In/a"})
    assert when("StringLike", "k", "a?c", {"k": "abc"})
    assert not when("StringLike", "k", "a?c", {"k": "ac"})
    assert not when("StringEquals", "s3:prefix", "in/*", {"s3:prefix": "in/a"})
    assert when("StringEquals", "s3:prefix", "in/*", {"s3:prefix": "in/*"})
    assert not when("StringNotLike", "k", "in/*", {"k": "in/a"})
    assert when("StringNotLike", "k", "in/*", {"k": "out/a"})


def test_several_values_are_ored_and_nored_for_negated_operators() -> None:
    assert when("StringEquals", "k", ["a", "b"], {"k": "b"})
    assert not when("StringEquals", "k", ["a", "b"], {"k": "c"})
    assert not when("StringNotEquals", "k", ["a", "b"], {"k": "b"})
    assert when("StringNotEquals", "k", ["a", "b"], {"k": "c"})


def test_json_booleans_and_numbers_compare_as_iam_strings() -> None:
    assert when("StringEquals", "k", True, {"k": "true"})
    assert not when("StringEquals", "k", True, {"k": "True"})
    assert when("StringEquals", "k", 5, {"k": "5"})
    assert not when("StringEquals", "k", 5, {"k": "6"})
    assert when("StringEquals", "k", "true", {"k": True})  # a context value given as a Python bool


def test_several_keys_and_operators_are_anded() -> None:
    policy = [doc(allow(Condition={"StringEquals": {"a": "1", "b": "2"}, "StringLike": {"c": "x*"}}))]
    assert is_allowed(policy, "sns:Publish", TOPIC, {"a": "1", "b": "2", "c": "xy"})
    assert not is_allowed(policy, "sns:Publish", TOPIC, {"a": "1", "b": "2", "c": "yx"})
    assert not is_allowed(policy, "sns:Publish", TOPIC, {"a": "1", "c": "xy"})


# --- absent keys, IfExists, Null ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("operator", "value", "holds"), [
    ("StringEquals", "a", False),
    ("StringLike", "*", False),
    ("ArnLike", "arn:aws:*:*:*:*", False),
    ("NumericLessThan", "10", False),
    ("Bool", "true", False),
    ("StringNotEquals", "a", True),
    ("StringNotLike", "*", True),
    ("ArnNotLike", "arn:aws:*:*:*:*", True),
    ("ArnNotEquals", "arn:aws:s3:::b", True),
    ("NumericNotEquals", "10", True),
    ("DateNotEquals", "2020-01-01T00:00:00Z", True),
    ("NotIpAddress", "10.0.0.0/8", True),
    ("StringEqualsIfExists", "a", True),
    ("NumericLessThanIfExists", "10", True),
])
def test_a_key_absent_from_the_request(operator: str, value: str, holds: bool) -> None:
    assert when(operator, "absent:Key", value, {"other:Key": "a"}) is holds


def test_if_exists_applies_the_operator_when_the_key_is_present() -> None:
    assert when("StringEqualsIfExists", "k", "a", {"k": "a"})
    assert not when("StringEqualsIfExists", "k", "a", {"k": "b"})
    assert when("StringNotEqualsIfExists", "k", "a", {"k": "b"})
    assert not when("StringNotEqualsIfExists", "k", "a", {"k": "a"})


def test_null_checks_presence() -> None:
    assert when("Null", "k", "true", {})
    assert not when("Null", "k", "true", {"k": "v"})
    assert when("Null", "k", False, {"k": "v"})
    assert not when("Null", "k", False, {})
    with pytest.raises(InvalidPolicy):
        when("NullIfExists", "k", "true", {})
    with pytest.raises(InvalidPolicy):
        when("Null", "k", "yes", {})


# --- ARN operators ------------------------------------------------------------------------------------------------

SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:m"


@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals"])
def test_arn_operators_take_wildcards_segment_by_segment(operator: str) -> None:
    pattern = f"arn:aws:states:*:{ACCOUNT}:stateMachine:*"
    assert when(operator, "aws:SourceArn", pattern, {"aws:SourceArn": SM})
    assert when(operator, "aws:SourceArn", pattern, {"aws:SourceArn": SM + ":alias"})  # the sixth segment
    assert not when(operator, "aws:SourceArn", pattern, {"aws:SourceArn": SM.replace(ACCOUNT, "999999999999")})
    # a '*' in the region segment does not span into the account segment
    spanning = f"arn:aws:states:us-east-1:999:{ACCOUNT}:stateMachine:m"
    assert not when(operator, "aws:SourceArn", f"arn:aws:states:*:{ACCOUNT}:stateMachine:m",
                    {"aws:SourceArn": spanning})
    assert not when(operator, "aws:SourceArn", f"arn:aws:states:us-east-?:{ACCOUNT}:stateMachine:m",
                    {"aws:SourceArn": f"arn:aws:states:us-east-:{ACCOUNT}:stateMachine:m"})
    assert not when(operator, "aws:SourceArn", pattern, {"aws:SourceArn": SM.replace(":m", ":M").upper()})


def test_arn_operators_are_case_sensitive_and_negate() -> None:
    assert not when("ArnEquals", "aws:SourceArn", SM.replace(":m", ":M"), {"aws:SourceArn": SM})
    assert not when("ArnNotLike", "aws:SourceArn", f"arn:aws:states:*:{ACCOUNT}:*", {"aws:SourceArn": SM})
    assert when("ArnNotLike", "aws:SourceArn", f"arn:aws:states:*:{ACCOUNT}:*",
                {"aws:SourceArn": SM.replace(ACCOUNT, "999999999999")})


def test_arn_operator_value_without_six_segments_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="six"):
        when("ArnLike", "aws:SourceArn", "arn:aws:states:*", {"aws:SourceArn": SM})


# --- set operators and multi-valued keys --------------------------------------------------------------------------

TAGS = {"aws:TagKeys": ["env", "team"]}


def test_for_all_values_requires_every_request_value_to_match() -> None:
    assert when("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team", "cost"], TAGS)
    assert not when("ForAllValues:StringEquals", "aws:TagKeys", ["env"], TAGS)
    assert when("ForAllValues:StringLike", "aws:TagKeys", ["e*", "t*"], TAGS)


def test_for_any_value_requires_one_request_value_to_match() -> None:
    assert when("ForAnyValue:StringEquals", "aws:TagKeys", "team", TAGS)
    assert not when("ForAnyValue:StringEquals", "aws:TagKeys", ["cost", "owner"], TAGS)


def test_set_operators_on_absent_or_empty_keys() -> None:
    contexts: list[dict[str, Any]] = [{}, {"aws:TagKeys": []}]
    for context in contexts:
        assert when("ForAllValues:StringEquals", "aws:TagKeys", "env", context)
        assert not when("ForAnyValue:StringEquals", "aws:TagKeys", "env", context)
    assert when("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "env", {})
    assert not when("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "env", {"aws:TagKeys": ["x"]})


def test_negated_set_operators() -> None:
    # the documented Deny example: ForAllValues:StringNotLike {"aws:TagKeys": "key1*"}
    assert not when("ForAllValues:StringNotLike", "aws:TagKeys", "key1*", {"aws:TagKeys": ["key1:hr", "key1:x"]})
    assert when("ForAllValues:StringNotLike", "aws:TagKeys", "key1*", {"aws:TagKeys": ["key2:audit"]})
    assert when("ForAllValues:StringNotLike", "aws:TagKeys", "key1*", {})
    assert when("ForAnyValue:StringNotEquals", "aws:TagKeys", "env", TAGS)
    assert not when("ForAnyValue:StringNotEquals", "aws:TagKeys", "env", {"aws:TagKeys": ["env"]})


def test_a_multi_valued_key_needs_a_set_operator() -> None:
    with pytest.raises(Unsupported, match="multi-valued"):
        when("StringEquals", "aws:TagKeys", "env", TAGS)
    assert when("StringEquals", "k", "env", {"k": ["env"]})  # a one-value list is that value
    assert not when("StringEquals", "k", "env", {"k": ["dev"]})


# --- numeric, date, bool, ip --------------------------------------------------------------------------------------

def test_numeric_operators() -> None:
    assert when("NumericLessThan", "n", "10", {"n": "9"})
    assert not when("NumericLessThan", "n", "10", {"n": "10"})
    assert when("NumericLessThanEquals", "n", 10, {"n": 10})
    assert when("NumericGreaterThan", "n", "10", {"n": "10.5"})
    assert not when("NumericGreaterThanEquals", "n", "10", {"n": "9.99"})
    assert when("NumericEquals", "n", 5, {"n": "5.0"})
    assert not when("NumericEquals", "n", 5, {"n": "50"})
    assert when("NumericNotEquals", "n", [1, 2], {"n": 3})
    assert not when("NumericNotEquals", "n", [1, 2], {"n": 2})
    with pytest.raises(InvalidPolicy):
        when("NumericEquals", "n", "1*", {"n": "10"})  # no wildcards in numeric conditions


def test_date_operators_take_iso_8601_and_epoch() -> None:
    now = {"aws:CurrentTime": "2025-06-01T12:00:00Z"}
    assert when("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z", now)
    assert not when("DateGreaterThan", "aws:CurrentTime", "2030-01-01T00:00:00Z", now)
    assert when("DateGreaterThanEquals", "aws:CurrentTime", 1748779200, now)  # the same instant in epoch seconds
    assert not when("DateLessThan", "aws:CurrentTime", "1748779200", now)
    assert when("DateEquals", "aws:CurrentTime", "2025-06-01T14:00:00+02:00", now)
    assert not when("DateNotEquals", "aws:CurrentTime", "2025-06-01T14:00:00+02:00", now)
    with pytest.raises(InvalidPolicy):
        when("DateLessThan", "aws:CurrentTime", "next year", now)


def test_bool_takes_strings_and_json_booleans() -> None:
    assert when("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"})
    assert when("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": True})
    assert not when("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": "false"})
    assert when("Bool", "aws:SecureTransport", False, {"aws:SecureTransport": False})
    with pytest.raises(InvalidPolicy):
        when("Bool", "aws:SecureTransport", "yes", {"aws:SecureTransport": "true"})


def test_ip_address_operators() -> None:
    assert when("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.7"})
    assert not when("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.7"})
    assert when("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8::1"})
    assert not when("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "203.0.113.7"})
    assert not when("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8", "203.0.113.0/24"], {"aws:SourceIp": "10.1.2.3"})
    assert when("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "203.0.113.7"})


# --- unsupported and invalid input raises -------------------------------------------------------------------------

@pytest.mark.parametrize("operator", ["StringEqualz", "BinaryEquals", "ForSomeValues:StringEquals", "stringequals"])
def test_an_operator_not_modelled_raises(operator: str) -> None:
    with pytest.raises(Unsupported):
        when(operator, "k", "a", {"k": "a"})


def test_an_operator_is_judged_only_when_action_and_resource_match() -> None:
    policy = [doc(allow("sqs:*", Condition={"StringEqualz": {"k": "a"}}))]
    assert not is_allowed(policy, "sns:Publish", TOPIC, {"k": "a"})


@pytest.mark.parametrize(("statement", "error"), [
    ({"Effect": "Allow", "Action": "*", "NotAction": "iam:*", "Resource": "*"}, InvalidPolicy),
    ({"Effect": "Allow", "Action": "*"}, InvalidPolicy),
    ({"Effect": "allow", "Action": "*", "Resource": "*"}, InvalidPolicy),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Conditions": {}}, InvalidPolicy),
    ({"Effect": "Allow", "Action": "*", "Resource": []}, InvalidPolicy),
    ({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}, Unsupported),
])
def test_a_malformed_or_resource_based_statement_raises(statement: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        is_allowed([doc(statement)], "sns:Publish", TOPIC)


def test_context_keys_differing_only_in_case_raise() -> None:
    with pytest.raises(InvalidPolicy):
        is_allowed([doc(allow())], "sns:Publish", TOPIC, {"k": "a", "K": "b"})


# --- policy variables ---------------------------------------------------------------------------------------------

HOME = "arn:aws:s3:::home/${aws:username}/*"


def test_policy_variable_in_resource_resolves_from_the_request() -> None:
    policy = [doc(allow("s3:GetObject", HOME))]
    assert is_allowed(policy, "s3:GetObject", "arn:aws:s3:::home/alice/k", {"aws:username": "alice"})
    assert not is_allowed(policy, "s3:GetObject", "arn:aws:s3:::home/bob/k", {"aws:username": "alice"})
    with pytest.raises(Unsupported, match="absent"):
        is_allowed(policy, "s3:GetObject", "arn:aws:s3:::home/alice/k")


def test_policy_variable_default_and_escapes() -> None:
    with_default = [doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username, 'shared'}/*"))]
    assert is_allowed(with_default, "s3:GetObject", "arn:aws:s3:::home/shared/k")
    assert not is_allowed(with_default, "s3:GetObject", "arn:aws:s3:::home/alice/k")
    literal_star = [doc(allow("s3:GetObject", "arn:aws:s3:::b/${*}"))]
    assert is_allowed(literal_star, "s3:GetObject", "arn:aws:s3:::b/*")
    assert not is_allowed(literal_star, "s3:GetObject", "arn:aws:s3:::b/k")


def test_policy_variables_only_in_version_2012_10_17() -> None:
    old = [doc(allow("s3:GetObject", HOME), version="2008-10-17")]
    assert is_allowed(old, "s3:GetObject", "arn:aws:s3:::home/${aws:username}/k", {"aws:username": "alice"})
    assert not is_allowed(old, "s3:GetObject", "arn:aws:s3:::home/alice/k", {"aws:username": "alice"})


def test_policy_variable_in_a_string_condition() -> None:
    ctx = {"aws:username": "alice"}
    assert when("StringLike", "s3:prefix", "home/${aws:username}/*", {**ctx, "s3:prefix": "home/alice/x"})
    assert not when("StringLike", "s3:prefix", "home/${aws:username}/*", {**ctx, "s3:prefix": "home/bob/x"})
