"""`make demo`: the role fixer end to end on an embedded moto server. No AWS account, no Docker.

A role with no permissions and state machines from examples/ are created; the CloudTrail events from events/
(patched to the created ARNs) are delivered to the real Lambda handler in the order a deployment would produce
them. For each: the role's policies before and after, the outcome, its findings, the published outcome event
and the AWS calls. The demo checks every outcome against what it expects and exits 1 on any surprise.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import boto3

from scripts import sandbox
from scripts.local_aws import Local, moto_server

ROLES = (sandbox.ROLE_NAME, sandbox.ROLE2_NAME)


def _short(policies: dict[str, Any]) -> str:
    lines = []
    for name, doc in sorted(policies["inline"].items()):
        actions = sorted({a for s in doc["Statement"] for a in s["Action"]})
        lines.append(f"      inline  {name}: {', '.join(actions)}")
    lines += [f"      managed {name}" for name in policies["attached"]]
    return "\n".join(lines) or "      (no policies)"


def _show_roles(local: Local, title: str) -> None:
    print(f"  {title}:")
    for role in ROLES:
        with contextlib.suppress(local.iam.exceptions.NoSuchEntityException):
            print(f"    {role}\n{_short(sandbox.role_policies(local.iam, role))}")


def step(local: Local, title: str, event: dict[str, Any], expected: str) -> bool:
    print(f"\n=== {title}")
    _show_roles(local, "before")
    local.counter.reset()
    outcome = local.deliver(event, quiet=True)
    _show_roles(local, "after")
    print(f"  outcome: {outcome['status']}"
          + (f" ({outcome['reason']})" if outcome["reason"] else "")
          + (f" placement={outcome['placement']}" if outcome["placement"] else ""))
    for change in outcome["changes"]:
        print(f"    change: {change['kind']} {change['policy']} {('on ' + change['role']) if change['role'] else ''}")
    for finding in outcome["findings"]:
        print(f"    finding: {finding['severity']} {finding['code']}: {finding['message']}")
    calls = dict(sorted(local.counter.calls.items()))
    print(f"  AWS calls: {local.counter.own()} + {local.counter.facts()} facts read {calls}")
    for published in local.published():
        print(f"  published: source={published['source']} detail-type={published['detail-type']!r} "
              f"detail={json.dumps({k: published['detail'][k] for k in ('status', 'stateMachineArn', 'roleArn')})}")
    ok = outcome["status"] == expected
    print(f"  {'OK' if ok else 'UNEXPECTED'}: expected {expected}")
    return ok


def ceiling_steps(local: Local, role: str, event: Any) -> list[bool]:
    """One state the ceiling refuses, the statement that would approve it, and the grant once an administrator
    added it to the ceiling (a new version of the ceiling policy, read as the stack's own: CeilingPolicyArn)."""
    nightly = sandbox.create_state_machine(local.sfn, "NightlyStop", "nightly_stop.asl.json", role)
    ok = [step(local, "CreateStateMachine NightlyStop: stopping an EC2 instance is outside the default ceiling",
               event("create_state_machine.json", nightly, role), "unchanged")]
    outcome = local.deliver(event("create_state_machine.json", nightly, role), quiet=True)
    proposal = next(d for d in outcome["documents"] if d.get("Id") == "sfn-iam-ceiling-proposal")
    print("\n  the proposal the outcome carries (documents, Id sfn-iam-ceiling-proposal):")
    print("    " + json.dumps(proposal["Statement"]))
    arn = sandbox.FIXER_ENV["CEILING_POLICY_ARN"]
    sandbox.extend_ceiling(local.iam, *proposal["Statement"])
    print(f"  the administrator adds it to the ceiling {arn} (a new default version) and makes it the stack's own")
    local.use_own_ceiling()
    ok.append(step(local, "the same machine again: granted now that the ceiling allows it",
                   event("create_state_machine.json", nightly, role), "written"))
    return ok


def main() -> int:
    results = []
    # The handler's structured JSON log lines are left out of the demo (WARNING); the tests and `make invoke` show them.
    with moto_server({**sandbox.FIXER_ENV, "POWERTOOLS_LOG_LEVEL": "WARNING"}) as local:
        print(f"moto server at {local.endpoint}; fixer mode enforce, role path {sandbox.ROLE_PATH}")
        # the topic and queue the examples publish to exist, as in an account: the fixer reads whether a customer
        # managed key encrypts them (none here), so the happy path plans with no unresolved fact
        boto3.client("sns", region_name=sandbox.REGION, endpoint_url=local.endpoint).create_topic(Name="order-events")
        local.sqs.create_queue(QueueName="fulfilment")
        role = sandbox.create_role(local.iam, sandbox.ROLE_NAME)
        orders = sandbox.create_state_machine(local.sfn, sandbox.SM_NAME, "order_processing.asl.json", role)
        inventory = sandbox.create_state_machine(local.sfn, "InventorySync", "inventory_sync.asl.json", role)
        print(f"created {role} (no permissions),\n        {orders} and {inventory} on it")

        def event(file: str, sm: str = orders, role_arn: str | None = None) -> dict[str, Any]:
            return sandbox.patch_event(sandbox.load_event(file), state_machine_arn=sm, role_arn=role_arn)

        results.append(step(local, "CreateStateMachine OrderProcessing",
                            event("create_state_machine.json", role_arn=role), "written"))
        results.append(step(local, "the same event delivered again (duplicate)",
                            event("create_state_machine.json", role_arn=role), "unchanged"))
        results.append(step(local, "CreateStateMachine InventorySync on the same role (shared role: the union)",
                            event("create_state_machine.json", inventory, role), "written"))
        local.sfn.update_state_machine(stateMachineArn=orders, definition=(
            sandbox.EXAMPLES / "order_processing_v2.asl.json").read_text(encoding="utf-8"))
        results.append(step(local, "UpdateStateMachine OrderProcessing: new definition adds SQS",
                            event("update_state_machine_definition.json"), "written"))
        role2 = sandbox.create_role(local.iam, sandbox.ROLE2_NAME)
        local.sfn.update_state_machine(stateMachineArn=orders, roleArn=role2)
        results.append(step(local, "UpdateStateMachine OrderProcessing: new role (the policy moves)",
                            event("update_state_machine_role.json", role_arn=role2), "written"))
        results.append(step(local, "a failed CreateStateMachine call (errorCode)",
                            event("create_state_machine_failed_call.json"), "ignored"))
        results.append(step(local, "an unrelated Step Functions call (TagResource)",
                            event("unrelated_event.json"), "ignored"))
        local.sfn.delete_state_machine(stateMachineArn=orders)
        results.append(step(local, "DeleteStateMachine OrderProcessing", event("delete_state_machine.json"),
                            "removed"))
        results.extend(ceiling_steps(local, role2, event))
    print(f"\n{sum(results)}/{len(results)} outcomes as expected")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
