"""Versions and aliases: which published versions of a machine run, so that their definitions are granted too.

An alias routes executions to at most two published versions (SAM's ``AutoPublishAlias`` and gradual deployments
shift weight from the old version to the new one). Each version keeps the definition and the role it was published
with, so during a 90/10 canary the old version's Tasks still run and still need their permissions. The fixer grants,
next to the latest definition, every version an alias routes to. Versions no alias routes to are not granted: they
can still be started by ARN, but granting every version ever published would keep every past grant alive for ever
(docs/events.md, "Versions and aliases").

Bounded: one ``ListStateMachineAliases`` per fix (at most 100 aliases per machine, Step Functions' quota), one
``DescribeStateMachineAlias`` per alias, one ``DescribeStateMachine`` per distinct routed version.
Standard library only.
"""

from __future__ import annotations

from dataclasses import replace

from sfn_iam import arns
from sfn_iam.findings import Finding
from sfn_iam.fixing.ports import DescribedStateMachine, StateMachineReader

MAX_ALIASES = 100  # Step Functions' quota of aliases per state machine; more is not read
MAX_ROUTES = 2  # an alias routes to one or two versions


def base_arn(arn: str) -> str:
    """The machine a machine, version or alias ARN belongs to (raises :class:`arns.ArnError`)."""
    return arns.parse_state_machine_arn(arn).unqualified


def routed_versions(machines: StateMachineReader, arn: str) -> list[str]:
    """The version ARNs that the aliases of ``arn`` route executions to, sorted and unique."""
    routed: set[str] = set()
    for alias in sorted(machines.list_aliases(arn))[:MAX_ALIASES]:
        for version in machines.describe_alias(alias)[:MAX_ROUTES]:
            try:
                if base_arn(version) == arn:  # a route to another machine's version is not ours to grant
                    routed.add(version)
            except arns.ArnError:
                continue
    return sorted(routed)


def with_versions(machines: StateMachineReader, described: DescribedStateMachine) -> tuple[DescribedStateMachine,
                                                                                            list[Finding]]:
    """``described`` with the routed versions that run under its role attached (``StateMachine.versions``).

    A routed version under another role is reported (``VERSION_ROLE_DIFFERS``) and not granted: the machine's policy
    lives on one role (docs/events.md). A version whose definition and configuration equal the latest's adds nothing
    and is not attached (the common case right after a publish).
    """
    sm = replace(described.machine, versions=())
    findings: list[Finding] = []
    attached = []
    for version_arn in routed_versions(machines, sm.arn):
        version = machines.describe(version_arn)
        if version is None or version.status != "ACTIVE":
            continue
        vm = replace(version.machine, arn=version_arn, versions=())
        if replace(vm, arn=sm.arn) == sm:
            continue
        if vm.role_arn != sm.role_arn:
            findings.append(Finding.of(
                "VERSION_ROLE_DIFFERS", f"{version_arn} (routed to by an alias) runs under {vm.role_arn[:200]}, "
                f"not under the machine's role {sm.role_arn[:200]}: its permissions are not granted"))
            continue
        attached.append(vm)
    return DescribedStateMachine(replace(sm, versions=tuple(attached)), described.status), findings
