"""Inputs → state machines: raw ASL (JSON or YAML), DescribeStateMachine responses, SAM/CloudFormation/CDK templates,
standard input and directories.

For a template, every ``AWS::Serverless::StateMachine`` and ``AWS::StepFunctions::StateMachine`` is read with its
definition (``Definition``, ``DefinitionString``, ``DefinitionBody`` or a local ``DefinitionUri``), its intrinsic
functions resolved (:mod:`intrinsics`) and its ``DefinitionSubstitutions`` applied. Whatever stays unknown becomes
``*`` with an ``UNRESOLVED_REFERENCE`` finding at the state that uses it: never a ``${...}`` in a policy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from sfn_iam.cli import locate
from sfn_iam.cli.errors import InputError
from sfn_iam.cli.yamlload import ParseError, loads
from sfn_iam.engine import asl
from sfn_iam.findings import Finding
from sfn_iam.lazyre import compiled
from sfn_iam.model import StateMachine

if TYPE_CHECKING:  # loaded when an input is a template / a Terraform plan
    from sfn_iam.cli import intrinsics, terraform

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_PARTITION = "aws"
# Step Functions definitions are at most 1 MB; templates and DescribeStateMachine responses stay far below this.
# Reading stops here, so /dev/zero or a runaway pipe cannot exhaust memory.
MAX_INPUT_CHARS = 8 * 1024 * 1024
MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
_SKIP_DIRS = {".git", ".aws-sam", "node_modules", ".venv", "venv", "__pycache__", ".terraform", ".tox"}
_SUFFIXES = (".json", ".yaml", ".yml")


class Options(NamedTuple):
    region: str | None = None
    account: str | None = None
    partition: str | None = None
    stack_name: str | None = None
    parameters: Mapping[str, str] = MappingProxyType({})  # shared, empty: no --parameter
    state_machine_arn: str | None = None


class Machine:
    """One state machine found in an input, ready for the engine."""

    __slots__ = ("definition_file", "error", "findings", "line", "lines", "name", "resolver", "source",
                 "state_machine", "template", "terraform_role", "used_parameters")

    def __init__(self, source: str, name: str, state_machine: StateMachine, findings: list[Finding] | None = None,
                 line: int = 1, template: Mapping[str, Any] | None = None,
                 resolver: intrinsics.Resolver | None = None, definition_file: str | None = None,
                 lines: Callable[[str], tuple[str, int] | None] | None = None,
                 terraform_role: terraform.Declared | None = None, error: str | None = None,
                 used_parameters: set[str] | None = None) -> None:
        self.source = source
        self.name = name  # logical id (templates) or state machine name
        self.state_machine = state_machine
        self.findings: list[Finding] = [] if findings is None else findings
        self.line = line  # where the state machine starts in the source (SARIF)
        self.template = template  # the template, for `check`
        self.resolver = resolver
        self.definition_file = definition_file  # a template's DefinitionUri file: where its states are written
        self.lines = lines  # a finding's path -> (file, line), for SARIF
        self.terraform_role = terraform_role  # a Terraform plan's declared role policy, for `check`
        self.error = error  # why this state machine cannot be read (reported as an input error)
        # the --parameter keys this machine used
        self.used_parameters: set[str] = set() if used_parameters is None else used_parameters


class Loaded:
    __slots__ = ("errors", "machines", "notes", "used_parameters")

    def __init__(self) -> None:
        self.machines: list[Machine] = []
        self.errors: list[tuple[str, str]] = []  # (source, message)
        self.notes: list[str] = []  # not errors: a template without a state machine
        self.used_parameters: set[str] = set()  # the --parameter keys some input used


# --- reading --------------------------------------------------------------------------------------------------

def read_text(path: str, stdin: TextIO) -> str:
    try:
        if path == "-":
            text = stdin.read(MAX_INPUT_CHARS + 1)
        else:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read(MAX_INPUT_CHARS + 1)
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"{path} is larger than {MAX_INPUT_CHARS} characters (a definition is at most 1 MB)")
    return text


def parse(path: str, text: str) -> Any:
    try:
        return loads(text)
    except ParseError as exc:
        raise InputError(f"{path} {exc}") from None


def kind_of(data: Any) -> str | None:
    """``template``, ``asl``, ``describe`` or ``None``."""
    if not isinstance(data, Mapping):
        return None
    if isinstance(data.get("Resources"), Mapping):
        return "template"
    if "format_version" in data:  # the Terraform reader loads only for what may be a plan
        from sfn_iam.cli import terraform

        if terraform.is_plan(data):
            return "terraform"
    if "States" in data:
        return "asl"
    if "definition" in data:
        return "describe"
    return None


def load(paths: list[str], options: Options, stdin: TextIO) -> Loaded:
    """Every state machine in ``paths`` (files, directories or ``-``), in order; per-input errors collected."""
    loaded = Loaded()
    for path in paths:
        if path != "-" and os.path.isdir(path):
            before = (len(loaded.machines), len(loaded.errors))
            _load_directory(path, options, loaded)
            if (len(loaded.machines), len(loaded.errors)) == before:
                loaded.errors.append((path, f"{path}: no template or state machine definition found in the "
                                            "directory"))
            continue
        try:
            machines = load_one(path, parse(path, read_text(path, stdin)), options, explicit=True)
        except InputError as exc:
            loaded.errors.append((path, str(exc)))
            continue
        if not machines:  # Lambda-only templates, nested stacks: nothing to do, as in a directory
            loaded.notes.append(f"{path}: no AWS::Serverless::StateMachine or AWS::StepFunctions::StateMachine "
                                "resource in this template; nothing to check")
        loaded.machines.extend(machines)
    for machine in loaded.machines:
        loaded.used_parameters |= machine.used_parameters
    return loaded


def _load_directory(root: str, options: Options, loaded: Loaded) -> None:
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".") and
                         not d.startswith("asset."))
        files.extend(os.path.join(folder, n) for n in sorted(names) if n.lower().endswith(_SUFFIXES))
    parsed: list[tuple[str, Any]] = []
    referenced: set[str] = set()
    for path in files:
        try:
            data = parse(path, read_text(path, _NO_STDIN))
        except InputError as exc:
            if _looks_like_ours(path):
                loaded.errors.append((path, str(exc)))
            continue
        kind = kind_of(data)
        if kind is None:
            continue
        parsed.append((path, data))
        if kind == "template":
            referenced.update(_definition_files(path, data))
    for path, data in parsed:
        if os.path.abspath(path) in referenced:
            continue  # read through its template, with the substitutions
        try:
            loaded.machines.extend(load_one(path, data, options, explicit=False))
        except InputError as exc:
            loaded.errors.append((path, str(exc)))


class _NoStdin:
    def read(self, _n: int = -1) -> str:
        return ""


_NO_STDIN: Any = _NoStdin()


def _looks_like_ours(path: str) -> bool:
    name = os.path.basename(path).lower()
    return "template" in name or ".asl." in name or name.startswith("statemachine")


def _definition_files(template_path: str, template: Mapping[str, Any]) -> set[str]:
    out = set()
    for resource in _resources(template).values():
        if isinstance(resource, Mapping) and resource.get("Type") in MACHINE_TYPES:
            props = resource.get("Properties")
            uri = props.get("DefinitionUri") if isinstance(props, Mapping) else None
            if isinstance(uri, str):
                out.add(os.path.abspath(os.path.join(os.path.dirname(template_path), uri)))
    return out


def _resources(template: Mapping[str, Any]) -> Mapping[str, Any]:
    resources = template.get("Resources")
    return resources if isinstance(resources, Mapping) else {}


def load_one(source: str, data: Any, options: Options, *, explicit: bool) -> list[Machine]:
    kind = kind_of(data)
    if kind == "template":
        return from_template(source, data, options)
    if kind == "terraform":
        return from_terraform(source, data, options)
    if kind == "asl":
        return [from_definition(source, data, options)]
    if kind == "describe":
        return [from_describe(source, data, options)]
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: the input must be an object (an ASL definition, a DescribeStateMachine "
                         "response or a SAM/CloudFormation template)")
    raise InputError(f"{source}: the input has neither 'States' (an ASL definition), 'definition' "
                     "(DescribeStateMachine) nor 'Resources' (a template)")


# --- context --------------------------------------------------------------------------------------------------

def _context(options: Options) -> tuple[str, str, str, list[Finding]]:
    defaulted = [flag for flag, value in (("--region", options.region), ("--account", options.account))
                 if not value]
    findings = []
    if defaulted:
        findings.append(Finding.of(
            "ASSUMED_CONTEXT",
            f"no {' or '.join(defaulted)} given: ARNs use account {options.account or DEFAULT_ACCOUNT} and region "
            f"{options.region or DEFAULT_REGION}; pass the real ones for a policy you can deploy"))
    return (options.partition or DEFAULT_PARTITION, options.region or DEFAULT_REGION,
            options.account or DEFAULT_ACCOUNT, findings)


def _arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def from_definition(source: str, definition: Mapping[str, Any], options: Options) -> Machine:
    findings: list[Finding] = []
    if options.state_machine_arn:
        arn = options.state_machine_arn
    else:
        partition, region, account, findings = _context(options)
        arn = _arn(partition, region, account, "StateMachine")
    resolved, notes = placeholders(definition, options.parameters)  # --parameter fills ${KEY} as substitutions do
    findings += notes
    machine = Machine(source, _name_of(arn), StateMachine(arn=arn, definition=resolved), findings)
    machine.used_parameters = _placeholder_keys(definition) & set(options.parameters)
    machine.lines = locate.finder(source, 1) if source != "-" else None
    return machine


def from_describe(source: str, data: Mapping[str, Any], options: Options) -> Machine:
    definition = data.get("definition")
    if not isinstance(definition, str | Mapping):
        raise InputError(f"{source}: 'definition' must be a JSON string or object")
    for key in ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration"):
        if data.get(key) is not None and not isinstance(data.get(key), Mapping):
            raise InputError(f"{source}: '{key}' must be an object")
    findings: list[Finding] = []
    arn = options.state_machine_arn or str(data.get("stateMachineArn") or "")
    if not arn:
        partition, region, account, findings = _context(options)
        arn = _arn(partition, region, account, "StateMachine")
    sm = StateMachine.from_describe(data, arn)
    if isinstance(sm.definition, Mapping):
        resolved, notes = placeholders(sm.definition, options.parameters)
        findings += notes
        sm = StateMachine(sm.arn, resolved, sm.role_arn, sm.type, sm.logging, sm.tracing, sm.encryption)
    return Machine(source, _name_of(arn), sm, findings)


def from_terraform(source: str, data: Mapping[str, Any], options: Options) -> list[Machine]:
    """The state machines of a ``terraform show -json`` plan (:mod:`terraform`)."""
    partition, region, account, context_findings = _context(options)
    from sfn_iam.cli import terraform

    found, errors = terraform.machines(source, data, region, account, partition)
    machines = [Machine(source, address, StateMachine(arn="", definition={}), error=message)
                for address, message in errors]
    for address, sm, findings, declared in found:
        try:
            definition = asl.loads(sm.definition) if isinstance(sm.definition, str) else sm.definition
        except asl.DefinitionError as exc:
            raise InputError(f"{source}: {address}: the definition is not valid JSON: {exc}") from None
        resolved, notes = placeholders(definition, options.parameters) if isinstance(definition, Mapping) else \
            (definition, [])
        sm = StateMachine(sm.arn, resolved, sm.role_arn, sm.type, sm.logging, sm.tracing, sm.encryption)
        machine = Machine(source, address, sm, [*context_findings, *findings, *notes])
        machine.used_parameters = _placeholder_keys(definition) & set(options.parameters)
        machine.terraform_role = declared
        machines.append(machine)
    return machines


def _name_of(arn: str) -> str:
    return arn.split(":stateMachine:", 1)[-1].split(":", 1)[0]


# --- templates ------------------------------------------------------------------------------------------------

def from_template(source: str, template: Mapping[str, Any], options: Options) -> list[Machine]:
    from sfn_iam.cli import intrinsics  # templates only

    partition, region, account, context_findings = _context(options)
    machines = []
    for logical_id, resource in _resources(template).items():
        if not isinstance(resource, Mapping) or resource.get("Type") not in MACHINE_TYPES:
            continue
        resolver = intrinsics.Resolver(template, region=region, account=account, partition=partition,
                                       parameters=options.parameters, stack_name=options.stack_name)
        props = resource.get("Properties")
        props = props if isinstance(props, Mapping) else {}
        machine = _template_machine(source, str(logical_id), resource["Type"], props, resolver,
                                    (partition, region, account))
        machine.findings[:0] = context_findings
        machine.line = _line_of(source, str(logical_id))
        machine.template = template
        machine.resolver = resolver
        machine.used_parameters = set(resolver.used)
        uri = props.get("DefinitionUri") if resource["Type"] == MACHINE_TYPES[0] else None
        machine.definition_file = (os.path.join(os.path.dirname(source), uri)
                                   if isinstance(uri, str) and not uri.startswith("s3://") and source != "-" else None)
        machine.lines = locate.finder(source, machine.line, machine.definition_file) if source != "-" else None
        machines.append(machine)
    return machines


def _placeholder_keys(definition: Any) -> set[str]:
    return {m.group(1) for text in iter_strings(definition) for m in _PLACEHOLDER_RE.finditer(text)} \
        if isinstance(definition, Mapping) else set()


def _template_machine(source: str, logical_id: str, rtype: str, props: Mapping[str, Any],
                      resolver: intrinsics.Resolver, where: tuple[str, str, str]) -> Machine:
    sam = rtype == "AWS::Serverless::StateMachine"
    findings: list[Finding] = []

    def unresolved(path: str) -> None:
        findings.extend(Finding.of("UNRESOLVED_REFERENCE", note, path) for note in resolver.take_notes())

    name_prop = "Name" if sam else "StateMachineName"
    name = "*"
    if name_prop in props:
        name = resolver.string(props[name_prop])
        unresolved(name_prop)
    arn = _arn(*where, name)
    definition = _definition(source, props, sam, resolver)
    unresolved("Definition")
    substitutions: dict[str, str] = {}
    partial: set[str] = set()
    subs = props.get("DefinitionSubstitutions")
    if isinstance(subs, Mapping):
        for key, value in subs.items():
            substitutions[str(key)] = resolver.string(value)
            notes = resolver.take_notes()
            if notes:
                partial.add(str(key))
                findings.extend(Finding.of("UNRESOLVED_REFERENCE", f"${{{key}}}: {n}", f"DefinitionSubstitutions.{key}")
                                for n in notes)
    if isinstance(definition, Mapping):
        definition, placeholder_findings = placeholders(definition, substitutions, frozenset(partial))
        findings.extend(placeholder_findings)
    config = _config(props, sam, resolver)
    unresolved("Logging" if sam else "LoggingConfiguration")
    sm = StateMachine(arn=arn, definition=definition, role_arn="",
                      type=resolver.string(props.get("Type" if sam else "StateMachineType", "STANDARD")),
                      logging=config[0], tracing=config[1], encryption=config[2],
                      patterns=tuple(sorted(resolver.generated)))
    resolver.take_notes()
    return Machine(source, logical_id, sm, findings)


def _definition(source: str, props: Mapping[str, Any], sam: bool, resolver: intrinsics.Resolver
                ) -> Mapping[str, Any] | str:
    for key in ("Definition", "DefinitionBody"):
        if isinstance(props.get(key), Mapping):
            value = resolver.resolve(props[key])
            if isinstance(value, Mapping):
                return value
    if "DefinitionString" in props:
        text = resolver.string(props["DefinitionString"])
        try:
            data = loads(text)
        except ParseError as exc:
            return f"DefinitionString {exc}"
        return data if isinstance(data, Mapping) else text
    uri = props.get("DefinitionUri") if sam else None
    if uri is None and not sam:
        uri = props.get("DefinitionS3Location")
    if isinstance(uri, str) and not uri.startswith("s3://"):
        folder = os.path.dirname(source) if source != "-" else "."
        path = os.path.join(folder, uri)
        data = parse(path, read_text(path, _NO_STDIN))
        if not isinstance(data, Mapping):
            raise InputError(f"{path}: the definition must be an object")
        value = resolver.resolve(data)
        return value if isinstance(value, Mapping) else {}
    if uri is not None:
        raise InputError(f"{source}: the definition is in S3 ({str(uri)[:120]}); only local definitions are read "
                         "(run `sam build` or pass the definition file)")
    raise InputError(f"{source}: a state machine without Definition, DefinitionString or DefinitionUri")


_LOG_KEYS = {"Level": "level", "IncludeExecutionData": "includeExecutionData", "Destinations": "destinations"}


def _config(props: Mapping[str, Any], sam: bool, resolver: intrinsics.Resolver
            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Logging, tracing and encryption in the shape DescribeStateMachine returns them."""
    logging_src = resolver.resolve(props.get("Logging" if sam else "LoggingConfiguration") or {})
    tracing_src = resolver.resolve(props.get("Tracing" if sam else "TracingConfiguration") or {})
    encryption_src = resolver.resolve(props.get("EncryptionConfiguration") or {})
    logging: dict[str, Any] = {}
    if isinstance(logging_src, Mapping):
        logging = {_LOG_KEYS[k]: v for k, v in logging_src.items() if k in _LOG_KEYS}
        if "level" in logging:
            logging["level"] = str(logging["level"]).upper()
    tracing: dict[str, Any] = {}
    if isinstance(tracing_src, Mapping) and "Enabled" in tracing_src:
        tracing = {"enabled": tracing_src["Enabled"] in (True, "true", "True")}
    encryption: dict[str, Any] = {}
    if isinstance(encryption_src, Mapping):
        if "Type" in encryption_src:
            encryption["type"] = str(encryption_src["Type"])
        if "KmsKeyId" in encryption_src:
            encryption["kmsKeyId"] = str(encryption_src["KmsKeyId"])
    return logging, tracing, encryption


def _line_of(source: str, logical_id: str) -> int:
    """The line where ``logical_id`` is declared (1 when unknown): enough for a code-scanning annotation."""
    if source == "-":
        return 1
    try:
        with open(source, encoding="utf-8-sig") as handle:
            pattern = re.compile(rf"^\s*[\"']?{re.escape(logical_id)}[\"']?\s*:")
            for number, line in enumerate(handle, 1):
                if pattern.match(line):
                    return number
    except (OSError, UnicodeDecodeError):
        pass
    return 1


# --- placeholders ---------------------------------------------------------------------------------------------

_WILD_NAME_RE = compiled(globals(), "_WILD_NAME_RE", r"^(?:\*|.*[:/]\*)$")
_LAMBDA_WILD_RE = compiled(globals(), "_LAMBDA_WILD_RE", r"^arn:[a-z-]+:lambda:[^:]*:[^:]*:function:\*$")
UNRESOLVED_PATH = "$.sfnIamUnresolved"


def placeholders(definition: Mapping[str, Any], substitutions: Mapping[str, str],
                 partial: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[Finding]]:
    """``definition`` with ``${key}`` replaced from ``substitutions`` (Step Functions' DefinitionSubstitutions).

    Any other ``${...}`` is unknown. A parameter whose whole value is unknown — an unknown placeholder, or one in
    ``partial`` (resolved only to a pattern) whose name part is ``*`` — is handed to the engine as a value known
    only at run time, so each integration grants its narrowest documented pattern; a pattern that keeps a literal
    part (``*-orders``) is kept. A Task ``Resource`` that is a Lambda function of unknown name becomes the
    ``lambda:invoke`` integration of that unknown function (the same ``lambda:InvokeFunction``).
    Every unknown gets an ``UNRESOLVED_REFERENCE`` finding at the state that holds it.
    """
    findings: dict[tuple[str, str], Finding] = {}

    def text(value: str, path: str) -> tuple[str, bool]:
        """(the value substituted, whether it is wholly unknown)."""
        if "${" not in value:
            return value, False
        whole = _PLACEHOLDER_RE.fullmatch(value)
        unknown = False

        def replace(match: re.Match[str]) -> str:
            nonlocal unknown
            key = match.group(1)
            if key in substitutions:
                return substitutions[key]
            unknown = True
            findings.setdefault((path, key), Finding.of(
                "UNRESOLVED_REFERENCE", f"${{{key[:80]}}} is not substituted (no DefinitionSubstitutions entry); "
                "'*' stands for it", path))
            return "*"

        out = _PLACEHOLDER_RE.sub(replace, value)
        if whole is None:
            return out, False
        key = whole.group(1)
        return out, unknown or (key in partial and bool(_WILD_NAME_RE.match(out)))

    def values(node: Any, path: str, depth: int, jsonata: bool) -> Any:
        if depth > 200:
            return node  # the engine reports what is too deep
        if isinstance(node, Mapping):
            out: dict[Any, Any] = {}
            for k, v in node.items():
                key = text(k, path)[0] if isinstance(k, str) else k
                if isinstance(v, str):
                    value, unknown = text(v, path)
                    if unknown and isinstance(key, str) and not key.endswith(".$"):
                        if jsonata:
                            out[key] = "{% $sfnIamUnresolved %}"
                        else:
                            out[f"{key}.$"] = UNRESOLVED_PATH
                        continue
                    out[key] = value
                else:
                    out[key] = values(v, path, depth + 1, jsonata)
            return out
        if isinstance(node, list):
            return [values(v, path, depth + 1, jsonata) for v in node]
        return text(node, path)[0] if isinstance(node, str) else node

    def machine(node: Any, prefix: str, depth: int, jsonata: bool) -> Any:
        if not isinstance(node, Mapping) or depth > 100:
            return values(node, prefix, depth, jsonata)
        if isinstance(node.get("QueryLanguage"), str):
            jsonata = node["QueryLanguage"] == "JSONata"
        out = {}
        for k, v in node.items():
            if k == "States" and isinstance(v, Mapping):
                where = f"{prefix}.States" if prefix else "States"
                out[k] = {name: state_(st, f"{where}.{name}", depth + 1, jsonata) for name, st in v.items()}
            else:
                out[k] = values(v, prefix, depth + 1, jsonata)
        return out

    def state_(node: Any, path: str, depth: int, jsonata: bool) -> Any:
        if not isinstance(node, Mapping):
            return values(node, path, depth, jsonata)
        if isinstance(node.get("QueryLanguage"), str):
            jsonata = node["QueryLanguage"] == "JSONata"
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "Branches" and isinstance(v, list):
                out[k] = [machine(b, f"{path}.Branches[{i}]", depth + 1, jsonata) for i, b in enumerate(v)]
            elif k in ("Iterator", "ItemProcessor"):
                out[k] = machine(v, f"{path}.{k}", depth + 1, jsonata)
            elif k == "Resource" and isinstance(v, str):
                out[k] = text(v, path)[0]
            else:
                out[k] = values(v, path, depth + 1, jsonata)
        resource = out.get("Resource")
        if out.get("Type") == "Task" and isinstance(resource, str) and _LAMBDA_WILD_RE.match(resource):
            partition = resource.split(":")[1]
            out["Resource"] = f"arn:{partition}:states:::lambda:invoke"
            params = "Arguments" if jsonata else "Parameters"
            dynamic = {"FunctionName": "{% $sfnIamUnresolved %}"} if jsonata else {"FunctionName.$": UNRESOLVED_PATH}
            out[params] = {**(out[params] if isinstance(out.get(params), Mapping) else {}), **dynamic}
        return out

    resolved = machine(definition, "", 0, False)
    return resolved, [findings[k] for k in sorted(findings)]


def iter_strings(node: Any) -> Iterator[str]:
    """Every string in ``node``, depth first; an explicit stack, so a definition nested hundreds of levels deep
    (which the engine's walker accepts) cannot exhaust the interpreter's recursion limit."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            yield item
