"""Where a machine's policy lands (inline or customer-managed), moves and is removed: outcomes and final IAM state.

Written against mutants of fixing/placement.py that survived (docs/mutation.md). Only what callers see is
asserted: the outcome (status, placement, reason, findings) and the fake IAM's roles, inline and managed policies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_iam.engine import policy
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.outcome import Outcome, Status
from sfn_iam.fixing.service import RoleFixer
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles
from tests.fixing.test_mutation_survivors import ARN, NAME, NOTHING, SNS, created, event, many_topics, updated

OTHER_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:OrdersV2"
OTHER_NAME = "sfn-iam.us-east-1.OrdersV2"


def make(mode: str = "enforce", **env: str) -> tuple[RoleFixer, FakeMachines, FakeRoles]:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "MODE": mode, "ROLE_PATH": "/stepfunctions/",
                                "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/fixer", **env})
    machines, roles = FakeMachines(), FakeRoles(max_attached=20)
    return RoleFixer(machines, roles, settings), machines, roles


def moved(role_arn: str) -> dict[str, Any]:
    return event("UpdateStateMachine", {"stateMachineArn": ARN, "roleArn": role_arn})


def deleted(arn: str = ARN) -> dict[str, Any]:
    return event("DeleteStateMachine", {"stateMachineArn": arn})


def state(roles: FakeRoles, role: str, base: str = NAME) -> dict[str, Any]:
    """This machine's policies on ``role``, and which of its managed policies exist."""
    r = roles.roles[role]
    return {"inline": sorted(n for n in r.inline if n == base),
            "attached": sorted(n for n in r.attached if n.startswith(base + ".")),
            "managed": sorted(n for n in roles.managed if n.startswith(base + "."))}


def filler(chars: int) -> dict[str, Any]:
    """A hand-written inline policy of about ``chars`` characters."""
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::b/" + "k" * chars}]}
    return json.loads(json.dumps(doc))


def http(url_chars: int) -> dict[str, Any]:
    """An HTTP task whose endpoint makes one statement about ``url_chars`` characters long."""
    return {"StartAt": "H", "States": {"H": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
        "Parameters": {"ApiEndpoint": "https://api.example.com/" + "p" * url_chars, "Method": "GET",
                       "Authentication": {"ConnectionArn": f"arn:aws:events:us-east-1:{ACCOUNT}:connection/c/0c1e"}}}}}


def codes(out: Outcome) -> set[str]:
    return {f.code for f in out.findings}


# --- inline --------------------------------------------------------------------------------------------------------

def test_an_updated_definition_rewrites_the_inline_policy() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.handle_event(created(role))
    other_topic = json.loads(json.dumps(SNS).replace(":t\"", ":other\""))
    machines.add(ARN, other_topic, role)
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "inline")
    assert json.dumps(roles.roles["r"].inline[NAME]).count(":other") == 1
    assert ":t\"" not in json.dumps(roles.roles["r"].inline[NAME])


def test_a_policy_that_grew_past_the_inline_budget_moves_to_managed_and_leaves_inline() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.handle_event(created(role))
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    s = state(roles, "r")
    assert s["inline"] == [] and s["attached"] == s["managed"] and len(s["managed"]) >= 2


# --- report mode counts the inline budget itself -----------------------------------------------------------------

def own_inline_size() -> int:
    """The size of the machine's (SNS) inline policy, as written in enforce mode."""
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    fixer.handle_event(created(role))
    return policy.size(roles.roles["r"].inline[NAME])


def report_next_to(others: dict[str, int], *, own_previous: bool = False) -> Outcome:
    """Report mode on a role carrying other inline policies of the given sizes (and our own previous version)."""
    fixer, machines, roles = make("report")
    role = roles.add_role("r")
    machines.add(ARN, SNS, role)
    for name, chars in others.items():
        roles.roles["r"].inline[name] = filler(chars)
    if own_previous:
        roles.roles["r"].inline[NAME] = filler(5000)  # our own previous, larger version: replaced, so not counted
    return fixer.handle_event(updated() if own_previous else created(role))


def room_left() -> int:
    """The filler size that makes the role's inline policies exactly the budget with ours."""
    return policy.INLINE_LIMIT - own_inline_size() - policy.size(filler(0))


@pytest.mark.parametrize("name", ["aaa-hand-written", "zzz-hand-written"])
def test_report_mode_places_inline_when_the_role_budget_is_met_exactly(name: str) -> None:
    out = report_next_to({name: room_left()})
    assert (out.status, out.placement) == (Status.PROPOSED, "inline")
    out = report_next_to({name: room_left() + 1})
    assert (out.status, out.placement) == (Status.PROPOSED, "managed")


def test_report_mode_does_not_count_the_machines_own_previous_policy() -> None:
    out = report_next_to({"zzz-hand-written": room_left()}, own_previous=True)
    assert (out.status, out.placement) == (Status.PROPOSED, "inline")


# --- managed overflow ----------------------------------------------------------------------------------------------

def test_an_overflowed_machine_stays_in_managed_policies_when_it_shrinks() -> None:
    """docs/adr/0001: once overflowed, a machine's policy stays managed (no flapping); the spare ones go."""
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, many_topics(180), role)
    fixer.handle_event(created(role))
    assert len(state(roles, "r")["managed"]) >= 2
    machines.add(ARN, SNS, role)
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")
    assert state(roles, "r") == {"inline": [], "attached": [f"{NAME}.1"], "managed": [f"{NAME}.1"]}
    assert [f.message for f in out.findings if f.code == "POLICY_OVERFLOW"] == [
        f"placed in 1 customer-managed policy: {NAME}.1"]
    again = fixer.handle_event(updated())
    assert again.status is Status.UNCHANGED


def test_the_overflow_finding_names_every_managed_policy() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    names = state(roles, "r")["managed"]
    assert len(names) >= 2
    assert [f.message for f in out.findings if f.code == "POLICY_OVERFLOW"] == [
        f"placed in {len(names)} customer-managed policies: {', '.join(names)}"]


def managed_documents(definition: dict[str, Any]) -> int:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, definition, role)
    fixer.handle_event(created(role))
    return len(state(roles, "r")["managed"])


@pytest.mark.parametrize("fits", [True, False])
def test_managed_policies_respect_the_attached_quota_next_to_others(fits: bool) -> None:
    needed = managed_documents(many_topics(180))
    others = 20 - needed + (0 if fits else 1)
    fixer, machines, roles = make(MAX_ATTACHED_POLICIES="20")
    role = roles.add_role("r")
    roles.roles["r"].attached.extend(f"team-policy-{i}" for i in range(others))
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    if fits:
        assert (out.status, out.placement) == (Status.WRITTEN, "managed")
        assert len(roles.roles["r"].attached) == 20
    else:
        assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
        assert len(roles.roles["r"].attached) == others and roles.managed == {}


def test_an_overflowed_machine_counts_its_own_attached_policies_as_replaceable() -> None:
    fixer, machines, roles = make(MAX_ATTACHED_POLICIES="20")
    role = roles.add_role("r")
    needed = managed_documents(many_topics(180))
    assert managed_documents(many_topics(181)) == needed
    roles.roles["r"].attached.extend(f"team-policy-{i}" for i in range(20 - needed))
    machines.add(ARN, many_topics(180), role)
    assert fixer.handle_event(created(role)).status is Status.WRITTEN
    machines.add(ARN, many_topics(181), role)  # as many documents, on a full role
    out = fixer.handle_event(updated())
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")


def test_a_statement_too_large_for_a_managed_policy_is_skipped_and_nothing_written() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    roles.roles["r"].inline["hand-written"] = filler(5000)  # our 7,000-character statement does not fit inline
    machines.add(ARN, http(7000), role)
    out = fixer.handle_event(created(role))
    assert (out.status, out.reason) == (Status.SKIPPED, "POLICY_TOO_LARGE")
    assert state(roles, "r") == {"inline": [], "attached": [], "managed": []}


def test_other_findings_of_an_overflowing_plan_do_not_stop_the_managed_placement() -> None:
    definition = many_topics(180)
    definition["States"]["P179"].pop("End")
    definition["States"]["P179"]["Next"] = "U"
    definition["States"]["U"] = {"Type": "Task", "Resource": "arn:aws:states:::unknown:thing", "End": True}
    fixer, machines, roles = make()
    role = roles.add_role("r")
    machines.add(ARN, definition, role)
    out = fixer.handle_event(created(role))
    assert "UNKNOWN_INTEGRATION" in codes(out)
    assert (out.status, out.placement) == (Status.WRITTEN, "managed")


# --- moving to another role, deleting --------------------------------------------------------------------------

def test_a_machine_moved_to_another_role_leaves_the_old_one_and_keeps_the_new_one() -> None:
    fixer, machines, roles = make()
    old, new = roles.add_role("a-old"), roles.add_role("b-new")
    machines.add(ARN, SNS, old)
    fixer.handle_event(created(old))
    machines.add(ARN, SNS, new)
    out = fixer.handle_event(moved(new))
    assert out.status is Status.WRITTEN
    assert state(roles, "a-old")["inline"] == [] and state(roles, "b-new")["inline"] == [NAME]


@pytest.mark.parametrize("new_name", ["a-new", "m-new", "z-new"])
def test_a_move_cleans_every_other_role_whatever_their_order(new_name: str) -> None:
    fixer, machines, roles = make()
    for name in ("b-old", "x-old"):
        machines.add(ARN, SNS, roles.add_role(name))
        fixer.fix(ARN)  # the machine was on each of these roles at some point
    opted = roles.add_role("c-opted-out")
    machines.add(ARN, SNS, opted)
    fixer.fix(ARN)
    roles.roles["c-opted-out"].tags["sfn-iam:opt-out"] = "yes"
    new = roles.add_role(new_name)
    machines.add(ARN, SNS, new)
    out = fixer.handle_event(moved(new))
    assert out.status is Status.WRITTEN
    assert state(roles, "b-old")["inline"] == [] and state(roles, "x-old")["inline"] == []
    assert state(roles, "c-opted-out")["inline"] == [NAME]  # out of scope now: reported, left alone
    assert state(roles, new_name)["inline"] == [NAME]


def test_an_overflowed_machine_moved_to_another_role_takes_its_managed_policies_along() -> None:
    fixer, machines, roles = make()
    old, new = roles.add_role("a-old"), roles.add_role("b-new")
    machines.add(ARN, many_topics(180), old)
    fixer.handle_event(created(old))
    managed = state(roles, "a-old")["managed"]
    machines.add(ARN, many_topics(180), new)
    fixer.handle_event(moved(new))
    assert state(roles, "a-old") == {"inline": [], "attached": [], "managed": managed}
    assert state(roles, "b-new") == {"inline": [], "attached": managed, "managed": managed}


def test_an_overflowed_machine_moved_and_shrunk_deletes_its_managed_policies() -> None:
    fixer, machines, roles = make()
    old, new = roles.add_role("a-old"), roles.add_role("b-new")
    machines.add(ARN, many_topics(180), old)
    fixer.handle_event(created(old))
    machines.add(ARN, SNS, new)
    fixer.handle_event(moved(new))
    assert state(roles, "a-old") == {"inline": [], "attached": [], "managed": []}
    assert state(roles, "b-new") == {"inline": [NAME], "attached": [], "managed": []}


def test_deleting_a_machine_leaves_a_machine_whose_name_extends_it() -> None:
    fixer, machines, roles = make()
    a, b = roles.add_role("a"), roles.add_role("b")
    machines.add(ARN, SNS, a)
    machines.add(OTHER_ARN, SNS, b)
    fixer.fix(ARN)
    fixer.fix(OTHER_ARN)
    shared = roles.add_role("shared")
    machines.add(OTHER_ARN, SNS, shared)
    fixer.fix(OTHER_ARN)  # OrdersV2's policy on "shared" too; "Orders" is a prefix of its name
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())
    assert out.status is Status.REMOVED
    assert out.role_arn == a  # the one role that carried Orders' policy
    assert state(roles, "a")["inline"] == []
    assert state(roles, "b", OTHER_NAME)["inline"] == [OTHER_NAME]
    assert state(roles, "shared", OTHER_NAME)["inline"] == [OTHER_NAME]


def test_a_machine_that_needs_nothing_after_overflowing_on_a_moved_role_is_cleared_everywhere() -> None:
    fixer, machines, roles = make()
    old, new = roles.add_role("a-old"), roles.add_role("b-new")
    machines.add(ARN, many_topics(180), old)
    fixer.handle_event(created(old))
    machines.add(ARN, NOTHING, new)
    out = fixer.handle_event(moved(new))
    assert out.status is Status.REMOVED
    assert state(roles, "a-old") == {"inline": [], "attached": [], "managed": []}


def test_an_overflowed_machine_moved_with_fewer_documents_deletes_the_spare_managed_policy() -> None:
    fixer, machines, roles = make()
    old, new = roles.add_role("a-old"), roles.add_role("b-new")
    big, smaller = many_topics(400), many_topics(180)
    assert managed_documents(big) > managed_documents(smaller) >= 2
    machines.add(ARN, big, old)
    fixer.handle_event(created(old))
    machines.add(ARN, smaller, new)
    fixer.handle_event(moved(new))
    kept = [f"{NAME}.{i}" for i in range(1, managed_documents(smaller) + 1)]
    assert state(roles, "a-old") == {"inline": [], "attached": [], "managed": kept}
    assert state(roles, "b-new") == {"inline": [], "attached": kept, "managed": kept}


def test_a_role_carrying_only_a_longer_named_machines_policy_does_not_stop_the_cleanup() -> None:
    fixer, machines, roles = make()
    extension, own = roles.add_role("a-orders-v2"), roles.add_role("z-orders")  # listed in this order
    machines.add(OTHER_ARN, SNS, extension)
    fixer.fix(OTHER_ARN)
    machines.add(ARN, SNS, own)
    fixer.fix(ARN)
    del machines.machines[ARN]
    out = fixer.handle_event(deleted())
    assert (out.status, out.role_arn) == (Status.REMOVED, own)
    assert state(roles, "z-orders")["inline"] == []
    assert state(roles, "a-orders-v2", OTHER_NAME)["inline"] == [OTHER_NAME]


def test_report_mode_places_inline_next_to_a_small_hand_written_policy() -> None:
    out = report_next_to({"hand-written": 100})
    assert (out.status, out.placement) == (Status.PROPOSED, "inline")


def test_the_attached_quota_refusal_says_why() -> None:
    needed = managed_documents(many_topics(180))
    fixer, machines, roles = make(MAX_ATTACHED_POLICIES="20")
    role = roles.add_role("r")
    roles.roles["r"].attached.extend(f"team-policy-{i}" for i in range(21 - needed))
    machines.add(ARN, many_topics(180), role)
    out = fixer.handle_event(created(role))
    [finding] = [f for f in out.findings if f.code == "POLICY_TOO_LARGE"]
    assert f"{needed} managed policies next to the {21 - needed} already attached (quota 20)" in finding.message


def test_a_statement_too_large_for_a_managed_policy_is_reported_as_the_builder_said() -> None:
    fixer, machines, roles = make()
    role = roles.add_role("r")
    roles.roles["r"].inline["hand-written"] = filler(5000)
    machines.add(ARN, http(7000), role)
    out = fixer.handle_event(created(role))
    [finding] = [f for f in out.findings if f.code == "POLICY_TOO_LARGE"]
    assert "alone exceeds 6144 characters" in finding.message
