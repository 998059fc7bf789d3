"""Which roles the fixer may touch. Pure core: standard library only.

A role is in scope only when all of these hold, and anything else is reported and left alone:

* it is in this account and under the configured path, and it is not the fixer's own role (from the ARN alone,
  before any AWS call);
* its trust policy lets ``states.amazonaws.com`` assume it and lets nobody else in (a role also trusted by a
  user, another service or another account is out of scope: the policy would serve them too);
* it does not carry the opt-out tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.fixing.ports import Role
from sfn_iam.fixing.settings import Settings
from sfn_iam.wildcards import matches

_STATES = "states.amazonaws.com"


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _is_states(principal: Any) -> bool:
    return isinstance(principal, str) and (principal == _STATES or (
        principal.startswith("states.") and principal.endswith(".amazonaws.com") and principal.count(".") == 3))


def _only_states(principal: Any) -> bool:
    if not isinstance(principal, Mapping) or set(principal) != {"Service"}:
        return False
    services = _as_list(principal["Service"])
    return bool(services) and all(_is_states(s) for s in services)


def trusted_only_by_states(trust: Mapping[str, Any]) -> bool:
    """True when every Allow statement names only the Step Functions service and one of them allows AssumeRole."""
    statements = [s for s in _as_list(trust.get("Statement")) if isinstance(s, Mapping)]
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    if not allows:
        return False
    for stmt in allows:
        if "NotPrincipal" in stmt or "NotAction" in stmt or not _only_states(stmt.get("Principal")):
            return False
    return any(
        isinstance(a, str) and matches(a, "sts:AssumeRole", ignore_case=True)
        for stmt in allows for a in _as_list(stmt.get("Action"))
    )


def arn_problem(role_arn: str, settings: Settings) -> str | None:
    """Why the role is out of scope judging by its ARN alone, or ``None``."""
    try:
        role = parse_role_arn(role_arn)
    except ArnError as exc:
        return str(exc)
    if role.account != settings.account:
        return f"role {role_arn} is in account {role.account}, not in this account"
    if not role.path.startswith(settings.role_path):
        return f"role {role_arn} is not under the path {settings.role_path}"
    if settings.fixer_role_arn and role_arn == settings.fixer_role_arn:
        return "the fixer never changes its own role"
    return None


def role_problem(role: Role, settings: Settings) -> str | None:
    """Why a role (as ``GetRole`` returned it) is out of scope, or ``None``."""
    problem = arn_problem(role.arn, settings)
    if problem:
        return problem
    if settings.opt_out_tag in role.tags:
        return f"role {role.arn} carries the opt-out tag {settings.opt_out_tag}"
    if not trusted_only_by_states(role.trust_policy):
        return f"role {role.arn} is not trusted by states.amazonaws.com alone"
    return None


def tags_dict(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` → ``{k: v}``."""
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, Mapping)}
