"""Which roles the fixer may touch. Pure core: standard library only.

A role is in scope only when all of these hold, and anything else is reported and left alone:

* it is in this account and it is not the fixer's own role (from the ARN alone, before any AWS call);
* it is under the configured path, or it carries the scope tag (``ROLE_SCOPE_TAG_KEY``, default
  ``sfn-iam:managed``) with the value ``true``: adopting an existing role (console roles live under
  ``/service-role/``, SAM, CDK and Terraform roles under ``/``, and a role's path cannot change) is tagging it. The
  fixer's IAM permissions carry the same rule (``iam:ResourceTag`` conditions in template.yaml);
* its trust policy lets ``states.amazonaws.com`` assume it and lets nobody else in (a role also trusted by a
  user, another service or another account is out of scope: the policy would serve them too);
* it does not carry the opt-out tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.findings import Finding
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
    """Why the role is out of scope judging by its ARN alone, or ``None``. A role outside the path may still be
    in scope by its tag: :func:`path_problem` decides once the role (and its tags) was read."""
    try:
        role = parse_role_arn(role_arn)
    except ArnError as exc:
        return str(exc)
    if role.account != settings.account:
        return f"role {role_arn} is in account {role.account}, not in this account"
    if not settings.scope_tag and not role.path.startswith(settings.role_path):
        return f"role {role_arn} is not under the path {settings.role_path}"
    if settings.fixer_role_arn and role_arn == settings.fixer_role_arn:
        return "the fixer never changes its own role"
    return None


def role_problem(role: Role, settings: Settings) -> str | None:
    """Why a role (as ``GetRole`` returned it) is out of scope, or ``None``."""
    problem = arn_problem(role.arn, settings) or path_problem(role.arn, role.path, role.tags, settings)
    if problem:
        return problem
    if settings.opt_out_tag in role.tags:
        return f"role {role.arn} carries the opt-out tag {settings.opt_out_tag}"
    if not trusted_only_by_states(role.trust_policy):
        return f"role {role.arn} is not trusted by states.amazonaws.com alone"
    return None


def tagged_in(tags: Mapping[str, str], settings: Settings) -> bool:
    """Does the role carry the scope tag with the value ``true`` (case-insensitive, as IAM's ``StringEqualsIgnoreCase``
    in the template's condition)?"""
    key = settings.scope_tag.lower()
    return bool(key) and any(k.lower() == key and v.lower() == "true" for k, v in tags.items())


def path_problem(role_arn: str, path: str, tags: Mapping[str, str], settings: Settings) -> str | None:
    """Why the role is out of scope by its path and tags, or ``None``: under the path, or tagged in."""
    if path.startswith(settings.role_path) or tagged_in(tags, settings):
        return None
    how = f" and does not carry the tag {settings.scope_tag}=true" if settings.scope_tag else ""
    return f"role {role_arn} is not under the path {settings.role_path}{how}"


def tags_dict(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` → ``{k: v}``."""
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, Mapping)}


def boundary_problem(role: Role, settings: Settings) -> str | None:
    """Why the fixer may not write to ``role`` because of its permissions boundary, or ``None``: a role that carries
    a boundary other than the ceiling is left alone (the fixer never removes or replaces a boundary it did not set;
    IAM would refuse its writes anyway: they are conditioned on ``iam:PermissionsBoundary``)."""
    if not settings.ceiling_arn or not role.boundary_arn or role.boundary_arn == settings.ceiling_arn:
        return None
    return (f"role {role.arn} has another permissions boundary ({role.boundary_arn}); the fixer writes only to roles "
            f"without one (it then sets the ceiling {settings.ceiling_arn}) or with the ceiling itself: give the role "
            "the ceiling as its boundary, or copy the policy by hand")


def write_problem(role: Role, settings: Settings) -> str | None:
    """Why the fixer may not write to ``role`` at all: out of scope, or another permissions boundary."""
    return role_problem(role, settings) or boundary_problem(role, settings)


def orphaned_grant(policy: str, role_arn: str, problem: str) -> Finding:
    """``ORPHANED_GRANT``: a policy the fixer wrote stays on a role it may no longer write (``problem`` says why),
    frozen as it was written. It stays visible: the ledger keeps the role, every sweep reports it (docs/findings.md)."""
    return Finding.of("ORPHANED_GRANT", f"{policy} stays on {role_arn}, which the fixer may no longer write "
                      f"({problem}): the grant is frozen as it was written, neither updated nor removed; delete it "
                      "by hand, or bring the role back in scope")
