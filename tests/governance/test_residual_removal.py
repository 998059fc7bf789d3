"""When may the sweep remove a role's residual policies (fixing/residual.py, ``removal_problem``)? Only when it is
provable that nothing outside this Region's sweep uses the role; every other case names why it is kept."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.fixing import residual
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.ports import AttachedPolicy, Role
from tests.fakes import ACCOUNT

SETTINGS = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})
ARN = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/R"
HERE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:"
STATES = {"Service": "states.amazonaws.com"}


def trust(*conditions: dict[str, Any], principal: Any = None) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal or STATES, "Action": "sts:AssumeRole", **(
            {"Condition": c} if c else {})} for c in conditions]}


CONFINED = {"ArnLike": {"aws:SourceArn": HERE + "*"}}


def problem(trust_policy: dict[str, Any], inline: tuple[str, ...] = (), attached: tuple[AttachedPolicy, ...] = (),
            last_used: str = "") -> str:
    role = Role(ARN, "R", "/stepfunctions/", trust_policy, last_used_region=last_used)
    return residual.removal_problem(role, SETTINGS, "us-east-1", inline, attached)


@pytest.mark.parametrize("condition", [
    CONFINED,
    {"ArnEquals": {"aws:SourceArn": HERE + "Orders"}},
    {"StringLike": {"AWS:SourceArn": [HERE + "a*", HERE + "b"]}},
    {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "arnlike": {"aws:SourceArn": HERE + "*"}},
])
def test_a_trust_policy_confined_to_this_regions_machines_is_proof(condition: dict[str, Any]) -> None:
    assert residual.confined_to_region(trust(condition), ARN, "us-east-1")
    assert problem(trust(condition), inline=("sfn-iam.us-east-1.M", "team")) == ""
    assert problem(trust(condition), last_used="us-east-1") == ""


@pytest.mark.parametrize("condition", [
    {},  # no condition at all
    {"StringEquals": {"aws:SourceAccount": ACCOUNT}},  # the account, any Region
    {"ArnLike": {"aws:SourceArn": f"arn:aws:states:*:{ACCOUNT}:stateMachine:*"}},  # any Region
    {"ArnLike": {"aws:SourceArn": f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:*"}},  # another Region
    {"ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:999999999999:stateMachine:*"}},  # another account
    {"ArnLike": {"aws:SourceArn": [HERE + "*", f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:*"]}},
    {"ArnLike": {"aws:SourceArn": [HERE + "*", 7]}},  # a value that is not a string
    {"ArnLike": {"aws:SourceArn": []}},  # no value
    {"ArnLikeIfExists": {"aws:SourceArn": HERE + "*"}},  # true when the key is absent
    {"ForAllValues:ArnLike": {"aws:SourceArn": HERE + "*"}},  # true when the key is absent
    {"ArnNotLike": {"aws:SourceArn": HERE + "*"}},  # everything else
    {"ArnLike": {"aws:SourceAccount": HERE + "*"}},  # another key
    {"ArnLike": HERE + "*"},  # malformed block
    {"ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:" + ACCOUNT + ":activity:*"}},  # not a state machine
])
def test_anything_less_is_no_proof(condition: dict[str, Any]) -> None:
    assert not residual.confined_to_region(trust(condition), ARN, "us-east-1")
    assert "does not confine it to state machines of us-east-1" in problem(trust(condition))


def test_every_allow_statement_must_be_confined() -> None:
    two = trust(CONFINED, {"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert not residual.confined_to_region(two, ARN, "us-east-1")
    deny = {**trust(CONFINED), "Statement": [*trust(CONFINED)["Statement"], {"Effect": "Deny", "Principal": "*",
                                                                                "Action": "sts:AssumeRole"}]}
    assert residual.confined_to_region(deny, ARN, "us-east-1")  # a Deny only takes away
    assert residual.confined_to_region({"Statement": trust(CONFINED)["Statement"][0]}, ARN, "us-east-1")
    assert not residual.confined_to_region({"Statement": []}, ARN, "us-east-1")
    assert not residual.confined_to_region(trust(CONFINED), "not-an-arn", "us-east-1")
    assert not residual.confined_to_region(trust(CONFINED), ARN, "eu-west-1")


def test_the_partition_and_account_come_from_the_role() -> None:
    china = f"arn:aws-cn:iam::{ACCOUNT}:role/R"
    cn = {"ArnLike": {"aws:SourceArn": f"arn:aws-cn:states:cn-north-1:{ACCOUNT}:stateMachine:*"}}
    assert residual.confined_to_region(trust(cn), china, "cn-north-1")
    assert not residual.confined_to_region(trust(cn), ARN, "cn-north-1")


def test_a_policy_of_ours_from_another_region_inline_or_managed_blocks_the_removal() -> None:
    confined = trust(CONFINED)
    assert problem(confined, inline=("sfn-iam.eu-west-1.M",)) == (
        "it carries sfn-iam.eu-west-1.M, written for a state machine of another Region")
    overflow = AttachedPolicy("sfn-iam.eu-west-1.M.1", f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam.eu-west-1.M.1")
    assert "sfn-iam.eu-west-1.M.1, written for a state machine of another Region" in problem(confined,
                                                                                           attached=(overflow,))
    # ours from this Region, someone else's named like ours outside the managed path: no evidence of another Region
    here = AttachedPolicy("sfn-iam.us-east-1.M.1", f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam.us-east-1.M.1")
    theirs = AttachedPolicy("sfn-iam.eu-west-1.X", f"arn:aws:iam::{ACCOUNT}:policy/team/sfn-iam.eu-west-1.X")
    assert problem(confined, inline=("sfn-iam.us-east-1.M", "team"), attached=(here, theirs)) == ""


def test_iam_seeing_the_role_used_in_another_region_blocks_the_removal() -> None:
    assert problem(trust(CONFINED), last_used="eu-west-1") == "IAM last saw it used in eu-west-1 (RoleLastUsed)"


def test_other_principals_block_the_removal() -> None:
    both = trust(CONFINED, principal={"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]})
    assert problem(both) == "its trust policy lets principals other than Step Functions assume it"
