"""What a template already says that the engine would otherwise ask the account (``sfn_iam.engine.facts``): the
customer-managed key of a queue or topic defined in the same template, the roles of a task definition defined there.
Answered as plain input next to the definition, exactly as the fixer's account adapter answers them.

Keys: ``KmsMasterKeyId`` of ``AWS::SQS::Queue`` and ``AWS::SNS::Topic`` (a key ID, key ARN, alias or alias ARN; a
``Ref``/``Fn::GetAtt`` to an ``AWS::KMS::Key`` of the template through the ``AWS::KMS::Alias`` that targets it, else
the account's keys); absent, or an AWS managed ``alias/aws/...``, needs no grant (SQS and SNS developer guides, "Key
management": https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html). Roles: ``TaskRoleArn`` and ``ExecutionRoleArn``
of an ``AWS::ECS::TaskDefinition`` (AWS CloudFormation User Guide, ``AWS::ECS::TaskDefinition``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfn_iam import engine
from sfn_iam.engine import facts
from sfn_iam.findings import Finding
from sfn_iam.lazyre import compiled

if TYPE_CHECKING:  # annotations only: a raw definition never loads the template resolver
    from sfn_iam.cli.intrinsics import Resolver

_KEY_ID_RE = compiled(globals(), "_KEY_ID_RE",
                      r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KEYED = {"AWS::SQS::Queue": "Arn", "AWS::SNS::Topic": "TopicArn"}


def of_template(template: Mapping[str, Any], resolver: Resolver) -> facts.Facts:
    """The answers ``template`` holds, for the questions the engine asks (resolved with the machine's resolver; the
    resolver's notes are left as they were)."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        return facts.NO_FACTS
    answers: dict[facts.Question, facts.Answer] = {}
    notes = list(resolver.notes)
    try:
        for logical_id, resource in resources.items():
            if not isinstance(resource, Mapping):
                continue
            rtype = resource.get("Type")
            props = resource.get("Properties")
            props = props if isinstance(props, Mapping) else {}
            if rtype in _KEYED:
                holder = resolver.resolve({"Fn::GetAtt": [str(logical_id), _KEYED[str(rtype)]]})
                key = _key(props.get("KmsMasterKeyId"), resources, resolver)
                if isinstance(holder, str) and holder.startswith("arn:") and isinstance(key, str):
                    answers[facts.Question(facts.ENCRYPTION_KEY, holder)] = facts.customer_key(key or None)
            elif rtype == "AWS::ECS::TaskDefinition":
                arn = resolver.resolve({"Ref": str(logical_id)})
                if isinstance(arn, str) and arn.startswith("arn:"):
                    roles = [_string(props.get(k), resolver) for k in ("TaskRoleArn", "ExecutionRoleArn")]
                    answers[facts.Question(facts.TASK_DEFINITION, arn.removesuffix(":*"))] = facts.task_definition(
                        *roles)
    finally:
        resolver.notes = notes
    return facts.Facts(answers)


def _string(node: Any, resolver: Resolver) -> str:
    if node is None:
        return ""
    value = resolver.resolve(node)
    return value if isinstance(value, str) and value != "*" else ""


def _key(node: Any, resources: Mapping[str, Any], resolver: Resolver) -> str | None:
    """The key a ``KmsMasterKeyId`` names, as a key or alias ARN; ``""`` for none or an AWS managed key;
    ``None`` when the template does not say (a parameter without a value, an import)."""
    if node is None:
        return ""
    target = _key_resource(node, resources)
    if target is not None:
        alias = _alias_of(target, resources, resolver)
        return _arn(resolver, f"alias/{alias.removeprefix('alias/')}") if alias else _arn(resolver, "key/*")
    before = len(resolver.notes)
    value = resolver.resolve(node)
    if len(resolver.notes) > before or not isinstance(value, str) or not value:
        return None
    if value.startswith("alias/aws/") or ":alias/aws/" in value:
        return ""
    if value.startswith("arn:"):
        return value
    if value.startswith("alias/"):
        return _arn(resolver, value)
    if _KEY_ID_RE.match(value):
        return _arn(resolver, f"key/{value}")
    return None


def _arn(resolver: Resolver, resource: str) -> str:
    p, r, a = (resolver.pseudo[k] or "*" for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
    return f"arn:{p}:kms:{r}:{a}:{resource}"


def _key_resource(node: Any, resources: Mapping[str, Any]) -> str | None:
    """The logical ID of the template's AWS::KMS::Key that ``node`` refers to (Ref, Fn::GetAtt .Arn/.KeyId)."""
    target = None
    if isinstance(node, Mapping) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref" and isinstance(arg, str):
            target = arg
        elif fn == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            target = str(parts[0]) if isinstance(parts, list) and parts else None
    resource = resources.get(target) if target else None
    if isinstance(resource, Mapping) and resource.get("Type") == "AWS::KMS::Key":
        return target
    return None


def _alias_of(key_id: str, resources: Mapping[str, Any], resolver: Resolver) -> str | None:
    """The literal name of an AWS::KMS::Alias of the template whose TargetKeyId is the key ``key_id``."""
    for resource in resources.values():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::KMS::Alias":
            continue
        props = resource.get("Properties")
        if not isinstance(props, Mapping) or _key_resource(props.get("TargetKeyId"), resources) != key_id:
            continue
        before = len(resolver.notes)
        name = resolver.resolve(props.get("AliasName"))
        if isinstance(name, str) and name.startswith("alias/") and len(resolver.notes) == before:
            return name
    return None


_NAMED_KEY_SERVICES = ("sqs", "sns")  # targets whose key the CLI reads from a template and the fixer from the account


def unknown_keys(plan: engine.Plan) -> list[Finding]:
    """A queue or topic whose key nobody could tell (offline, not in the template): say what it may need, never
    silence (SQS and SNS developer guides, "Key management": a customer key needs kms:GenerateDataKey and
    kms:Decrypt by the sender). The fixer asks the account instead (FACT_UNRESOLVED when it cannot answer)."""
    unanswered = {q.resource for q in plan.questions if q.kind == facts.ENCRYPTION_KEY}
    out: dict[tuple[str, str], Finding] = {}
    for req in plan.granted:
        service = req.action.split(":", 1)[0].lower()
        if service not in _NAMED_KEY_SERVICES or req.resource not in unanswered:
            continue
        out.setdefault((req.path, req.resource), Finding.of(
            "OUT_OF_BAND_PERMISSION",
            f"{req.resource} may be encrypted with a customer managed key, which is not known here: if it is, "
            f"{req.action} also needs kms:GenerateDataKey and kms:Decrypt on that key (kms:ViaService "
            f"{service}.REGION.amazonaws.com); the fixer reads it from the account, the CLI from the template or "
            "with --resolve", req.path))
    return list(out.values())
