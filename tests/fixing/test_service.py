"""RoleFixer over in-memory ports: every outcome branch, without moto."""

from __future__ import annotations

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.changes import ChangeSet, ReadBackMismatchError, normalize, same
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Orders"
NAME = "sfn-iam.us-east-1.Orders"
SNS = {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
                                        "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
                                                       "Message": "m"}}}}


def many_topics(n: int) -> dict[str, object]:
    states = {f"P{i}": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": f"P{i + 1}",
                        "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-{i:04d}-{'x' * 20}",
                                       "Message": "m"}} for i in range(n)}
    states[f"P{n - 1}"].pop("Next")
    states[f"P{n - 1}"]["End"] = True
    return {"StartAt": "P0", "States": states}


def make(mode: str = "enforce", **roles_kwargs: object) -> tuple[RoleFixer, FakeMachines, FakeRoles, list[float]]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, roles, sleeps = FakeMachines(), FakeRoles(**roles_kwargs), []  # type: ignore[arg-type]
    return RoleFixer(machines, roles, settings, sleep=sleeps.append), machines, roles, sleeps


def test_fix_writes_once_and_is_idempotent() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, SNS, roles.add_role("r"))
    assert fixer.fix(ARN).status is Status.WRITTEN
    assert fixer.fix(ARN).status is Status.UNCHANGED
    assert roles.writes == [("put-inline", "r", NAME)]


def test_describe_is_retried_while_the_machine_is_not_visible_yet() -> None:
    fixer, machines, roles, sleeps = make()
    machines.add(ARN, SNS, roles.add_role("r"))
    machines.invisible_for[ARN] = 2
    assert fixer.fix(ARN).status is Status.WRITTEN
    assert sleeps == [1.0, 2.0]


def test_a_machine_being_deleted_is_gone() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, SNS, roles.add_role("r"), status="DELETING")
    out = fixer.fix(ARN)
    assert (out.status, out.reason) == (Status.GONE, "STATE_MACHINE_GONE")


def test_a_managed_policy_version_is_read_back_and_a_mismatch_is_retried_then_fails() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
    roles, sleeps = FakeRoles(stale_reads=1), []  # type: list[float]
    roles.managed["p"] = {"Version": "2012-10-17", "Statement": []}
    ChangeSet(roles, True, sleeps.append).put_managed("p", doc)  # one stale read, then consistent
    assert sleeps == [0.5]
    roles = FakeRoles(stale_reads=10)
    roles.managed["p"] = {"Version": "2012-10-17", "Statement": []}
    with pytest.raises(ReadBackMismatchError):
        ChangeSet(roles, True, sleeps.append).put_managed("p", doc)


def test_an_inline_policy_is_not_read_back_iams_answer_confirms_it() -> None:
    fixer, machines, roles, sleeps = make(stale_reads=10)
    machines.add(ARN, SNS, roles.add_role("r"))
    assert fixer.fix(ARN).status is Status.WRITTEN
    assert sleeps == [] and roles.stale_reads == 10  # nothing read after the write
    assert roles.roles["r"].inline[NAME]["Statement"]


def test_report_mode_counts_inline_space_itself() -> None:
    fixer, machines, roles, _ = make("report")
    role = roles.add_role("r")
    roles.roles["r"].inline["big"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [f"arn:aws:s3:::b{i:05d}/*" for i in range(420)]}]}
    machines.add(ARN, SNS, role)
    out = fixer.fix(ARN)
    assert (out.status, out.placement) == (Status.PROPOSED, "managed")
    assert roles.writes == []


def test_a_policy_too_large_for_one_inline_document_goes_to_managed_policies() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, many_topics(180), roles.add_role("r"))
    out = fixer.fix(ARN)
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    names = roles.roles["r"].attached
    assert names == [f"{NAME}.{i}" for i in range(1, len(names) + 1)] and len(names) >= 2
    assert roles.roles["r"].inline == {}


def test_relocation_leaves_out_of_scope_roles_alone() -> None:
    fixer, machines, roles, _ = make()
    old = roles.add_role("old")
    machines.add(ARN, SNS, old)
    fixer.fix(ARN)
    roles.roles["old"].tags["sfn-iam:opt-out"] = "yes"
    machines.add(ARN, SNS, roles.add_role("new"))
    out = fixer.fix(ARN, relocate=True)
    assert out.status is Status.WRITTEN
    assert NAME in roles.roles["old"].inline  # opted out since: reported, not touched
    assert any(f.code == "ORPHANED_GRANT" and NAME in f.message for f in out.findings)  # frozen there, said so


def test_delete_of_a_machine_created_again_keeps_its_policy() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, SNS, roles.add_role("r"))
    fixer.fix(ARN)
    out = fixer.remove(ARN)  # the delete event arrives after the machine was created again
    assert out.status is Status.UNCHANGED
    assert NAME in roles.roles["r"].inline


def test_malformed_role_arn_is_skipped() -> None:
    fixer, machines, _, _ = make()
    machines.add(ARN, SNS, "arn:aws:iam::123456789012:user/someone")
    out = fixer.fix(ARN)
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")


def test_a_move_to_a_malformed_role_still_cleans_the_old_role() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, SNS, roles.add_role("old"))
    fixer.fix(ARN)
    machines.add(ARN, SNS, "not-a-role")
    out = fixer.fix(ARN, relocate=True)
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    assert roles.roles["old"].inline == {}


def test_broken_definition_is_skipped_with_a_finding() -> None:
    fixer, machines, roles, _ = make()
    machines.add(ARN, {"NoStates": True}, roles.add_role("r"))
    out = fixer.fix(ARN)
    assert (out.status, out.reason) == (Status.SKIPPED, "DEFINITION_ERROR")
    assert roles.writes == []


def test_normalize_ignores_order_and_single_value_form() -> None:
    a = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["b", "a"]}]}
    b = {"Statement": [{"Resource": ["a", "b"], "Action": ["s3:GetObject"], "Effect": "Allow"}],
         "Version": "2012-10-17"}
    assert normalize(a) == normalize(b)
    assert normalize(a) != normalize({**b, "Version": "2008-10-17"})


def test_a_managed_policy_version_is_read_back_three_times_with_growing_waits() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
    roles, sleeps = FakeRoles(stale_reads=2), []  # type: list[float]
    roles.managed["p"] = {"Version": "2012-10-17", "Statement": []}
    ChangeSet(roles, True, sleeps.append).put_managed("p", doc)  # consistent on the third read
    assert sleeps == [0.5, 1.0]
    roles = FakeRoles(stale_reads=3)
    roles.managed["p"] = {"Version": "2012-10-17", "Statement": []}
    with pytest.raises(ReadBackMismatchError):
        ChangeSet(roles, True, sleeps.append).put_managed("p", doc)


def test_documents_are_the_same_whatever_the_order_of_statements_and_of_their_keys() -> None:
    first = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:us-east-1:1:a"},
        {"Resource": "arn:aws:sqs:us-east-1:1:q", "Action": "sqs:SendMessage", "Effect": "Allow"}]}
    second = {"Statement": [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": "arn:aws:sqs:us-east-1:1:q"},
        {"Resource": "arn:aws:sns:us-east-1:1:a", "Effect": "Allow", "Action": "sns:Publish"}],
        "Version": "2012-10-17"}
    assert same(first, second)


def test_a_machine_changed_during_the_write_is_described_again_and_its_new_definition_placed() -> None:
    fixer, machines, roles, _ = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    queue = {"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                                              "End": True, "Parameters": {
                                                  "QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q",
                                                  "MessageBody": "m"}}}}
    put = roles.put_inline

    def put_then_change(role_name: str, name: str, document: dict[str, object]) -> None:
        put(role_name, name, document)
        machines.add(ARN, queue, role)  # another event updated the machine meanwhile

    roles.put_inline = put_then_change  # type: ignore[method-assign]
    out = fixer.fix(ARN)
    assert "CONCURRENT_CHANGE" in {f.code for f in out.findings}
    granted = [roles.roles["r"].inline[NAME]]
    assert is_allowed(granted, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")
    assert not is_allowed(granted, "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")


def test_a_residual_policy_is_detached_in_enforce_mode_only() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    roles.roles["r"].attached.append("team")
    ChangeSet(roles, False, lambda _: None).detach_other("r", f"arn:aws:iam::{ACCOUNT}:policy/team")
    assert roles.roles["r"].attached == ["team"]
    run = ChangeSet(roles, True, lambda _: None)
    run.detach_other("r", f"arn:aws:iam::{ACCOUNT}:policy/team")
    assert roles.roles["r"].attached == [] and [c.applied for c in run.changes] == [True]
