"""The ceiling as the permissions boundary of every role the fixer writes to (fixing/boundary.py), over fake ports.

The fake IAM refuses a write to a role that does not carry the ceiling, as the template's conditions make IAM do
(``FakeRoles.required_boundary``): a fixer that wrote before setting the boundary would fail these tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.boundary import Boundaries, ForeignBoundaryError
from sfn_iam.fixing.service import PROPOSAL_ID, RoleFixer
from sfn_iam.governance.sweep import Sweeper
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

REGION = "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Orders"
CEILING = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam-ceiling"
OTHER = f"arn:aws:iam::{ACCOUNT}:policy/team/boundary"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:validate"
ENV = {"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/", "DESCRIBE_RETRY_DELAY": "0",
       "CEILING_POLICY_ARN": CEILING}
DEFINITION = {"StartAt": "Validate", "States": {"Validate": {
    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": FUNCTION},
    "End": True}}}
WIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:SendMessage"],
                                                "Resource": "*"}]}


class World:
    def __init__(self, mode: str = "enforce", **role: Any) -> None:
        self.machines, self.roles = FakeMachines(), FakeRoles()
        self.roles.required_boundary = CEILING
        self.role_arn = self.roles.add_role("OrdersRole", **role)
        self.machines.add(SM, DEFINITION, self.role_arn)
        self.fixer = RoleFixer(self.machines, self.roles, config.from_env({**ENV, "MODE": mode}))


def test_a_role_without_a_boundary_gets_the_ceiling_before_the_first_write_and_once() -> None:
    world = World()
    outcome = world.fixer.fix(SM, fresh=True)
    assert world.roles.writes[0] == ("set-boundary", "OrdersRole", CEILING)
    assert world.roles.roles["OrdersRole"].boundary == CEILING
    docs = list(world.roles.roles["OrdersRole"].inline.values())
    assert is_allowed(docs, "lambda:InvokeFunction", FUNCTION)
    assert outcome.changes[0].kind == "set-boundary"
    assert any(f.code == "BOUNDARY_SET" and "set the ceiling" in f.message for f in outcome.findings)
    writes = len(world.roles.writes)
    again = world.fixer.fix(SM)
    assert not any(w[0] == "set-boundary" for w in world.roles.writes[writes:])
    assert not any(f.code == "BOUNDARY_SET" for f in again.findings)


def test_a_role_with_another_boundary_is_never_written_and_the_outcome_says_what_it_would_need() -> None:
    world = World(boundary=OTHER)
    outcome = world.fixer.fix(SM, fresh=True)
    assert world.roles.writes == []
    assert str(outcome.status) == "skipped" and outcome.reason == "FOREIGN_BOUNDARY"
    (finding,) = [f for f in outcome.findings if f.code == "FOREIGN_BOUNDARY"]
    assert OTHER in finding.message and finding.severity.name == "MEDIUM"
    assert is_allowed([d for d in outcome.documents if d.get("Id") != PROPOSAL_ID], "lambda:InvokeFunction", FUNCTION)


def test_report_mode_sets_nothing_and_lists_what_the_boundary_would_take_away() -> None:
    world = World("report", inline={"legacy": WIDE})
    outcome = world.fixer.fix(SM, fresh=True)
    assert world.roles.writes == [] and world.roles.roles["OrdersRole"].boundary is None
    assert any(f.code == "BOUNDARY_SET" and "would set" in f.message for f in outcome.findings)
    (cuts,) = [f for f in outcome.findings if f.code == "BOUNDARY_CUTS"]
    assert cuts.severity.name == "HIGH" and "s3:AbortMultipartUpload on *" in cuts.message
    assert " more;" in cuts.message and "before switching to enforce" in cuts.message


def test_report_mode_says_nothing_is_cut_when_the_other_policies_fit() -> None:
    fits = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::data/*"}]}
    outcome = World("report", inline={"legacy": fits}).fixer.fix(SM, fresh=True)
    assert not any(f.code == "BOUNDARY_CUTS" for f in outcome.findings)


def test_a_delete_on_a_role_carrying_the_ceiling_removes_the_policy() -> None:
    world = World()
    world.fixer.fix(SM, fresh=True)
    world.machines.machines.pop(SM, None)
    outcome = world.fixer.remove(SM)
    assert not world.roles.roles["OrdersRole"].inline
    assert str(outcome.status) == "removed"


def test_the_sweep_gives_existing_managed_roles_the_boundary() -> None:
    world = World()
    Sweeper(world.machines, world.roles, world.fixer.settings, REGION, workers=1).run()
    assert world.roles.roles["OrdersRole"].boundary == CEILING
    assert world.roles.roles["OrdersRole"].inline


def test_without_a_ceiling_arn_nothing_about_boundaries_happens() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    role = roles.add_role("OrdersRole", boundary=OTHER)
    machines.add(SM, DEFINITION, role)
    env = {k: v for k, v in ENV.items() if k != "CEILING_POLICY_ARN"}
    outcome = RoleFixer(machines, roles, config.from_env(env)).fix(SM, fresh=True)
    assert str(outcome.status) == "written" and roles.roles["OrdersRole"].boundary == OTHER


def test_a_role_read_during_the_run_with_another_boundary_stops_the_write() -> None:
    store = FakeRoles()
    store.add_role("Elsewhere", boundary=OTHER)
    store.add_role("Bare")
    guard = Boundaries(store, CEILING, config.from_env(ENV).guard.ceiling_for(ACCOUNT), enforce=True)
    findings: list[Any] = []
    recorded: list[str] = []
    with pytest.raises(ForeignBoundaryError, match=OTHER):
        guard.before_write("Elsewhere", findings, recorded.append)
    guard.before_write("Bare", findings, recorded.append)
    guard.before_write("Bare", findings, recorded.append)
    assert recorded == ["Bare"] and store.roles["Bare"].boundary == CEILING
    assert [f.code for f in findings] == ["BOUNDARY_SET"]


def _cuts_of(actions: list[str], **kwargs: Any) -> tuple[Boundaries, FakeRoles, list[Any]]:
    store = FakeRoles()
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    store.add_role("Wide", inline={"legacy": doc})
    guard = Boundaries(store, CEILING, config.from_env(ENV).guard.ceiling_for(ACCOUNT), enforce=False, **kwargs)
    return guard, store, guard.cuts("Wide")


OUTSIDE = [f"iam:{verb}" for verb in ("CreateUser", "DeleteUser", "CreateGroup", "DeleteGroup", "CreateLoginProfile",
                                      "DeleteLoginProfile", "AttachUserPolicy", "DetachUserPolicy")]


def test_a_cuts_finding_names_five_actions_and_counts_the_rest_exactly() -> None:
    _, _, (finding,) = _cuts_of(OUTSIDE)
    named = finding.message.split("beyond ", 1)[1]
    assert sum(f"{a} on *" in named for a in OUTSIDE) == 5
    assert f" and {len(OUTSIDE) - 5} more;" in finding.message


@pytest.mark.parametrize("count", [3, 5])
def test_a_cuts_finding_with_five_or_fewer_actions_names_them_all_and_no_more(count: int) -> None:
    _, _, (finding,) = _cuts_of(OUTSIDE[:count])
    assert all(f"{a} on *" in finding.message for a in OUTSIDE[:count])
    assert " more;" not in finding.message


def test_cuts_reuse_the_runs_own_read_of_the_role_and_do_not_read_it_again() -> None:
    reads: list[str] = []

    def cached(role: str) -> Any:
        reads.append(role)
        return FakeRoles.role_permissions(store, role)

    store = FakeRoles()
    store.add_role("Wide", inline={"legacy": WIDE})
    guard = Boundaries(store, CEILING, config.from_env(ENV).guard.ceiling_for(ACCOUNT), enforce=False, reads=cached)
    (finding,) = guard.cuts("Wide")
    assert finding.code == "BOUNDARY_CUTS" and reads == ["Wide"] and store.permission_reads == ["Wide"]
    guard.reads = None
    assert guard.cuts("Wide") and store.permission_reads == ["Wide", "Wide"]


def test_a_role_whose_policies_cannot_be_read_gets_no_cuts_finding_and_no_error() -> None:
    store = FakeRoles()
    store.add_role("Hidden", inline={"legacy": WIDE})
    store.unreadable.add("Hidden")
    guard = Boundaries(store, CEILING, config.from_env(ENV).guard.ceiling_for(ACCOUNT), enforce=False)
    assert guard.cuts("Hidden") == [] and guard.cuts("Missing") == []


def test_a_boundary_equal_to_the_ceiling_but_read_separately_is_the_ceiling() -> None:
    store = FakeRoles()
    store.add_role("Bounded", boundary=CEILING)
    guard = Boundaries(store, CEILING, config.from_env(ENV).guard.ceiling_for(ACCOUNT), enforce=True)
    guard.note("Bounded", "".join(list(CEILING)))  # an equal string that is not the same object, as GetRole returns
    findings: list[Any] = []
    guard.before_write("Bounded", findings, lambda role: pytest.fail(f"boundary set again on {role}"))
    assert findings == [] and store.writes == []
