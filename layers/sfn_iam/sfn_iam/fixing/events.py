"""EventBridge envelope + CloudTrail record → :class:`Trigger` or :class:`Ignored`. Pure core: standard library only.

Nothing here trusts the event further than needed to find the state machine: the definition is redacted in
CloudTrail and the role of a repeated create may not be the machine's role, so the service always re-reads it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, NamedTuple

from sfn_iam import arns
from sfn_iam.fixing import retiring

SOURCE = "aws.states"
DETAIL_TYPE = "AWS API Call via CloudTrail"
EVENT_SOURCE = "states.amazonaws.com"


class Action(enum.StrEnum):
    CREATE = "CreateStateMachine"
    UPDATE = "UpdateStateMachine"
    DELETE = "DeleteStateMachine"
    # Versions and aliases (fixing.versions): each re-fixes the machine they belong to.
    PUBLISH_VERSION = "PublishStateMachineVersion"
    DELETE_VERSION = "DeleteStateMachineVersion"
    CREATE_ALIAS = "CreateStateMachineAlias"
    UPDATE_ALIAS = "UpdateStateMachineAlias"
    DELETE_ALIAS = "DeleteStateMachineAlias"


# Where each event names its state machine, version or alias (requestParameters first, then responseElements).
# All are qualified or unqualified state machine ARNs; the trigger carries the machine's (unqualified) ARN.
_ARN_KEYS = ("stateMachineArn", "stateMachineVersionArn", "stateMachineAliasArn")


class Trigger(NamedTuple):
    """A successful state machine change in our account that the service must act on."""

    event_id: str
    action: Action
    state_machine_arn: str  # unqualified
    account: str
    region: str
    role_in_request: str | None = None  # UpdateStateMachine sent a roleArn: the role may have changed
    event_time: str = ""  # CloudTrail's eventTime (YYYY-MM-DDTHH:MM:SSZ): when the change took effect; "" unknown


class Ignored(NamedTuple):
    """An event the service does nothing with, and why (``reason`` is a stable code, ``message`` for humans)."""

    event_id: str
    reason: str
    message: str
    action: str = ""  # the CloudTrail eventName when there is one (bounded)


MAX_ID = 128  # every string copied from an event into an outcome is bounded: the outcome must fit PutEvents


def _bounded(value: Any, limit: int = MAX_ID) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse(event: Any, account: str, region: str | None = None) -> Trigger | Ignored:
    """Classify one EventBridge event delivered to the fixer; never raises on bad input.

    ``account`` is the account the fixer is deployed in: events from any other account are ignored. ``region``
    (the fixer's own): state machines of any other region, or of another partition, are ignored too, since a
    same-named machine there is not ours to fix or to remove (IAM is global, the fixer is regional).
    """
    if not isinstance(event, Mapping):
        return Ignored("", "MALFORMED_EVENT", "the event is not a JSON object")
    event_id = _bounded(event.get("id"))
    detail = event.get("detail")
    parsed = _classify(event, event_id, detail, account, region)
    if isinstance(parsed, Ignored) and isinstance(detail, Mapping):
        return Ignored(parsed.event_id, parsed.reason, parsed.message, _bounded(detail.get("eventName")))
    return parsed


def _classify(event: Mapping[str, Any], event_id: str, detail: Any, account: str,
              region: str | None) -> Trigger | Ignored:
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE or not isinstance(detail, Mapping):
        return Ignored(event_id, "UNRELATED_EVENT", "not a Step Functions API call recorded by CloudTrail")
    if detail.get("eventSource") != EVENT_SOURCE:
        return Ignored(event_id, "UNRELATED_EVENT", f"event source {str(detail.get('eventSource'))[:80]!r}")
    name = detail.get("eventName")
    if not isinstance(name, str) or name not in set(Action):
        return Ignored(event_id, "UNHANDLED_EVENT_NAME", f"event name {str(name)[:80]!r} is not handled")
    if "errorCode" in detail:
        return Ignored(event_id, "FAILED_CALL", f"the call failed with {str(detail.get('errorCode'))[:80]!r}")
    event_account = _text(event.get("account"))
    if event_account != account or detail.get("recipientAccountId", account) != account:
        return Ignored(event_id, "FOREIGN_ACCOUNT", f"the event is for account {str(event_account)[:20]!r}, not ours")
    return _trigger(event_id, Action(name), detail, account, region)


def _trigger(event_id: str, action: Action, detail: Mapping[str, Any], account: str,
             region: str | None) -> Trigger | Ignored:
    request = detail.get("requestParameters")
    response = detail.get("responseElements")
    request = request if isinstance(request, Mapping) else {}
    response = response if isinstance(response, Mapping) else {}
    if action is Action.CREATE:
        arn = _text(response.get("stateMachineArn"))
    elif action in (Action.UPDATE, Action.DELETE):
        arn = _text(request.get("stateMachineArn"))
    else:
        arn = _qualified_arn(request, response)
    if arn is None:
        return Ignored(event_id, "MALFORMED_EVENT", f"{action} without a stateMachineArn")
    try:
        parsed = arns.parse_state_machine_arn(arn)
    except arns.ArnError as exc:
        return Ignored(event_id, "MALFORMED_EVENT", str(exc))
    if parsed.account != account:
        return Ignored(event_id, "FOREIGN_ACCOUNT", f"the state machine belongs to account {parsed.account}")
    if region is not None and (parsed.region != region or parsed.partition != arns.partition_of_region(region)):
        return Ignored(event_id, "FOREIGN_REGION", f"the state machine is in {parsed.partition}/{parsed.region}, "
                       f"not in this function's {arns.partition_of_region(region)}/{region}")
    role = _text(request.get("roleArn")) if action is Action.UPDATE else None
    return Trigger(event_id, action, parsed.unqualified, parsed.account, parsed.region, role,
                   retiring.timestamp(detail.get("eventTime")))


def _qualified_arn(request: Mapping[str, Any], response: Mapping[str, Any]) -> str | None:
    """The machine, version or alias ARN a version or alias event names (a created alias: its first route)."""
    for section in (request, response):
        for key in _ARN_KEYS:
            found = _text(section.get(key))
            if found is not None:
                return found
    routes = request.get("routingConfiguration")
    if isinstance(routes, list) and routes and isinstance(routes[0], Mapping):
        return _text(routes[0].get("stateMachineVersionArn"))
    return None
