"""Terraform plans: the JSON ``terraform show -json PLANFILE`` prints (format version 1.x).

Every ``aws_sfn_state_machine`` of the plan (root and child modules) is read from ``planned_values``: the values
Terraform already knows are literal there (``definition`` is the JSON text after ``jsonencode``/``templatefile``);
what it learns only on apply is listed in ``resource_changes[].change.after_unknown`` and reported as such. For
``check``, the machine's role is found through the configuration's references (``role_arn = aws_iam_role.x.arn``)
or by its literal name, and its declared policy is the role's ``inline_policy`` blocks and ``managed_policy_arns``,
the ``aws_iam_role_policy`` resources on it and the ``aws_iam_role_policy_attachment`` resources attaching an
``aws_iam_policy`` of the plan (or an AWS managed policy) to it.

Format: https://developer.hashicorp.com/terraform/internals/json-format ("Reject any input which reports an
unsupported major version"). Resources: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/
sfn_state_machine, iam_role, iam_role_policy, iam_role_policy_attachment, iam_policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from sfn_iam.cli.errors import InputError
from sfn_iam.findings import Finding
from sfn_iam.model import StateMachine

SUPPORTED_MAJOR = "1"


class Declared:
    """The role policy a plan declares for one state machine's role: (origin, document) pairs, managed ARNs."""

    __slots__ = ("documents", "managed", "role", "unknown")

    def __init__(self, role: str, documents: list[tuple[str, Any]] | None = None,
                 managed: list[tuple[str, str]] | None = None, unknown: list[str] | None = None) -> None:
        self.role = role
        self.documents: list[tuple[str, Any]] = [] if documents is None else documents
        self.managed: list[tuple[str, str]] = [] if managed is None else managed
        self.unknown: list[str] = [] if unknown is None else unknown  # documents known only after apply


def is_plan(data: Any) -> bool:
    return isinstance(data, Mapping) and "format_version" in data and (
        "planned_values" in data or "resource_changes" in data)


def _resources(module: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(module, Mapping):
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, Mapping) and resource.get("mode", "managed") == "managed":
            yield resource
    for child in module.get("child_modules") or []:
        yield from _resources(child)


def _config_resources(module: Any, prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(absolute address, configuration resource) for the configuration's modules."""
    if not isinstance(module, Mapping):
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, Mapping) and isinstance(resource.get("address"), str):
            yield prefix + resource["address"], resource
    calls = module.get("module_calls")
    for name, call in (calls.items() if isinstance(calls, Mapping) else []):
        if isinstance(call, Mapping):
            yield from _config_resources(call.get("module"), f"{prefix}module.{name}.")


def _references(config: Mapping[str, Any], expression: str, prefix: str) -> list[str]:
    """The resource addresses an attribute's expression refers to (``aws_iam_role.x`` from ``aws_iam_role.x.arn``)."""
    expressions = config.get("expressions")
    node = expressions.get(expression) if isinstance(expressions, Mapping) else None
    refs = node.get("references") if isinstance(node, Mapping) else None
    out = []
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, str) and ref.count(".") >= 1 and not ref.startswith(("var.", "local.", "data.")):
            parts = ref.split(".")
            out.append(prefix + ".".join(parts[:2]))
    return out


def _block(values: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    block = values.get(name)
    if isinstance(block, list) and block and isinstance(block[0], Mapping):
        return block[0]
    return block if isinstance(block, Mapping) else {}


def _document(text: Any) -> Any:
    if isinstance(text, Mapping):
        return text
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return None


class Plan:
    """One plan's resources, their unknown attributes and the configuration's references."""

    def __init__(self, source: str, data: Mapping[str, Any]) -> None:
        version = str(data.get("format_version", ""))
        if version.split(".", 1)[0] != SUPPORTED_MAJOR:
            raise InputError(f"{source}: Terraform JSON format version {version!r} is not supported (1.x is)")
        self.source = source
        planned = data.get("planned_values")
        root = planned.get("root_module") if isinstance(planned, Mapping) else None
        self.resources = {str(r.get("address")): r for r in _resources(root)}
        self.unknown: dict[str, Mapping[str, Any]] = {}
        for change in data.get("resource_changes") or []:
            if isinstance(change, Mapping) and isinstance(change.get("change"), Mapping):
                after_unknown = change["change"].get("after_unknown")
                if isinstance(after_unknown, Mapping):
                    self.unknown[str(change.get("address"))] = after_unknown
        configuration = data.get("configuration")
        root_config = configuration.get("root_module") if isinstance(configuration, Mapping) else None
        self.config = dict(_config_resources(root_config))

    def of_type(self, kind: str) -> list[tuple[str, Mapping[str, Any]]]:
        out: list[tuple[str, Mapping[str, Any]]] = []
        for address, resource in self.resources.items():
            if resource.get("type") == kind:
                values = resource.get("values")
                out.append((address, values if isinstance(values, Mapping) else {}))
        return out

    def is_unknown(self, address: str, attribute: str) -> bool:
        return bool(self.unknown.get(address, {}).get(attribute))

    def refers(self, address: str, expression: str, target: str) -> bool:
        """The configuration of ``address`` refers to ``target`` in the attribute ``expression``."""
        config = self.config.get(_config_address(address))
        if config is None:
            return False
        return _config_address(target) in _references(config, expression, _module_prefix(address))


def _config_address(address: str) -> str:
    """The configuration's address of a planned resource: without instance keys (``x[0]``, ``module.m["a"]``)."""
    parts = []
    for part in address.split("."):
        parts.append(part.split("[", 1)[0])
    return ".".join(parts)


def _module_prefix(address: str) -> str:
    parts = _config_address(address).split(".")
    prefix = []
    while len(parts) > 2 and parts[0] == "module":
        prefix += parts[:2]
        parts = parts[2:]
    return ".".join(prefix) + "." if prefix else ""


def machines(source: str, data: Mapping[str, Any], region: str, account: str, partition: str
             ) -> tuple[list[tuple[str, StateMachine, list[Finding], Declared | None]], list[tuple[str, str]]]:
    """(address, state machine, findings, declared role policy) for each state machine; and (address, error)
    for each one whose definition is known only after apply."""
    plan = Plan(source, data)
    out = []
    errors = []
    for address, values in plan.of_type("aws_sfn_state_machine"):
        definition = values.get("definition")
        if not isinstance(definition, str) or plan.is_unknown(address, "definition"):
            errors.append((address, f"{source}: {address}: the definition is known only after apply (it is built "
                                   "from values this plan does not know); check the definition file itself, with "
                                   "--parameter for its ${...} placeholders"))
            continue
        findings: list[Finding] = []
        name = values.get("name") if isinstance(values.get("name"), str) else None
        if name is None:
            name = "*"
            findings.append(Finding.of("UNRESOLVED_REFERENCE", "the state machine's name is known only after "
                                       "apply: '*' stands for it in its own ARN", "name"))
        known_arn = values.get("arn")
        arn = known_arn if isinstance(known_arn, str) else \
            f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"
        logging = _block(values, "logging_configuration")
        tracing = _block(values, "tracing_configuration")
        encryption = _block(values, "encryption_configuration")
        log = {}
        if logging.get("level"):
            log = {"level": str(logging["level"]).upper(),
                   "includeExecutionData": bool(logging.get("include_execution_data"))}
            if isinstance(logging.get("log_destination"), str):
                log["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": logging["log_destination"]}}]
        sm = StateMachine(arn=arn, definition=definition, role_arn=str(values.get("role_arn") or ""),
                          type=str(values.get("type") or "STANDARD"), logging=log,
                          tracing={"enabled": tracing.get("enabled") is True} if tracing else {},
                          encryption={k2: str(encryption[k1]) for k1, k2 in (("type", "type"),
                                                                              ("kms_key_id", "kmsKeyId"))
                                      if encryption.get(k1)})
        out.append((address, sm, findings, declared(plan, address, values)))
    return out, errors


def _role_of(plan: Plan, address: str, values: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    roles = plan.of_type("aws_iam_role")
    for role_address, role in roles:
        if plan.refers(address, "role_arn", role_address):
            return role_address, role
    arn = values.get("role_arn")
    if isinstance(arn, str) and ":role/" in arn:
        name = arn.rsplit("/", 1)[-1]
        for role_address, role in roles:
            if role.get("name") == name:
                return role_address, role
    return None


def declared(plan: Plan, address: str, values: Mapping[str, Any]) -> Declared | None:
    found = _role_of(plan, address, values)
    if found is None:
        return None
    role_address, role = found
    out = Declared(role_address)
    for i, block in enumerate(role.get("inline_policy") or []):
        if isinstance(block, Mapping):
            _add(out, f"{role_address}.inline_policy[{i}]", block.get("policy"))
    for i, arn in enumerate(role.get("managed_policy_arns") or []):
        if isinstance(arn, str):
            out.managed.append((f"{role_address}.managed_policy_arns[{i}]", arn))
    name = role.get("name")
    for policy_address, policy in plan.of_type("aws_iam_role_policy"):
        if plan.refers(policy_address, "role", role_address) or (name and policy.get("role") == name):
            if plan.is_unknown(policy_address, "policy"):
                out.unknown.append(policy_address)
            else:
                _add(out, policy_address, policy.get("policy"))
    policies = dict(plan.of_type("aws_iam_policy"))
    for attachment_address, attachment in plan.of_type("aws_iam_role_policy_attachment"):
        if not (plan.refers(attachment_address, "role", role_address) or (name and attachment.get("role") == name)):
            continue
        target = next((p for p in policies if plan.refers(attachment_address, "policy_arn", p)), None)
        if target is not None:
            if plan.is_unknown(target, "policy"):
                out.unknown.append(target)
            else:
                _add(out, target, policies[target].get("policy"))
        elif isinstance(attachment.get("policy_arn"), str):
            out.managed.append((attachment_address, attachment["policy_arn"]))
        else:
            out.unknown.append(attachment_address)
    return out


def _add(out: Declared, origin: str, text: Any) -> None:
    document = _document(text)
    if document is None:
        out.unknown.append(origin)
    else:
        out.documents.append((origin, document))
