"""What may never be granted automatically. Pure core: standard library and package data only.

Three layers, applied to every requirement in this order (the first that refuses wins):

1. **Shape.** An action must be a literal ``service:Name``: a requested wildcard action could cover deny-listed
   actions, so it is refused (``BLOCKED_ACTION``). An optional allow-list of services (``BLOCKED_SERVICE``).
2. **Deny-list** (``data/denylist.json``, documented data, extendable at deploy time through
   :meth:`GuardPolicy.build`): ``BLOCKED_ACTION``. A few narrow, documented exceptions are coded here, because
   they depend on the shape of the grant, not only on its action:

   * ``iam:PassRole`` only to literal role ARNs, only with a ``StringEquals`` ``iam:PassedToService`` condition
     naming literal service principals;
   * ``sts:AssumeRole`` only on a literal role ARN that a Task's ``Credentials.RoleArn`` names literally
     (``credential_roles``; the same action asked for by an ``aws-sdk:sts:assumeRole`` Task on another role
     is refused);
   * ``iam:CreateServiceLinkedRole`` only on ``role/aws-service-role/...`` with a literal
     ``iam:AWSServiceName`` condition;
   * ``iam:GetRole`` / ``iam:ListAttachedRolePolicies`` on literal role ARNs only (documented for EKS node groups);
   * ``logs:PutResourcePolicy`` only for the state machine's own log delivery (``loggingConfiguration``).

   ``states:InvokeHTTPEndpoint`` is refused without a literal ``states:HTTPEndpoint`` condition: an HTTP Task
   to a run-time endpoint could send the connection's credentials, and any data, anywhere.
3. **Wildcard rule** (``data/sensitive.json``): ``WILDCARD_WRITE`` when the resource is a wildcard that covers
   a container identity (see :func:`covers_container`) and the action is a secret-read action (any service) or
   a write/destructive action of a sensitive service (see :func:`access_class`). A dynamic value never widens
   a sensitive grant: the finding says what a human must grant by hand. Two narrow ways through: a condition that
   pins the grant (a literal KMS encryption context or ``kms:RequestAlias``, a ``...:CreateAction``), and the stop
   of a ``.sync`` run whose id AWS generates (``run_stops``: ``ecs:StopTask``, ``batch:TerminateJob``, ...) on a
   pattern of this account and Region, only next to the start of that run in the same state, granted whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from sfn_iam.arns import is_role_arn
from sfn_iam.engine.asl import credentials_role
from sfn_iam.findings import Finding
from sfn_iam.model import Requirement
from sfn_iam.wildcards import matches


@dataclass(frozen=True, slots=True)
class DenyEntry:
    action: str
    reason: str
    # When set, the entry applies only to actions of these IAM access levels (an action the reference does not know
    # is refused all the same): ``organizations:*`` refuses writes, not the reads account inventories need.
    levels: frozenset[str] = frozenset()

    def applies(self, action: str) -> bool:
        if not matches(self.action, action, ignore_case=True):
            return False
        return not self.levels or access_level(action) in self.levels or access_level(action) is None


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(f"data/{name}").read_text(encoding="utf-8"))


def _load_default() -> tuple[DenyEntry, ...]:
    raw: Any = _data("denylist.json")
    listed = tuple(DenyEntry(e["action"], e["reason"], frozenset(e.get("levels", ()))) for e in raw["entries"])
    # Account-wide safety switches, generated from the IAM reference (scripts/generate_access_levels.py).
    switches = tuple(DenyEntry(action, f"account-wide safety switch: {reason}")
                     for action, reason in _data("account_switches.json")["actions"].items())
    return listed + switches


@lru_cache(maxsize=1)
def _access_levels() -> dict[str, str]:
    """``service:action`` (lower case) -> its access level in the IAM Service Authorization Reference."""
    raw: Any = _data("access_levels.json")
    return {f"{service}:{name}".lower(): level
            for service, by_level in raw["levels"].items() for level, names in by_level.items() for name in names}


def access_level(action: str) -> str | None:
    """The IAM reference's access level of ``action`` (``List``, ``Read``, ``Write``, ``Permissions management``,
    ``Tagging``), or ``None`` for an action the reference does not know.

    >>> access_level("ecr:PutRegistryPolicy"), access_level("ecr:DescribeRepositories")
    ('Permissions management', 'Read')
    """
    return _access_levels().get(action.lower())


PERMISSIONS_MANAGEMENT: Final = "Permissions management"


@lru_cache(maxsize=1)
def _pm_exceptions() -> frozenset[str]:
    """Reviewed Permissions management actions that change no existing resource's access (creating a queue or a
    topic, reading Glue's connection-type catalogue), plus those with a coded exception; see reviewed.json."""
    raw: Any = _data("access_levels.json")
    return frozenset(a.lower() for a in raw["permissions_management_exceptions"])


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """The classification data of the wildcard rule (``data/sensitive.json``), lower-cased for lookups."""

    services: frozenset[str]
    read_verbs: tuple[str, ...]
    secret_reads: frozenset[str]
    invokes: frozenset[str]
    unscoped: frozenset[str]  # "service:action" of sensitive services with no resource types (only "*" applies)
    actions: frozenset[str] = frozenset()  # sensitive actions of services that are not sensitive as a whole
    # stop/terminate action -> the start actions it cleans up after (run ids generated at run time; see run_stops)
    run_stops: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def load(cls) -> Sensitivity:
        raw: Any = _data("sensitive.json")
        generated = _data("secret_reads.json")["actions"]  # scripts/generate_access_levels.py
        return cls(
            services=frozenset(s.lower() for s in raw["sensitive_services"]),
            read_verbs=tuple(raw["read_verbs"]),
            secret_reads=frozenset(a.lower() for a in [*raw["secret_read_actions"], *generated]),
            actions=frozenset(a.lower() for a in raw["sensitive_actions"]),
            invokes=frozenset(a.lower() for a in raw["invoke_actions"]),
            unscoped=frozenset(f"{svc}:{a}" for svc, acts in _data("unscoped_actions.json")["actions"].items()
                               for a in acts),
            run_stops=tuple(sorted((a.lower(), frozenset(s.lower() for s in v["starts"]))
                                   for a, v in raw["run_stops"].items())),
        )

    def starts_of(self, action: str) -> frozenset[str]:
        """The start actions whose run ``action`` stops (empty when it is not a run stop)."""
        lowered = action.lower()
        return next((starts for stop, starts in self.run_stops if stop == lowered), frozenset())


DEFAULT_DENY: tuple[DenyEntry, ...] = _load_default()
SENSITIVITY: Final = Sensitivity.load()
_SENSITIVE_ACTIONS: Final = {a.lower(): why for a, why in _data("sensitive.json")["sensitive_actions"].items()}
# A service-linked role of this account: the only resource iam:CreateServiceLinkedRole is granted on (the integrations
# add a trailing "*" for the suffixes AWS appends).
_SERVICE_LINKED_ROLE_RE = re.compile(
    r"arn:aws[a-z-]*:iam::\d{12}:role/aws-service-role/[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?\*?/[A-Za-z0-9+=,.@_-]+\*?")
_READ_ONLY_IAM = frozenset({"iam:getrole", "iam:listattachedrolepolicies"})
_ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
_SERVICE_PRINCIPAL_RE = re.compile(r"[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?")
_MAX_SHOWN = 200  # characters of a resource quoted in a finding


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The guardrail settings: the deny-list (default plus extra entries), an optional service allow-list, and which
    literal roles may be passed (``iam:PassRole``) or assumed (``sts:AssumeRole``).

    ``passable_roles``: role ARN patterns (``*``/``?``); a literal role outside them is refused
    (``ROLE_NOT_PASSABLE``). ``None`` means nobody said (the offline CLI): the role is granted with an
    ``UNVERIFIED_ROLE`` finding. ``refused_roles``: (role ARN, reason) the deployment found unsafe to pass or
    assume, such as admin-equivalent roles (:func:`admin_equivalence`, read by the Lambda before planning).
    """

    deny: tuple[DenyEntry, ...] = DEFAULT_DENY
    allowed_services: frozenset[str] | None = None
    extra: tuple[str, ...] = field(default=())
    sensitivity: Sensitivity = SENSITIVITY
    passable_roles: tuple[str, ...] | None = None
    refused_roles: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(cls, extra_deny: Iterable[str] = (), allowed_services: Iterable[str] | None = None,
              passable_roles: Iterable[str] | None = None) -> GuardPolicy:
        extra = tuple(a.strip() for a in extra_deny if a.strip())
        deny = DEFAULT_DENY + tuple(DenyEntry(a, "deny-listed by this deployment") for a in extra)
        allowed = None
        if allowed_services is not None:
            allowed = frozenset(s.strip().lower() for s in allowed_services if s.strip()) or None
        passable = None if passable_roles is None else tuple(p.strip() for p in passable_roles if p.strip())
        return cls(deny=deny, allowed_services=allowed, extra=extra, passable_roles=passable)

    def refusing_roles(self, refused: Iterable[tuple[str, str]]) -> GuardPolicy:
        """This policy, also refusing ``refused`` (role ARN, reason) pairs."""
        return replace(self, refused_roles=tuple(sorted({*self.refused_roles, *refused})))

    def role_problem(self, role: str) -> str | None:
        """Why literal ``role`` may not be passed or assumed under this policy, or ``None``."""
        for refused, reason in self.refused_roles:
            if refused.lower() == role.lower():
                return reason
        if self.passable_roles is not None and not any(matches(p, role) for p in self.passable_roles):
            shown = ", ".join(self.passable_roles) or "none"
            return f"it is outside this deployment's passable roles ({_shown(shown)})"
        return None

    def denied(self, action: str) -> DenyEntry | None:
        for entry in self.deny:
            if entry.applies(action):
                return entry
        return None


# --- classification ---------------------------------------------------------------------------------------

def _wild(text: str) -> bool:
    return "*" in text or "?" in text


_TYPED_RE = re.compile(r"^(?P<type>[A-Za-z0-9_.-]+)(?P<sep>[:/])(?P<rest>.*)$", re.DOTALL)


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


@lru_cache(maxsize=4096)
def covers_container(resource: str) -> bool:
    """Does IAM resource pattern ``resource`` cover more than one container identity?

    ``*``, anything that is not an ARN, a wildcard in partition/service/region/account, or a wildcard in the
    container's own name do; a wildcard below a literal container (``arn:aws:s3:::bucket/*``,
    ``table/T/index/*``, ``function:F:*``, ``secret:NAME-??????``) does not.

    >>> covers_container("arn:aws:s3:::known-bucket/*"), covers_container("arn:aws:s3:::*/data.csv")
    (False, True)
    """
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


def _scoped_by_condition(req: Requirement) -> bool:
    """Conditions that pin a wildcard grant to this state machine's own data, to resources it creates, or (KMS) to
    the key one literal alias names: ``kms:RequestAlias`` (the request must use that alias) or
    ``ForAnyValue:StringEquals kms:ResourceAliases`` (the key must carry that alias, whatever the request names)."""
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
    return False


def wildcard_problem(req: Requirement, sensitivity: Sensitivity = SENSITIVITY) -> str | None:
    """Why ``req`` falls under the wildcard rule, or ``None``."""
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
    if not covers_container(req.resource) or _scoped_by_condition(req):
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


def _shown(resource: str) -> str:
    return resource if len(resource) <= _MAX_SHOWN else resource[:_MAX_SHOWN] + "..."


_ROLE_ACTIONS: Final = {"iam:passrole": "passed", "sts:assumerole": "assumed"}
_ROLE_PATTERN_RE = re.compile(r"arn:[a-z*?-]+:iam::[0-9*?]{1,12}:role/[\x21-\x7e]+")


def bad_role_patterns(patterns: Iterable[str]) -> list[str]:
    """The entries of a passable-role list that are not IAM role ARN patterns (``arn:aws:iam::ACCOUNT:role/...``,
    ``*``/``?`` allowed): a bare ``*`` or a name would silently pass any role, so settings refuse them."""
    return [p for p in patterns if not _ROLE_PATTERN_RE.fullmatch(p)]


def default_passable_roles(account: str, role_path: str) -> tuple[str, ...]:
    """The roles a deployment may pass when it lists none: the roles of its own scope (account and role path)."""
    return (f"arn:aws*:iam::{account}:role{role_path}*",)


def roles_to_verify(reqs: Iterable[Requirement]) -> tuple[str, ...]:
    """The literal role ARNs ``reqs`` pass or assume: what a deployment that can read IAM should check (for
    example with :func:`admin_equivalence`) before planning with :meth:`GuardPolicy.refusing_roles`."""
    return tuple(sorted({r.resource for r in reqs
                         if r.action.lower() in _ROLE_ACTIONS and _literal(r.resource) and is_role_arn(r.resource)}))


@lru_cache(maxsize=1)
def _admin_data() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    raw: Any = _data("admin_equivalent.json")
    return ({a.lower(): why for a, why in raw["actions"].items()},
            dict(raw["managed_policies"]),
            frozenset(a.lower() for a in raw["with_pass_role"]))


# Positive string operators only: a negated one (StringNotEquals) allows every other service, and ForAllValues holds
# vacuously when the key is absent.
_SERVICE_CONDITIONS = frozenset({"stringequals", "stringlike", "stringequalsignorecase", "foranyvalue:stringequals",
                                 "foranyvalue:stringlike"})


def _names_roles(resource: Any) -> bool:
    """A role ARN (or ARN pattern) whose role name is literal: ``arn:aws:iam::*:role/EMR_EC2_DefaultRole``."""
    if not isinstance(resource, str) or ":role/" not in resource:
        return False
    return not _wild(resource.rsplit("/", 1)[1])


def _to_named_services(condition: Any) -> bool:
    """The condition limits the pass to named services: ``iam:PassedToService`` under a positive string operator,
    every value naming its service literally (``ec2.amazonaws.com*`` does; ``*.amazonaws.com`` does not)."""
    if not isinstance(condition, Mapping):
        return False
    for operator, keys in condition.items():
        if not (isinstance(operator, str) and operator.lower() in _SERVICE_CONDITIONS and isinstance(keys, Mapping)):
            continue
        for key, values in keys.items():
            if isinstance(key, str) and key.lower() == "iam:passedtoservice":
                listed = _as_list(values)
                if listed and all(isinstance(v, str) and _named_service(v) for v in listed):
                    return True
    return False


def _named_service(principal: str) -> bool:
    name, dot, _ = principal.partition(".")
    return bool(name and dot and not _wild(name))


def _narrow_pass(stmt: Mapping[str, Any]) -> bool:
    """This Allow passes only named roles, or only to named services (see ``data/admin_equivalent.json``)."""
    resources = _as_list(stmt.get("Resource", []))
    return (bool(resources) and all(_names_roles(r) for r in resources)) or _to_named_services(stmt.get("Condition"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allow_statements(document: Any) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    return [s for s in _as_list(statements) if isinstance(s, Mapping) and s.get("Effect") == "Allow"]


def _escalations(documents: Iterable[Mapping[str, Any]], attached: Iterable[str]
                 ) -> list[tuple[str, frozenset[str]]]:
    """(why, the escalation actions it allows) for each grant of these policies that makes a role admin-equivalent,
    in the order of the policies."""
    actions, managed, with_pass = _admin_data()
    every = frozenset(actions)
    found: list[tuple[str, frozenset[str]]] = []
    waiting: list[tuple[str, frozenset[str]]] = []  # the with_pass_role grants: they count next to a counting pass
    for arn in attached:
        name = arn.rsplit("/", 1)[-1]
        if arn.startswith("arn:") and ":iam::aws:policy/" in arn and name in managed:
            found.append((f"the AWS managed policy {name} is attached ({managed[name]})", every))
    for document in documents:
        for stmt in _allow_statements(document):
            if "NotAction" in stmt:
                found.append(("an Allow with NotAction grants every other action", every))
                continue
            for pattern in _as_list(stmt.get("Action", [])):
                if not isinstance(pattern, str):
                    continue
                if pattern.strip() == "*":
                    found.append(("it allows every action (*)", every))
                    continue
                hits = frozenset(a for a in actions if matches(pattern, a, ignore_case=True))
                if "iam:passrole" in hits and _narrow_pass(stmt):
                    hits -= {"iam:passrole"}
                if hits and hits <= with_pass:
                    waiting.append((f"it allows {pattern} ({actions[min(hits)]}) and passes roles it does not name",
                                    hits))
                elif hits:
                    first = min(hits - with_pass)
                    found.append((f"it allows {pattern} ({actions[first]})", hits))
    if any("iam:passrole" in hits for _, hits in found):
        found.extend(waiting)
    return found


def _boundary_allows(boundary: Mapping[str, Any], action: str) -> bool:
    """Does the permissions boundary ``boundary`` leave ``action`` possible? Its Allow statements only, whatever their
    resources and conditions; an Allow with NotAction counts as any action (fail closed: never under-refuse)."""
    for stmt in _allow_statements(boundary):
        if "NotAction" in stmt:
            return True
        if any(isinstance(p, str) and matches(p, action, ignore_case=True) for p in _as_list(stmt.get("Action", []))):
            return True
    return False


def admin_equivalence(documents: Iterable[Mapping[str, Any]], attached: Iterable[str] = (),
                      boundary: Mapping[str, Any] | None = None) -> str | None:
    """Why a role with these policy ``documents`` (inline and attached, as JSON objects) and attached managed policy
    ARNs is admin-equivalent, or ``None``.

    Admin-equivalent: an Allow of any action, or of a privilege-escalation action (``data/admin_equivalent.json``:
    the role could rewrite permissions, mint credentials or pass/assume any role), whatever its resource and
    conditions (fail closed), or a known administrator managed policy. ``NotAction`` in an Allow counts as any action.
    Two reviewed narrowings keep AWS's service-role policies passable: ``iam:PassRole`` of named roles only, or only
    to named services (``iam:PassedToService``), does not count; launching code (``with_pass_role``: RunInstances,
    CreateFunction, CreateStack) counts only next to a pass that does.

    ``boundary``: the role's permissions boundary document. A role's effective permissions are what both its policies
    and its boundary allow, so a grant counts only when the boundary's Allow statements leave one of its escalation
    actions possible (their resources, conditions and Deny statements are not read: this only ever over-refuses).

    >>> admin_equivalence([{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}]) is not None
    True
    >>> admin_equivalence([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    ...                   boundary={"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    """
    for why, actions in _escalations(documents, attached):
        if boundary is None:
            return why
        possible = sorted(a for a in actions if _boundary_allows(boundary, a))
        if possible:
            return f"{why}, and its permissions boundary allows {possible[0]}"
    return None


def _in_account(resource: str, account: str) -> bool:
    """An ARN pattern with a literal partition, service, Region and account (this account when one is given)."""
    parts = resource.split(":", 5)
    return (len(parts) == 6 and parts[0] == "arn" and not any(_wild(p) for p in parts[1:5])
            and (not account or parts[4] == account))


def _other_account(resource: str, account: str) -> bool:
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[4] not in ("", account, "aws")


def apply(reqs: Iterable[Requirement], guard: GuardPolicy, *, credential_roles: Iterable[str] = (),
          account: str = "") -> tuple[list[Requirement], list[Finding]]:
    """Split requirements into those that may be granted and findings for those refused.

    ``credential_roles`` are the role ARNs the definition names literally in Task ``Credentials`` fields
    (see :func:`credential_roles`); ``sts:AssumeRole`` on any other role is refused. ``account`` is the state
    machine's account: a sensitive action (``sensitive_actions``: subscriptions, exports, run-as) on a resource of
    another account is refused (persistent exfiltration to a destination the attacker owns).
    """
    roles = frozenset(credential_roles)
    kept: list[Requirement] = []
    findings: dict[tuple[str, str, str], Finding] = {}
    verdicts: dict[str, DenyEntry | None] = {}  # deny-list lookups, once per distinct action
    stops: list[tuple[Requirement, str]] = []  # run stops on a pattern, decided once the starts are known

    def refuse(req: Requirement, code: str, why: str) -> None:
        # One finding per code, action and state; a refused role gets one of its own (a state passing two roles,
        # EMR's service and instance roles say, reports each).
        key = (code, req.action.lower() + (" " + req.resource if code == "ROLE_NOT_PASSABLE" else ""), req.path)
        if key not in findings:
            findings[key] = Finding.of(code, f"{req.action} on {_shown(req.resource)} not granted: {why}", req.path)

    for req in reqs:
        if req.action.lower() in _ROLE_ACTIONS and _literal(req.resource) and (why := guard.role_problem(req.resource)):
            refuse(req, "ROLE_NOT_PASSABLE", f"the role may not be {_ROLE_ACTIONS[req.action.lower()]}: {why}")
            continue
        if not _ACTION_RE.match(req.action):
            refuse(req, "BLOCKED_ACTION", "only literal SERVICE:Action names are granted, never patterns")
            continue
        if guard.allowed_services is not None and req.service not in guard.allowed_services:
            refuse(req, "BLOCKED_SERVICE", f"service {req.service} is not in this deployment's allow-list")
            continue
        if any(matches(pattern, req.action, ignore_case=True) for pattern in guard.extra):
            # The deployment's own deny-list beats the built-in exceptions (e.g. no iam:PassRole at all).
            refuse(req, "BLOCKED_ACTION", "deny-listed by this deployment")
            continue
        verdict = _exception(req, roles)
        if verdict == "allow":  # the exceptions carry their own, stricter resource and condition checks
            kept.append(req)
            continue
        if verdict is not None:
            refuse(req, "BLOCKED_ACTION", verdict)
            continue
        if req.action not in verdicts:
            verdicts[req.action] = guard.denied(req.action)
        entry = verdicts[req.action]
        if entry is not None:
            level = access_level(req.action) or "access level unknown to the IAM reference"
            refuse(req, "BLOCKED_ACTION", f"{req.action} ({level}) is deny-listed: {entry.reason}")
            continue
        if access_level(req.action) == PERMISSIONS_MANAGEMENT and req.action.lower() not in _pm_exceptions():
            refuse(req, "BLOCKED_ACTION", "the IAM reference classifies it as Permissions management (it changes who "
                                          "may access a resource); never granted automatically")
            continue
        problem = wildcard_problem(req, guard.sensitivity)
        if problem is not None and guard.sensitivity.starts_of(req.action) and _in_account(req.resource, account):
            stops.append((req, problem))
            continue
        if problem is not None:
            refuse(req, "WILDCARD_WRITE", problem)
            continue
        if account and req.action.lower() in guard.sensitivity.actions and _other_account(req.resource, account):
            refuse(req, "BLOCKED_ACTION", "a sensitive action on another account's resource (a destination outside "
                                          "this account keeps receiving data)")
            continue
        kept.append(req)
    # A run stop on a pattern (its run's id is generated) only next to the start of the same state, granted whole
    # (a start refused on one of its resources, say a run-time job queue, cannot start the run).
    refused = {(path, action) for _, action, path in findings}
    started = {(req.path, req.action.lower()) for req in kept} - refused
    for req, problem in stops:
        if any((req.path, start) in started for start in guard.sensitivity.starts_of(req.action)):
            kept.append(req)
        else:
            refuse(req, "WILDCARD_WRITE", f"{problem} (a run stop is granted on a pattern only next to the start of "
                                          "its run in the same state)")
    # A role passed for a call the deny-list refused (lambda:CreateFunction, cloudformation:CreateStack, ...) would
    # only wait for another way to use it: the pass is refused with the call.
    blocked_paths = {path for code, _, path in findings if code == "BLOCKED_ACTION"}
    if blocked_paths:
        still: list[Requirement] = []
        for req in kept:
            if req.action.lower() == "iam:passrole" and req.path in blocked_paths:
                refuse(req, "BLOCKED_ACTION", "the call that would use this role is refused")
            else:
                still.append(req)
        kept = still
    if guard.passable_roles is None:
        # Nobody said which roles may be passed: grant, and say that nobody checked (the offline CLI).
        for req in kept:
            verb = _ROLE_ACTIONS.get(req.action.lower())
            if verb is not None:
                findings[("UNVERIFIED_ROLE", req.resource, req.path)] = Finding.of(
                    "UNVERIFIED_ROLE", f"{req.resource} is {verb} ({req.action}) but could not be verified: check that "
                    "it is not admin-equivalent and is meant to be used by this workflow (the deployed fixer refuses "
                    "roles outside PassableRolePatterns and admin-equivalent roles)", req.path)
    return kept, sorted(findings.values(), key=lambda f: (f.path, f.message))
