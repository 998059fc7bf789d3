"""The fixer's own permissions: exactly what the adapters it wires call, scoped, and never on its own role."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import sfn_iam.aws
from sfn_iam.aws.wiring import ADAPTERS

from . import template

ROOT = Path(__file__).resolve().parents[2]
T = template.load()
RESOURCES = T["Resources"]
APP_POLICY = RESOURCES["RoleFixerAppPolicy"]["Properties"]
WRITES = re.compile(r"^iam:(Put|Delete|Attach|Detach|Create|Update|Tag|Untag|Set|Pass)", re.IGNORECASE)


# the sfn_iam.aws modules that call no AWS API themselves: the clients, the cuts of botocore's data, the wiring
NOT_ADAPTERS = frozenset({"clients", "endpoints", "models", "wiring"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def adapters_wired_by(handler: Path) -> set[str]:
    """The ``sfn_iam.aws`` adapters a handler uses: those it imports, and those behind the wiring methods it calls."""
    tree = ast.parse(handler.read_text(encoding="utf-8"))
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported = {m.split(".")[2] for m in modules if m.startswith("sfn_iam.aws.")} - NOT_ADAPTERS
    called = {node.func.attr for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ADAPTERS}
    return imported.union(*(ADAPTERS[name] for name in called))


FIXER_ADAPTERS = adapters_wired_by(ROOT / "functions" / "role_fixer" / "app.py")


def adapter_actions(names: set[str] | None = None) -> dict[str, frozenset[str]]:
    found = {}
    for info in pkgutil.iter_modules(sfn_iam.aws.__path__):
        if info.name in NOT_ADAPTERS or (names is not None and info.name not in names):
            continue
        module = importlib.import_module(f"sfn_iam.aws.{info.name}")
        assert hasattr(module, "REQUIRED_ACTIONS"), f"adapter {info.name} declares no REQUIRED_ACTIONS"
        found[info.name] = module.REQUIRED_ACTIONS
    return found


def _applies(stmt: dict[str, Any]) -> dict[str, Any]:
    """A statement written as ``!If [Condition, statement, !Ref AWS::NoValue]``: the statement when it applies."""
    if "Fn::If" in stmt:
        _, then, otherwise = stmt["Fn::If"]
        assert otherwise == {"Ref": "AWS::NoValue"}, stmt
        return dict(then)
    return stmt


def statements(effect: str) -> list[dict[str, Any]]:
    return [s for s in map(_applies, APP_POLICY["PolicyDocument"]["Statement"]) if s["Effect"] == effect]


@pytest.mark.parametrize("policy", ["RoleFixerAppPolicy", "RoleSweeperAppPolicy"])
def test_the_facts_reads_exist_only_while_resolve_facts_is_on(policy: str) -> None:
    from sfn_iam.aws import facts

    assert T["Conditions"]["FactsOn"] == {"Fn::Equals": [{"Ref": "ResolveFacts"}, "true"]}
    conditional = [s["Fn::If"] for s in RESOURCES[policy]["Properties"]["PolicyDocument"]["Statement"]
                   if "Fn::If" in s and s["Fn::If"][0] == "FactsOn"]
    # exactly the facts adapter's reads, and only under the condition
    assert {a for _, stmt, _ in conditional for a in _as_list(stmt["Action"])} == facts.REQUIRED_ACTIONS
    assert all(stmt["Sid"].startswith("Facts") for _, stmt, _ in conditional)
    unconditional = [s for s in RESOURCES[policy]["Properties"]["PolicyDocument"]["Statement"] if "Fn::If" not in s]
    assert not {a for s in unconditional for a in _as_list(s["Action"])} & facts.REQUIRED_ACTIONS


def test_template_grants_exactly_what_the_fixers_adapters_declare() -> None:
    declared = set().union(*adapter_actions(FIXER_ADAPTERS).values())
    granted = {a for s in statements("Allow") for a in _as_list(s["Action"])}
    assert granted == declared


def test_the_fixer_wires_its_five_adapters_and_every_adapter_declares_its_actions() -> None:
    assert {"iam", "stepfunctions", "ledger", "facts", "publisher"} == FIXER_ADAPTERS
    assert all(adapter_actions().values())


SCOPE_TAG = "sfn-iam:managed"


def tag_scoped(stmt: dict[str, Any]) -> bool:
    """The statement applies only to roles tagged ``sfn-iam:managed=true`` (the fixer's adoption by tag)."""
    return stmt.get("Condition", {}).get("StringEqualsIgnoreCase", {}) == {f"iam:ResourceTag/{SCOPE_TAG}": "true"}


def test_iam_writes_are_scoped_to_the_role_path_the_scope_tag_or_our_policies_never_star() -> None:
    for stmt in statements("Allow"):
        writes = [a for a in _as_list(stmt["Action"]) if WRITES.match(a)]
        if not writes:
            continue
        for resource in _as_list(stmt["Resource"]):
            assert resource != "*", (writes, stmt)
            text = resource["Fn::Sub"]
            by_tag = text.endswith(":role/*") and tag_scoped(stmt)
            assert by_tag or ":role${RolePath}*" in text or ":policy${ManagedPolicyPath}${PolicyNamePrefix}*" in text, \
                text


def test_roles_outside_the_path_are_written_only_through_the_scope_tag() -> None:
    def sub(resource: Any) -> str:
        return resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)

    by_path = {s["Sid"]: s for s in statements("Allow") if any(
        ":role${RolePath}*" in sub(r) for r in _as_list(s["Resource"]))}
    by_tag = {s["Sid"]: s for s in statements("Allow") if any(
        sub(r).endswith(":role/*") for r in _as_list(s["Resource"]))}
    # Every path-scoped grant has its tag-scoped twin with the same actions (and the same policy condition)...
    for sid, stmt in by_path.items():
        twin = by_tag[sid + "ByTag"]
        assert tag_scoped(twin) and sorted(_as_list(twin["Action"])) == sorted(_as_list(stmt["Action"]))
        assert {k: v for k, v in twin.get("Condition", {}).items() if k != "StringEqualsIgnoreCase"} == \
            stmt.get("Condition", {})
    # ...and the only unconditioned grant on every role is reading it: its tags say whether it is in scope, its
    # policies whether a state machine may pass or assume it (fixing/passable.py).
    untagged = [s for s in by_tag.values() if not tag_scoped(s)]
    assert [sorted(_as_list(s["Action"])) for s in untagged] == [
        ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]]
    assert not any(WRITES.match(a) for s in untagged for a in _as_list(s["Action"]))
    # The code reads the same key: a condition key cannot be a parameter, so the key is fixed on both sides.
    assert RESOURCES["RoleFixerFunction"]["Properties"]["Environment"]["Variables"]["ROLE_SCOPE_TAG_KEY"] == SCOPE_TAG


def test_other_policies_are_read_never_written() -> None:
    stmt = next(s for s in statements("Allow") if s["Sid"] == "ReadAttachedPolicies")
    assert sorted(_as_list(stmt["Action"])) == ["iam:GetPolicy", "iam:GetPolicyVersion"]
    assert [r["Fn::Sub"] for r in stmt["Resource"]] == ["arn:${AWS::Partition}:iam::aws:policy/*",
                                                        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*"]


def test_attach_is_limited_to_our_overflow_policies() -> None:
    stmts = [s for s in statements("Allow") if "iam:AttachRolePolicy" in _as_list(s["Action"])]
    assert len(stmts) == 2
    for stmt in stmts:
        assert stmt["Condition"]["ArnLike"]["iam:PolicyARN"]["Fn::Sub"].endswith(
            ":policy${ManagedPolicyPath}${PolicyNamePrefix}*")


def test_the_fixer_can_never_change_its_own_role() -> None:
    denies = statements("Deny")
    # Its own role, the sweeper's and the sweep state machine's: none may be adopted by tagging it (the sweep state
    # machine's role is trusted by Step Functions: without this, RolePath=/ would put it in scope).
    assert any(_as_list(s["Action"]) == ["iam:*"] and s["Resource"] == [
        {"Fn::GetAtt": ["RoleFixerRole", "Arn"]}, {"Fn::GetAtt": ["RoleSweeperRole", "Arn"]},
        {"Fn::GetAtt": ["SweepStateMachineRole", "Arn"]}] for s in denies)
    assert APP_POLICY["RoleName"] == {"Ref": "RoleFixerRole"}


def test_no_other_policy_on_the_fixers_role_grants_the_adapter_services() -> None:
    services = {a.split(":")[0] for a in set().union(*adapter_actions(FIXER_ADAPTERS).values())}
    for name, resource in RESOURCES.items():
        # The sweeper's app policy is checked the same way in test_sweeper_permissions.py; the sweep state machine's
        # role, by `sfn-iam check` (test_sweep_state_machine.py).
        if resource["Type"] == "AWS::IAM::RolePolicy" and name not in ("RoleFixerAppPolicy", "RoleSweeperAppPolicy",
                                                                       "SweepStateMachinePolicy"):
            for stmt in resource["Properties"]["PolicyDocument"]["Statement"]:
                if stmt.get("Sid") == "OnFailureDestination":
                    # the platform's one grant in an adapter service (sqs, since the facts adapter reads queues)
                    assert (stmt["Action"], stmt["Resource"]) == (
                        "sqs:SendMessage", {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}), name
                    continue
                assert not {a.split(":")[0] for a in _as_list(stmt["Action"])} & services, name
    role = RESOURCES["RoleFixerRole"]["Properties"]
    assert "Policies" not in role
    function = RESOURCES["RoleFixerFunction"]["Properties"]
    assert "Policies" not in function and function["Role"] == {"Fn::GetAtt": ["RoleFixerRole", "Arn"]}


def test_permissions_boundary_is_optional() -> None:
    boundary = RESOURCES["RoleFixerRole"]["Properties"]["PermissionsBoundary"]
    assert boundary == {"Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundaryArn"},
                                   {"Ref": "AWS::NoValue"}]}


def test_every_setting_the_config_reads_is_set_by_the_template() -> None:
    source = (Path(sfn_iam.__file__).parent / "fixing" / "settings.py").read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', source))
    read |= set(re.findall(r'(?:number|_flag)\(env, "([A-Z_]+)"', source))
    variables = set(RESOURCES["RoleFixerFunction"]["Properties"]["Environment"]["Variables"])
    assert read and read <= variables, read - variables


def test_guardrail_parameters_reach_the_function() -> None:
    variables = RESOURCES["RoleFixerFunction"]["Properties"]["Environment"]["Variables"]
    ceiling = {"Fn::If": ["CustomCeiling", {"Ref": "CeilingPolicyArn"}, {"Ref": "CeilingPolicy"}]}
    assert variables["CEILING_POLICY_ARN"] == ceiling
    assert variables["VERIFY_PASSED_ROLES"] == {"Ref": "VerifyPassedRoles"}
    assert variables["MODE"] == {"Ref": "Mode"}
    assert T["Parameters"]["Mode"]["Default"] == "report"  # a safe first deployment; samconfig's prod enforces


def test_trail_only_when_asked() -> None:
    for name in ("Trail", "TrailBucket", "TrailBucketPolicy"):
        assert RESOURCES[name]["Condition"] == "CreateTrailResources"
    assert T["Parameters"]["CreateTrail"]["Default"] == "false"


def test_no_event_is_lost_silently() -> None:
    function = RESOURCES["RoleFixerFunction"]["Properties"]
    rule = function["Events"]["StateMachineChanges"]["Properties"]
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}}
    # Our own queue, not SAM's: encrypted, kept 14 days, and only this rule may send to it.
    queue = RESOURCES["RuleDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    [statement] = RESOURCES["RuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {
        "Fn::GetAtt": ["RoleFixerFunctionStateMachineChanges", "Arn"]}}}
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}


def test_the_ledger_is_granted_on_its_table_only() -> None:
    for policy in (APP_POLICY, RESOURCES["RoleSweeperAppPolicy"]["Properties"]):
        stmts = [s for s in policy["PolicyDocument"]["Statement"]
                 if any(str(a).startswith("dynamodb:") for a in _as_list(s.get("Action", [])))]
        assert len(stmts) == 1 and stmts[0]["Resource"] == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
    table = RESOURCES["LedgerTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
