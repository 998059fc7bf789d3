"""The sweep use case, its per-sweep IAM cache, the report and its sinks, over the in-memory ports (no moto)."""

from __future__ import annotations

import copy
import io
import json
import threading
from typing import Any

import pytest

from sfn_iam.aws.clients import TokenBucket
from sfn_iam.cli import ProgressBar
from sfn_iam.findings import Severity
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.ports import DescribedStateMachine
from sfn_iam.governance import report, sweep
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

REGION = "us-east-1"


def arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{name}"


def topic_definition(topic: str) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
                                             "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
                                                            "Message": "m"}}}}


DYNAMIC = {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
                                            "Parameters": {"TopicArn.$": "$.topic", "Message": "m"}}}}


class CountingRoles(FakeRoles):
    """FakeRoles that counts reads per method and role (the writes are already in ``writes``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _count(self, method: str, key: str) -> None:
        with self._lock:
            self.reads[(method, key)] = self.reads.get((method, key), 0) + 1

    def get_role(self, name: str) -> Any:
        self._count("get_role", name)
        return super().get_role(name)

    def list_inline(self, role: str) -> Any:
        self._count("list_inline", role)
        return super().list_inline(role)

    def get_inline(self, role: str, name: str) -> Any:
        self._count("get_inline", f"{role}/{name}")
        return super().get_inline(role, name)

    def list_attached(self, role: str) -> Any:
        self._count("list_attached", role)
        return super().list_attached(role)

    def holders(self, prefix: str) -> Any:
        self._count("holders", prefix)
        return super().holders(prefix)

    def total(self, method: str) -> int:
        return sum(n for (m, _), n in self.reads.items() if m == method)


def settings(mode: str = "enforce", **env: str) -> config.Settings:
    return config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/", **env})


def world(machines_per_role: int = 3, roles_count: int = 4) -> tuple[FakeMachines, CountingRoles]:
    machines, roles = FakeMachines(), CountingRoles()
    for r in range(roles_count):
        role_arn = roles.add_role(f"role-{r}")
        for m in range(machines_per_role):
            machines.add(arn(f"sm-{r}-{m}"), topic_definition(f"t-{r}-{m}"), role_arn)
    return machines, roles


def run(machines: FakeMachines, roles: FakeRoles, mode: str = "enforce", workers: int = 4) -> sweep.SweepResult:
    return sweep.Sweeper(machines, roles, settings(mode), REGION, workers=workers).run()


def expected_names(roles: FakeRoles, role: str) -> set[str]:
    return set(roles.roles[role].inline)


# -- the use case ---------------------------------------------------------------------------------------------------

def test_sweep_fixes_every_machine_reading_each_role_once() -> None:
    machines, roles = world()
    result = run(machines, roles)
    assert result.totals()["byStatus"] == {"written": 12}
    assert result.roles == 4 and not result.errors
    assert result.totals()["drift"] == 0  # a first write is not drift
    for r in range(4):
        assert expected_names(roles, f"role-{r}") == {f"sfn-iam.{REGION}.sm-{r}-{m}" for m in range(3)}
    assert roles.total("get_role") == 4 and roles.total("list_inline") == 4 and roles.total("list_attached") == 4
    assert roles.total("holders") == 1  # one listing of the roles carrying our policies, whatever the sweep does
    # one describe per machine, one after writing (did it change meanwhile?), one alias listing (fixing.versions)
    assert machines.calls == 36


def test_the_cache_finds_a_machines_policies_by_name_prefix_as_iam_lists_them_and_after_its_writes() -> None:
    roles = FakeRoles()
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
    roles.add_role("r")
    listed = ["sfn-iam.x.m-5", "sfn-iam.x.m-1", "other", "sfn-iam.x.m-10", "sfn-iam.x.m-1.retiring", "sfn-iam.x.m-2"]
    for name in listed:  # IAM's order, not sorted: each machine's names come back in it
        roles.roles["r"].inline[name] = doc
    roles.add_role("s")
    roles.roles["s"].inline["sfn-iam.x.m-1"] = doc
    cache = sweep.SweepCache(roles, "sfn-iam.")

    def found(prefix: str) -> dict[str, tuple[str, ...]]:
        return {h.role_name: h.inline for h in cache.holders(prefix)}

    assert found("sfn-iam.x.m-1") == {"r": ("sfn-iam.x.m-1", "sfn-iam.x.m-10", "sfn-iam.x.m-1.retiring"),
                                      "s": ("sfn-iam.x.m-1",)}
    assert found("sfn-iam.x.m-5") == {"r": ("sfn-iam.x.m-5",)}
    assert found("sfn-iam.x.m-2") == {"r": ("sfn-iam.x.m-2",)}  # the last of the role's names, sorted
    assert found("sfn-iam.x.m-0") == {} and found("sfn-iam.x.m-6") == {} and found("sfn-iam.x.m-3") == {}
    assert found("sfn-iam.") == {"r": tuple(n for n in listed if n != "other"), "s": ("sfn-iam.x.m-1",)}
    cache.put_inline("s", "sfn-iam.x.m-3", doc)  # the cache learns its own writes
    cache.delete_inline("r", "sfn-iam.x.m-5")
    assert found("sfn-iam.x.m-3") == {"s": ("sfn-iam.x.m-3",)} and found("sfn-iam.x.m-5") == {}
    cache.delete_inline("s", "sfn-iam.x.m-1")
    cache.delete_inline("s", "sfn-iam.x.m-3")
    assert found("sfn-iam.x.m-1") == {"r": ("sfn-iam.x.m-1", "sfn-iam.x.m-10", "sfn-iam.x.m-1.retiring")}
    assert found("sfn-iam.x.m-3") == {}


def test_second_sweep_writes_nothing() -> None:
    machines, roles = world()
    run(machines, roles)
    roles.writes.clear()
    result = run(machines, roles)
    assert roles.writes == [] and result.writes == 0
    assert result.totals()["byStatus"] == {"unchanged": 12}


def test_report_mode_writes_nothing_and_proposes_everything() -> None:
    machines, roles = world()
    result = run(machines, roles, mode="report")
    assert roles.writes == [] and result.writes == 0
    assert result.totals()["byStatus"] == {"proposed": 12}
    assert result.totals()["proposedChanges"] == 12


def test_drift_is_restored_in_enforce_mode_and_reported_in_report_mode() -> None:
    machines, roles = world()
    run(machines, roles)
    name = f"sfn-iam.{REGION}.sm-1-0"
    good = copy.deepcopy(roles.roles["role-1"].inline[name])
    roles.roles["role-1"].inline[name]["Statement"][0]["Resource"] = "*"  # widened by hand
    roles.writes.clear()

    reported = run(machines, roles, mode="report")
    drift = [o for o in reported.outcomes if any(f.code == "DRIFT" for f in o.findings)]
    assert [o.policy_name for o in drift] == [name] and drift[0].status is Status.PROPOSED
    assert "would be restored" in next(f.message for f in drift[0].findings if f.code == "DRIFT")
    assert roles.writes == [] and reported.totals()["drift"] == 1

    enforced = run(machines, roles)
    assert enforced.totals()["drift"] == 1
    assert roles.roles["role-1"].inline[name] == good
    assert roles.writes == [("put-inline", "role-1", name)]


def test_a_machine_whose_definition_changed_is_rewritten_not_only_reported() -> None:
    machines, roles = world(1, 1)
    run(machines, roles)
    machines.add(arn("sm-0-0"), topic_definition("other"), machines.machines[arn("sm-0-0")].machine.role_arn)
    result = run(machines, roles)
    assert result.outcomes[0].status is Status.WRITTEN
    assert "other" in json.dumps(roles.roles["role-0"].inline)


def test_orphans_are_removed_other_regions_and_foreign_policies_are_left_alone() -> None:
    machines, roles = world(2, 2)
    run(machines, roles)
    gone = arn("sm-0-1")
    del machines.machines[gone]  # deleted while the fixer was not listening
    roles.roles["role-1"].inline["sfn-iam.eu-west-1.elsewhere"] = {"Version": "2012-10-17", "Statement": []}
    roles.roles["role-1"].inline["hand-written"] = {"Version": "2012-10-17", "Statement": []}
    roles.roles["role-1"].attached.append(f"sfn-iam.{REGION}.old-big.1")  # an orphaned overflow policy
    roles.managed[f"sfn-iam.{REGION}.old-big.1"] = {"Version": "2012-10-17", "Statement": []}
    roles.writes.clear()

    proposed = run(machines, roles, mode="report")
    assert sorted(o.policy_name for o in proposed.orphans) == [f"sfn-iam.{REGION}.old-big", f"sfn-iam.{REGION}.sm-0-1"]
    assert {o.status for o in proposed.orphans} == {Status.PROPOSED} and roles.writes == []

    result = run(machines, roles)
    assert result.totals()["orphansRemoved"] == 2
    assert f"sfn-iam.{REGION}.sm-0-1" not in roles.roles["role-0"].inline
    assert roles.roles["role-1"].attached == [] and roles.managed == {}
    assert {"sfn-iam.eu-west-1.elsewhere", "hand-written"} <= set(roles.roles["role-1"].inline)
    roles.writes.clear()
    assert run(machines, roles).writes == 0 and roles.writes == []


def test_a_policy_left_on_the_previous_role_is_moved() -> None:
    machines, roles = world(1, 1)
    run(machines, roles)
    new_role = roles.add_role("new-role")
    machines.add(arn("sm-0-0"), topic_definition("t"), new_role)  # role changed while no event arrived
    result = run(machines, roles)
    name = f"sfn-iam.{REGION}.sm-0-0"
    assert name in roles.roles["new-role"].inline and name not in roles.roles["role-0"].inline
    assert result.outcomes[0].status is Status.WRITTEN


def test_one_machine_failing_does_not_stop_the_sweep() -> None:
    machines, roles = world(2, 2)

    class Flaky(FakeMachines):
        def describe(self, a: str) -> DescribedStateMachine | None:
            if a.endswith("sm-1-1"):
                raise RuntimeError("Throttling: Rate exceeded")
            return machines.describe(a)

    flaky = Flaky()
    flaky.machines = machines.machines
    result = sweep.Sweeper(flaky, roles, settings(), REGION).run()
    assert [e.target for e in result.errors] == [arn("sm-1-1")]
    assert "Throttling" in result.errors[0].error
    assert len(result.outcomes) == 3 and result.totals()["errors"] == 1


def test_an_opted_out_role_is_reported_and_untouched() -> None:
    machines, roles = world(1, 1)
    roles.roles["role-0"].tags["sfn-iam:opt-out"] = "true"
    result = run(machines, roles)
    assert result.outcomes[0].reason == "ROLE_OUT_OF_SCOPE" and roles.writes == []


def test_concurrent_sweep_matches_a_sequential_one() -> None:
    m1, r1 = world(5, 3)
    m2, r2 = world(5, 3)
    run(m1, r1, workers=1)
    run(m2, r2, workers=8)
    assert {k: v.inline for k, v in r1.roles.items()} == {k: v.inline for k, v in r2.roles.items()}
    assert r2.total("get_role") == 3  # the per-role lock: no duplicate reads under concurrency


def test_progress_is_reported_for_every_machine() -> None:
    machines, roles = world(2, 2)
    seen: list[tuple[int, int]] = []
    sweep.Sweeper(machines, roles, settings(), REGION).run(lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(seen) == 5


# -- settings --------------------------------------------------------------------------------------------------------

def test_sweep_options_from_env() -> None:
    o = sweep.options_from_env({"SWEEP_WORKERS": "8", "IAM_CALLS_PER_SECOND": "2.5", "SECURITY_HUB_FINDINGS": "true",
                                "FINDINGS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:gov"})
    assert (o.workers, o.iam_calls_per_second, o.security_hub, o.topic_arn.endswith(":gov")) == (8, 2.5, True, True)
    assert sweep.options_from_env({}) == sweep.SweepOptions()
    assert [sweep.options_from_env({"SWEEP_WORKERS": n}).workers for n in ("1", "16")] == [1, 16]


@pytest.mark.parametrize("env", [{"SWEEP_WORKERS": "0"}, {"SWEEP_WORKERS": "x"}, {"IAM_CALLS_PER_SECOND": "1000"},
                                 {"IAM_CALLS_PER_SECOND": "0"}, {"SWEEP_WORKERS": "17"},
                                 {"FINDINGS_TOPIC_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"},
                                 {"FINDINGS_TOPIC_ARN": "my-topic"}, {"SECURITY_HUB_FINDINGS": "yes"}])
def test_bad_sweep_options_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError):
        sweep.options_from_env(env)


# -- pacing and progress (edge helpers, tested here with the use case they serve) ------------------------------------

def test_token_bucket_paces_to_the_rate_after_the_burst() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(5, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(12):
        bucket.acquire()
    assert slept[:1] == [pytest.approx(0.2)] and len(slept) == 10
    assert now[0] == pytest.approx(2.0)  # 12 calls at 5/s with a burst of 2: 10 waits of 0.2 s
    now[0] += 10  # idle: the bucket refills only up to the burst
    slept.clear()
    for _ in range(3):
        bucket.acquire()
    assert len(slept) == 1


def test_token_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_progress_bar_draws_and_ends_the_line() -> None:
    err = io.StringIO()
    bar = ProgressBar(err)
    for done in range(0, 101):
        bar(done, 100)
    text = err.getvalue()
    assert text.endswith("[" + "#" * 30 + "] 100/100\n")
    assert text.count("\r") == 31  # redrawn only when the bar moves


# -- report and sinks ------------------------------------------------------------------------------------------------

def test_report_explains_every_wildcard_and_totals_come_first() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    machines.add(arn("dyn"), DYNAMIC, roles.add_role("r"))
    machines.add(arn("static"), topic_definition("t"), roles.add_role("r2"))
    result = run(machines, roles)
    doc = report.to_json(result, "2026-11-28T00:00:00Z")
    assert list(doc)[:6] == ["reportVersion", "generatedAt", "account", "region", "mode", "totals"]
    entries = {e["stateMachineArn"].rsplit(":", 1)[1]: e for e in doc["stateMachines"]}
    dyn = entries["dyn"]
    assert dyn["wildcards"] and all(w["why"] for w in dyn["wildcards"])
    assert any("DYNAMIC_RESOURCE" in why for w in dyn["wildcards"] for why in w["why"])
    assert dyn["granted"] and dyn["changes"][0]["kind"] == "put-inline"
    assert entries["static"]["wildcards"] == []
    md = report.to_markdown(result, "2026-11-28T00:00:00Z")
    assert md.index("## Totals") < md.index("## State machines")
    assert "| state machines | 2 |" in md and "Wildcards:" in md and "DYNAMIC_RESOURCE" in md
    json.dumps(doc)  # serialisable as is


def test_events_skip_quiet_machines_and_end_with_the_totals() -> None:
    machines, roles = world(2, 1)
    run(machines, roles)
    quiet = run(machines, roles)
    evs = report.events(quiet)
    assert [e[0] for e in evs] == ["Sweep Completed"]
    assert evs[-1][1]["totals"]["stateMachines"] == 2


def test_asff_findings_are_stable_and_mapped() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    machines.add(arn("dyn"), DYNAMIC, roles.add_role("r"))
    first = report.asff(run(machines, roles), partition="aws", now="2026-11-28T00:00:00Z")
    again = report.asff(run(machines, roles), partition="aws", now="2026-11-29T00:00:00Z")
    assert first and [f["Id"] for f in first] == [f["Id"] for f in again]
    f = first[0]
    assert f["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert f["Severity"]["Label"] == "MEDIUM" and f["GeneratorId"] == "sfn-iam/DYNAMIC_RESOURCE"
    assert {r["Type"] for r in f["Resources"]} == {"Other", "AwsIamRole"}
    info_too = report.asff(run(machines, roles), partition="aws", now="x", min_severity=Severity.INFO)
    assert len(info_too) >= len(first)


def test_summary_fits_sns_and_deliver_uses_every_configured_sink() -> None:
    machines, roles = world(1, 1)
    machines.add(arn("broken"), {"NoStates": True}, roles.add_role("rb"))
    result = run(machines, roles)
    subject, body = report.summary(result)
    assert len(subject) <= 100 and "DEFINITION_ERROR" in body
    published: list[Any] = []
    notes: list[tuple[str, str]] = []
    imported: list[list[dict[str, Any]]] = []

    class Notifier:
        def notify(self, s: str, m: str) -> None:
            notes.append((s, m))

    class Importer:
        def import_findings(self, findings: list[dict[str, Any]]) -> int:
            imported.append(findings)
            return len(findings)

    n = report.deliver(result, publish_many=published.extend, notifier=Notifier(), importer=Importer(),
                       partition="aws", now="t").imported
    assert n == len(imported[0]) > 0 and notes == [(subject, body)]
    assert published[-1][0] == "Sweep Completed" and len(published) == 3
    published.clear()
    assert report.deliver(result, publish_many=published.extend, notifier=None, importer=None, partition="aws",
                          now="t").imported == 0
    assert len(published) == 3


def test_drift_of_an_overflowed_managed_policy_is_found_and_restored() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    role = roles.add_role("r")
    roles.roles["r"].inline["team-owned"] = {"Version": "2012-10-17", "Statement": [  # fills the inline budget
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [f"arn:aws:s3:::b{i:05d}/*" for i in range(420)]}]}
    machines.add(arn("big"), topic_definition("t"), role)
    first = run(machines, roles)
    assert first.outcomes[0].placement == "managed" and first.totals()["drift"] == 0
    name = f"sfn-iam.{REGION}.big.1"
    good = copy.deepcopy(roles.managed[name])
    roles.managed[name] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    result = run(machines, roles)
    assert result.totals()["drift"] == 1 and roles.managed[name] == good
    assert run(machines, roles).writes == 0


def test_a_sweep_out_of_time_reports_what_it_did_and_what_it_did_not_reach() -> None:
    machines, roles = world(3, 2)
    del machines.machines[arn("sm-0-0")]
    roles.roles["role-0"].inline[f"sfn-iam.{REGION}.sm-0-0"] = {"Version": "2012-10-17", "Statement": []}
    budget = iter([True, True, True])  # three machines, then the clock says stop
    result = sweep.Sweeper(machines, roles, settings(), REGION, workers=1).run(
        keep_going=lambda: next(budget, False))
    assert len(result.outcomes) == 3 and len(result.errors) == 2
    assert all("ran out of time" in e.error for e in result.errors)
    assert result.orphans == ()  # left for the next sweep
    assert f"sfn-iam.{REGION}.sm-0-0" in roles.roles["role-0"].inline


# -- a sweep that cannot finish in one run resumes where it stopped; the ledger tells DRIFT from a miss ----

def runs_of(machines: FakeMachines, roles: FakeRoles, ledger: Any, per_run: int, runs: int,
            **kwargs: Any) -> list[sweep.SweepResult]:
    """``runs`` runs of the sweep, each stopped after ``per_run`` machines (the Lambda's clock)."""
    results = []
    for _ in range(runs):
        budget = iter(range(per_run))
        results.append(sweep.Sweeper(machines, roles, settings(**kwargs), REGION, workers=1, ledger=ledger).run(
            keep_going=lambda b=budget: next(b, None) is not None))
    return results


def swept(result: sweep.SweepResult) -> list[str]:
    return [o.state_machine_arn for o in result.outcomes]


def test_sweeps_that_run_out_of_time_cover_every_machine_once_per_pass() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world(machines_per_role=10, roles_count=3)  # 30 machines, 7 per run
    ledger = FakeLedger()
    results = runs_of(machines, roles, ledger, 7, 5)
    assert [len(r.outcomes) for r in results] == [7, 7, 7, 7, 2]  # the last run ends where the pass began
    every = [a for r in results for a in swept(r)]
    assert every == sorted(machines.machines)  # each once, in listing order, run after run
    assert [len(r.errors) for r in results] == [23, 16, 9, 2, 0]  # what the pass has left, not the whole listing
    assert ledger.get_cursor(f"sweep.{REGION}") == ""  # the pass is complete
    for r in range(3):
        assert expected_names(roles, f"role-{r}") == {f"sfn-iam.{REGION}.sm-{r}-{m}" for m in range(10)}


def test_a_new_pass_starts_at_the_beginning_after_a_completed_one() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world(machines_per_role=10, roles_count=3)
    ledger = FakeLedger()
    runs_of(machines, roles, ledger, 7, 5)  # one pass, complete
    again = runs_of(machines, roles, ledger, 7, 5)
    listing = sorted(machines.machines)
    assert swept(again[0]) == listing[:7] and swept(again[1]) == listing[7:14]
    assert [a for r in again for a in swept(r)] == listing and again[-1].writes == 0
    # a pass that ends in a run with budget to spare does not go round again
    fresh = runs_of(machines, roles, ledger, 20, 2)
    assert swept(fresh[0]) == listing[:20] and swept(fresh[1]) == listing[20:]


def test_a_pass_begun_in_the_middle_of_the_listing_ends_there_and_takes_in_machines_listed_since() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world(machines_per_role=5, roles_count=2)  # sm-0-0..4, sm-1-0..4
    ledger = FakeLedger()
    cursor = f"sweep.{REGION}"
    ledger.put_cursor(cursor, f"{arn('sm-1-0')} {arn('sm-1-2')}")  # a pass begun at sm-1-0 stopped at sm-1-2
    first = runs_of(machines, roles, ledger, 4, 1)[0]
    assert swept(first) == [arn("sm-1-2"), arn("sm-1-3"), arn("sm-1-4"), arn("sm-0-0")]  # round the end
    assert ledger.get_cursor(cursor) == f"{arn('sm-1-0')} {arn('sm-0-1')}"
    # listed since: sm-0-9 lies in what is left of the pass, sm-1-1a in what the pass already did
    role_arn = machines.machines[arn("sm-0-0")].machine.role_arn
    machines.add(arn("sm-0-9"), topic_definition("new-0"), role_arn)
    machines.add(arn("sm-1-1a"), topic_definition("new-1"), role_arn)
    second = runs_of(machines, roles, ledger, 10, 1)[0]
    assert swept(second) == [arn(f"sm-0-{m}") for m in (1, 2, 3, 4, 9)]  # ends before sm-1-0, where the pass began
    assert not second.errors and ledger.get_cursor(cursor) == ""
    assert arn("sm-1-1a") in swept(runs_of(machines, roles, ledger, 20, 1)[0])  # the next pass takes it


def test_a_cursor_stored_without_its_pass_start_goes_round_the_whole_listing_once() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world(machines_per_role=5, roles_count=2)
    ledger = FakeLedger()
    ledger.put_cursor(f"sweep.{REGION}", arn("sm-1-3"))  # as an earlier version stored it
    first, second = runs_of(machines, roles, ledger, 6, 2)
    listing = sorted(machines.machines)
    assert swept(first) + swept(second) == listing[8:] + listing[:8]
    assert ledger.get_cursor(f"sweep.{REGION}") == ""


CONFINED = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*"}}}]}


def test_a_resumed_run_leaves_the_residual_removal_to_a_pass_that_sees_every_machine_at_once() -> None:
    """The removal needs every machine of the role fixed by the run that removes: a resumed run sees only the rest of
    its pass, so it removes nothing; the next pass, complete in one run, does."""
    from tests.fakes import FakeLedger

    machines, roles = FakeMachines(), FakeRoles()
    role_arn = roles.add_role("wide", trust=copy.deepcopy(CONFINED))
    roles.roles["wide"].inline["do-anything"] = {"Version": "2012-10-17",
                                                 "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    for m in range(3):
        machines.add(arn(f"sm-{m}"), topic_definition(f"t-{m}"), role_arn)
    ledger = FakeLedger()
    env = {"REMOVE_RESIDUAL_POLICIES": "true"}
    first, rest = runs_of(machines, roles, ledger, 2, 2, **env)
    assert len(first.outcomes) == 2 and len(rest.outcomes) == 1 and not rest.errors
    assert first.residual_removals == rest.residual_removals == ()
    assert "do-anything" in roles.roles["wide"].inline
    # a pass begun at sm-1 that went round to sm-0: its last run sees sm-0 only, and removes nothing either
    ledger.put_cursor(f"sweep.{REGION}", f"{arn('sm-1')} {arn('sm-0')}")
    [wrapped] = runs_of(machines, roles, ledger, 10, 1, **env)
    assert swept(wrapped) == [arn("sm-0")] and wrapped.residual_removals == ()
    assert "do-anything" in roles.roles["wide"].inline
    [whole] = runs_of(machines, roles, ledger, 10, 1, **env)
    assert [o.status for o in whole.residual_removals] == [Status.REMOVED]
    assert whole.totals()["residualPoliciesRemoved"] == 1
    assert "do-anything" not in roles.roles["wide"].inline


def test_a_complete_sweep_clears_the_cursor() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world()
    ledger = FakeLedger()
    ledger.put_cursor(f"sweep.{REGION}", arn("sm-2-0"))
    result = sweep.Sweeper(machines, roles, settings(), REGION, workers=1, ledger=ledger).run()
    assert len(result.outcomes) == 12 and ledger.get_cursor(f"sweep.{REGION}") == ""
    assert result.outcomes[0].state_machine_arn == arn("sm-2-0")  # resumed there, then wrapped around


def test_the_ledger_tells_a_missed_change_from_a_hand_edit() -> None:
    from tests.fakes import FakeLedger

    machines, roles = world(machines_per_role=1, roles_count=2)
    ledger = FakeLedger()
    sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    edited, changed = arn("sm-0-0"), arn("sm-1-0")
    roles.roles["role-0"].inline[f"sfn-iam.{REGION}.sm-0-0"] = {"Version": "2012-10-17", "Statement": []}
    machines.add(changed, topic_definition("another"), machines.machines[changed].machine.role_arn)
    result = sweep.Sweeper(machines, roles, settings(), REGION, ledger=ledger).run()
    codes = {o.state_machine_arn: {f.code for f in o.findings} for o in result.outcomes}
    assert "DRIFT" in codes[edited] and "MISSED_CHANGE" not in codes[edited]
    assert "MISSED_CHANGE" in codes[changed] and "DRIFT" not in codes[changed]
