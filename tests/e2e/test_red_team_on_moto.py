"""Every red-team definition through the deployed path: the real Lambda handler on moto, the default ceiling as the
role's permissions boundary, and the CLI offline. What is written is evaluated at request level: every dangerous
request is denied, every benign one allowed, and each role written carries the ceiling as its boundary."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from scripts import sandbox
from sfn_iam import cli
from sfn_iam.engine.guardrails import ceiling
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, SM_NAME, with_owner

from .conftest import World

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "red_team"
CASES = sorted(FIXTURES.glob("*.json"))
MACHINE_SETTINGS = ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration")


def _case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def _requests(entries: list[list[Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e[0], e[1], e[2] if len(e) > 2 else {}) for e in entries]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_lambda_on_moto_writes_nothing_dangerous(world: World, path: Path) -> None:
    case = _case(path)
    if set(case.get("settings", {})) & set(MACHINE_SETTINGS):
        pytest.skip("the case sets machine configuration moto's CreateStateMachine does not take as given")
    role = world.role("RedTeamRole")
    try:
        arn = world.sfn.create_state_machine(name=SM_NAME, definition=json.dumps(case["definition"]),
                                             roleArn=role)["stateMachineArn"]
    except world.sfn.exceptions.ClientError as exc:  # moto refuses a few hostile shapes outright
        pytest.skip(f"moto refuses the definition: {exc}")
    event = sandbox.patch_event(sandbox.load_event("create_state_machine.json"), state_machine_arn=arn, role_arn=role)
    world.invoke(event)
    docs = list(sandbox.role_policies(world.iam, "RedTeamRole")["inline"].values())
    for action, resource, context in _requests(case["dangerous"]):
        assert not is_allowed(docs, action, resource, with_owner(resource, context)), (case["name"], action, resource)
    default = ceiling.default(account=ACCOUNT)
    for action, resource, context in _requests(case["benign"]):
        # a benign request the default ceiling leaves out (another account's function) needs an administrator
        assert is_allowed(docs, action, resource, with_owner(resource, context)) or not default.allows(
            action, resource), (case["name"], action, resource)
    if docs:
        boundary = world.iam.get_role(RoleName="RedTeamRole")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        assert boundary == sandbox.FIXER_ENV["CEILING_POLICY_ARN"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_cli_prints_nothing_dangerous(path: Path, tmp_path: Path) -> None:
    case = _case(path)
    source = tmp_path / "definition.json"
    source.write_text(json.dumps(case["definition"]), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    cli.main(["policy", str(source), "--format", "json", "--account", "123456789012", "--region", "us-east-1",
              "--fail-on", "critical"], out, err)
    report = json.loads(out.getvalue())
    docs = [d for r in report.get("results", []) for d in r.get("documents", [])]
    for action, resource, context in _requests(case["dangerous"]):
        assert not is_allowed(docs, action, resource, with_owner(resource, context)), (case["name"], action, resource)
