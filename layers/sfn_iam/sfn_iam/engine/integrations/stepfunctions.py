"""Nested executions (``states:startExecution``) and Distributed Map child executions. Pure core."""

from __future__ import annotations

from sfn_iam import arns
from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, SYNC, SYNC2, Call
from sfn_iam.engine.integrations.registry import register
from sfn_iam.model import Condition

EXECUTION_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


@register("states", "startExecution", patterns=(REQUEST_RESPONSE, SYNC, SYNC2, CALLBACK))
def start_execution(call: Call) -> None:
    target = call.args.get("StateMachineArn")
    if isinstance(target, Dynamic):
        machine = call.dynamic("StateMachineArn", call.arn("states", "stateMachine:*"))
        call.allow("states:StartExecution", machine)
        if call.sync:
            call.allow(("states:DescribeExecution", "states:StopExecution"), call.arn("states", "execution:*"))
            call.managed_rule(EXECUTION_RULE)
        return
    if not target:
        call.missing("StateMachineArn")
        return
    try:
        parsed = arns.parse_state_machine_arn(target)
    except arns.ArnError:
        call.finding("INVALID_VALUE", f"StateMachineArn {target[:200]!r} is not a state machine ARN")
        return
    # StartExecution is authorized on the unqualified ARN; a version or alias is pinned with a condition.
    conditions = (
        (Condition("StringEquals", "states:StateMachineQualifier", (parsed.qualifier,)),) if parsed.qualifier else ()
    )
    call.allow("states:StartExecution", parsed.unqualified, *conditions)
    if parsed.account != call.ctx.account:
        call.finding("CROSS_ACCOUNT_RESOURCE", f"state machine {parsed.unqualified} is in another account")
    if call.sync:
        execution = f"arn:{parsed.partition}:states:{parsed.region}:{parsed.account}:execution:{parsed.name}:*"
        call.allow(("states:DescribeExecution", "states:StopExecution"), execution)
        call.managed_rule(EXECUTION_RULE)


def distributed_map(call: Call, label: str | None) -> None:
    """A Distributed Map starts, tracks, stops and redrives child executions of its own state machine.

    Child execution ARNs are ``execution:SELF/LABEL:ID``; AWS's sample policy uses ``execution:SELF:*``, which
    does not match them, so both forms are granted for tracking. RedriveExecution: redriving the parent redrives its
    Map Runs with this role (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html;
    docs/adr/0009).
    """
    ctx = call.ctx
    own = ctx.state_machine_arn
    call.allow("states:StartExecution", own)
    child = f"{label}:*" if label else "*"
    children = ctx.arn("states", f"execution:{ctx.state_machine_name}/{child}")
    documented = ctx.arn("states", f"execution:{ctx.state_machine_name}:*")
    call.allow(("states:DescribeExecution", "states:StopExecution"), (children, documented))
    call.allow("states:RedriveExecution", children)
