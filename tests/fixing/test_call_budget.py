"""What an event reads, over the in-memory ports: the ledger says what of the machine each role carries, so a create,
a role move and a delete list no role they need not (``Placement.known_inline``), and an update lists the machine's
aliases only when the ledger does not say it had none. What is skipped is never needed: the requests the workflow
makes stay allowed, the previous grants stay retiring while older executions run, and nothing of the machine stays
behind (tests/evaluate.py judges the requests)."""

from __future__ import annotations

from typing import Any

import pytest

from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.ports import AttachedPolicy, LedgerEntry
from sfn_iam.fixing.service import RoleFixer
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.fixing.test_mutation_survivors import created, event, updated
from tests.fixing.test_placement_outcomes import deleted, moved
from tests.fixing.test_retiring import ARN, BASE, RETIRING, publishes, topic

T0, T1, T2 = "2026-11-29T09:00:00Z", "2026-11-29T10:00:00Z", "2026-11-29T11:00:00Z"
STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class CountingRoles(FakeRoles):
    def __init__(self) -> None:
        super().__init__()
        self.listed: list[str] = []

    def list_inline(self, role: str) -> list[str] | None:
        self.listed.append(role)
        return super().list_inline(role)

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        self.listed.append(role + " (attached)")
        return super().list_attached(role)


class CountingMachines(FakeMachines):
    def __init__(self) -> None:
        super().__init__()
        self.alias_listings = 0

    def list_aliases(self, arn: str) -> list[str]:
        self.alias_listings += 1
        return super().list_aliases(arn)


def make(mode: str = "enforce") -> tuple[RoleFixer, CountingMachines, CountingRoles, FakeLedger]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, roles, book = CountingMachines(), CountingRoles(), FakeLedger()
    return RoleFixer(machines, roles, settings, ledger=book), machines, roles, book


def at(ev: dict[str, Any], time: str) -> dict[str, Any]:
    ev["detail"]["eventTime"] = time
    return ev


def granted(roles: FakeRoles, role: str, name: str = BASE) -> list[dict[str, Any]]:
    found = roles.roles[role].inline.get(name)
    return [found] if found is not None else []


def test_a_create_lists_nothing_and_an_update_lists_its_role_and_judges_its_inline_policies() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    roles.roles["r"].inline["hand-written"] = STAR
    machines.add(ARN, publishes("a"), role)
    out = fixer.handle_event(created(role))
    assert out.status is Status.WRITTEN
    assert roles.listed == [] and machines.alias_listings == 0
    assert is_allowed(granted(roles, "r"), "sns:Publish", topic("a"))
    assert out.residual == ()  # a create judges nothing it did not list: the sweep judges the role
    entry = book.entries[BASE]
    assert (entry.role, entry.aliases, entry.roles) == ("r", False, frozenset({"r"}))
    machines.add(ARN, publishes("b"), role)
    out = fixer.handle_event(updated())
    assert roles.listed == ["r"] and machines.alias_listings == 0  # the ledger says: no aliases
    assert is_allowed(granted(roles, "r"), "sns:Publish", topic("b"))
    assert not is_allowed(granted(roles, "r"), "sns:Publish", topic("a"))
    [residual] = [f for f in out.findings if f.code == "RESIDUAL_ACCESS"]
    assert "hand-written" in residual.message


def test_a_create_for_a_machine_the_ledger_knows_lists_its_role() -> None:
    """Deleted and created again before the delete event: the ledger still names the role, which may carry the old
    machine's retiring policy; the create lists it and the retiring policy no execution needs goes."""
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    roles.roles["r"].inline[RETIRING] = granted_retiring = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Retiring20261129T090000ZSns", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic("x")}]}
    assert granted_retiring
    book.entries[BASE] = LedgerEntry(ARN, frozenset({"r"}), role="r", aliases=False, retiring=frozenset({"r"}))
    machines.add(ARN, publishes("a"), role)
    fixer.handle_event(at(created(role), T2))
    assert roles.listed == ["r"]
    assert RETIRING not in roles.roles["r"].inline
    assert book.entries[BASE].retiring == frozenset()  # the ledger forgets it with it


def test_an_update_lists_the_aliases_unless_the_ledger_says_none_and_records_what_it_found() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    book.entries[BASE] = LedgerEntry(ARN, frozenset({"r"}), role="r")  # written before aliases were recorded
    fixer.handle_event(updated())
    assert machines.alias_listings == 1 and book.entries[BASE].aliases is False
    fixer.handle_event(updated())
    assert machines.alias_listings == 1  # now the ledger knows
    machines.machines[ARN + ":1"] = machines.machines[ARN]
    machines.aliases[ARN + ":live"] = [ARN + ":1"]
    fixer.handle_event(event("CreateStateMachineAlias", {"name": "live"}, {"stateMachineAliasArn": ARN + ":live"}))
    assert machines.alias_listings == 2 and book.entries[BASE].aliases is True  # alias events always list
    fixer.handle_event(updated())
    assert machines.alias_listings == 3


def test_an_update_of_a_machine_with_aliases_grants_its_routed_version_and_retires_against_the_previous_entry(
        ) -> None:
    """The aliases are listed after the first claim, and the pass claims again: what the update took away is judged
    against the entry before the first claim (the grants of c), not against the first claim's own documents."""
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a", "c"), role)
    machines.add(ARN + ":1", publishes("a"), role)
    machines.aliases[ARN + ":live"] = [ARN + ":1"]
    fixer.handle_event(at(event("CreateStateMachineAlias", {"name": "live"},
                                {"stateMachineAliasArn": ARN + ":live"}), T1))
    assert book.entries[BASE].aliases is True
    machines.running[ARN] = [T0]  # an execution of the previous definition still runs
    machines.add(ARN, publishes("b"), role)
    out = fixer.handle_event(at(updated(), T2))
    assert out.status is Status.WRITTEN
    ours = granted(roles, "r")
    assert is_allowed(ours, "sns:Publish", topic("b")) and is_allowed(ours, "sns:Publish", topic("a"))  # version 1
    assert not is_allowed(ours, "sns:Publish", topic("c"))
    assert "RETIRING_KEPT" in {f.code for f in out.findings}
    assert is_allowed(granted(roles, "r", RETIRING), "sns:Publish", topic("c"))
    assert book.entries[BASE].retiring == frozenset({"r"})


def test_a_delete_takes_the_policy_off_without_listing_when_the_ledger_says_it_is_all_the_role_carries() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    fixer.handle_event(created(role))
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert roles.listed == [] and roles.roles["r"].inline == {} and BASE not in book.entries


def test_a_delete_lists_a_role_that_may_carry_a_retiring_policy_and_removes_it_too() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    fixer.handle_event(created(role))
    roles.roles["r"].inline[RETIRING] = {"Version": "2012-10-17", "Statement": []}
    book.mark_retiring(BASE, "r")
    del machines.machines[ARN]
    fixer.handle_event(deleted())
    assert roles.listed == ["r"] and roles.roles["r"].inline == {}


def test_a_delete_lists_the_roles_of_an_entry_written_before_the_role_was_recorded() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    fixer.handle_event(created(role))
    book.entries[BASE] = LedgerEntry(ARN, frozenset({"r"}), aliases=False)
    del machines.machines[ARN]
    fixer.handle_event(deleted())
    assert roles.listed == ["r"] and roles.roles["r"].inline == {}


def test_a_role_move_lists_neither_role_and_keeps_the_previous_grants_retiring_where_older_executions_run() -> None:
    fixer, machines, roles, book = make()
    a, b = roles.add_role("a"), roles.add_role("b")
    machines.add(ARN, publishes("x"), a)
    fixer.handle_event(at(created(a), T0))
    machines.running[ARN] = [T1]  # started under role a, before the move
    machines.add(ARN, publishes("x"), b)
    out = fixer.handle_event(at(moved(b), T2))
    assert out.status is Status.WRITTEN
    assert roles.listed == []
    assert is_allowed(granted(roles, "b"), "sns:Publish", topic("x"))
    assert granted(roles, "a") == [] and is_allowed(granted(roles, "a", RETIRING), "sns:Publish", topic("x"))
    entry = book.entries[BASE]
    assert (entry.role, entry.roles, entry.retiring) == ("b", frozenset({"a", "b"}), frozenset({"a"}))
    # once the older executions ended, the next event lists role a (it may carry a retiring policy) and cleans it
    machines.running[ARN] = []
    fixer.handle_event(at(updated(), T2))
    assert "a" in roles.listed and roles.roles["a"].inline == {}
    assert book.entries[BASE].retiring == frozenset() and book.entries[BASE].roles == frozenset({"b"})


def test_report_mode_lists_what_it_proposes_to_change() -> None:
    fixer, machines, roles, book = make("report")
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    assert fixer.handle_event(created(role)).status is Status.PROPOSED
    assert roles.listed == ["r"] and BASE not in book.entries


def test_an_update_without_a_ledger_entry_lists_the_aliases() -> None:
    fixer, machines, roles, book = make()
    role = roles.add_role("r")
    machines.add(ARN, publishes("a"), role)
    fixer.handle_event(updated())
    assert machines.alias_listings == 1 and book.entries[BASE].aliases is False


@pytest.mark.parametrize("entry", [
    LedgerEntry(ARN, frozenset({"r"}), role="r", aliases=False, overflow=True),  # managed overflow: look for it
    LedgerEntry(ARN, frozenset({"r"}), role="r", aliases=True),  # aliases: a version policy may be there
    LedgerEntry(ARN, frozenset({"r"}), role="other", aliases=False),  # not its own role: a version or retiring one
])
def test_a_delete_lists_a_role_the_ledger_does_not_describe_whole(entry: LedgerEntry) -> None:
    fixer, _, roles, book = make()
    roles.add_role("r")
    roles.roles["r"].inline[BASE + ",version"] = {"Version": "2012-10-17", "Statement": []}
    book.entries[BASE] = entry
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert roles.listed[0] == "r" and roles.roles["r"].inline == {}
