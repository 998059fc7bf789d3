"""Routed versions under other roles over the in-memory ports (fixing/versions.py): one ``<base>,version`` policy per
(machine, other role), in scope only, recorded in the ledger before it is written, removed when nothing routes there.

Requests are asserted with tests/evaluate.py: what each version's execution asks for under its own role, and the
neighbouring request (another version's, another resource's) that must stay denied there.
"""

from __future__ import annotations

from sfn_iam.engine import policy
from sfn_iam.fixing import naming, versions
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.governance.sweep import Sweeper
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles

ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Orders"
ALIAS = ARN + ":live"
BASE = "sfn-iam.us-east-1.Orders"
VERSION = BASE + ",version"


def topic(name: str) -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"


def publishes(name: str) -> dict[str, object]:
    return {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                                             "Parameters": {"TopicArn": topic(name), "Message": "m"}, "End": True}}}


def make(mode: str = "enforce", ledger: bool = True) -> tuple[RoleFixer, FakeMachines, FakeRoles, FakeLedger]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer"})
    machines, roles, book = FakeMachines(), FakeRoles(), FakeLedger()
    return RoleFixer(machines, roles, settings, ledger=book if ledger else None), machines, roles, book


def canary(machines: FakeMachines, roles: FakeRoles, old_path: str = "/stepfunctions/", **old: object
           ) -> tuple[str, str]:
    """Orders on role New publishing to "new"; version 1 under role Old publishing to "old", version 2 the latest;
    the alias routes to both."""
    old_role, new_role = roles.add_role("Old", old_path, **old), roles.add_role("New")  # type: ignore[arg-type]
    machines.add(ARN, publishes("new"), new_role)
    machines.add(ARN + ":1", publishes("old"), old_role)
    machines.add(ARN + ":2", publishes("new"), new_role)
    machines.aliases[ALIAS] = [ARN + ":1", ARN + ":2"]
    return old_role, new_role


def inline(roles: FakeRoles, role: str, name: str) -> list[dict[str, object]]:
    doc = roles.roles[role].inline.get(name)
    return [doc] if doc is not None else []


def test_each_version_is_granted_on_its_own_role_and_nothing_more() -> None:
    fixer, machines, roles, book = make()
    canary(machines, roles)
    out = fixer.fix(ARN, action="CreateStateMachineAlias")
    assert out.status is Status.WRITTEN and "VERSION_ROLE_DIFFERS" not in {f.code for f in out.findings}
    old, new = inline(roles, "Old", VERSION), inline(roles, "New", BASE)
    assert set(roles.roles["Old"].inline) == {VERSION}
    assert is_allowed(old, "sns:Publish", topic("old"), {})
    assert not is_allowed(old, "sns:Publish", topic("new"), {})
    assert not is_allowed(old, "sns:Subscribe", topic("old"), {})
    assert is_allowed(new, "sns:Publish", topic("new"), {})
    assert not is_allowed(new, "sns:Publish", topic("old"), {})
    entry = book.get(BASE)
    assert entry is not None and entry.roles == {"Old", "New"}


def test_the_ledger_learns_the_version_role_before_iam_is_written() -> None:
    fixer, machines, roles, book = make()
    canary(machines, roles)
    seen: list[frozenset[str]] = []
    put = roles.put_inline

    def recording(role: str, name: str, document: dict[str, object]) -> None:
        entry = book.get(BASE)
        if name == VERSION:
            seen.append(entry.roles if entry else frozenset())
        put(role, name, document)

    roles.put_inline = recording  # type: ignore[method-assign]
    fixer.fix(ARN)
    assert seen == [frozenset({"Old", "New"})]


def test_versions_under_the_same_other_role_are_one_policy_their_union() -> None:
    fixer, machines, roles, _ = make()
    old_role, new_role = roles.add_role("Old"), roles.add_role("New")
    machines.add(ARN, publishes("new"), new_role)
    machines.add(ARN + ":1", publishes("a"), old_role)
    machines.add(ARN + ":2", publishes("b"), old_role)
    machines.aliases[ALIAS] = [ARN + ":1", ARN + ":2"]
    fixer.fix(ARN)
    old = inline(roles, "Old", VERSION)
    assert is_allowed(old, "sns:Publish", topic("a"), {}) and is_allowed(old, "sns:Publish", topic("b"), {})
    assert not is_allowed(old, "sns:Publish", topic("new"), {})
    assert [w for w in roles.writes if w[0] == "put-inline" and w[1] == "Old"] == [("put-inline", "Old", VERSION)]


def test_a_second_fix_reads_and_writes_nothing_more() -> None:
    fixer, machines, roles, _ = make()
    canary(machines, roles)
    fixer.fix(ARN)
    writes = len(roles.writes)
    assert fixer.fix(ARN).status is Status.UNCHANGED
    assert len(roles.writes) == writes


def test_the_alias_moving_off_the_version_removes_its_policy_and_the_ledger_role() -> None:
    fixer, machines, roles, book = make()
    canary(machines, roles)
    fixer.fix(ARN)
    machines.aliases[ALIAS] = [ARN + ":2"]
    out = fixer.fix(ARN, action="UpdateStateMachineAlias")
    assert ("delete-inline", "Old", VERSION) in roles.writes and roles.roles["Old"].inline == {}
    assert out.status is Status.REMOVED
    entry = book.get(BASE)
    assert entry is not None and entry.roles == {"New"}


def test_a_version_no_longer_routed_retires_on_its_role_while_its_executions_run() -> None:
    fixer, machines, roles, book = make()
    canary(machines, roles)
    fixer.fix(ARN, changed_at="2026-11-29T10:00:00Z")
    machines.running[ARN] = ["2026-11-29T10:30:00Z"]  # an execution routed to version 1 before the alias moved
    machines.aliases[ALIAS] = [ARN + ":2"]
    out = fixer.fix(ARN, action="UpdateStateMachineAlias", changed_at="2026-11-29T11:00:00Z")
    assert set(roles.roles["Old"].inline) == {BASE + ",retiring"}
    kept = [f.message for f in out.findings if f.code == "RETIRING_KEPT"]
    assert len(kept) == 1 and VERSION in kept[0]
    held = inline(roles, "Old", BASE + ",retiring")
    assert is_allowed(held, "sns:Publish", topic("old"), {}) and not is_allowed(held, "sns:Publish", topic("new"), {})
    entry = book.get(BASE)
    assert entry is not None and "Old" in entry.roles  # later fixes check it, a delete removes it
    # an execution started after the move does not keep it; once the older one ended, the next fix removes it
    machines.running[ARN] = ["2026-11-29T11:05:00Z"]
    out = fixer.fix(ARN, changed_at="2026-11-29T12:00:00Z")
    assert roles.roles["Old"].inline == {} and "RETIRING_REMOVED" in {f.code for f in out.findings}
    entry = book.get(BASE)
    assert entry is not None and entry.roles == {"New"}


def test_a_version_no_longer_routed_with_nothing_older_running_is_removed_after_one_listing() -> None:
    fixer, machines, roles, _ = make()
    canary(machines, roles)
    fixer.fix(ARN, changed_at="2026-11-29T10:00:00Z")
    machines.running[ARN] = ["2026-11-29T11:30:00Z"]
    machines.aliases[ALIAS] = [ARN + ":2"]
    fixer.fix(ARN, changed_at="2026-11-29T11:00:00Z")
    assert roles.roles["Old"].inline == {} and len(machines.listings) == 1


def test_the_version_being_deleted_removes_its_policy() -> None:
    fixer, machines, roles, _ = make()
    canary(machines, roles)
    fixer.fix(ARN)
    del machines.machines[ARN + ":1"]  # DeleteStateMachineVersion: the alias can no longer route to it
    fixer.fix(ARN, action="DeleteStateMachineVersion")
    assert roles.roles["Old"].inline == {}


def test_the_machine_moving_onto_the_version_role_keeps_one_policy_there() -> None:
    fixer, machines, roles, _ = make()
    old_role, _ = canary(machines, roles)
    fixer.fix(ARN)
    machines.add(ARN, publishes("new"), old_role)  # UpdateStateMachine back to Old; version 2 is now elsewhere
    fixer.fix(ARN, action="UpdateStateMachine", relocate=True)
    assert set(roles.roles["Old"].inline) == {BASE}
    assert set(roles.roles["New"].inline) == {VERSION}  # version 2 still runs under New
    assert is_allowed(inline(roles, "Old", BASE), "sns:Publish", topic("old"), {})  # version 1 in the union
    assert is_allowed(inline(roles, "New", VERSION), "sns:Publish", topic("new"), {})


def test_a_delete_removes_every_version_policy_with_or_without_a_ledger() -> None:
    for ledger in (True, False):
        fixer, machines, roles, book = make(ledger=ledger)
        canary(machines, roles)
        fixer.fix(ARN)
        machines.machines.clear()
        machines.aliases.clear()
        assert fixer.remove(ARN).status is Status.REMOVED
        assert roles.roles["Old"].inline == {} and roles.roles["New"].inline == {}
        assert book.get(BASE) is None


def test_a_role_out_of_scope_is_reported_with_the_reason_and_not_written() -> None:
    for old in ({"path": "/legacy/"}, {"tags": {"sfn-iam:opt-out": "true"}}):
        fixer, machines, roles, book = make()
        path = str(old.pop("path", "/stepfunctions/"))
        canary(machines, roles, path, **old)
        out = fixer.fix(ARN)
        differs = [f.message for f in out.findings if f.code == "VERSION_ROLE_DIFFERS"]
        assert len(differs) == 1 and ARN + ":1" in differs[0]
        assert ("path" in differs[0]) if path == "/legacy/" else ("opt-out" in differs[0])
        assert roles.roles["Old"].inline == {} and not [w for w in roles.writes if "Old" in w]
        entry = book.get(BASE)
        assert entry is not None and entry.roles == {"New"}


def test_a_missing_version_role_is_reported() -> None:
    fixer, machines, roles, _ = make()
    canary(machines, roles)
    del roles.roles["Old"]
    out = fixer.fix(ARN)
    assert any(f.code == "VERSION_ROLE_DIFFERS" and "does not exist" in f.message for f in out.findings)


def test_report_mode_proposes_and_writes_nothing() -> None:
    fixer, machines, roles, book = make(mode="report")
    canary(machines, roles)
    out = fixer.fix(ARN)
    assert out.status is Status.PROPOSED
    assert any(c.policy == VERSION and c.role == "Old" and not c.applied for c in out.changes)
    assert roles.writes == [] and book.get(BASE) is None


def test_refused_for_size_is_high_and_nothing_else_is_written_to_the_role() -> None:
    for mode in ("enforce", "report"):
        fixer, machines, roles, _ = make(mode=mode)
        canary(machines, roles)
        filler = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                          "Resource": f"arn:aws:s3:::{'b' * 10100}/*"}]}
        assert policy.size(filler) < policy.INLINE_LIMIT
        roles.roles["Old"].inline["team"] = filler
        out = fixer.fix(ARN)
        assert [f.code for f in out.findings if f.code == "VERSION_NOT_PLACED"] == ["VERSION_NOT_PLACED"]
        assert max(f.severity for f in out.findings).name == "HIGH"
        assert set(roles.roles["Old"].inline) == {"team"} and roles.roles["Old"].attached == []
        assert not [c for c in out.changes if c.role == "Old"]


def test_a_version_that_cannot_be_planned_fails_closed() -> None:
    fixer, machines, roles, _ = make()
    old_role, _ = canary(machines, roles)
    fixer.fix(ARN)
    machines.add(ARN + ":1", {"StartAt": "Missing", "States": "not states"}, old_role)
    out = fixer.fix(ARN)
    codes = {f.code for f in out.findings}
    assert {"DEFINITION_ERROR", "STALE_GRANTS_REMOVED"} <= codes
    assert roles.roles["Old"].inline == {}
    assert is_allowed(inline(roles, "New", BASE), "sns:Publish", topic("new"), {})


def test_the_sweep_owns_version_policies_and_removes_orphaned_ones() -> None:
    fixer, machines, roles, book = make()
    canary(machines, roles)
    fixer.fix(ARN)
    sweeper = Sweeper(machines, roles, fixer.settings, "us-east-1", ledger=book)
    first = sweeper.run()
    assert not first.orphans and first.writes == 0
    assert not [f for o in first.all_outcomes for f in o.findings if f.code in ("DRIFT", "RESIDUAL_ACCESS")]
    roles.roles["Old"].inline[VERSION] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}
    second = Sweeper(machines, roles, fixer.settings, "us-east-1", ledger=book).run()
    assert [f.code for o in second.outcomes for f in o.findings if f.code == "DRIFT"] == ["DRIFT"]
    assert not is_allowed(inline(roles, "Old", VERSION), "sns:Publish", topic("new"), {})
    machines.machines.clear()
    machines.aliases.clear()
    book.entries.clear()
    third = Sweeper(machines, roles, fixer.settings, "us-east-1", ledger=book).run()
    assert third.orphans and roles.roles["Old"].inline == {} and roles.roles["New"].inline == {}


def test_residual_access_counts_a_version_policy_as_the_fixers() -> None:
    fixer, machines, roles, _ = make()
    old_role, _ = canary(machines, roles)
    fixer.fix(ARN)
    # another machine runs under Old; a team policy there grants what Orders' version 1 needs, nothing more
    other = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Other"
    machines.add(other, publishes("other"), old_role)
    roles.roles["Old"].inline["team"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic("old")}]}
    assert not [f for f in fixer.fix(other).findings if f.code == "RESIDUAL_ACCESS"]
    roles.roles["Old"].inline["team"]["Statement"][0]["Resource"] = topic("*")  # type: ignore[index]
    assert [f.code for f in fixer.fix(other).findings if f.code == "RESIDUAL_ACCESS"] == ["RESIDUAL_ACCESS"]


def test_with_versions_splits_by_role_and_skips_copies_of_the_latest() -> None:
    _, machines, roles, _ = make()
    old_role, new_role = canary(machines, roles)
    described, elsewhere = versions.with_versions(machines, machines.machines[ARN])
    assert described.machine.versions == ()  # version 2 equals the latest
    assert list(elsewhere) == [old_role] and [v.arn for v in elsewhere[old_role]] == [ARN + ":1"]
    assert new_role not in elsewhere


def test_version_names_stay_within_iam_limits() -> None:
    long_base = "sfn-iam.us-east-1." + "x" * 110
    name = naming.version_name(long_base)
    assert len(name) <= naming.MAX_NAME and naming.is_version(name) and name != naming.retiring_name(long_base)
    assert naming.version_name(BASE) == VERSION and not naming.is_version(BASE)


class VanishingMachines(FakeMachines):
    """The machine is deleted right after the fixer's first describe of it: its re-check finds it gone."""

    def describe(self, arn: str):  # type: ignore[no-untyped-def]
        found = super().describe(arn)
        if arn == ARN and found is not None and not getattr(self, "gone", False):
            self.gone = True
            self.machines.pop(ARN)
        return found


def test_a_machine_deleted_during_its_fix_leaves_no_version_policy() -> None:
    fixer, _, roles, book = make()
    machines = VanishingMachines()
    fixer.machines = machines
    canary(machines, roles)
    out = fixer.fix(ARN)
    assert out.status is Status.REMOVED and "CONCURRENT_CHANGE" in {f.code for f in out.findings}
    assert ("put-inline", "Old", VERSION) in roles.writes  # written, then taken back
    assert roles.roles["Old"].inline == {} and roles.roles["New"].inline == {}
    assert book.get(BASE) is None
