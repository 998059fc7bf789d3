"""DynamoDB optimized item APIs: only the action the state uses. Pure core."""

from __future__ import annotations

from sfn_iam.engine.integrations.base import Call
from sfn_iam.engine.integrations.registry import register

_ACTIONS = {"getitem": "GetItem", "putitem": "PutItem", "updateitem": "UpdateItem", "deleteitem": "DeleteItem"}


@register("dynamodb", "getItem", "putItem", "updateItem", "deleteItem")
def item(call: Call) -> None:
    table = call.named("TableName", "dynamodb", "table/{}")
    if table:
        call.allow(f"dynamodb:{_ACTIONS[call.api.lower()]}", table)
