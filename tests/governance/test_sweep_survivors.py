"""The sweep's paths that only the moto tests reached, over the in-memory ports: the per-sweep cache's other reads
and writes, the ledger's part (what is news, a stray copy, a machine being deleted), a grant frozen on a role that
left scope, the digest of what was reported (each test fails on a mutant `make mutate` found surviving)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sfn_iam.findings import Finding
from sfn_iam.fixing.outcome import Outcome, Status
from sfn_iam.fixing.ports import Document, PolicyHolder, RoleUnreadableError
from sfn_iam.fixing.settings import ConfigError
from sfn_iam.governance import sweep
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.governance.test_sweep import REGION, arn, run, settings, topic_definition, world

PREFIX = "sfn-iam."
DOC: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}


class LateMachines(FakeMachines):
    """Machines created after the sweep listed them: the ARNs in ``hidden`` are left out of the listing."""

    hidden: frozenset[str] = frozenset()

    def list_arns(self) -> Any:
        return (a for a in super().list_arns() if a not in self.hidden)


class UnlistedMachines(FakeMachines):
    """Machines all created after the sweep listed them: describable, never listed."""

    def list_arns(self) -> Any:
        return iter(())


class Counted(FakeRoles):
    """FakeRoles counting the reads the cache should answer once."""

    def __init__(self) -> None:
        super().__init__()
        self.policy_reads: list[str] = []
        self.inline_reads: list[tuple[str, str]] = []

    def get_policy_document(self, arn: str) -> Document | None:
        self.policy_reads.append(arn)
        return super().get_policy_document(arn)

    def get_inline(self, role: str, name: str) -> Document | None:
        self.inline_reads.append((role, name))
        return super().get_inline(role, name)


# -- the cache ------------------------------------------------------------------------------------------------------

def test_any_managed_policy_document_is_read_once_per_sweep_and_handed_out_as_a_copy() -> None:
    roles = Counted()
    known, missing = "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/Gone"
    roles.documents[known] = copy.deepcopy(DOC)
    cache = sweep.SweepCache(roles, PREFIX)
    first = cache.get_policy_document(known)
    assert first == DOC
    assert first is not None
    first["Statement"] = []  # the caller's copy
    assert cache.get_policy_document(known) == DOC and cache.get_policy_document(known) == DOC
    assert cache.get_policy_document(missing) is None and cache.get_policy_document(missing) is None
    assert roles.policy_reads == [known, missing]


def test_a_passed_roles_policies_are_read_once_and_forgotten_when_the_sweep_writes() -> None:
    roles = FakeRoles()
    roles.add_role("passed")
    roles.add_role("secret")
    roles.roles["passed"].inline["team"] = copy.deepcopy(DOC)
    roles.unreadable.add("secret")
    cache = sweep.SweepCache(roles, PREFIX)
    found = cache.role_permissions("passed")
    assert found is not None and found.documents == (DOC,)
    assert cache.role_permissions("passed") == found and roles.permission_reads == ["passed"]
    for _ in range(2):  # refused once, the refusal is what the sweep remembers
        with pytest.raises(RoleUnreadableError):
            cache.role_permissions("secret")
    assert roles.permission_reads == ["passed", "secret"]
    assert cache.role_permissions("nobody") is None and cache.role_permissions("nobody") is None
    cache.put_inline("passed", f"{PREFIX}{REGION}.m", DOC)  # a write to the role: read again
    cache.role_permissions("passed")
    cache.role_permissions("passed")
    assert roles.permission_reads == ["passed", "secret", "nobody", "passed"]
    cache.put_managed(f"{PREFIX}{REGION}.m.1", DOC)  # any role may carry a managed policy: everything again
    cache.role_permissions("passed")
    with pytest.raises(RoleUnreadableError):
        cache.role_permissions("secret")
    assert roles.permission_reads[4:] == ["passed", "secret"]


def test_detaching_keeps_the_cached_lists_and_the_holder_listing_true() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    names = [f"{PREFIX}{REGION}.{m}.1" for m in ("a", "b", "c", "d")]
    roles.roles["r"].attached = list(names)
    cache = sweep.SweepCache(roles, PREFIX)
    cache.holders(PREFIX)
    assert [a.name for a in cache.list_attached("r") or []] == names
    b_arn = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/{names[1]}"
    assert cache.detach_arn("r", b_arn) is True
    assert [a.name for a in cache.list_attached("r") or []] == [names[0], names[2], names[3]]
    assert cache.detach("r", "".join([PREFIX, REGION, ".c.1"])) is True  # not the listed string object
    assert [a.name for a in cache.list_attached("r") or []] == [names[0], names[3]]
    [holder] = cache.holders(PREFIX)
    assert [a.name for a in holder.attached] == [names[0], names[1], names[3]]  # b went by ARN, not by the listing
    assert roles.roles["r"].attached == [names[0], names[3]]


def test_deleting_an_inline_policy_takes_it_out_of_the_holder_listing() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    roles.roles["r"].inline[f"{PREFIX}{REGION}.keep"] = DOC
    cache = sweep.SweepCache(roles, PREFIX)
    cache.holders(PREFIX)
    cache.put_inline("r", f"{PREFIX}{REGION}.gone", DOC)
    assert [h.inline for h in cache.holders(f"{PREFIX}{REGION}.gone")] == [(f"{PREFIX}{REGION}.gone",)]
    assert cache.delete_inline("r", "".join([PREFIX, REGION, ".gone"])) is True  # another string object
    assert cache.holders(f"{PREFIX}{REGION}.gone") == []
    assert [h.inline for h in cache.holders(PREFIX)] == [(f"{PREFIX}{REGION}.keep",)]


def test_documents_the_holder_listing_returned_are_not_read_again() -> None:
    class Listing(Counted):
        def holders(self, prefix: str) -> list[PolicyHolder]:
            return [PolicyHolder(h.role_arn, h.role_name, h.inline, h.attached,
                                 documents=tuple((n, copy.deepcopy(self.roles[h.role_name].inline[n]))
                                                 for n in h.inline))
                    for h in super().holders(prefix)]

    roles = Listing()
    roles.add_role("r")
    name = f"{PREFIX}{REGION}.m"
    roles.roles["r"].inline[name] = copy.deepcopy(DOC)
    cache = sweep.SweepCache(roles, PREFIX)
    cache.holders(PREFIX)
    assert cache.get_inline("r", name) == DOC and roles.inline_reads == []


# -- the sweep ------------------------------------------------------------------------------------------------------

def test_a_result_without_roles_counts_none() -> None:
    assert sweep.SweepResult("enforce", ACCOUNT, REGION, ()).totals()["roles"] == 0


def test_orphans_are_counted_as_proposed_in_report_mode_and_as_removed_in_enforce_mode() -> None:
    machines, roles = world(2, 1)
    run(machines, roles)
    del machines.machines[arn("sm-0-1")]
    proposed = run(machines, roles, mode="report")
    assert (proposed.totals()["orphansProposed"], proposed.totals()["orphansRemoved"]) == (1, 0)
    removed = run(machines, roles)
    assert (removed.totals()["orphansProposed"], removed.totals()["orphansRemoved"]) == (0, 1)
    # a proposed removal is news to record; a removed orphan is news once, and nothing is recorded for it (its
    # ledger entry is gone with it)
    orphan = f"{PREFIX}{REGION}.sm-0-1"
    assert orphan in proposed.digests and orphan not in removed.digests
    assert set(removed.digests) == {f"{PREFIX}{REGION}.sm-0-0"}


def test_a_listed_machine_not_yet_describable_is_not_waited_for() -> None:
    machines, roles = world(1, 1)
    machines.invisible_for[arn("sm-0-0")] = 1  # the first describe says "not found"
    [outcome] = run(machines, roles).outcomes
    assert outcome.status is Status.GONE and roles.writes == []  # one describe: listed but gone is gone


def test_a_stray_copy_the_ledger_does_not_know_is_found_through_iams_listing_and_removed() -> None:
    machines, roles = world(1, 1)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    name = f"{PREFIX}{REGION}.sm-0-0"
    roles.add_role("stray")
    roles.roles["stray"].inline[name] = copy.deepcopy(roles.roles["role-0"].inline[name])  # unknown to the ledger
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    assert name not in roles.roles["stray"].inline and name in roles.roles["role-0"].inline


def test_what_the_previous_sweep_reported_is_not_news() -> None:
    machines, roles = world(2, 1)
    ledger = FakeLedger()
    first = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger)
    result = first.run()
    names = {f"{PREFIX}{REGION}.sm-0-{m}" for m in range(2)}
    assert result.repeated == frozenset() and set(result.digests) == names
    first.record_reported(result.digests)
    again = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    assert again.repeated == names and dict(again.digests) == {}


def test_a_machine_being_deleted_loses_its_policy_as_an_orphan() -> None:
    class Listing(FakeMachines):
        def list_arns(self) -> Any:  # as ListStateMachines once a delete began: the machine is no longer listed
            return (a for a in super().list_arns() if self.machines[a].status == "ACTIVE")

    machines, roles = Listing(), FakeRoles()
    role_arn = roles.add_role("role-0")
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    name = f"{PREFIX}{REGION}.sm-0"
    assert name in roles.roles["role-0"].inline
    machines.add(arn("sm-0"), topic_definition("t"), role_arn, status="DELETING")
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    assert [o.status for o in result.orphans] == [Status.REMOVED] and name not in roles.roles["role-0"].inline


def test_a_role_that_left_scope_reports_the_grant_frozen_on_it_without_a_ledger() -> None:
    machines, roles = world(1, 1)
    run(machines, roles)
    roles.roles["role-0"].tags["sfn-iam:opt-out"] = "true"
    [outcome] = run(machines, roles).outcomes
    assert outcome.status is Status.SKIPPED and outcome.reason == "ROLE_OUT_OF_SCOPE"
    frozen = [f.message for f in outcome.findings if f.code == "ORPHANED_GRANT"]
    assert len(frozen) == 1 and f"{PREFIX}{REGION}.sm-0-0" in frozen[0]
    # a role out of scope that never carried the machine's policy: nothing frozen, nothing said
    machines2, roles2 = world(1, 1)
    roles2.roles["role-0"].tags["sfn-iam:opt-out"] = "true"
    [quiet] = run(machines2, roles2).outcomes
    assert quiet.reason == "ROLE_OUT_OF_SCOPE" and not [f for f in quiet.findings if f.code == "ORPHANED_GRANT"]


def test_the_reported_digest_ignores_only_a_settled_outcomes_boundary_finding() -> None:
    def outcome(status: Status, *codes: str) -> Outcome:
        return Outcome(status, "enforce", policy_name="p", findings=tuple(Finding.of(c, "m") for c in codes))

    written = sweep.outcome_digest(outcome(Status.WRITTEN))
    assert sweep.outcome_digest(outcome(Status.UNCHANGED, "BOUNDARY_SET")) == written  # settled either way
    assert sweep.outcome_digest(outcome(Status.UNCHANGED, "DYNAMIC_RESOURCE")) != written
    assert sweep.outcome_digest(outcome(Status.WRITTEN, "ASSUMED_CONTEXT")) != written  # sorts before BOUNDARY_SET
    proposed = sweep.outcome_digest(outcome(Status.PROPOSED))
    assert sweep.outcome_digest(outcome(Status.PROPOSED, "BOUNDARY_SET")) != proposed


def test_an_inline_document_is_read_once_until_the_sweep_writes_it() -> None:
    roles = Counted()
    roles.add_role("r")
    name = f"{PREFIX}{REGION}.m"
    roles.roles["r"].inline[name] = copy.deepcopy(DOC)
    cache = sweep.SweepCache(roles, PREFIX)
    assert cache.get_inline("r", name) == DOC and cache.get_inline("r", name) == DOC
    assert roles.inline_reads == [("r", name)]
    cache.put_inline("r", name, {"Version": "2012-10-17", "Statement": []})
    cache.get_inline("r", name)
    cache.get_inline("r", name)  # after a write, every read-back goes to IAM
    assert roles.inline_reads == [("r", name)] * 3


def test_attaching_adds_the_policy_to_the_cached_list_once() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    cache = sweep.SweepCache(roles, PREFIX)
    assert cache.list_attached("r") == []
    name = f"{PREFIX}{REGION}.m.1"
    cache.attach("r", name)
    assert [a.name for a in cache.list_attached("r") or []] == [name]
    cache.attach("r", "".join([PREFIX, REGION, ".m.1"]))  # attached again (a retried write, its own string): once
    assert [a.name for a in cache.list_attached("r") or []] == [name]


def test_attaching_next_to_policies_of_any_name_lists_it_beside_them() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    roles.roles["r"].attached = ["AuditPolicy", "zz-audit"]  # one sorts before ours, one after
    cache = sweep.SweepCache(roles, PREFIX)
    assert [a.name for a in cache.list_attached("r") or []] == ["AuditPolicy", "zz-audit"]
    name = f"{PREFIX}{REGION}.m.1"
    cache.attach("r", name)
    assert [a.name for a in cache.list_attached("r") or []] == ["AuditPolicy", "zz-audit", name]


def test_the_residual_removal_names_the_first_three_excess_grants() -> None:
    from tests.governance.test_sweep import CONFINED

    machines, roles = FakeMachines(), FakeRoles()
    role_arn = roles.add_role("wide", trust=copy.deepcopy(CONFINED))
    actions = ["s3:DeleteBucket", "s3:GetObject", "s3:PutObject", "sqs:DeleteQueue", "sqs:SendMessage"]
    roles.roles["wide"].inline["team"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    result = sweep.Sweeper(machines, roles, settings(REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    [removal] = result.residual_removals
    [message] = [f.message for f in removal.findings if f.code == "RESIDUAL_REMOVED"]
    listed = "; ".join(f"{a} on *" for a in actions[:3])
    assert f": {listed}; `sfn-iam restore`" in message and "sqs:" not in message


def test_what_iams_listing_returned_about_a_role_is_not_listed_again() -> None:
    from sfn_iam.fixing.ports import AttachedPolicy

    class Listing(Counted):
        def holders(self, prefix: str) -> list[PolicyHolder]:
            return [PolicyHolder(h.role_arn, h.role_name, h.inline, h.attached,
                                 listed=(tuple(self.roles[h.role_name].inline),
                                         tuple(AttachedPolicy(n, f"arn:aws:iam::aws:policy/{n}")
                                               for n in self.roles[h.role_name].attached)))
                    for h in super().holders(prefix)]

        def list_inline(self, role: str) -> list[str] | None:
            raise AssertionError("listed already")

    roles = Listing()
    roles.add_role("r")
    ours = f"{PREFIX}{REGION}.m"
    roles.roles["r"].inline.update({ours: DOC, "team": DOC})
    roles.roles["r"].attached.append("ReadOnlyAccess")
    cache = sweep.SweepCache(roles, PREFIX)
    cache.holders(PREFIX)
    assert cache.list_inline("r") == [ours, "team"]
    assert [a.name for a in cache.list_attached("r") or []] == ["ReadOnlyAccess"]
    assert cache.existed("r", "team") and cache.existed("r", ours) and not cache.existed("r", "other")
    assert cache.existed("", "ReadOnlyAccess")


def test_a_prefix_after_every_name_of_a_role_with_hundreds_of_policies_matches_none() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    for i in range(300):  # more than CPython's cached small integers
        roles.roles["r"].inline[f"{PREFIX}{REGION}.m{i:03d}"] = DOC
    cache = sweep.SweepCache(roles, PREFIX)
    assert cache.holders(f"{PREFIX}{REGION}.z") == []
    assert [h.inline for h in cache.holders(f"{PREFIX}{REGION}.m299")] == [(f"{PREFIX}{REGION}.m299",)]


def test_the_use_case_defaults_to_the_deployed_pool_and_never_to_no_worker() -> None:
    machines, roles = world(1, 2)
    assert sweep.Sweeper(machines, roles, settings(), REGION).workers == sweep.SweepOptions().workers == 4
    result = sweep.Sweeper(machines, roles, settings(), REGION, workers=0).run()
    assert len(result.outcomes) == 2 and not result.errors


def test_a_changed_outcome_is_news_whatever_its_digest_compares_to_the_last() -> None:
    machines, roles = world(1, 1)
    ledger = FakeLedger()
    ledger.note_findings(f"{PREFIX}{REGION}.sm-0-0", "f" * 64)  # sorts after any digest
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    assert result.repeated == frozenset() and list(result.digests) == [f"{PREFIX}{REGION}.sm-0-0"]


@pytest.mark.parametrize("workers", [1, 4])
def test_recording_what_was_reported_works_with_any_pool(workers: int) -> None:
    machines, roles = world(3, 1)
    ledger = FakeLedger()
    sweeper = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger, workers=workers)
    result = sweeper.run()
    sweeper.record_reported(result.digests)
    assert ledger.findings == dict(result.digests) and len(ledger.findings) == 3


def test_a_role_without_residual_access_is_not_judged_for_removal() -> None:
    machines, roles = world(1, 1)  # the default trust policy is not confined: a judged role would be RESIDUAL_KEPT
    result = sweep.Sweeper(machines, roles, settings(REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    assert result.residual_removals == () and not result.errors


def test_an_unreadable_residual_policy_stays_and_a_readable_one_goes() -> None:
    from tests.governance.test_sweep import CONFINED

    class Unreadable(FakeRoles):
        def get_inline(self, role: str, name: str) -> Document | None:
            return None if name.startswith("hidden") else super().get_inline(role, name)

    machines, roles = FakeMachines(), Unreadable()
    role_arn = roles.add_role("wide", trust=copy.deepcopy(CONFINED))
    # not admin-equivalent: the same severity as an unreadable policy, so the three are handled in name order
    wide: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                              "Resource": "*"}]}
    for name in ("a-team", "hidden", "z-team"):
        roles.roles["wide"].inline[name] = copy.deepcopy(wide)
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    result = sweep.Sweeper(machines, roles, settings(REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    assert {"hidden"} == {n for n in roles.roles["wide"].inline if not n.startswith(PREFIX)}
    [removal] = result.residual_removals
    assert sorted(r["policyName"] for r in removal.residual) == ["a-team", "z-team"]


def test_a_frozen_grant_is_found_past_a_role_the_ledger_names_that_is_gone() -> None:
    machines, roles = world(1, 1)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    base = f"{PREFIX}{REGION}.sm-0-0"
    ledger.add_roles(base, arn("sm-0-0"), frozenset({"a-gone"}))  # sorts before role-0; deleted since
    roles.roles["role-0"].tags["sfn-iam:opt-out"] = "true"
    [outcome] = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run().outcomes
    assert [f for f in outcome.findings if f.code == "ORPHANED_GRANT" and base in f.message]


def test_an_orphans_retiring_and_version_policies_go_with_it() -> None:
    from sfn_iam.fixing import naming

    machines, roles = world(2, 1)
    run(machines, roles)
    base = f"{PREFIX}{REGION}.sm-0-1"
    roles.roles["role-0"].inline[naming.retiring_name(base)] = DOC
    roles.roles["role-0"].inline[naming.version_name(base)] = DOC
    del machines.machines[arn("sm-0-1")]
    result = run(machines, roles, mode="report")
    assert [o.policy_name for o in result.orphans] == [base]


def test_the_reported_digest_counts_proposed_changes_only() -> None:
    from sfn_iam.fixing.outcome import Change, ChangeKind

    def outcome(status: Status, *applied: bool) -> Outcome:
        return Outcome(status, "enforce", policy_name="p",
                       changes=tuple(Change(ChangeKind.PUT_INLINE, "r", "p", a) for a in applied))

    assert sweep.outcome_digest(outcome(Status.WRITTEN, True)) == sweep.outcome_digest(outcome(Status.UNCHANGED))
    assert sweep.outcome_digest(outcome(Status.PROPOSED, False)) != sweep.outcome_digest(outcome(Status.PROPOSED))


def test_an_orphan_that_cannot_be_removed_is_an_error_and_the_others_still_go() -> None:
    class Refusing(FakeRoles):
        def delete_inline(self, role: str, name: str) -> bool:
            if name.endswith(".sm-0-1"):
                raise PermissionError("AccessDenied: " + "x" * 500)
            return super().delete_inline(role, name)

    machines, roles = FakeMachines(), Refusing()
    role_arn = roles.add_role("role-0")
    for m in range(3):
        machines.add(arn(f"sm-0-{m}"), topic_definition(f"t-{m}"), role_arn)
    run(machines, roles)
    del machines.machines[arn("sm-0-1")], machines.machines[arn("sm-0-2")]
    result = run(machines, roles)
    [error] = result.errors
    assert error.target == f"{PREFIX}{REGION}.sm-0-1"
    assert error.error == "PermissionError: " + ("AccessDenied: " + "x" * 500)[:300]
    assert [o.policy_name for o in result.orphans] == [f"{PREFIX}{REGION}.sm-0-2"]
    assert f"{PREFIX}{REGION}.sm-0-2" not in roles.roles["role-0"].inline


def test_a_machines_error_is_kept_to_300_characters() -> None:
    class Failing(FakeMachines):
        def describe(self, a: str) -> Any:
            raise RuntimeError("y" * 400)

    machines, roles = world(1, 1)
    failing = Failing()
    failing.machines = machines.machines
    [error] = sweep.Sweeper(failing, roles, settings(), REGION).run().errors
    assert error.error == "RuntimeError: " + "y" * 300


def test_residual_removal_judges_every_role_on_its_own() -> None:
    from tests.governance.test_sweep import CONFINED

    machines, roles = FakeMachines(), FakeRoles()
    wide: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                              "Resource": "*"}]}
    for name, trust in (("a-clean", None), ("b-kept", None), ("c-wide", CONFINED)):
        role_arn = roles.add_role(name, **({"trust": copy.deepcopy(trust)} if trust else {}))
        machines.add(arn(f"sm-{name}"), topic_definition(name), role_arn)
        if name != "a-clean":
            roles.roles[name].inline["team"] = copy.deepcopy(wide)
    result = sweep.Sweeper(machines, roles, settings(REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    by_role = {o.role_arn.rsplit("/", 1)[-1]: o for o in result.residual_removals}
    assert sorted(by_role) == ["b-kept", "c-wide"]  # a role without residual access is not judged
    assert [f.code for f in by_role["b-kept"].findings] == ["RESIDUAL_KEPT"] and "team" in roles.roles["b-kept"].inline
    assert by_role["c-wide"].status is Status.REMOVED and "team" not in roles.roles["c-wide"].inline
    [saved] = by_role["c-wide"].residual
    assert saved["removed"] is True and saved["document"] == wide  # what `sfn-iam restore` puts back


def test_a_listed_machines_retiring_policy_and_another_regions_overflow_are_no_orphans() -> None:
    from sfn_iam.fixing import naming

    machines, roles = world(1, 1)
    run(machines, roles)
    base = f"{PREFIX}{REGION}.sm-0-0"
    roles.roles["role-0"].inline[naming.retiring_name(base)] = DOC
    roles.roles["role-0"].inline[naming.version_name(base)] = DOC  # its routed versions' policy
    far = f"{PREFIX}eu-west-1.far.1"
    roles.roles["role-0"].attached.append(far)
    roles.managed[far] = DOC
    assert run(machines, roles, mode="report").orphans == ()


def test_setting_a_boundary_updates_the_cached_role() -> None:
    roles = FakeRoles()
    roles.add_role("r")
    roles.add_role("unread")
    cache = sweep.SweepCache(roles, PREFIX)
    before = cache.get_role("r")
    assert before is not None and before.boundary_arn == ""
    ceiling = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/ceiling"
    cache.set_boundary("r", ceiling)
    cache.set_boundary("unread", ceiling)  # not read yet: nothing cached to update
    after, fresh = cache.get_role("r"), cache.get_role("unread")
    assert after is not None and after.boundary_arn == ceiling
    assert fresh is not None and fresh.boundary_arn == ceiling


def test_a_frozen_grant_names_the_role_and_its_overflow_policies() -> None:
    machines, roles = world(1, 1)
    run(machines, roles)
    base = f"{PREFIX}{REGION}.sm-0-0"
    roles.roles["role-0"].attached.append(f"{base}.1")
    roles.managed[f"{base}.1"] = DOC
    roles.roles["role-0"].tags["sfn-iam:opt-out"] = "true"
    [outcome] = run(machines, roles).outcomes
    frozen = sorted(f.message for f in outcome.findings if f.code == "ORPHANED_GRANT")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/role-0"
    assert [m.split(" stays on ")[0] for m in frozen] == [base, f"{base}.1"]
    assert all(f" stays on {role_arn}, " in m for m in frozen)


def test_drift_says_hand_edit_when_the_ledger_knows_the_machine() -> None:
    for ledger, why in ((FakeLedger(), "(edited by hand)"), (None, "(edited by hand, or a definition change")):
        machines, roles = world(1, 1)
        sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
        roles.roles["role-0"].inline[f"{PREFIX}{REGION}.sm-0-0"] = {"Version": "2012-10-17", "Statement": []}
        [outcome] = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run().outcomes
        [drift] = [f.message for f in outcome.findings if f.code == "DRIFT"]
        assert why in drift


def test_a_machine_created_after_the_listing_is_fixed_not_stripped_and_its_old_copy_moves() -> None:
    machines, roles = LateMachines(), FakeRoles()
    old = roles.add_role("role-old")
    machines.add(arn("sm-0"), topic_definition("t"), old)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    name = f"{PREFIX}{REGION}.sm-0"
    new = roles.add_role("role-new")
    machines.add(arn("sm-0"), topic_definition("t"), new)  # deleted and created again on another role
    machines.hidden = frozenset({arn("sm-0")})
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    [orphan] = result.orphans
    assert orphan.status is Status.WRITTEN and orphan.state_machine_arn == arn("sm-0")
    assert name in roles.roles["role-new"].inline and name not in roles.roles["role-old"].inline
    totals = result.totals()  # fixed, not removed: the summary counts no orphan either way
    assert (totals["orphansRemoved"], totals["orphansProposed"], totals["writes"]) == (0, 0, result.writes)
    assert result.writes > 0


def test_residual_policies_are_removed_only_when_opted_in_and_enforcing() -> None:
    from tests.governance.test_sweep import CONFINED

    machines, roles = FakeMachines(), FakeRoles()
    role_arn = roles.add_role("wide", trust=copy.deepcopy(CONFINED))
    roles.roles["wide"].inline["team"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    without = sweep.Sweeper(machines, roles, settings(), REGION).run()  # enforce, removal not opted in
    assert without.outcomes[0].status is Status.WRITTEN and without.residual_removals == ()
    assert "team" in roles.roles["wide"].inline
    roles.writes.clear()
    # the machine is now unchanged, as the removal requires; report mode still writes nothing
    result = sweep.Sweeper(machines, roles, settings("report", REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    assert result.outcomes[0].status is Status.UNCHANGED
    assert result.residual_removals == () and "team" in roles.roles["wide"].inline and roles.writes == []


def test_a_missed_change_is_told_from_a_hand_edit_whichever_way_the_hashes_sort() -> None:
    from sfn_iam.fixing.placement import digest

    for later in (False, True):
        machines, roles = world(1, 1)
        ledger = FakeLedger()
        sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
        recorded = ledger.entries[f"{PREFIX}{REGION}.sm-0-0"].definition_hash
        # a definition change no event reported, whose hash sorts before (or after) the recorded one
        definition = next(d for d in (topic_definition(f"other-{i}") for i in range(100))
                          if (digest(d) > recorded) is later)
        machines.add(arn("sm-0-0"), definition, machines.machines[arn("sm-0-0")].machine.role_arn)
        [outcome] = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run().outcomes
        assert [f.code for f in outcome.findings if f.code in ("DRIFT", "MISSED_CHANGE")] == ["MISSED_CHANGE"]


def test_a_first_policy_on_a_role_enters_the_holder_listing_with_the_roles_arn() -> None:
    roles = FakeRoles()
    roles.add_role("fresh")
    cache = sweep.SweepCache(roles, PREFIX)
    cache.holders(PREFIX)
    assert cache.get_role("fresh") is not None
    cache.put_inline("fresh", f"{PREFIX}{REGION}.m", DOC)
    [holder] = cache.holders(PREFIX)
    assert (holder.role_arn, holder.inline) == (f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fresh",
                                                (f"{PREFIX}{REGION}.m",))


def test_the_reported_digest_is_the_same_for_an_outcome_rebuilt_from_a_batchs_json() -> None:
    """The summary step of the sweep state machine reads the batches' outcomes back from JSON (batches.outcome_of):
    the same outcome has the same digest, whichever string objects its finding codes are."""
    import json

    from sfn_iam.governance import batches

    for status in (Status.WRITTEN, Status.UNCHANGED, Status.PROPOSED):
        outcome = Outcome(status, "enforce", state_machine_arn=arn("sm-0"), policy_name="p",
                          findings=(Finding.of("BOUNDARY_SET", "the ceiling is the role's boundary now"),
                                    Finding.of("DYNAMIC_RESOURCE", "m")))
        rebuilt = batches.outcome_of(json.loads(json.dumps(outcome.to_event())))
        assert [f.code for f in rebuilt.findings] == ["BOUNDARY_SET", "DYNAMIC_RESOURCE"]
        assert sweep.outcome_digest(rebuilt) == sweep.outcome_digest(outcome)
    settled = Outcome(Status.WRITTEN, "enforce", policy_name="p")
    boundary = Outcome(Status.UNCHANGED, "enforce", state_machine_arn=arn("sm-0"), policy_name="p",
                       findings=(Finding.of("BOUNDARY_SET", "m"),))
    rebuilt = batches.outcome_of(json.loads(json.dumps(boundary.to_event())))
    assert sweep.outcome_digest(rebuilt) == sweep.outcome_digest(settled)  # a settled boundary is no news


@pytest.mark.parametrize("race", ["deleted", "deleted-between-its-lists", "deleted-and-created-again"])
def test_the_summary_steps_residual_removal_passes_over_a_role_that_changed_since_the_batches(race: str) -> None:
    """The sweep state machine's summary step removes residual policies with a new sweeper (``remove_residual``),
    after the batches fixed the machines: a role deleted meanwhile (before its reads, between them, or deleted and
    made again) is passed over, not an error, and the next role is still handled."""
    from tests.governance.test_sweep import CONFINED

    class Racing(FakeRoles):
        race = ""

        def get_role(self, name: str) -> Any:
            if name == "a-racing" and self.race == "deleted-and-created-again":
                return None  # NoSuchEntity, and the role is there again for the next read
            return super().get_role(name)

        def list_inline(self, role: str) -> list[str] | None:
            names = super().list_inline(role)
            if role == "a-racing" and self.race == "deleted-between-its-lists":
                del self.roles[role]
            return names

    machines, roles = FakeMachines(), Racing()
    wide: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                              "Resource": "*"}]}
    for name in ("a-racing", "b-wide"):
        role_arn = roles.add_role(name, trust=copy.deepcopy(CONFINED))
        roles.roles[name].inline["team"] = copy.deepcopy(wide)
        machines.add(arn(f"sm-{name}"), topic_definition(name), role_arn)
    opted = settings(REMOVE_RESIDUAL_POLICIES="true")
    batch = sweep.Sweeper(machines, roles, opted, REGION).run_batch(sorted(machines.machines))
    assert [o.status for o in batch.outcomes] == [Status.WRITTEN] * 2 and all(o.residual for o in batch.outcomes)
    if race == "deleted":
        del roles.roles["a-racing"]
    roles.race = race
    removals = sweep.Sweeper(machines, roles, opted, REGION).remove_residual(batch.outcomes)
    assert [o.role_arn.rsplit("/", 1)[-1] for o in removals] == ["b-wide"]
    assert removals[0].status is Status.REMOVED and "team" not in roles.roles["b-wide"].inline
    if "a-racing" in roles.roles:
        assert "team" in roles.roles["a-racing"].inline


def test_a_grant_is_reported_frozen_only_on_the_machines_role_or_a_role_the_ledger_names() -> None:
    """A machine moved to a role of another account is out of scope. Without a ledger (the CLI) the sweep looks at
    no role of this account: a role here with the same name is not the machine's role, whatever the two accounts'
    order."""
    for account in ("000000000000", "999999999999"):  # before and after this account
        machines, roles = world(1, 1)
        run(machines, roles)
        machines.add(arn("sm-0-0"), topic_definition("t-0-0"), f"arn:aws:iam::{account}:role/stepfunctions/role-0")
        result = run(machines, roles)
        [outcome] = result.outcomes
        assert (outcome.status, outcome.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE") and not result.errors
        assert [f.code for f in outcome.findings] == ["ROLE_OUT_OF_SCOPE"]


def test_a_malformed_role_arn_of_this_account_is_skipped_not_an_error() -> None:
    machines, roles = world(1, 1)
    run(machines, roles)
    machines.add(arn("sm-0-0"), topic_definition("t-0-0"), f"arn:aws:iam::{ACCOUNT}:role")  # no name
    result = run(machines, roles)
    [outcome] = result.outcomes
    assert (outcome.status, outcome.reason, result.errors) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE", ())


def test_a_definition_that_cannot_be_planned_is_not_reported_as_a_frozen_grant() -> None:
    """In report mode a broken definition's old policy stays until enforce mode removes it (fail closed): the outcome
    proposes that removal; the policy is not frozen on a role that left scope."""
    machines, roles = world(1, 1)
    run(machines, roles)
    base = f"{PREFIX}{REGION}.sm-0-0"
    machines.add(arn("sm-0-0"), {"NoStates": True}, machines.machines[arn("sm-0-0")].machine.role_arn)
    [outcome] = run(machines, roles, mode="report").outcomes
    assert (outcome.status, outcome.reason) == (Status.SKIPPED, "DEFINITION_ERROR")
    assert [f.code for f in outcome.findings] == ["DEFINITION_ERROR", "STALE_GRANTS_REMOVED"]
    assert [(c.policy, c.applied) for c in outcome.changes] == [(base, False)] and base in roles.roles["role-0"].inline


def test_an_orphan_after_a_removed_one_is_still_news() -> None:
    machines, roles = LateMachines(), FakeRoles()
    old = roles.add_role("role-old")
    machines.add(arn("a-gone"), topic_definition("a"), old)
    machines.add(arn("sm-0"), topic_definition("t"), old)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    del machines.machines[arn("a-gone")]
    machines.add(arn("sm-0"), topic_definition("t"), roles.add_role("role-new"))  # created again, on another role
    machines.hidden = frozenset({arn("sm-0")})
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    gone, again = f"{PREFIX}{REGION}.a-gone", f"{PREFIX}{REGION}.sm-0"
    assert [(o.policy_name, o.status) for o in result.orphans] == [(gone, Status.REMOVED), (again, Status.WRITTEN)]
    assert list(result.digests) == [again]  # the removed one is not recorded; the one after it is


@pytest.mark.parametrize("overflow", [False, True])
def test_a_report_sweep_proposes_each_removal_once_when_the_ledger_and_iams_listing_both_name_the_role(
        overflow: bool) -> None:
    """A machine moved to a role out of scope: its policies on the old role are found twice, through the roles the
    ledger names and through IAM's listing (the sweep scans it). In report mode nothing is applied in between, so the
    listing still shows them: each removal is proposed once all the same (as the fixer's event does)."""
    machines, roles = world(1, 1)
    base = f"{PREFIX}{REGION}.sm-0-0"
    if overflow:  # its grants as a managed policy instead
        buckets = [f"arn:aws:s3:::b{i:05d}/*" for i in range(420)]  # fills the inline budget
        roles.roles["role-0"].inline["team-owned"] = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": buckets}]}
    ledger = FakeLedger()
    assert [o.status for o in sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run().outcomes] == [
        Status.WRITTEN]
    moved = roles.add_role("role-new")
    roles.roles["role-new"].tags["sfn-iam:opt-out"] = "true"
    machines.add(arn("sm-0-0"), topic_definition("t-0-0"), moved)
    roles.writes.clear()
    result = sweep.Sweeper(machines, roles, settings("report"), REGION, ledger=ledger).run()
    [outcome] = result.outcomes
    assert (outcome.status, outcome.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE") and roles.writes == []
    proposed = [(str(c.kind), c.role, c.policy) for c in outcome.changes]
    if overflow:
        assert proposed == [("detach", "role-0", f"{base}.1"), ("delete-managed", "", f"{base}.1")]
    else:
        assert proposed == [("delete-inline", "role-0", base)]
    assert result.totals()["proposedChanges"] == len(proposed)


def test_the_iam_pace_may_be_set_anywhere_from_a_tenth_to_a_hundred_calls_per_second() -> None:
    assert [sweep.options_from_env({"IAM_CALLS_PER_SECOND": v}).iam_calls_per_second
            for v in ("0.1", "0.5", "100")] == [0.1, 0.5, 100.0]
    for outside in ("0.09", "100.01"):
        with pytest.raises(ConfigError, match="IAM_CALLS_PER_SECOND"):
            sweep.options_from_env({"IAM_CALLS_PER_SECOND": outside})


def test_a_machine_created_again_is_fixed_when_its_status_comes_as_the_api_returns_it() -> None:
    """``DescribeStateMachine``'s status is parsed from JSON: a string equal to "ACTIVE", not the same object as the
    code's own literal. The machine created again is fixed, its policy not removed as an orphan's."""
    import json

    machines, roles = UnlistedMachines(), FakeRoles()
    role_arn = roles.add_role("role-0")
    ledger = FakeLedger()
    machines.add(arn("sm-0"), topic_definition("t"), role_arn, status=json.loads('{"status": "ACTIVE"}')["status"])
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run_batch([arn("sm-0")])  # written by a batch
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    [orphan] = result.orphans
    assert orphan.status is Status.UNCHANGED and f"{PREFIX}{REGION}.sm-0" in roles.roles["role-0"].inline


def test_an_orphan_whose_machine_is_gone_by_the_time_it_is_fixed_is_counted_neither_removed_nor_proposed() -> None:
    class Vanishing(FakeMachines):
        def list_arns(self) -> Any:  # created after the sweep listed the machines
            return iter(())

        def describe(self, a: str) -> Any:
            found = super().describe(a)
            self.machines.pop(a, None)  # deleted right after the sweep saw it active
            return found

    machines, roles = Vanishing(), FakeRoles()
    role_arn = roles.add_role("role-0")
    ledger = FakeLedger()
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    sweep.Sweeper(FakeMachines(), roles, settings(), REGION, ledger=ledger).fixer.fix(arn("sm-0"))  # an event did it
    fixed = FakeMachines()
    fixed.add(arn("sm-0"), topic_definition("t"), role_arn)
    sweep.Sweeper(fixed, roles, settings(), REGION, ledger=ledger).run()
    assert f"{PREFIX}{REGION}.sm-0" in roles.roles["role-0"].inline
    result = sweep.Sweeper(machines, roles, settings("report"), REGION, ledger=ledger).run()
    [orphan] = result.orphans
    assert orphan.status is Status.GONE
    assert (result.totals()["orphansRemoved"], result.totals()["orphansProposed"]) == (0, 0)


def test_a_residual_managed_policy_is_detached_not_deleted_as_an_inline_one() -> None:
    from tests.governance.test_sweep import CONFINED

    machines, roles = FakeMachines(), FakeRoles()
    role_arn = roles.add_role("wide", trust=copy.deepcopy(CONFINED))
    team = f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/team-queues"  # as the in-memory IAM lists an attached policy
    roles.documents[team] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
    roles.roles["wide"].attached.append("team-queues")
    machines.add(arn("sm-0"), topic_definition("t"), role_arn)
    result = sweep.Sweeper(machines, roles, settings(REMOVE_RESIDUAL_POLICIES="true"), REGION).run()
    [removal] = result.residual_removals
    assert [(str(c.kind), c.role, c.policy) for c in removal.changes] == [("detach", "wide", team)]
    assert roles.roles["wide"].attached == [] and team in roles.documents  # detached, the policy itself kept
    assert [(r["kind"], r["policyArn"]) for r in removal.residual] == [("managed", team)]


def test_a_role_the_ledger_names_that_no_longer_carries_the_policy_is_released_when_the_machine_left_scope() -> None:
    """The machine moved to a role out of scope, and its policy was already gone from the old role (removed by hand):
    the ledger stops naming the old role, as it would had the sweep removed the policy itself."""
    machines, roles = world(1, 1)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    base = f"{PREFIX}{REGION}.sm-0-0"
    assert ledger.entries[base].roles == frozenset({"role-0"})
    del roles.roles["role-0"].inline[base]
    moved = roles.add_role("role-new")
    roles.roles["role-new"].tags["sfn-iam:opt-out"] = "true"
    machines.add(arn("sm-0-0"), topic_definition("t-0-0"), moved)
    [outcome] = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run().outcomes
    assert (outcome.status, outcome.reason, outcome.changes) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE", ())
    assert ledger.entries[base].roles == frozenset()


def test_an_orphans_machine_created_again_out_of_scope_releases_the_roles_the_ledger_names() -> None:
    machines, roles = UnlistedMachines(), FakeRoles()
    old = roles.add_role("role-old")
    ledger = FakeLedger()
    listed = FakeMachines()
    listed.add(arn("sm-0"), topic_definition("t"), old)
    sweep.Sweeper(listed, roles, settings(), REGION, ledger=ledger).run()
    base = f"{PREFIX}{REGION}.sm-0"
    roles.add_role("role-stray")
    roles.roles["role-stray"].inline[base] = roles.roles["role-old"].inline.pop(base)  # moved by hand
    moved = roles.add_role("role-new")
    roles.roles["role-new"].tags["sfn-iam:opt-out"] = "true"
    machines.add(arn("sm-0"), topic_definition("t"), moved)  # created again, on a role out of scope
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    [orphan] = result.orphans
    assert (orphan.status, orphan.reason) == (Status.SKIPPED, "ROLE_OUT_OF_SCOPE")
    assert base not in roles.roles["role-stray"].inline and ledger.entries[base].roles == frozenset()
