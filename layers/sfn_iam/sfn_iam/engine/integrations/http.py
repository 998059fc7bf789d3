"""The HTTP Task (``arn:aws:states:::http:invoke``). Pure core."""

from __future__ import annotations

import re

from sfn_iam.engine.asl import Args, Dynamic
from sfn_iam.engine.integrations.base import Call
from sfn_iam.engine.integrations.registry import register
from sfn_iam.model import Condition

_CONNECTION_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):events:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):connection/(?P<name>[\w.-]+)/[\w-]+$"
)


def _connection(call: Call) -> str | Dynamic | None:
    for holder in ("InvocationConfig", "Authentication"):
        sub: Args = call.args.sub(holder)
        value = sub.get("ConnectionArn")
        if value is not None:
            return value
    return None


@register("http", "invoke")
def invoke(call: Call) -> None:
    conditions: list[Condition] = []
    method = call.args.get("Method")
    endpoint = call.args.get("ApiEndpoint")
    if isinstance(method, str):
        conditions.append(Condition("StringEquals", "states:HTTPMethod", (method.upper(),)))
    elif method is None:
        call.missing("Method")
        return
    if isinstance(endpoint, str):
        conditions.append(Condition("StringEquals", "states:HTTPEndpoint", (endpoint,)))
    elif endpoint is None:
        call.missing("ApiEndpoint")
        return
    else:
        call.finding("DYNAMIC_RESOURCE", "ApiEndpoint is only known at run time; no endpoint condition is possible")
    call.allow("states:InvokeHTTPEndpoint", call.ctx.state_machine_arn, *conditions)

    connection = _connection(call)
    if isinstance(connection, Dynamic) or call.args.dynamic:
        call.allow("events:RetrieveConnectionCredentials",
                   call.dynamic("ConnectionArn", call.arn("events", "connection/*")))
        call.allow(("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                   call.arn("secretsmanager", "secret:events!connection/*"))
        return
    if connection is None:
        call.missing("InvocationConfig.ConnectionArn or Authentication.ConnectionArn")
        return
    m = _CONNECTION_RE.match(connection)
    if not m:
        call.finding("INVALID_VALUE", f"ConnectionArn {connection[:200]!r} is not an EventBridge connection ARN")
        return
    call.allow("events:RetrieveConnectionCredentials", connection)
    secret = f"arn:{m['partition']}:secretsmanager:{m['region']}:{m['account']}:secret:events!connection/{m['name']}/*"
    call.allow(("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"), secret)
