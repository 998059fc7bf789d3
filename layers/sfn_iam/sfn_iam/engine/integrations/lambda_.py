"""AWS Lambda: ``lambda:invoke`` and a function ARN used directly as ``Resource``. Pure core."""

from __future__ import annotations

import re

from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, Call
from sfn_iam.engine.integrations.registry import register

_FN_RE = re.compile(
    r"^(?:arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,140})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)


_PATTERN_NAME_RE = re.compile(r"[A-Za-z0-9_*-]{1,140}")


def function_arns(call: Call, function_name: str, qualifier: str | Dynamic | None, *, vouched: bool = False
                  ) -> list[str] | None:
    """The ARNs Lambda authorizes for an invoke of ``function_name`` (name, ``name:qual``, partial or full ARN).

    Lambda compares the policy resource with the function *and* qualifier: an unqualified ARN does not allow a
    call to a version or alias, so a qualified call gets exactly the qualified ARN.
    """
    if vouched:  # the name pattern of a function the machine's source creates (static.Known): granted as it is
        m = _FN_RE.match(function_name.replace("*", "x"))
        start = m.start("name") if m else 0
        if m and not m["qualifier"] and "*" not in function_name[:start] and _PATTERN_NAME_RE.fullmatch(
                function_name[start:]):
            region, account = m["region"] or call.ctx.region, m["account"] or call.ctx.account
            return [f"arn:{m['partition'] or call.ctx.partition}:lambda:{region}:{account}:function:"
                    f"{function_name[start:]}"]
    m = _FN_RE.match(function_name)
    if not m:
        call.finding("INVALID_VALUE", f"FunctionName {function_name[:200]!r} is not a Lambda function name or ARN")
        return None
    region = m["region"] or call.ctx.region
    account = m["account"] or call.ctx.account
    base = f"arn:{m['partition'] or call.ctx.partition}:lambda:{region}:{account}:function:{m['name']}"
    if account != call.ctx.account or region != call.ctx.region:
        call.finding("CROSS_ACCOUNT_RESOURCE", f"function {base} is outside this state machine's account or region")
    qual = m["qualifier"]
    if isinstance(qualifier, Dynamic):
        return [call.dynamic("Qualifier", f"{base}:*")]
    if qualifier:
        if qual and qual != qualifier:
            call.finding("INVALID_VALUE", "FunctionName and Qualifier name different qualifiers; the call fails")
            return None
        qual = qualifier
    if not qual:
        return [base]
    if qual == "$LATEST":
        return [base, f"{base}:$LATEST"]
    return [f"{base}:{qual}"]


@register("lambda", "invoke", patterns=(REQUEST_RESPONSE, CALLBACK))
def invoke(call: Call) -> None:
    name = call.args.get("FunctionName")
    if isinstance(name, Dynamic):
        call.allow("lambda:InvokeFunction", call.dynamic("FunctionName", call.arn("lambda", "function:*")))
        return
    if not name:
        call.missing("FunctionName")
        return
    known = call.args.context
    arns = function_arns(call, name, call.args.get("Qualifier"), vouched=known is not None and known.vouches(name))
    if arns:
        call.allow("lambda:InvokeFunction", arns)


def direct(call: Call, resource: str, *, vouched: bool = False) -> None:
    """A function ARN used directly as the Task's ``Resource``: always static (or, ``vouched``, the name pattern of a
    function the machine's source creates)."""
    arns = function_arns(call, resource, None, vouched=vouched)
    if arns:
        call.allow("lambda:InvokeFunction", arns)
