"""AWS CodeBuild builds and build batches. Pure core.

The documented dynamic patterns wildcard the account (``R:*:project/*``); this module keeps them in this account.
Build and build-batch IDs are ``PROJECT:UUID`` (or their ARNs), so the project they belong to is recoverable.
"""

from __future__ import annotations

from typing import NamedTuple

from sfn_iam.engine.asl import DYNAMIC, Dynamic
from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import last_segment
from sfn_iam.engine.integrations.registry import register


class BuildApi(NamedTuple):
    action: str
    key: str  # the parameter that names the project (a name, or a build/batch ID or ARN, or a list of them)
    sync: tuple[str, ...] = ()
    rule: str = ""


_RULE = "StepFunctionsGetEventForCodeBuild{}Rule"
_BATCH_SYNC = ("codebuild:StopBuildBatch", "codebuild:BatchGetBuildBatches")
_APIS = {
    "startbuild": BuildApi("StartBuild", "ProjectName", ("codebuild:StopBuild", "codebuild:BatchGetBuilds"),
                           _RULE.format("StartBuild")),
    "stopbuild": BuildApi("StopBuild", "Id"),
    "batchdeletebuilds": BuildApi("BatchDeleteBuilds", "Ids"),
    "startbuildbatch": BuildApi("StartBuildBatch", "ProjectName", _BATCH_SYNC, _RULE.format("StartBuildBatch")),
    "stopbuildbatch": BuildApi("StopBuildBatch", "Id"),
    # The docs print no events statement for retryBuildBatch.sync: Step Functions polls it.
    "retrybuildbatch": BuildApi("RetryBuildBatch", "Id", _BATCH_SYNC),
    "deletebuildbatch": BuildApi("DeleteBuildBatch", "Id"),
}


def _project(call: Call, value: str) -> str:
    """``project/NAME`` from a project name/ARN, or from a build or build-batch ID/ARN (``PROJECT:UUID``)."""
    if ":project/" in value:
        return value
    ident = last_segment(last_segment(value, ":build-batch/"), ":build/")
    return call.arn("codebuild", f"project/{ident.split(':', 1)[0]}")


def _values(call: Call, key: str) -> list[str] | Dynamic | None:
    """The literal identifiers in ``key`` (a string, or an array for ``Ids``/``ReportArns``)."""
    if key in ("Ids", "ReportArns"):
        items = call.args.items(key)
        if items is None or isinstance(items, Dynamic):
            return items
        if any(item.dynamic for item in items):
            return DYNAMIC
        return [item.raw for item in items if isinstance(item.raw, str) and item.raw]
    value = call.args.get(key)
    if isinstance(value, str):
        return [value] if value else None
    return value


def _resources(call: Call, key: str, kind: str) -> list[str] | None:
    values = _values(call, key)
    if isinstance(values, Dynamic):
        return [call.dynamic(key, call.arn("codebuild", f"{kind}/*"))]
    if not values:
        call.missing(key)
        return None
    return [_project(call, v) if kind == "project" else _report_group(call, v) for v in values]


def _report_group(call: Call, value: str) -> str:
    """``report-group/NAME`` from a report ARN ``...:report/GROUP:UUID`` or a report-group ARN."""
    if ":report-group/" in value:
        return value
    name = last_segment(value, ":report/").split(":", 1)[0]
    return call.arn("codebuild", f"report-group/{name}")


@register("codebuild", "stopBuild", "batchDeleteBuilds", "stopBuildBatch", "deleteBuildBatch")
@register("codebuild", "startBuild", "startBuildBatch", "retryBuildBatch", patterns=(REQUEST_RESPONSE, SYNC))
def build(call: Call) -> None:
    api = _APIS[call.api.lower()]
    projects = _resources(call, api.key, "project")
    if projects is None:
        return
    call.allow(f"codebuild:{api.action}", projects)
    if call.sync:
        call.allow(api.sync, projects)
        if api.rule:
            call.managed_rule(api.rule)


@register("codebuild", "batchGetReports")
def batch_get_reports(call: Call) -> None:
    groups = _resources(call, "ReportArns", "report-group")
    if groups is not None:
        call.allow("codebuild:BatchGetReports", groups)
