"""Residual access (fixing/residual.py): the exact words and orders its findings carry, and the edges of its checks
that mutation testing found untested (docs/mutation.md)."""

from __future__ import annotations

import json
from typing import Any

from sfn_iam.fixing import residual
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.ports import Role
from tests.fakes import ACCOUNT, FakeRoles

SETTINGS = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})
ROLE = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/R"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
BASE = "sfn-iam.us-east-1.M"
HERE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def admin(*statements: dict[str, Any]) -> str:
    return residual.admin_reason(residual.OtherPolicy("inline", "p", "", doc(*statements)), ROLE)


def test_labels_and_finding_words() -> None:
    assert residual.OtherPolicy("inline", "n").label == "inline policy n"
    assert residual.OtherPolicy("managed", "n", "arn:x").label == "managed policy arn:x"
    assert residual.OtherPolicy("managed", "n").label == "managed policy n"
    policy = residual.OtherPolicy("inline", "n")
    for count, tail in ((3, "e2"), (5, "e4"), (6, "e4 and 1 more"), (7, "e4 and 2 more")):
        r = residual.Residual(ROLE, policy, tuple(f"e{i}" for i in range(count)))
        assert r.finding().message.endswith(f"need: {', '.join(f'e{i}' for i in range(min(count, 5)))}"
                                            + tail[2:]), (count, r.finding().message)


def test_a_removed_policy_keeps_its_document_only_when_inline() -> None:
    d = doc(allow("s3:GetObject", "*"))
    inline = residual.Residual(ROLE, residual.OtherPolicy("inline", "n", "", d), ("x",), removed=True).to_dict()
    managed = residual.Residual(ROLE, residual.OtherPolicy("managed", "m", "arn:m", d), ("x",), removed=True).to_dict()
    assert inline["document"] == d and managed["document"] is None
    assert "document" not in residual.Residual(ROLE, residual.OtherPolicy("inline", "n", "", d), ("x",)).to_dict()


def test_a_document_read_from_json_is_read() -> None:
    text = '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
    assert residual.grants(json.loads(text))  # strings that are equal, not identical


def test_conditions_are_compared_whatever_the_order_of_their_keys() -> None:
    need = residual.grants(doc(allow("s3:GetObject", "*", Condition={
        "StringEquals": {"aws:ResourceAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "true"}})))
    other = doc(allow("s3:GetObject", "*", Condition={
        "Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:ResourceAccount": ACCOUNT}}))
    assert residual.excess(other, need) == []


def test_admin_reasons_word_by_word() -> None:
    assert admin(allow("*", "*")) == "every action on every resource"
    assert admin(allow("*:*", "*")) == "every action on every resource"
    assert admin(allow("s3:GetObject", "*")) == ""
    assert admin(allow("*", "!x")) == ""  # every action, on one odd resource only
    assert admin(allow("IAM:PassRole", "*")) == "iam:PassRole on any role, user or policy"
    three = ["iam:PassRole", "iam:CreateAccessKey", "sts:AssumeRole"]
    assert admin(allow(three, "*")) == "iam:PassRole, iam:CreateAccessKey, sts:AssumeRole on any role, user or policy"
    assert admin(allow([*three, "iam:AddUserToGroup"], "*")) == (
        "iam:PassRole, iam:CreateAccessKey, iam:AddUserToGroup ... on any role, user or policy")


def test_only_the_aws_managed_admin_policies_are_critical_by_name() -> None:
    harmless = doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))
    for name, arn in (("AdministratorAccess", f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"),
                      ("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
                      ("AdministratorAccess", "arn:aws:iam::aws:policy/job-function/Other")):
        assert residual.admin_reason(residual.OtherPolicy("managed", name, arn, harmless), ROLE) == "", name
    aws = residual.OtherPolicy("managed", "PowerUserAccess", "arn:aws:iam::aws:policy/PowerUserAccess", harmless)
    assert residual.admin_reason(aws, ROLE) == "the AWS managed policy PowerUserAccess"


def test_a_sibling_named_before_the_machine_counts_as_a_need_and_the_most_severe_comes_first() -> None:
    roles = FakeRoles()
    sqs = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    roles.add_role("R", inline={BASE: doc(allow("dynamodb:GetItem", TABLE)), "sfn-iam.us-east-1.A": sqs,
                                "a-team": sqs, "b-table": doc(allow("dynamodb:*", TABLE)),
                                "z-admin": doc(allow("*", "*"))})
    found = residual.inspect(roles, SETTINGS, ROLE, (doc(allow("dynamodb:GetItem", TABLE)),), BASE)
    assert [r.policy.name for r in found] == ["z-admin", "b-table"]


def test_confinement_edges() -> None:
    confined = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                               "Action": "sts:AssumeRole", "Condition": {
                                   "Bool": {"aws:SecureTransport": "true"},
                                   "ArnLike": {"aws:SourceArn": HERE + "*"}}}]}
    assert residual.confined_to_region(confined, ROLE, "us-east-1")  # another operator first
    assert not residual.confined_to_region(confined, f"arn:aws:iam::{ACCOUNT}", "us-east-1")  # five parts
    here = "".join(["us-east-", "1"])  # equal to the sweep's Region, not the same object
    role = Role(ROLE, "R", "/stepfunctions/", confined, last_used_region=here)
    assert residual.removal_problem(role, SETTINGS, "us-east-1", (), ()) == ""


def test_confinement_reads_what_iam_returns_and_names_the_first_evidence() -> None:
    confined = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                               "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceArn": HERE + "*"}}},
                              {"Sid": "no effect: no grant", "Action": "sts:AssumeRole"}]}
    assert residual.confined_to_region(json.loads(json.dumps(confined)), ROLE, "us-east-1")
    vpc = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                          "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceVpc": HERE + "*"}}}]}
    assert not residual.confined_to_region(vpc, ROLE, "us-east-1")
    role = Role(ROLE, "R", "/stepfunctions/", confined, last_used_region="us-west-2")
    assert residual.removal_problem(role, SETTINGS, "us-east-1", (), ()) == (
        "IAM last saw it used in us-west-2 (RoleLastUsed)")
    two = ("sfn-iam.eu-west-1.A", "sfn-iam.eu-west-1.B")
    assert residual.removal_problem(role, SETTINGS, "us-east-1", two, ()).startswith("it carries sfn-iam.eu-west-1.A,")


def test_statements_are_read_one_by_one_whatever_their_shape() -> None:
    single = {"Statement": allow("s3:GetObject", "*")}
    assert len(residual.grants(single)) == 1
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    assert len(residual.grants(doc(deny, allow("s3:GetObject", "*")))) == 1
    assert residual.grants(doc({"Effect": "A", "Action": "*", "Resource": "*"})) == []


def test_pattern_containment_edges() -> None:
    assert not residual.contains("a!c", "a-c") and not residual.contains("a1", "a2")
    assert not residual.contains("ab", "ac") and not residual.contains("a", "A")
    assert residual.contains("S3:GetObject", "s3:getobject", ignore_case=True)


def test_excess_words_and_conditions() -> None:
    need = residual.grants(doc(allow("s3:getobject", "*", Condition={"StringEquals": {"k": "a"}})))
    assert residual.excess(doc(allow("s3:GetObject", "*", Condition={"StringEquals": {"k": "b"}})), need)
    assert residual.excess(doc(allow("S3:GetObject", "*", Condition={"StringEquals": {"k": "a"}})), need) == []
    assert residual.excess(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                               {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": []},
                               {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:x"},
                               {"Effect": "Allow", "NotAction": [], "Resource": "arn:y"}), []) == [
        "every action except iam:* on *", "every action except none on arn:y",
        "s3:GetObject on every resource", "s3:PutObject on every resource except arn:x"]


def test_admin_reasons_look_at_every_statement() -> None:
    assert admin(allow("s3:GetObject", "arn:aws:s3:::b"), allow("*", "*")) == "every action on every resource"
    assert admin({"Effect": "Allow", "NotAction": "*", "Resource": "*"}, allow("*", "*")) == (
        "every action on every resource")
    assert admin({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}) == (
        "every action except s3:GetObject, on every resource")


def test_a_role_gone_meanwhile_has_no_residual_and_a_stale_own_policy_covers_nothing() -> None:
    roles = FakeRoles()
    assert residual.inspect(roles, SETTINGS, ROLE, (), BASE, attached=[]) == []
    roles.add_role("R", inline={BASE: doc(allow("dynamodb:*", TABLE)),  # written for an earlier definition
                                "sfn-iam.us-east-1.A": doc(allow("sqs:SendMessage", "*")),
                                "team": doc(allow("dynamodb:DeleteItem", TABLE))})
    [r] = residual.inspect(roles, SETTINGS, ROLE, (doc(allow("dynamodb:GetItem", TABLE)),), BASE)
    assert r.policy.name == "team"
