"""Amazon API Gateway ``apigateway:invoke``: ``execute-api:Invoke`` only when the call is signed (IAM_ROLE). Pure core.

A path under ``@connections`` is a WebSocket API's management API: ``execute-api:ManageConnections`` instead.

``NO_AUTH`` (the default) and ``RESOURCE_POLICY`` need nothing on the role: the API's own policy decides.
"""

from __future__ import annotations

import re

from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, Call
from sfn_iam.engine.integrations.registry import register

_ENDPOINT_RE = re.compile(
    r"^(?:https://)?(?P<api>[a-z0-9]{10})\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?/?$"
)


def _segment(call: Call, key: str, default: str) -> str:
    value = call.args.get(key)
    if isinstance(value, Dynamic):
        call.finding("DYNAMIC_RESOURCE", f"{key} is only known at run time; any value granted")
        return "*"
    return value if value else default


def _path(call: Call) -> str:
    value = call.args.get("Path")
    if isinstance(value, Dynamic):
        prefix = (call.args.literal_prefix("Path") or "").lstrip("/")
        call.finding("DYNAMIC_RESOURCE", f"Path is only known at run time; granted on {prefix}*")
        return f"{prefix}*"
    return (value or "").lstrip("/")


_CONNECTIONS = "@connections"


@register("apigateway", "invoke", patterns=(REQUEST_RESPONSE, CALLBACK))
def invoke(call: Call) -> None:
    auth = call.args.get("AuthType")
    if auth is None or auth in ("NO_AUTH", "RESOURCE_POLICY"):
        return
    if isinstance(auth, Dynamic):
        call.finding("DYNAMIC_RESOURCE", "AuthType is only known at run time; execute-api:Invoke granted for IAM_ROLE")
    elif auth != "IAM_ROLE":
        call.finding("INVALID_VALUE", f"AuthType {auth[:50]!r} is not NO_AUTH, IAM_ROLE or RESOURCE_POLICY")
        return
    endpoint = call.args.get("ApiEndpoint")
    if isinstance(endpoint, Dynamic):
        call.allow("execute-api:Invoke", call.dynamic("ApiEndpoint", call.arn("execute-api", "*")))
        return
    if not endpoint:
        call.missing("ApiEndpoint")
        return
    m = _ENDPOINT_RE.match(endpoint)
    if not m:
        call.finding("INVALID_VALUE", f"ApiEndpoint {endpoint[:200]!r} is not an execute-api endpoint (custom "
                                      "domains and private APIs are not supported); nothing granted")
        return
    # Stage may be omitted for an HTTP API's $default stage; the method and path are part of the ARN.
    stage = _segment(call, "Stage", "*")
    method = _segment(call, "Method", "*").upper()
    path = _path(call)
    # A WebSocket API's @connections path is its management API (send to, read or disconnect a client):
    # IAM authorizes it as execute-api:ManageConnections on API/STAGE/METHOD/@connections/ID, never as Invoke
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html).
    action = "execute-api:ManageConnections" if path.startswith(_CONNECTIONS) else "execute-api:Invoke"
    resource = f"{m['api']}/{stage}/{method}/{path}"
    call.allow(action, call.ctx.arn("execute-api", resource, region=m["region"]))
