"""Placement (fixing/placement.py), pinned by a mutation run (docs/mutation.md): judged by the outcome, the final
IAM state of the fake (tests/fakes.py), the ledger's entry and the waits the fixer asks for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from sfn_iam.fixing import placement
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.fixing.test_call_budget import CountingRoles
from tests.fixing.test_mutation_survivors import ARN, NAME, SNS, created, many_topics, updated

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def make(roles: FakeRoles, ledger: FakeLedger | None = None, sleeps: list[float] | None = None
         ) -> tuple[RoleFixer, FakeMachines]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines = FakeMachines()
    waits = sleeps if sleeps is not None else []
    return RoleFixer(machines, roles, settings, waits.append, ledger=ledger), machines


def ours(roles: FakeRoles, role: str) -> dict[str, list[str]]:
    r = roles.roles[role]
    return {"inline": sorted(n for n in r.inline if n.startswith(NAME)),
            "attached": sorted(n for n in r.attached if n.startswith(NAME)),
            "managed": sorted(n for n in roles.managed if n.startswith(NAME))}


def test_the_ledgers_digest_is_the_first_32_hex_digits_of_the_sha256_of_the_sorted_compact_json() -> None:
    # Entries outlive releases: a digest computed another way would make every stored machine look changed.
    value = {"b": [1, "x"], "a": {"c": None}}
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    assert text == '{"a":{"c":null},"b":[1,"x"]}'
    assert placement.digest(value) == hashlib.sha256(text.encode()).hexdigest()[:32]
    assert len(placement.digest(value)) == 32


def test_quota_waits_grow_exponentially_with_a_per_machine_spread_between_half_and_one_and_a_half() -> None:
    for base in (NAME, "sfn-iam.us-east-1.Other"):
        for attempt in (1, 2, 3):
            spread = int(hashlib.sha256(f"{base}#{attempt}".encode()).hexdigest()[:4], 16) / 0xFFFF
            wait = placement.jitter(base, attempt)
            assert wait == 0.05 * 2 ** attempt * (0.5 + spread)
            assert 0.05 * 2 ** attempt * 0.5 <= wait <= 0.05 * 2 ** attempt * 1.5
    assert placement.jitter(NAME, 1) != placement.jitter("sfn-iam.us-east-1.Other", 1)


def test_overflow_policies_written_then_refused_by_the_quota_on_every_attempt_are_deleted() -> None:
    # The fixer sees room (another writer takes it between the listing and the attach): IAM refuses each attach.
    roles = FakeRoles(max_attached=1)
    role = roles.add_role("r")
    roles.roles["r"].attached.append("someone-elses-policy")
    sleeps: list[float] = []
    fixer, machines = make(roles, sleeps=sleeps)
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
    assert ours(roles, "r") == {"inline": [], "attached": [], "managed": []}  # nothing of it left, not even unattached
    assert roles.roles["r"].attached == ["someone-elses-policy"]
    assert sleeps == [placement.jitter(NAME, a) for a in range(1, placement.QUOTA_ATTEMPTS)]
    # four attempts, as ADR 0006 (decision 4) says: three waits between them, and the finding says so
    assert len(sleeps) == 3 and any("over 4 attempts" in f.message for f in out.findings)


def test_a_machine_that_overflowed_stays_managed_when_it_shrinks_and_the_ledger_says_so() -> None:
    roles, ledger = FakeRoles(max_attached=20), FakeLedger()
    role = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, many_topics(180), role)
    first = fixer.handle_event(created(role))
    assert (first.status, first.placement) == (Status.WRITTEN, "managed")
    entry = ledger.get(NAME)
    assert entry is not None and entry.overflow
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    assert ours(roles, "r") == {"inline": [], "attached": [NAME + ".1"], "managed": [NAME + ".1"]}
    assert json.dumps(roles.managed[NAME + ".1"]).count("sns:Publish") == 1


def test_a_new_machine_too_large_for_inline_judges_the_roles_other_inline_policies() -> None:
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    roles.roles["r"].inline["team-admin"] = json.loads(json.dumps(ADMIN))
    fixer, machines = make(roles, FakeLedger())  # with a ledger, a create trusts it: nothing of the machine is there
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    assert [(e["policyName"], e["adminEquivalent"]) for e in out.residual] == [("team-admin", True)]


def test_a_role_outside_the_path_is_left_with_the_hint_to_tag_it() -> None:
    roles = FakeRoles()
    role = roles.add_role("r", path="/elsewhere/")
    fixer, machines = make(roles)
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    [finding] = [f for f in out.findings if f.code == "ROLE_OUT_OF_SCOPE"]
    assert finding.message.endswith("; tag the role sfn-iam:managed=true to adopt it")
    assert roles.roles["r"].inline == {} and roles.writes == []


def test_a_grown_machine_on_a_full_role_keeps_the_statements_it_still_needs() -> None:
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, many_topics(3), role)
    assert fixer.handle_event(created(role)).placement == "inline"
    held = json.loads(json.dumps(roles.roles["r"].inline[NAME]))
    roles.roles["r"].attached += [f"team-{i}" for i in range(10)]  # the role's quota (10) taken by others
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(updated())
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
    assert "STILL_NEEDED_KEPT" in {f.code for f in out.findings}
    assert "STALE_GRANTS_REMOVED" not in {f.code for f in out.findings}  # nothing of it was removed
    assert roles.roles["r"].inline[NAME] == held  # still needed whole: kept as it was, not written again
    assert ("put-inline", "r", NAME) not in roles.writes[roles.writes.index(("put-inline", "r", NAME)) + 1:]
    assert ours(roles, "r")["attached"] == [] and ours(roles, "r")["managed"] == []


def test_report_mode_never_marks_the_ledger_when_a_machine_would_overflow() -> None:
    roles, ledger = FakeRoles(max_attached=20), FakeLedger()
    role = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    before = ledger.get(NAME)
    assert before is not None and not before.overflow
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "report", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    reporter = RoleFixer(machines, roles, settings, ledger=ledger)
    machines.add(ARN, many_topics(180), role)
    writes = list(roles.writes)
    out = reporter.handle_event(updated())
    assert (out.status, out.placement) == (Status.PROPOSED, "managed")
    assert ledger.get(NAME) == before and roles.writes == writes  # report mode wrote nothing, the ledger included


def test_a_deleted_machine_loses_its_version_policy_and_its_retiring_policy_on_every_role() -> None:
    from sfn_iam.fixing import naming
    from tests.fixing.test_placement_outcomes import deleted

    roles = FakeRoles()
    role = roles.add_role("r")
    roles.add_role("v")
    fixer, machines = make(roles)
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    doc = json.loads(json.dumps(roles.roles["r"].inline[NAME]))
    roles.roles["v"].inline[naming.version_name(NAME)] = doc  # a routed version ran under "v"
    roles.roles["v"].inline[naming.retiring_name(NAME)] = doc
    roles.roles["v"].inline["team"] = doc
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert roles.roles["r"].inline == {} and sorted(roles.roles["v"].inline) == ["team"]


class RolesWithIds(FakeRoles):
    """IAM's RoleId per role name (a role deleted and created again under its name gets a new one)."""

    def __init__(self) -> None:
        super().__init__(max_attached=20)
        self.ids: dict[str, str] = {}

    def get_role(self, name: str) -> Any:
        role = super().get_role(name)
        return role if role is None else role._replace(role_id=self.ids.get(name, ""))


def moved_with_entry(roles: FakeRoles, change: Callable[[Any], Any], left: str = "r", right: str = "s"
                     ) -> tuple[FakeLedger, Any]:
    """A machine placed inline on ``left`` by an event, its ledger entry replaced by ``change(entry)`` (which may also
    change IAM), then moved to ``right``; the ledger and the move's outcome."""
    from tests.fixing.test_placement_outcomes import moved

    ledger = FakeLedger()
    r, s = roles.add_role(left), roles.add_role(right)
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, r)
    assert fixer.handle_event(created(r)).placement == "inline"
    entry = ledger.get(NAME)
    assert entry is not None
    ledger.entries[NAME] = change(entry)
    machines.add(ARN, SNS, s)
    return ledger, fixer.handle_event(moved(s))


def moved_from_r(role_id_then: str, role_id_now: str) -> tuple[RolesWithIds, FakeLedger, Any]:
    """A machine placed on "r" (the ledger recorded ``role_id_then`` for it), then moved to "s"."""
    roles = RolesWithIds()

    def recorded(entry: Any) -> Any:
        roles.ids["r"] = role_id_now
        return entry._replace(role_ids=(("r", role_id_then),))

    return roles, *moved_with_entry(roles, recorded)


@pytest.mark.parametrize(("then", "now"), [("AROAOLD", "AROANEW"), ("AROANEW", "AROAOLD")])
def test_a_role_the_machine_left_that_was_created_again_is_not_touched(then: str, now: str) -> None:
    roles, ledger, out = moved_from_r(then, now)
    assert out.status is Status.WRITTEN and "ROLE_REPLACED" in {f.code for f in out.findings}
    assert NAME in roles.roles["r"].inline and NAME in roles.roles["s"].inline
    entry = ledger.get(NAME)
    assert entry is not None and "r" in entry.roles  # kept: the fixer never adopts the new role silently


def test_a_role_the_machine_left_with_the_recorded_role_id_is_cleaned() -> None:
    same = json.loads('"AROASAME1234"')  # the ledger's copy and IAM's answer are equal, not one object
    roles, ledger, out = moved_from_r(same, "".join(["AROA", "SAME1234"]))
    assert "ROLE_REPLACED" not in {f.code for f in out.findings}
    assert NAME not in roles.roles["r"].inline and NAME in roles.roles["s"].inline
    entry = ledger.get(NAME)
    assert entry is not None and "r" not in entry.roles


def moved_after(change_r: Callable[[FakeRoles], None]) -> tuple[FakeRoles, FakeLedger, Any]:
    """A machine placed on "r", then "r" changed by ``change_r``, then the machine moved to "s"."""
    from tests.fixing.test_placement_outcomes import moved

    roles, ledger = FakeRoles(max_attached=20), FakeLedger()
    r, s = roles.add_role("r"), roles.add_role("s")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, r)
    assert fixer.handle_event(created(r)).placement == "inline"
    change_r(roles)
    machines.add(ARN, SNS, s)
    return roles, ledger, fixer.handle_event(moved(s))


def test_a_role_the_machine_left_that_went_out_of_scope_keeps_its_grant_and_the_ledger_keeps_the_role() -> None:
    def out_of_scope(roles: FakeRoles) -> None:
        roles.roles["r"].path = "/elsewhere/"  # moved out of the fixer's scope meanwhile

    roles, ledger, out = moved_after(out_of_scope)
    assert "ORPHANED_GRANT" in {f.code for f in out.findings}
    assert NAME in roles.roles["r"].inline  # not written: out of scope
    entry = ledger.get(NAME)
    assert entry is not None and "r" in entry.roles  # still carries it: a later run (or a person) removes it


class CountedRoles(FakeRoles):
    def __init__(self) -> None:
        super().__init__(max_attached=20)
        self.reads: list[str] = []

    def get_role(self, name: str) -> Any:
        self.reads.append(name)
        return super().get_role(name)


def test_with_a_ceiling_a_role_the_machine_left_is_read_once_before_its_policy_is_removed() -> None:
    from tests.fixing.test_placement_outcomes import moved

    ceiling = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam-ceiling"
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer",
                                "CEILING_POLICY_ARN": ceiling})
    roles = CountedRoles()
    r, s = roles.add_role("r", boundary=ceiling), roles.add_role("s", boundary=ceiling)
    machines = FakeMachines()
    fixer = RoleFixer(machines, roles, settings, ledger=FakeLedger())
    machines.add(ARN, SNS, r)
    assert fixer.handle_event(created(r)).placement == "inline"
    machines.add(ARN, SNS, s)
    roles.reads.clear()
    out = fixer.handle_event(moved(s))
    assert out.status is Status.WRITTEN and NAME not in roles.roles["r"].inline and NAME in roles.roles["s"].inline
    assert roles.reads.count("r") == 1  # GetRole said its boundary already: no second read before the delete


def test_an_orphan_whose_name_has_the_old_hashed_shape_is_proven_by_the_ledger_on_every_holder() -> None:
    from tests.fixing.test_mutation_survivors import event

    arn = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Legacy.0123456789ab"
    base = "sfn-iam.us-east-1.Legacy.0123456789ab"  # could be an earlier release's hashed name: the ledger proves it
    roles = FakeRoles()
    role = roles.add_role("r")
    roles.add_role("x")
    fixer, machines = make(roles, FakeLedger())
    machines.add(arn, SNS, role)
    out = fixer.handle_event(event("CreateStateMachine", {"name": "Legacy.0123456789ab", "roleArn": role},
                                   {"stateMachineArn": arn}))
    assert out.placement == "inline" and base in roles.roles["r"].inline
    roles.roles["x"].inline[base] = json.loads(json.dumps(roles.roles["r"].inline[base]))  # a role the ledger lost
    del machines.machines[arn]
    # The sweep's removal of an orphan (a deleted machine's event goes by the ledger's roles only): every holder
    gone = fixer.remove_policy(base, state_machine_arn=arn)
    assert gone.status is Status.REMOVED and "POLICY_OWNER_UNKNOWN" not in {f.code for f in gone.findings}
    assert roles.roles["r"].inline == {} and roles.roles["x"].inline == {}


def overflowed_beside_another() -> tuple[FakeRoles, RoleFixer, FakeMachines, str]:
    """A machine created in managed overflow on role ``r``, which also holds someone else's managed policy."""
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    roles.roles["r"].attached.append("someone-elses-policy")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, many_topics(180), role)
    assert fixer.handle_event(created(role)).placement == "managed"
    return roles, fixer, machines, role


def test_an_overflowed_machine_whose_definition_breaks_loses_its_managed_policies() -> None:
    roles, fixer, machines, role = overflowed_beside_another()
    machines.add(ARN, {"NoStates": True}, role)
    out = fixer.handle_event(updated())
    assert (out.status, out.reason) == (Status.SKIPPED, "DEFINITION_ERROR")
    assert "STALE_GRANTS_REMOVED" in {f.code for f in out.findings}
    assert ours(roles, "r") == {"inline": [], "attached": [], "managed": []}  # fail closed (docs/adr/0006)
    assert roles.roles["r"].attached == ["someone-elses-policy"]


class GhostHolder(FakeRoles):
    """IAM's account listing still names a role deleted before the fixer reads it."""

    def holders(self, prefix: str) -> Any:
        from sfn_iam.fixing.ports import PolicyHolder

        ghost = PolicyHolder(f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/a-gone", "a-gone", (prefix,))
        return [ghost, *super().holders(prefix)]


def test_a_holder_deleted_meanwhile_does_not_stop_the_removal_from_the_next_ones() -> None:
    roles = GhostHolder()
    roles.add_role("r")
    roles.roles["r"].inline[NAME] = json.loads(json.dumps(ADMIN))
    fixer, _ = make(roles)
    out = fixer.remove_policy(NAME, state_machine_arn=ARN)
    assert out.status is Status.REMOVED and roles.roles["r"].inline == {}


def test_a_machine_whose_role_arn_names_no_role_gets_no_hint_to_tag_it() -> None:
    roles = FakeRoles()
    fixer, machines = make(roles)
    machines.add(ARN, SNS, f"arn:aws:iam::{ACCOUNT}:user/someone")
    out = fixer.handle_event(created(f"arn:aws:iam::{ACCOUNT}:user/someone"))
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    [finding] = [f for f in out.findings if f.code == "ROLE_OUT_OF_SCOPE"]
    assert "tag the role" not in finding.message and roles.writes == []


def test_a_role_the_machine_left_that_is_gone_is_no_longer_named_by_the_ledger() -> None:
    def deleted(roles: FakeRoles) -> None:
        del roles.roles["r"]

    roles, ledger, out = moved_after(deleted)
    assert out.status is Status.WRITTEN and NAME in roles.roles["s"].inline
    entry = ledger.get(NAME)
    assert entry is not None and entry.roles == frozenset({"s"})


def test_between_quota_attempts_the_role_carries_none_of_the_machines_overflow_policies() -> None:
    # Attaching the first overflow policy succeeds, the next is refused (another writer took the room): the first is
    # detached again before the wait, so two machines racing for one role's quota never each hold part of it.
    roles = FakeRoles(max_attached=2)
    role = roles.add_role("r")
    roles.roles["r"].attached.append("someone-elses-policy")
    held: list[list[str]] = []
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines = FakeMachines()
    fixer = RoleFixer(machines, roles, settings, lambda _: held.append(ours(roles, "r")["attached"]))
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    assert out.reason == "POLICY_TOO_LARGE" and len(held) == placement.QUOTA_ATTEMPTS - 1
    assert held == [[]] * (placement.QUOTA_ATTEMPTS - 1)
    assert ours(roles, "r") == {"inline": [], "attached": [], "managed": []}


def test_the_owner_unknown_finding_names_at_most_300_characters_of_policies() -> None:
    base = "sfn-iam.us-east-1.Legacy.0123456789ab"  # the old hashed shape, and no ledger entry: not proven
    roles = FakeRoles(max_attached=20)
    roles.add_role("r")
    roles.roles["r"].attached += [f"{base}.{i}" for i in range(1, 13)]
    fixer, _ = make(roles)
    out = fixer.remove_policy(base)
    names = ", ".join(f"{base}.{i}" for i in range(1, 13))
    assert len(names) > 301
    [finding] = [f for f in out.findings if f.code == "POLICY_OWNER_UNKNOWN"]
    assert finding.message.startswith(names[:300] + " on arn:aws:iam::")
    assert len(roles.roles["r"].attached) == 12  # left


def test_a_name_the_ledger_records_for_another_machine_is_neither_written_nor_claimed() -> None:
    from sfn_iam.fixing.ports import LedgerEntry

    roles, ledger = FakeRoles(), FakeLedger()
    role = roles.add_role("r")
    other = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Other"
    ledger.entries[NAME] = LedgerEntry(other, frozenset({"q"}))
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_NAME_TAKEN")
    assert roles.writes == [] and ledger.entries[NAME] == LedgerEntry(other, frozenset({"q"}))


class ReadCounted(FakeRoles):
    def __init__(self) -> None:
        super().__init__(max_attached=20)
        self.reads: list[tuple[str, str]] = []

    def get_inline(self, role: str, name: str) -> Any:
        self.reads.append((role, name))
        return super().get_inline(role, name)


def test_an_update_the_ledger_knows_changed_is_written_without_reading_the_old_policy_either_way() -> None:
    from tests.fixing.test_mutation_survivors import many_topics as topics

    roles = ReadCounted()
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, topics(2), role)
    fixer.handle_event(created(role))
    for definition in (topics(3), topics(2)):  # the two hashes compare one way, then the other
        machines.add(ARN, definition, role)
        roles.reads.clear()
        assert fixer.handle_event(updated()).status is Status.WRITTEN
        assert ("r", NAME) not in roles.reads


def test_a_quota_refusal_after_the_ceiling_was_set_deletes_only_the_overflow_policies() -> None:
    ceiling = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam-ceiling"
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer",
                                "CEILING_POLICY_ARN": ceiling})
    roles = FakeRoles(max_attached=1)
    role = roles.add_role("r")  # no boundary yet: the fixer sets the ceiling before its first write
    roles.roles["r"].attached.append("someone-elses-policy")
    machines = FakeMachines()
    fixer = RoleFixer(machines, roles, settings)
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    assert out.reason == "POLICY_TOO_LARGE" and roles.roles["r"].boundary == ceiling
    assert [w for w in roles.writes if w[0] == "delete-managed"] == [
        ("delete-managed", n) for n in sorted({w[1] for w in roles.writes if w[0] == "put-managed"})]
    assert ours(roles, "r") == {"inline": [], "attached": [], "managed": []}


def replaced_role_in_report_mode(event: dict[str, Any]) -> Any:
    """A machine placed on "r" (the ledger recorded RoleId AROAOLD), "r" created again since (AROANEW), then a report-
    mode run for ``event``."""
    roles, ledger = RolesWithIds(), FakeLedger()
    r = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, r)
    assert fixer.handle_event(created(r)).placement == "inline"
    entry = ledger.get(NAME)
    assert entry is not None
    ledger.entries[NAME] = entry._replace(role_ids=(("r", "AROAOLD"),))
    roles.ids["r"] = "AROANEW"
    machines.add(ARN, many_topics(3), r)
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "report", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    return RoleFixer(machines, roles, settings, ledger=ledger).handle_event(event)


def test_report_mode_refuses_a_replaced_role_unless_the_event_names_it() -> None:
    from tests.fixing.test_placement_outcomes import moved

    out = replaced_role_in_report_mode(updated())  # no roleArn: the new role under the name is not adopted
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_REPLACED") and out.changes == ()
    role = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/r"
    named = replaced_role_in_report_mode(moved(role))  # the update names the role: its team chose it
    assert named.status is Status.PROPOSED and "ROLE_REPLACED" not in {f.code for f in named.findings}


def test_a_role_the_ledger_names_besides_the_machines_own_is_listed_not_assumed_to_carry_its_policy() -> None:
    # The ledger names "a" (left behind earlier) and the machine's own "z"; "a" no longer carries the policy (removed
    # by hand). Only the machine's own role is known from the ledger alone: "a" is listed, nothing is deleted there.
    roles, ledger = FakeRoles(max_attached=20), FakeLedger()
    roles.add_role("a")
    z = roles.add_role("z")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, z)
    assert fixer.handle_event(created(z)).placement == "inline"
    entry = ledger.get(NAME)
    assert entry is not None and entry.role == "z"
    ledger.entries[NAME] = entry._replace(roles=frozenset({"a", "z"}), aliases=False)
    machines.add(ARN, many_topics(3), z)
    out = fixer.handle_event(updated())
    assert out.status is Status.WRITTEN
    assert [(c.kind.value, c.role) for c in out.changes if c.role == "a"] == []
    after = ledger.get(NAME)
    assert after is not None and after.roles == {"z"}  # "a" carries nothing of it: released


def test_a_role_move_under_a_name_the_ledger_records_for_another_machine_leaves_that_machines_role_alone() -> None:
    # The other machine's policy on its role "q" is under the same name: a role move (which cleans the roles the
    # ledger names) of this machine must not remove it.
    from sfn_iam.fixing.ports import LedgerEntry
    from tests.fixing.test_placement_outcomes import moved

    roles, ledger = FakeRoles(), FakeLedger()
    role = roles.add_role("r")
    roles.add_role("q")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
    roles.roles["q"].inline[NAME] = doc
    other = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Other"
    ledger.entries[NAME] = LedgerEntry(other, frozenset({"q"}), role="q", aliases=False)
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(moved(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_NAME_TAKEN")
    assert roles.writes == [] and roles.roles["q"].inline == {NAME: doc}


def test_an_unproven_name_is_reported_and_left_on_every_holder() -> None:
    base = "sfn-iam.us-east-1.Legacy.0123456789ab"  # the old hashed shape, and no ledger entry: not proven
    roles = FakeRoles()
    for name in ("a", "b"):
        roles.add_role(name)
        roles.roles[name].inline[base] = {"Version": "2012-10-17", "Statement": []}
    fixer, _ = make(roles)
    out = fixer.remove_policy(base)
    unknown = sorted(f.message for f in out.findings if f.code == "POLICY_OWNER_UNKNOWN")
    assert len(unknown) == 2
    assert [m.startswith(f"{base} on arn:aws:iam::{ACCOUNT}:role/stepfunctions/{r}:") for m, r in
            zip(unknown, "ab", strict=True)] == [True, True]
    assert base in roles.roles["a"].inline and base in roles.roles["b"].inline


def test_removing_a_machines_overflow_leaves_another_machines_whose_name_starts_with_its_name() -> None:
    roles = FakeRoles(max_attached=20)
    roles.add_role("r")
    other = NAME + "V2"  # another machine's policy name, starting with this machine's
    roles.roles["r"].attached += [NAME + ".1", other + ".1"]
    roles.managed.update({NAME + ".1": {}, other + ".1": {}})
    fixer, _ = make(roles)
    out = fixer.remove_policy(NAME)
    assert out.status is Status.REMOVED
    assert roles.roles["r"].attached == [other + ".1"] and other + ".1" in roles.managed


def test_a_fail_closed_deletes_each_overflow_policy_once() -> None:
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, many_topics(180), role)
    assert fixer.handle_event(created(role)).placement == "managed"
    machines.add(ARN, {"NoStates": True}, role)
    out = fixer.handle_event(updated())
    deletes = [c.policy for c in out.changes if c.kind.value == "delete-managed"]
    assert deletes and len(deletes) == len(set(deletes))


def test_a_grown_machine_on_a_full_role_drops_the_statements_it_no_longer_needs() -> None:
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, many_topics(3), role)
    assert fixer.handle_event(created(role)).placement == "inline"
    roles.roles["r"].inline[NAME]["Statement"].append(  # a grant of an earlier definition the new one does not need
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"})
    roles.roles["r"].attached += [f"team-{i}" for i in range(10)]  # the role's quota (10) taken by others
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(updated())
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
    kept = json.dumps(roles.roles["r"].inline[NAME])
    assert "sns:Publish" in kept and "sqs:SendMessage" not in kept


def test_a_foreign_boundary_on_a_role_whose_name_holds_path_gets_no_hint_to_tag_it() -> None:
    roles = FakeRoles()
    role = roles.add_role("pathfinder")
    roles.roles["pathfinder"].boundary = f"arn:aws:iam::{ACCOUNT}:policy/team-boundary"
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "enforce", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer",
                                "CEILING_POLICY_ARN": f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/ceiling"})
    machines = FakeMachines()
    machines.add(ARN, SNS, role)
    out = RoleFixer(machines, roles, settings, ledger=FakeLedger()).handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "FOREIGN_BOUNDARY")
    [finding] = [f for f in out.findings if f.code == "FOREIGN_BOUNDARY"]
    assert "pathfinder" in finding.message and "to adopt it" not in finding.message


def test_a_deleted_overflowed_machine_loses_its_overflow_policies_and_the_roles_others_stay() -> None:
    from tests.fixing.test_placement_outcomes import deleted

    roles, fixer, machines, _ = overflowed_beside_another()
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())  # by the ledger's roles, with its overflow flag
    assert out.status is Status.REMOVED
    assert ours(roles, "r") == {"inline": [], "attached": [], "managed": []}
    assert roles.roles["r"].attached == ["someone-elses-policy"]


def test_an_update_delivered_twice_writes_once() -> None:
    roles, ledger = FakeRoles(), FakeLedger()
    role = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    fixer.handle_event(created(role))
    machines.add(ARN, many_topics(3), role)
    assert fixer.handle_event(updated()).status is Status.WRITTEN
    before = len(roles.writes)
    assert fixer.handle_event(updated()).status is Status.UNCHANGED  # the ledger's hash equals the plan's: read, same
    assert len(roles.writes) == before


def test_a_hand_written_policy_whose_name_starts_with_the_machines_is_left() -> None:
    # IAM allows "+" in policy names (it sorts before "," of the machine's retiring and version policies)
    roles = FakeRoles()
    roles.add_role("r")
    notes = {"Version": "2012-10-17", "Statement": []}
    roles.roles["r"].inline.update({NAME: notes, NAME + "+notes": notes})
    fixer, _ = make(roles)
    assert fixer.remove_policy(NAME).status is Status.REMOVED
    assert roles.roles["r"].inline == {NAME + "+notes": notes}


def test_an_inline_machine_whose_definition_breaks_loses_its_inline_policy_and_nothing_else_is_deleted() -> None:
    roles = FakeRoles()
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    machines.add(ARN, {"NoStates": True}, role)
    out = fixer.handle_event(updated())
    assert out.reason == "DEFINITION_ERROR"
    assert [(c.kind.value, c.role, c.policy) for c in out.changes] == [("delete-inline", "r", NAME)]


class GoneAfterGetRole(FakeRoles):
    """IAM's role is deleted between ``GetRole`` and ``ListRolePolicies`` once ``gone`` names it."""

    def __init__(self) -> None:
        super().__init__(max_attached=20)
        self.gone = ""

    def list_inline(self, role: str) -> list[str] | None:
        return None if role == self.gone else super().list_inline(role)


def test_a_definition_that_cannot_be_planned_on_a_role_deleted_meanwhile_is_reported_as_such() -> None:
    """The retiring check on a definition error runs only on a role IAM still lists (the listing says it is gone)."""
    roles, ledger = GoneAfterGetRole(), FakeLedger()
    role = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    machines.add(ARN, {"StartAt": "Missing", "States": "not a mapping"}, role)
    roles.gone = "r"
    out = fixer.handle_event(updated())
    assert (out.status, out.reason) == (Status.SKIPPED, "DEFINITION_ERROR")
    assert "DEFINITION_ERROR" in {f.code for f in out.findings}


def test_a_role_the_machine_left_that_is_deleted_while_it_is_cleaned_is_released() -> None:
    """A machine in managed overflow moves from "r" to "s"; "r" is deleted between ``GetRole`` and its listing: it
    carries nothing any more, so the ledger forgets it."""
    from tests.fixing.test_placement_outcomes import moved

    roles, ledger = GoneAfterGetRole(), FakeLedger()
    r, s = roles.add_role("r"), roles.add_role("s")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, many_topics(180), r)
    assert fixer.handle_event(created(r)).placement == "managed"
    machines.add(ARN, many_topics(180), s)
    roles.gone = "r"
    out = fixer.handle_event(moved(s))
    assert out.placement == "managed" and ours(roles, "s")["attached"] == ours(roles, "s")["managed"] != []
    entry = ledger.get(NAME)
    assert entry is not None and entry.roles == {"s"}


def test_a_grown_machine_on_a_full_role_keeps_a_still_needed_statement_written_as_one_object() -> None:
    """IAM takes a policy's ``Statement`` as one object as well as a list: the machine's inline policy rewritten that
    way (by hand, same grants) is judged the same, and what the new definition still needs stays."""
    roles = FakeRoles(max_attached=20)
    role = roles.add_role("r")
    fixer, machines = make(roles, FakeLedger())
    machines.add(ARN, many_topics(3), role)
    assert fixer.handle_event(created(role)).placement == "inline"
    [statement] = roles.roles["r"].inline[NAME]["Statement"]
    roles.roles["r"].inline[NAME] = {"Version": "2012-10-17", "Statement": statement}
    roles.roles["r"].attached += [f"team-{i}" for i in range(10)]  # the role's quota (10) taken by others
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(updated())
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
    assert "STILL_NEEDED_KEPT" in {f.code for f in out.findings}
    assert "STALE_GRANTS_REMOVED" not in {f.code for f in out.findings}
    assert roles.roles["r"].inline[NAME]["Statement"] == [statement]


def test_an_update_the_ledger_has_no_entry_for_lists_the_role_and_judges_its_other_policies() -> None:
    """Only a machine just created trusts the ledger's silence (nothing of it was placed yet); an update whose entry
    is missing (the table restored from a backup, say) lists the role like any other, so its other inline policies
    are judged for residual access."""
    roles, ledger = FakeRoles(), FakeLedger()
    role = roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, role)
    assert fixer.handle_event(created(role)).placement == "inline"
    roles.roles["r"].inline["team-admin"] = ADMIN
    ledger.entries.clear()
    machines.add(ARN, many_topics(3), role)
    out = fixer.handle_event(updated())
    assert out.status is Status.WRITTEN
    assert [(e["policyName"], e["adminEquivalent"]) for e in out.residual] == [("team-admin", True)]


def moved_to_right(change: Callable[[Any], Any]) -> tuple[CountingRoles, FakeLedger, Any]:
    """:func:`moved_with_entry` from "left" to "right" (names of more than one character: CPython shares one object per
    one-character string), counting the listings of the move alone."""
    roles = CountingRoles()

    def counted(entry: Any) -> Any:
        roles.listed.clear()
        return change(entry)

    return roles, *moved_with_entry(roles, counted, "left", "right")


def test_a_move_from_a_role_the_ledger_says_carries_only_the_machines_policy_does_not_list_it() -> None:
    """The ledger's entry as DynamoDB returns it (its strings parsed, not the fixer's own objects): the role the
    machine leaves carried exactly its policy (it never overflowed, had no aliases, kept nothing retiring there), so
    it is cleaned without a ``ListRolePolicies`` (the role move's call budget)."""
    roles, ledger, out = moved_to_right(lambda e: e._replace(role=json.loads(json.dumps(e.role)),
                                                         roles=frozenset(json.loads(json.dumps(sorted(e.roles))))))
    assert out.status is Status.WRITTEN and roles.roles["left"].inline == {} and NAME in roles.roles["right"].inline
    assert "left" not in roles.listed
    entry = ledger.get(NAME)
    assert entry is not None and entry.roles == {"right"}


def test_a_move_whose_entry_does_not_know_the_aliases_lists_the_role_it_leaves() -> None:
    """An entry written before the ledger recorded aliases (``None``: not known) does not prove what the role the
    machine leaves carries: it is listed, then cleaned."""
    roles, ledger, out = moved_to_right(lambda e: e._replace(aliases=None))
    assert out.status is Status.WRITTEN and roles.roles["left"].inline == {} and NAME in roles.roles["right"].inline
    assert "left" in roles.listed
    entry = ledger.get(NAME)
    assert entry is not None and entry.roles == {"right"}


def test_a_definition_that_cannot_be_planned_on_a_role_out_of_scope_is_skipped_with_no_policy() -> None:
    """An out-of-scope role's outcome carries the policy the machine would need; a definition that cannot be planned
    carries none (and the run does not fail)."""
    roles = FakeRoles()
    role = roles.add_role("r", path="/elsewhere/")
    fixer, machines = make(roles)
    machines.add(ARN, {"StartAt": "Missing", "States": "not a mapping"}, role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason, out.documents) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE", ())
    assert roles.writes == []


def test_a_relocation_that_claims_nothing_leaves_a_policy_whose_old_hashed_name_nothing_proves() -> None:
    """A machine whose name has the old hashed shape, on a role out of scope (nothing claimed), found again with no
    ledger entry: a role holding a policy under its name is not proven to carry the machine's policy (an earlier
    release's machine may have had that name), so it is left and reported."""
    arn = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Legacy.0123456789ab"
    base = "sfn-iam.us-east-1.Legacy.0123456789ab"
    roles = FakeRoles()
    role = roles.add_role("r", path="/elsewhere/")
    roles.add_role("x")
    roles.roles["x"].inline[base] = ADMIN
    fixer, machines = make(roles, FakeLedger())
    machines.add(arn, SNS, role)
    out = fixer.fix(arn, relocate=True)
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    assert "POLICY_OWNER_UNKNOWN" in {f.code for f in out.findings}
    assert roles.roles["x"].inline == {base: ADMIN} and roles.writes == []


def test_a_run_refused_for_a_replaced_role_proposes_nothing_on_the_roles_the_machine_left() -> None:
    """A machine moved from "v" to "r" keeps its retiring policy on "v" while an older execution runs; "r" is then
    created again (another RoleId). A report-mode run that relocates (a delete event for the machine created again)
    is refused for "r" and proposes nothing anywhere, not even the retiring policy's removal from "v" now that the
    execution ended."""
    roles, ledger = RolesWithIds(), FakeLedger()
    v, r = roles.add_role("v"), roles.add_role("r")
    fixer, machines = make(roles, ledger)
    machines.add(ARN, SNS, v)
    assert fixer.handle_event(created(v)).placement == "inline"
    machines.running[ARN] = ["2026-11-29T09:00:00Z"]
    machines.add(ARN, many_topics(3), r)
    fixer.fix(ARN, action="UpdateStateMachine", changed_at="2026-11-29T10:00:00Z", adopt_role=True)  # the move
    assert [n for n in roles.roles["v"].inline if n.startswith(NAME)] == [f"{NAME},retiring"]
    entry = ledger.get(NAME)
    assert entry is not None and entry.roles == {"v", "r"}
    ledger.entries[NAME] = entry._replace(role_ids=(("r", "AROAOLD"),))
    roles.ids["r"] = "AROANEW"
    machines.running[ARN] = []
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": "report", "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    out = RoleFixer(machines, roles, settings, ledger=ledger).fix(ARN, relocate=True)
    assert (out.status, out.reason) == (Status.SKIPPED, "ROLE_REPLACED") and out.changes == ()


def test_a_create_without_a_ledger_lists_the_role_and_judges_its_other_policies() -> None:
    """Only the ledger's silence proves that nothing of a machine just created is on its role: without a ledger
    table the create lists the role, so what else it carries is judged for residual access."""
    roles = FakeRoles()
    role = roles.add_role("r")
    roles.roles["r"].inline["team-admin"] = ADMIN
    fixer, machines = make(roles)  # no ledger
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.placement) == (Status.WRITTEN, "inline")
    assert [(e["policyName"], e["adminEquivalent"]) for e in out.residual] == [("team-admin", True)]
