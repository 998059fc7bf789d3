"""fixing/residual.py, pinned by a mutation run (docs/mutation.md): what an other policy compares equal by, a
managed policy of someone else never taken for one of ours, and role ARNs whose path holds a colon."""

from __future__ import annotations

import json
import operator
from typing import Any

from sfn_iam.fixing import residual
from tests.fakes import ACCOUNT, FakeRoles
from tests.fixing.test_residual import BASE, ROLE, SETTINGS, TABLE, allow, doc

OURS = doc(allow(["dynamodb:PutItem", "dynamodb:GetItem"], TABLE))


def test_an_other_policy_is_equal_by_kind_name_and_arn_not_by_the_document_read() -> None:
    a = residual.OtherPolicy("managed", "team", "arn:aws:iam::1:policy/team", OURS)
    same = residual.OtherPolicy("managed", "team", "arn:aws:iam::1:policy/team", None)
    assert a == same and operator.ne(a, same) is False and hash(a) == hash(same) and len({a, same}) == 1
    for other in (residual.OtherPolicy("managed", "teams", "arn:aws:iam::1:policy/team", OURS),
                  residual.OtherPolicy("managed", "team", "arn:aws:iam::1:policy/teams", OURS),
                  residual.OtherPolicy("inline", "team", "arn:aws:iam::1:policy/team", OURS),
                  residual.OtherPolicy("inline", "a"), residual.OtherPolicy("inline", "z")):
        assert a != other and other != a and operator.eq(a, other) is False and operator.eq(other, a) is False
    assert operator.eq(a, None) is False and operator.ne(a, None) is True


def test_a_readable_managed_policy_of_someone_else_is_residual_not_one_of_ours() -> None:
    # Attached at the fixer's own policy path, but not named with its prefix: someone else's, so it is never read as
    # one of the role's own (overflow) policies, which would make it cover itself.
    roles = FakeRoles()
    roles.add_role("R", inline={BASE: OURS}, attached=["team-managed"])
    extra = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    roles.documents[f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/team-managed"] = extra
    [found] = residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE)
    assert found.policy.kind == "managed" and found.policy.name == "team-managed"
    assert found.excess == (f"sqs:SendMessage on arn:aws:sqs:us-east-1:{ACCOUNT}:q",)


def test_a_wildcard_in_the_service_prefix_is_not_every_action() -> None:
    statement = allow("*3:*", "*")  # s3 and every other service ending in 3: no escalation action among them
    policy = residual.OtherPolicy("inline", "p", "", json.loads(json.dumps(doc(statement))))
    assert residual.admin_reason(policy, ROLE) == ""
    every = residual.OtherPolicy("inline", "p", "", json.loads(json.dumps(doc(allow(["s3:*", "*:*"], "*")))))
    assert residual.admin_reason(every, ROLE) == "every action on every resource"


def test_a_role_path_may_hold_a_colon() -> None:
    # IAM paths may contain any ASCII character from ! to DEL, ":" included
    # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, Path).
    role = f"arn:aws:iam::{ACCOUNT}:role/team:a/R"
    prefix = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:SourceArn": prefix + "*"}}}]}
    assert residual.confined_to_region(trust, role, "us-east-1")
    assert not residual.confined_to_region(trust, role, "eu-west-1")


def test_a_grant_with_a_question_mark_is_covered_by_the_same_grant_of_ours() -> None:
    # '?' in a covering pattern stands for one character that is not a wildcard, so only the identical text covers a
    # literal '?': read from JSON, as IAM returns the documents (never the same string objects as ours).
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Ord?rs"
    ours = json.loads(json.dumps(doc(allow("dynamodb:GetItem", table))))
    theirs = json.loads(json.dumps(doc(allow("dynamodb:GetItem", table))))
    needs = residual.grants(ours)
    assert residual.excess(theirs, needs) == []
    wider = json.loads(json.dumps(doc(allow("dynamodb:GetItem", table.replace("Ord?rs", "Or??rs")))))
    assert residual.excess(wider, needs) == [f"dynamodb:GetItem on {table.replace('Ord?rs', 'Or??rs')}"]


def test_a_role_arn_that_is_not_one_is_probed_in_the_aws_partition_and_any_account() -> None:
    passes = residual.OtherPolicy("inline", "p", "", doc(allow("iam:PassRole", "arn:aws:iam::*:role/*")))
    reason = "iam:PassRole on any role, user or policy"
    assert residual.admin_reason(passes, "R") == reason
    assert residual.admin_reason(passes, "arn:aws-cn:iam::x") == reason  # five parts: still not an ARN
    assert residual.admin_reason(passes, "arn:aws-cn:iam::111122223333:role/R") == ""


class _CountingRoles(FakeRoles):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get_inline(self, role: str, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return super().get_inline(role, name)


def test_the_other_machines_policies_are_read_only_when_something_is_not_covered() -> None:
    # The common case costs one read per other policy: the policies of the role's other machines are read only when
    # the current machine's documents leave something uncovered (the module's docstring).
    roles = _CountingRoles()
    covered = doc(allow("dynamodb:GetItem", TABLE))
    roles.add_role("R", inline={BASE: OURS, "sfn-iam.us-east-1.Sibling": OURS, "team": covered})
    assert residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE) == []
    assert roles.reads == ["team"]
    roles.reads.clear()
    roles.roles["R"].inline["team"] = doc(allow("dynamodb:DeleteItem", TABLE))
    [found] = residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE)
    assert found.policy.name == "team" and roles.reads == ["team", "sfn-iam.us-east-1.Sibling"]


def test_another_machines_managed_overflow_policy_counts_as_a_need() -> None:
    queue = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    roles = FakeRoles()
    roles.add_role("R", inline={BASE: OURS, "team": queue}, attached=["sfn-iam.us-east-1.Sibling.1", f"{BASE}.1"])
    roles.managed["sfn-iam.us-east-1.Sibling.1"] = queue
    roles.managed[f"{BASE}.1"] = doc(allow("sns:Publish", "*"))  # our own overflow: stale, covers nothing
    assert residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE) == []
    roles.roles["R"].attached.remove("sfn-iam.us-east-1.Sibling.1")
    [found] = residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE)
    assert found.policy.name == "team"


def test_the_policy_iam_holds_under_the_machines_own_name_is_not_a_need() -> None:
    # What counts for the current machine is its planned documents (``own``), never its policy as IAM still holds it
    # (the previous, wider version): names come back from IAM as new strings, never the base computed here.
    queue = doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"))
    roles = FakeRoles()
    roles.add_role("R", inline={json.loads(json.dumps(BASE)): queue, "team": queue})
    [found] = residual.inspect(roles, SETTINGS, ROLE, (OURS,), BASE)
    assert found.policy.name == "team"


def test_every_statement_after_a_not_action_one_is_judged_too() -> None:
    lines = residual.excess(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                                allow("sqs:SendMessage", "*")), residual.grants(OURS))
    assert lines == ["every action except iam:* on *", "sqs:SendMessage on *"]


def test_every_action_of_a_not_resource_statement_is_named() -> None:
    lines = residual.excess(doc({"Effect": "Allow", "Action": ["sqs:SendMessage", "sns:Publish"],
                                 "NotResource": TABLE}), residual.grants(OURS))
    assert lines == [f"sns:Publish on every resource except {TABLE}",
                     f"sqs:SendMessage on every resource except {TABLE}"]
