"""AWS Elemental MediaConvert ``createJob``. Pure core."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sfn_iam.engine.asl import Dynamic, is_expression
from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import last_segment, pass_role
from sfn_iam.engine.integrations.registry import register
from sfn_iam.model import Condition

RULE = "StepFunctionsGetEventsForMediaConvertJobRule"
# Step Functions tags every job it creates; .sync may only watch and cancel those.
MANAGED = Condition("StringEquals", "aws:ResourceTag/ManagedByService", ("AWSStepFunctions",))


def _named(call: Call, key: str, kind: str, default: str | None) -> list[str]:
    value = call.args.get(key)
    if isinstance(value, Dynamic):
        return [call.dynamic(key, call.arn("mediaconvert", f"{kind}/*"))]
    name = value or default
    return [call.arn("mediaconvert", f"{kind}/{last_segment(name, f':{kind}/')}")] if name else []


def _presets(node: Any, jsonata: bool) -> Iterator[str | Dynamic]:
    """Every ``Preset`` named anywhere in the job settings."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Preset.$" and not jsonata:
                yield Dynamic()
            elif key == "Preset" and isinstance(value, str):
                yield Dynamic() if jsonata and is_expression(value) else value
            else:
                yield from _presets(value, jsonata)
    elif isinstance(node, list):
        for item in node:
            yield from _presets(item, jsonata)


@register("mediaconvert", "createJob", patterns=(REQUEST_RESPONSE, SYNC))
def create_job(call: Call) -> None:
    role = call.args.get("Role")
    if not role:
        call.missing("Role")
        return
    resources = _named(call, "Queue", "queues", "Default") + _named(call, "JobTemplate", "jobTemplates", None)
    settings = call.args.value("Settings")
    found = [Dynamic()] if isinstance(settings, Dynamic) else list(_presets(settings, call.args.jsonata))
    if any(isinstance(p, Dynamic) for p in found):
        resources.append(call.dynamic("Settings presets", call.arn("mediaconvert", "presets/*")))
    resources += [call.arn("mediaconvert", f"presets/{last_segment(p, ':presets/')}")
                  for p in found if isinstance(p, str)]
    call.allow("mediaconvert:CreateJob", resources)
    pass_role(call, role, "Role", ("mediaconvert.amazonaws.com",))
    if call.sync:
        call.allow(("mediaconvert:GetJob", "mediaconvert:CancelJob"), call.arn("mediaconvert", "jobs/*"), MANAGED)
        call.managed_rule(RULE)
