"""Placement after a run that stopped between attaching a machine's overflow policies and deleting its inline policy
(fixing/placement.py), on the fakes (fast; the same cases on moto through the real handler, with the stop at each
IAM call: tests/e2e/test_placement_interrupted.py). Judged by the final IAM state and the listings it cost."""

from __future__ import annotations

import json

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.ports import AttachedPolicy
from sfn_iam.fixing.service import RoleFixer
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.fixing.test_mutation_survivors import ARN, NAME, SNS, created, many_topics, updated

OLD = "topic-0007"  # a topic only the large definition publishes to


class Listed(FakeRoles):
    def __init__(self) -> None:
        super().__init__(max_attached=20)
        self.attached_listings = 0

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        self.attached_listings += 1
        return super().list_attached(role)


def interrupted(ledger: FakeLedger | None, *, scan_holders: bool = False) -> tuple[RoleFixer, FakeMachines, Listed]:
    """A machine placed inline, grown into managed overflow policies by a run that stopped before deleting its inline
    policy: the role carries both."""
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    roles, machines = Listed(), FakeMachines()
    role = roles.add_role("r")
    fixer = RoleFixer(machines, roles, settings, ledger=ledger, scan_holders=scan_holders)
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    small = roles.roles["r"].inline[NAME]
    machines.add(ARN, many_topics(180), role)
    assert fixer.handle_event(updated()).placement == "managed"
    roles.roles["r"].inline[NAME] = small  # the stop: the inline delete never happened
    assert len(roles.roles["r"].attached) >= 2
    machines.add(ARN, SNS | {"Comment": "a new definition that fits inline"}, role)
    roles.attached_listings = 0
    return fixer, machines, roles


def held(roles: FakeRoles) -> str:
    """Everything the role carries of the machine, as text."""
    r = roles.roles["r"]
    return json.dumps([r.inline.get(NAME), *(roles.managed[n] for n in sorted(r.attached) if n.startswith(NAME))])


@pytest.mark.parametrize("ledger", [FakeLedger, None], ids=["ledger", "no-ledger"])
def test_an_update_that_fits_inline_after_the_stop_leaves_nothing_of_the_overflow(ledger: type | None) -> None:
    book = ledger() if ledger is not None else None
    fixer, _, roles = interrupted(book)
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")  # an overflowed machine stays managed
    assert OLD not in held(roles) and held(roles).count("sns:Publish") == 1
    assert sorted(roles.roles["r"].attached) == [NAME + ".1"] and NAME not in roles.roles["r"].inline
    assert roles.attached_listings == 1  # the one listing the ledger's overflow flag (or its absence) asks for


def test_the_ledger_entry_lost_after_the_stop_is_no_reason_to_trust_the_role() -> None:
    book = FakeLedger()
    fixer, _, roles = interrupted(book)
    del book.entries[NAME]
    assert fixer.handle_event(updated()).placement == "managed"
    assert OLD not in held(roles)
    entry = book.get(NAME)
    assert entry is not None and entry.overflow


def test_a_ledger_entry_behind_iam_is_trusted_by_events_and_not_by_the_sweep() -> None:
    book = FakeLedger()
    fixer, _, roles = interrupted(book)
    book.entries[NAME] = book.entries[NAME]._replace(overflow=False)
    assert fixer.handle_event(updated()).placement == "inline"  # an event trusts the flag: no listing
    assert roles.attached_listings == 0 and OLD in held(roles)
    sweeper, _, _ = interrupted(book, scan_holders=True)
    assert sweeper.roles is not roles  # a world of its own, the same stop
    sweep_roles = sweeper.roles
    assert isinstance(sweep_roles, Listed)
    sweeper.ledger.entries[NAME] = sweeper.ledger.entries[NAME]._replace(overflow=False)  # type: ignore[attr-defined]
    assert sweeper.fix(ARN, relocate=True).placement == "managed"
    assert OLD not in held(sweep_roles)


def test_an_update_of_a_machine_that_never_overflowed_lists_no_attached_policies() -> None:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    roles, machines = Listed(), FakeMachines()
    role = roles.add_role("r")
    fixer = RoleFixer(machines, roles, settings, ledger=FakeLedger())
    machines.add(ARN, SNS, role)
    fixer.handle_event(created(role))
    machines.add(ARN, many_topics(3), role)
    assert fixer.handle_event(updated()).placement == "inline"
    assert roles.attached_listings == 0
