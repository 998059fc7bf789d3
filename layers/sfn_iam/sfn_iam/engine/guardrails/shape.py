"""The shape rules: what a grant must look like whatever the ceiling allows (a literal action; the documented
exceptions with their stricter resource and condition checks; the wildcard rule for sensitive actions).
Pure core: standard library and package data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sfn_iam.arns import is_role_arn
from sfn_iam.engine.asl import credentials_role
from sfn_iam.engine.guardrails.lists import _SENSITIVE_ACTIONS, SENSITIVITY, Sensitivity
from sfn_iam.lazyre import compiled
from sfn_iam.model import Requirement

# A service-linked role of this account: the only resource iam:CreateServiceLinkedRole is granted on (the integrations
# add a trailing "*" for the suffixes AWS appends).
_SERVICE_LINKED_ROLE_RE = compiled(globals(), "_SERVICE_LINKED_ROLE_RE",
    r"arn:aws[a-z-]*:iam::\d{12}:role/aws-service-role/[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?\*?/[A-Za-z0-9+=,.@_-]+\*?")
_READ_ONLY_IAM = frozenset({"iam:getrole", "iam:listattachedrolepolicies"})
_ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
_SERVICE_PRINCIPAL_RE = compiled(globals(), "_SERVICE_PRINCIPAL_RE", r"[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?")

# --- classification ---------------------------------------------------------------------------------------

def _wild(text: str) -> bool:
    return "*" in text or "?" in text


_TYPED_RE = compiled(globals(), "_TYPED_RE", r"^(?P<type>[A-Za-z0-9_.-]+)(?P<sep>[:/])(?P<rest>.*)$", re.DOTALL)


def _identity(service: str, account: str, resource: str) -> str:
    """The part of an ARN's resource that names the container (bucket, table, secret, function, key, ...)."""
    if service == "s3" and not account:
        return resource.split("/", 1)[0]  # the bucket; the key below it is not an identity
    if service == "secretsmanager" and resource.startswith("secret:"):
        name = resource[len("secret:"):]
        if name.startswith("events!connection/"):
            # An EventBridge connection's secret: events!connection/NAME/UUID-SUFFIX, identified by NAME.
            return "events!connection/" + name[len("events!connection/"):].split("/", 1)[0]
        # A partial secret ARN ends with AWS's random "-" + six characters; any other wildcard covers names.
        return name[:-7] if name.endswith("-??????") else name
    if service == "ssm" and resource.startswith("parameter"):
        return resource  # hierarchical names: a wildcard anywhere covers other parameters
    m = _TYPED_RE.match(resource.removeprefix("/"))  # EMR on EKS / Serverless: ":/virtualclusters/ID/..."
    if not m:
        return resource  # a bare name (SQS queue, SNS topic) or something unknown: all of it
    rest = m["rest"]
    name = rest.split(":", 1)[0] if m["sep"] == ":" else re.split(r"[/:]", rest, maxsplit=1)[0]
    return f"{m['type']}{m['sep']}{name}"


# The name pattern CloudFormation gives a resource created without a name (``STACK-LogicalId-*``, ``*-LogicalId-*``
# when the stack's name is not known, ``LogicalId-*``; S3 lower-cased): "Name type",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html. A logical ID is
# alphanumeric (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html).
_GENERATED_RE = compiled(globals(), "_GENERATED_RE", r"(?:\*-|[A-Za-z0-9][A-Za-z0-9-]*-)?[A-Za-z0-9]+-\*")
_ONE = "\x00"  # what a generated-name pattern stands for: one name (no IAM pattern contains this character)


def generated_names(patterns: Iterable[str]) -> frozenset[str]:
    """The entries of ``patterns`` (``StateMachine.patterns``: the names of resources the machine's own template
    creates) that have the shape of a generated name; anything else is not trusted to stand for one name."""
    return frozenset(p for p in patterns if _GENERATED_RE.fullmatch(p))


def covers_container(resource: str, patterns: frozenset[str] = frozenset()) -> bool:
    """Does IAM resource pattern ``resource`` cover more than one container identity?

    ``*``, anything that is not an ARN, a wildcard in partition/service/region/account, or a wildcard in the
    container's own name do; a wildcard below a literal container (``arn:aws:s3:::bucket/*``,
    ``table/T/index/*``, ``function:F:*``, ``secret:NAME-??????``) does not. ``patterns`` (see
    :func:`generated_names`) are the generated names of resources the machine's own template creates: in the
    resource part of an ARN each stands for the one resource it names (``table/shop-Orders-*`` is one table).

    >>> covers_container("arn:aws:s3:::known-bucket/*"), covers_container("arn:aws:s3:::*/data.csv")
    (False, True)
    >>> covers_container("arn:aws:s3:::shop-data-*/*", frozenset({"shop-data-*"}))
    False
    """
    if patterns and _wild(resource):
        parts = resource.split(":", 5)
        if len(parts) == 6:
            rest = parts[5]
            for pattern in sorted(generated_names(patterns), key=len, reverse=True):
                rest = rest.replace(pattern, _ONE)
            resource = ":".join([*parts[:5], rest])
    return _covers_container(resource)


@lru_cache(maxsize=4096)
def _covers_container(resource: str) -> bool:
    if not _wild(resource):
        return False
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or any(_wild(p) for p in parts[1:5]):
        return True
    return _wild(_identity(parts[2].lower(), parts[4], parts[5]))


def access_class(action: str, sensitivity: Sensitivity = SENSITIVITY) -> str:
    """``secret-read``, ``invoke``, ``read`` or ``write`` (write/destructive; the fail-closed default).

    Offline and from the name alone: ``read`` when the action name begins with a read verb followed by a
    capital letter (``GetObject``, ``ListBucket``, ``DescribeTasks``); a secret-read action is listed by name.
    A lower-cased or unknown verb is a write.

    >>> [access_class(a) for a in ("s3:GetObject", "s3:ListBucket", "s3:DeleteObject", "s3:getbucketacl")]
    ['secret-read', 'read', 'write', 'write']
    """
    lowered = action.lower()
    if lowered in sensitivity.secret_reads:
        return "secret-read"
    if lowered in sensitivity.invokes:
        return "invoke"
    name = action.partition(":")[2]
    for verb in sensitivity.read_verbs:
        if name.startswith(verb) and (len(name) == len(verb) or name[len(verb)].isupper()):
            return "read"
    return "write"


def _condition_values(req: Requirement, key: str, operators: tuple[str, ...]) -> list[str] | None:
    """The values of ``key`` under one of ``operators``, or ``None`` when the key is absent or otherwise used."""
    found = [c for c in req.conditions if c.key.lower() == key.lower()]
    if not found or any(c.operator not in operators for c in found):
        return None
    return [v for c in found for v in c.values]


# Resources a machine creates and then acts on by their generated ID, authorized on their tags: service -> (the
# tag condition key's prefix, the pattern's resource part, the action that creates them, the actions a literal tag
# may scope). EMR: "Use cluster tags for fine-grained access control"
# (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-fine-grained-cluster-access.html); EMR Serverless:
# "Policies for tag-based access control" (https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-TBAC.html).
_TAG_SCOPED: dict[str, tuple[str, str, str, frozenset[str]]] = {
    "elasticmapreduce": ("elasticmapreduce:resourcetag/", "cluster/*", "elasticmapreduce:runjobflow", frozenset({
        "elasticmapreduce:terminatejobflows", "elasticmapreduce:describecluster", "elasticmapreduce:addjobflowsteps",
        "elasticmapreduce:describestep", "elasticmapreduce:cancelsteps", "elasticmapreduce:setterminationprotection",
        "elasticmapreduce:modifyinstancefleet", "elasticmapreduce:listinstancefleets"})),
    "emr-serverless": ("aws:resourcetag/", "/applications/*", "emr-serverless:createapplication", frozenset({
        "emr-serverless:startapplication", "emr-serverless:stopapplication", "emr-serverless:deleteapplication",
        "emr-serverless:getapplication"})),
}
ANY_KEY = "*"  # in created_tags: the machine creates such resources; which tag keys it sets is not in its grants


def _one_account(resource: str, pattern: str) -> bool:
    """``resource`` is ``pattern`` (the resource part) in one literal partition, service, Region and account."""
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and not any(_wild(p) or not p for p in parts[1:5]) \
        and parts[5] == pattern


def created_tags(reqs: Iterable[Requirement]) -> frozenset[tuple[str, str]]:
    """(service, tag key lower-cased) for the resources a plan's requirements create with tags (see
    :data:`_TAG_SCOPED`): EMR's tag-on-create (``elasticmapreduce:AddTags`` limited by ``aws:TagKeys`` beside
    ``RunJobFlow``) names its keys; EMR Serverless' ``CreateApplication`` carries no key (:data:`ANY_KEY`)."""
    # one prefix test per requirement (an action's service prefix is lower case: _ACTION_RE)
    listed = [r for r in reqs if r.action.startswith(("elasticmapreduce:", "emr-serverless:"))]
    creators = {r.action.lower() for r in listed}
    out: set[tuple[str, str]] = set()
    if "emr-serverless:createapplication" in creators:
        out.add(("emr-serverless", ANY_KEY))
    if "elasticmapreduce:runjobflow" in creators:
        for r in listed:
            if r.action.lower() == "elasticmapreduce:addtags":
                out.update(("elasticmapreduce", k.lower()) for c in r.conditions
                           if c.operator == "ForAllValues:StringEquals" and c.key.lower() == "aws:tagkeys"
                           for k in c.values if _literal(k))
    return frozenset(out)


def _tag_scoped(req: Requirement, created: frozenset[tuple[str, str]]) -> bool:
    """A cluster or application action on all of this account's (one account and Region, literal) clusters or
    applications, limited by ``StringEquals`` to one literal value of a tag key the same machine sets when it creates
    them: the resources it created (a tag it does not set would scope nothing of its own)."""
    scope = _TAG_SCOPED.get(req.service)
    if scope is None or req.action.lower() not in scope[3]:
        return False
    prefix, pattern, _, _ = scope
    if not _one_account(req.resource, pattern):
        return False
    for c in req.conditions:
        key = c.key.lower()
        if (c.operator == "StringEquals" and key.startswith(prefix) and len(key) > len(prefix) and _literal(key)
                and len(c.values) == 1 and c.values[0] and _literal(c.values[0])
                and ({(req.service, key[len(prefix):]), (req.service, ANY_KEY)} & created)):
            return True
    return False


def _scoped_by_condition(req: Requirement, created: frozenset[tuple[str, str]] = frozenset()) -> bool:
    """Conditions that pin a wildcard grant to this state machine's own data, to resources it creates, or (KMS) to
    the key one literal alias names: ``kms:RequestAlias`` (the request must use that alias) or
    ``ForAnyValue:StringEquals kms:ResourceAliases`` (the key must carry that alias, whatever the request names);
    a tag the machine sets on what it creates (:func:`_tag_scoped`); tagging on create limited to literal tag keys
    (``ForAllValues:StringEquals aws:TagKeys`` on ``elasticmapreduce:AddTags`` beside ``RunJobFlow``, which needs it
    for its ``Tags``, as ``*:CreateAction`` limits other services' tagging to creation)."""
    if _tag_scoped(req, created):
        return True
    for c in req.conditions:
        key = c.key.lower()
        if not (c.values and all(_literal(v) for v in c.values)):
            continue
        if c.operator == "StringEquals" and (
            (req.service == "kms" and (key.startswith("kms:encryptioncontext:") or key == "kms:requestalias"))
            or key.endswith(":createaction")
        ):
            return True
        if req.service == "kms" and c.operator == "ForAnyValue:StringEquals" and key == "kms:resourcealiases":
            return True
        if (req.action.lower() == "elasticmapreduce:addtags" and _one_account(req.resource, "cluster/*")
                and c.operator == "ForAllValues:StringEquals" and key == "aws:tagkeys"
                and all(("elasticmapreduce", v.lower()) in created for v in c.values)):
            return True  # created_tags: these keys are RunJobFlow's (the plan creates clusters with them)
    return False


def wildcard_problem(req: Requirement, sensitivity: Sensitivity = SENSITIVITY, *,
                     patterns: frozenset[str] = frozenset(), created: frozenset[tuple[str, str]] = frozenset()
                     ) -> str | None:
    """Why ``req`` falls under the wildcard rule, or ``None``. ``patterns``: generated names that stand for one
    resource each (:func:`covers_container`); ``created``: :func:`created_tags` of the plan ``req`` belongs to."""
    if not _wild(req.resource):
        return None  # a literal resource is never a wildcard problem, whatever the action (the common case)
    kind = access_class(req.action, sensitivity)
    if kind == "read":
        return None
    if kind == "invoke":
        parts = req.resource.split(":", 5)
        if len(parts) != 6 or any(_wild(p) for p in parts[1:5]):
            return f"{req.action} is granted on patterns only inside one account and region"
        return None
    sensitive_action = req.action.lower() in sensitivity.actions
    if kind == "write" and not sensitive_action and (
            req.service not in sensitivity.services
            or (req.resource == "*" and req.action.lower() in sensitivity.unscoped)):
        return None  # not sensitive, or an action with no resource types: "*" names no container
    if not covers_container(req.resource, patterns) or _scoped_by_condition(req, created):
        return None
    what = ("reads secrets or credentials" if kind == "secret-read"
            else f"is sensitive ({_SENSITIVE_ACTIONS.get(req.action.lower(), 'listed in sensitive.json')})"
            if sensitive_action else f"writes to the sensitive service {req.service}")
    return f"{req.action} {what}; it is never granted on a wildcard that covers whole containers"


# --- the documented exceptions ------------------------------------------------------------------------------

def _literal(resource: str) -> bool:
    return not _wild(resource)


def _literal_service_principals(values: list[str] | None) -> bool:
    return bool(values) and all(
        _literal(v) and _SERVICE_PRINCIPAL_RE.fullmatch(v) is not None for v in values or ())


def _exception(req: Requirement, credential_roles: frozenset[str]) -> str | None:
    """``"allow"`` for a documented exception, a refusal reason for a misuse of one, ``None`` otherwise."""
    action = req.action.lower()
    if action == "iam:passrole":
        if not (_literal(req.resource) and is_role_arn(req.resource)):
            return "iam:PassRole is granted only to literal role ARNs named in the definition"
        if not _literal_service_principals(_condition_values(req, "iam:PassedToService", ("StringEquals",))):
            return "iam:PassRole is granted only with an iam:PassedToService condition naming literal services"
        return "allow"
    if action == "sts:assumerole":
        if _literal(req.resource) and is_role_arn(req.resource) and req.resource in credential_roles:
            return "allow"
        return "sts:AssumeRole is granted only on the literal role of a Task's Credentials field"
    if action == "iam:createservicelinkedrole":
        names = _condition_values(req, "iam:AWSServiceName", ("StringEquals", "StringLike"))
        if _SERVICE_LINKED_ROLE_RE.fullmatch(req.resource) and _literal_service_principals(names):
            return "allow"
        return "iam:CreateServiceLinkedRole is granted only for a named service's service-linked role"
    if action in _READ_ONLY_IAM:
        if _literal(req.resource) and is_role_arn(req.resource):
            return "allow"
        return f"{req.action} is granted only on literal role ARNs (reading every role's trust and policies is recon)"
    if action == "logs:putresourcepolicy" and req.path == "loggingConfiguration" and req.resource == "*":
        return "allow"
    if action == "states:invokehttpendpoint":
        endpoints = _condition_values(req, "states:HTTPEndpoint", ("StringEquals",))
        if not endpoints or not all(_literal(e) for e in endpoints):
            return "an HTTP Task is granted only for a literal ApiEndpoint (states:HTTPEndpoint condition)"
    return None


def credential_roles(nodes: Iterable[Any]) -> frozenset[str]:
    """The role ARNs that Tasks name literally in ``Credentials.RoleArn`` (the only roles sts:AssumeRole may get).

    ``nodes`` are :class:`sfn_iam.engine.asl.Node` objects from the walk.
    """
    roles: set[str] = set()
    for node in nodes:
        if node.kind != "task":
            continue
        role = credentials_role(node.state, node.jsonata)
        if isinstance(role, str) and is_role_arn(role):
            roles.add(role)
    return frozenset(roles)

