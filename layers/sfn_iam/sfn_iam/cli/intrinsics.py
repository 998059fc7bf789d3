"""CloudFormation intrinsic functions, resolved offline as far as a template says.

A ``Ref`` or ``Fn::GetAtt`` to a resource of the same template becomes its name or ARN when the template names
the resource literally (``FunctionName``, ``TableName``...). Otherwise the part CloudFormation would generate
becomes ``*`` — the narrowest pattern that still matches at run time — and a note says why. Parameters take
their ``Default`` or a value given on the command line; pseudo parameters come from the command line.
Nothing unresolved is ever left as ``${...}``: IAM would read it as a policy variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

WILD = "*"
_SUB_RE = re.compile(r"\$\{([^}]*)\}")
_MAX_DEPTH = 40


class Kind(NamedTuple):
    """How a resource type names itself: the property holding its name, what ``Ref`` returns, its attributes."""

    name_property: str | None
    ref: str  # "name", "arn" or "url" (SQS), or a format
    arn: str  # format of the ARN: {p} partition, {r} region, {a} account, {name}
    attributes: Mapping[str, str] = MappingProxyType({})  # attribute -> format ("arn" = the ARN); shared, empty


def _k(prop: str | None, ref: str, arn: str, **attributes: str) -> Kind:
    return Kind(prop, ref, arn, {"Arn": "arn", **attributes})


_LAMBDA = _k("FunctionName", "name", "arn:{p}:lambda:{r}:{a}:function:{name}")
_TABLE = _k("TableName", "name", "arn:{p}:dynamodb:{r}:{a}:table/{name}",
            StreamArn="arn:{p}:dynamodb:{r}:{a}:table/{name}/stream/*")
_MACHINE_ARN = "arn:{p}:states:{r}:{a}:stateMachine:{name}"
# CloudFormation resource types that Step Functions definitions usually reference, with how they name themselves
# (AWS CloudFormation User Guide, "Return values" of each resource type).
KINDS: dict[str, Kind] = {
    "AWS::Lambda::Function": _LAMBDA,
    "AWS::Serverless::Function": _LAMBDA,
    "AWS::DynamoDB::Table": _TABLE,
    "AWS::DynamoDB::GlobalTable": _TABLE,
    "AWS::Serverless::SimpleTable": _TABLE,
    "AWS::SQS::Queue": _k("QueueName", "url", "arn:{p}:sqs:{r}:{a}:{name}", QueueUrl="url", QueueName="{name}"),
    "AWS::SNS::Topic": _k("TopicName", "arn", "arn:{p}:sns:{r}:{a}:{name}", TopicArn="arn", TopicName="{name}"),
    "AWS::S3::Bucket": _k("BucketName", "name", "arn:{p}:s3:::{name}"),
    "AWS::StepFunctions::StateMachine": _k("StateMachineName", "arn", _MACHINE_ARN, Name="{name}"),
    "AWS::Serverless::StateMachine": _k("Name", "arn", _MACHINE_ARN, Name="{name}"),
    "AWS::StepFunctions::Activity": _k("Name", "arn", "arn:{p}:states:{r}:{a}:activity:{name}", Name="{name}"),
    "AWS::Events::EventBus": _k("Name", "name", "arn:{p}:events:{r}:{a}:event-bus/{name}", Name="{name}"),
    "AWS::Events::Rule": _k("Name", "name", "arn:{p}:events:{r}:{a}:rule/{name}"),
    "AWS::Events::Connection": _k("Name", "name", "arn:{p}:events:{r}:{a}:connection/{name}/*"),
    "AWS::Events::ApiDestination": _k("Name", "name", "arn:{p}:events:{r}:{a}:api-destination/{name}/*"),
    "AWS::Kinesis::Stream": _k("Name", "name", "arn:{p}:kinesis:{r}:{a}:stream/{name}"),
    "AWS::KinesisFirehose::DeliveryStream": _k("DeliveryStreamName", "name",
                                               "arn:{p}:firehose:{r}:{a}:deliverystream/{name}"),
    "AWS::ECS::Cluster": _k("ClusterName", "name", "arn:{p}:ecs:{r}:{a}:cluster/{name}"),
    "AWS::ECS::TaskDefinition": _k("Family", "arn", "arn:{p}:ecs:{r}:{a}:task-definition/{name}:*",
                                   TaskDefinitionArn="arn"),
    "AWS::Batch::JobQueue": _k("JobQueueName", "arn", "arn:{p}:batch:{r}:{a}:job-queue/{name}",
                               JobQueueArn="arn"),
    "AWS::Batch::JobDefinition": _k("JobDefinitionName", "arn", "arn:{p}:batch:{r}:{a}:job-definition/{name}:*"),
    "AWS::Glue::Job": _k("Name", "name", "arn:{p}:glue:{r}:{a}:job/{name}"),
    "AWS::Glue::Crawler": _k("Name", "name", "arn:{p}:glue:{r}:{a}:crawler/{name}"),
    "AWS::CodeBuild::Project": _k("Name", "name", "arn:{p}:codebuild:{r}:{a}:project/{name}"),
    "AWS::IAM::Role": _k("RoleName", "name", "arn:{p}:iam::{a}:role{path}{name}"),
    "AWS::SecretsManager::Secret": _k("Name", "arn", "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-??????"),
    "AWS::SSM::Parameter": _k("Name", "name", "arn:{p}:ssm:{r}:{a}:parameter/{name}"),
    "AWS::Logs::LogGroup": _k("LogGroupName", "name", "arn:{p}:logs:{r}:{a}:log-group:{name}:*"),
    "AWS::Athena::WorkGroup": _k("Name", "name", "arn:{p}:athena:{r}:{a}:workgroup/{name}"),
    "AWS::ECR::Repository": _k("RepositoryName", "name", "arn:{p}:ecr:{r}:{a}:repository/{name}"),
    "AWS::EKS::Cluster": _k("Name", "name", "arn:{p}:eks:{r}:{a}:cluster/{name}"),
    "AWS::KMS::Key": _k(None, "{id}", "arn:{p}:kms:{r}:{a}:key/{name}", KeyId="{name}"),
    "AWS::SageMaker::Model": _k("ModelName", "arn", "arn:{p}:sagemaker:{r}:{a}:model/{name}", ModelName="{name}"),
    "AWS::Scheduler::ScheduleGroup": _k("Name", "name", "arn:{p}:scheduler:{r}:{a}:schedule-group/{name}"),
    "AWS::ApiGateway::RestApi": _k(None, "{id}", "arn:{p}:apigateway:{r}::/restapis/{name}"),
    "AWS::Serverless::Api": _k(None, "{id}", "arn:{p}:apigateway:{r}::/restapis/{name}"),
}
_URL_SUFFIX = {"aws-cn": "amazonaws.com.cn"}

# The physical name CloudFormation gives a resource whose name property is left out: "stack name, logical ID and a
# random suffix" (AWS CloudFormation User Guide, "Name type":
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html: "stack123123123123-s3bucket-
# abcdefghijk1"), lower-cased where the service wants lower case (S3), truncated when it would pass the service's
# length limit. Step Functions state machines take the logical ID and the suffix only. Per type: (shape, limit);
# a type not listed here keeps "*" for its generated name.
_SUFFIX = 13  # "-" and the random suffix (12 characters, as in the User Guide's example)
GENERATED: dict[str, tuple[str, int]] = {
    "AWS::Lambda::Function": ("stack-logical", 64),
    "AWS::Serverless::Function": ("stack-logical", 64),
    "AWS::DynamoDB::Table": ("stack-logical", 255),
    "AWS::DynamoDB::GlobalTable": ("stack-logical", 255),
    "AWS::Serverless::SimpleTable": ("stack-logical", 255),
    "AWS::SQS::Queue": ("stack-logical", 80),
    "AWS::SNS::Topic": ("stack-logical", 256),
    "AWS::S3::Bucket": ("stack-logical-lower", 63),
    "AWS::IAM::Role": ("stack-logical", 64),
    "AWS::Logs::LogGroup": ("stack-logical", 512),
    "AWS::Kinesis::Stream": ("stack-logical", 128),
    "AWS::KinesisFirehose::DeliveryStream": ("stack-logical", 64),
    "AWS::ECS::Cluster": ("stack-logical", 255),
    "AWS::ECS::TaskDefinition": ("stack-logical", 255),
    "AWS::Events::Rule": ("stack-logical", 64),
    "AWS::StepFunctions::StateMachine": ("logical", 80),
    "AWS::Serverless::StateMachine": ("logical", 80),
}


def generated_name(rtype: str, logical_id: str, stack_name: str | None) -> str | None:
    """The pattern of the name CloudFormation generates for an unnamed ``rtype`` (``STACK-LogicalId-*``; ``*`` for
    the stack when its name is not given), or ``None`` when the shape is not known or truncation makes it unsure
    (a given stack name whose parts do not fit the limit; without one, a logical ID that alone does not)."""
    shape = GENERATED.get(rtype)
    if shape is None:
        return None
    kind, limit = shape
    if kind == "logical":
        return f"{logical_id}-{WILD}" if len(logical_id) + _SUFFIX <= limit else None
    stack = stack_name or WILD
    if len((stack_name or "") + logical_id) + 1 + _SUFFIX > limit:
        return None
    name = f"{stack}-{logical_id}-{WILD}"
    return name.lower() if kind.endswith("lower") else name


class Resolver:
    """Resolves intrinsic functions against one template; collects a note for everything left as ``*``."""

    def __init__(self, template: Mapping[str, Any], *, region: str, account: str, partition: str,
                 parameters: Mapping[str, str] | None = None, stack_name: str | None = None) -> None:
        self.template = template
        resources = template.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}
        declared = template.get("Parameters")
        self.declared: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
        mappings = template.get("Mappings")
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, Mapping) else {}
        conditions = template.get("Conditions")
        self.conditions: Mapping[str, Any] = conditions if isinstance(conditions, Mapping) else {}
        self.overrides = dict(parameters or {})
        self.pseudo: dict[str, str | None] = {
            "AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": partition,
            "AWS::URLSuffix": _URL_SUFFIX.get(partition, "amazonaws.com"), "AWS::StackName": stack_name,
            "AWS::StackId": None, "AWS::NotificationARNs": None,
        }
        self.used: set[str] = set()  # the parameters given on the command line that something referenced
        for key in self.pseudo:  # --parameter AWS::StackId=arn:... (any pseudo parameter) wins
            if key in self.overrides:
                self.pseudo[key] = self.overrides[key]
        self.notes: list[str] = []
        self.generated: set[str] = set()  # name patterns of unnamed resources (generated_name): StateMachine.patterns
        self._stack: list[str] = []

    # --- entry points ---------------------------------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        """``node`` with every intrinsic function replaced by its value (``*`` where unknown)."""
        return self._value(node, 0)

    def string(self, node: Any) -> str:
        value = self._value(node, 0)
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, list):
            return ",".join(self.string(v) for v in value)
        self._note("a value that is not a string was used where a string is expected")
        return WILD

    def take_notes(self) -> list[str]:
        notes, self.notes = list(dict.fromkeys(self.notes)), []
        return notes

    # --- the functions --------------------------------------------------------------------------------------

    def _note(self, text: str) -> str:
        self.notes.append(text)
        return WILD

    def _value(self, node: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return self._note("intrinsic functions nested too deeply")
        if isinstance(node, list):
            out = []
            for item in node:
                if isinstance(item, Mapping) and item.get("Ref") == "AWS::NoValue":
                    continue
                out.append(self._value(item, depth + 1))
            return out
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self._ref(arg, depth)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg, depth)
        out_map: dict[str, Any] = {}
        for key, value in node.items():
            if isinstance(value, Mapping) and value.get("Ref") == "AWS::NoValue":
                continue
            out_map[str(key)] = self._value(value, depth + 1)
        return out_map

    def _function(self, name: str, arg: Any, depth: int) -> Any:
        if name == "Sub":
            return self._sub(arg, depth)
        if name == "Join":
            if isinstance(arg, list) and len(arg) == 2:
                delimiter = self.string(self._value(arg[0], depth + 1))
                items = self._value(arg[1], depth + 1)
                if isinstance(items, list):
                    return delimiter.join(self._flat(i) for i in items)
            return self._note("Fn::Join needs [delimiter, [values]]")
        if name == "GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2:
                return self._get_att(str(parts[0]), self.string(self._value(parts[1], depth + 1)), depth)
            return self._note("Fn::GetAtt needs [resource, attribute]")
        if name == "Select":
            if isinstance(arg, list) and len(arg) == 2:
                index, items = self._value(arg[0], depth + 1), self._value(arg[1], depth + 1)
                try:
                    if isinstance(items, list):
                        return items[int(index)]
                except (ValueError, TypeError, IndexError):
                    if isinstance(items, list) and items and any(WILD in str(i) for i in items):
                        return WILD  # a part of an unknown value (noted where it became unknown)
            return self._note("Fn::Select could not be evaluated")
        if name == "Split":
            if isinstance(arg, list) and len(arg) == 2:
                delimiter, text = self.string(arg[0]), self._value(arg[1], depth + 1)
                if isinstance(text, str) and delimiter:
                    return text.split(delimiter)
            return self._note("Fn::Split could not be evaluated")
        if name == "FindInMap":
            if isinstance(arg, list) and len(arg) >= 3:
                keys = [self.string(self._value(a, depth + 1)) for a in arg[:3]]
                found: Any = self.mappings
                for k in keys:
                    found = found.get(k) if isinstance(found, Mapping) else None
                if found is not None:
                    return self._value(found, depth + 1)
                if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                    return self._value(arg[3]["DefaultValue"], depth + 1)
            return self._note(f"Fn::FindInMap {arg!r:.80} is not in the template's Mappings")
        if name == "If":
            if isinstance(arg, list) and len(arg) == 3:
                chosen = self._condition(arg[0], depth)
                if chosen is None:
                    self.notes.append(f"condition {arg[0]!r:.60} could not be evaluated offline; its true branch "
                                      "is used")
                    chosen = True
                branch = arg[1] if chosen else arg[2]
                if isinstance(branch, Mapping) and branch.get("Ref") == "AWS::NoValue":
                    return None
                return self._value(branch, depth + 1)
            return self._note("Fn::If needs [condition, then, else]")
        if name == "ToJsonString":
            return json.dumps(self._value(arg, depth + 1), separators=(",", ":"))
        if name == "ImportValue":
            return self._note(f"Fn::ImportValue {self.string(arg)!r} is another stack's export")
        if name == "Base64":
            return self._value(arg, depth + 1)
        return self._note(f"Fn::{name} is not evaluated offline")

    def _flat(self, value: Any) -> str:
        return value if isinstance(value, str) else self.string(value)

    def _sub(self, arg: Any, depth: int) -> str:
        variables: Mapping[str, Any]
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], Mapping):
            text, variables = arg[0], arg[1]
        else:
            return self._note("Fn::Sub needs a string or [string, {variables}]")

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"  # ${!Literal} is written as ${Literal}
            name = inner.strip()
            if name in variables:
                return self._flat(self._value(variables[name], depth + 1))
            if "." in name and name.split(".", 1)[0] in self.resources:
                resource, attribute = name.split(".", 1)
                return self._flat(self._get_att(resource, attribute, depth))
            return self._flat(self._ref(name, depth))

        return _SUB_RE.sub(replace, text)

    def _ref(self, name: Any, depth: int) -> Any:
        if not isinstance(name, str):
            return self._note("Ref needs a name")
        if name in self.pseudo:
            value = self.pseudo[name]
            if name in self.overrides:
                self.used.add(name)
            if value is None and name == "AWS::StackId":
                # arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID: its shape is known, so Fn::Select over
                # Fn::Split of it (a common way to make unique names) keeps the known parts
                self.notes.append("AWS::StackId is known at deploy time; '*' stands for its generated part (pass "
                                  "--parameter AWS::StackId=ARN)")
                p, r, a = (self.pseudo[k] or WILD for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
                return f"arn:{p}:cloudformation:{r}:{a}:stack/{self.pseudo['AWS::StackName'] or WILD}/{WILD}"
            if value is None:
                return self._note(f"{name} is known at deploy time (pass --stack-name for AWS::StackName)")
            return value
        if name in self.overrides:
            self.used.add(name)
            return self.overrides[name]
        if name in self.declared:
            declared = self.declared[name]
            kind = declared.get("Type", "String") if isinstance(declared, Mapping) else "String"
            if isinstance(declared, Mapping) and "Default" in declared and not str(kind).startswith("AWS::SSM"):
                default = declared["Default"]
                if str(kind).startswith("List<") or str(kind) == "CommaDelimitedList":
                    return [s.strip() for s in str(default).split(",")]
                return default if isinstance(default, str) else self.string(default)
            return self._note(f"parameter {name} has no Default (pass --parameter {name}=VALUE)")
        if name in self.resources:
            return self._resource_value(name, None, depth)
        return self._note(f"Ref {name} names nothing in the template")

    def _get_att(self, resource: str, attribute: str, depth: int) -> Any:
        if resource not in self.resources:
            return self._note(f"Fn::GetAtt {resource}.{attribute}: {resource} is not a resource of the template")
        return self._resource_value(resource, attribute, depth)

    def _resource_value(self, logical_id: str, attribute: str | None, depth: int) -> Any:
        resource = self.resources.get(logical_id)
        rtype = resource.get("Type") if isinstance(resource, Mapping) else None
        kind = KINDS.get(str(rtype))
        what = f"{logical_id}.{attribute}" if attribute else logical_id
        if kind is None:
            return self._note(f"{what}: the value of a {rtype} is not known offline")
        fmt = kind.ref if attribute is None else kind.attributes.get(attribute)
        if fmt is None:
            return self._note(f"{what}: attribute {attribute} of a {rtype} is not known offline")
        if logical_id in self._stack:
            return self._note(f"{what} refers to itself")
        props = resource.get("Properties") if isinstance(resource, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        name = WILD
        named = bool(kind.name_property) and kind.name_property in props
        if named:
            self._stack.append(logical_id)
            try:
                name = self._flat(self._value(props[kind.name_property], depth + 1))
            finally:
                self._stack.pop()
        elif fmt != "{id}":
            generated = generated_name(str(rtype), logical_id, self.pseudo["AWS::StackName"])
            name = generated or WILD
            if rtype == "AWS::SQS::Queue" and props.get("FifoQueue") in (True, "true", "True"):
                name = f"{name}.fifo"
            if generated is not None:
                self.generated.add(generated.lower() if rtype == "AWS::S3::Bucket" else generated)
                self.notes.append(f"{what}: {logical_id} has no literal {kind.name_property or 'name'}; CloudFormation "
                                  f"generates it as {generated!r} (stack name, logical ID, random suffix; pass "
                                  "--stack-name or name the resource for a narrower policy)")
            else:
                self.notes.append(f"{what}: {logical_id} has no literal {kind.name_property or 'name'}; "
                                  "CloudFormation generates it, so '*' stands for it (name the resource for a "
                                  "narrower policy)")
        if fmt == "{id}" or (attribute is None and kind.ref == "{id}"):
            self.notes.append(f"{what}: the id of a {rtype} is generated by AWS; '*' stands for it")
        value = self._format(kind, fmt, name, props)
        if name != WILD and value.startswith("arn:") and ("*" in value or "?" in value) and WILD not in (
                self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]):
            # the ARN of one resource whose last part (a revision, a secret's suffix) is set at deploy time
            self.generated.add(value)
        return value

    def _format(self, kind: Kind, fmt: str, name: str, props: Mapping[str, Any]) -> str:
        p, r, a = (self.pseudo[k] or WILD for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId"))
        if fmt == "name" or fmt == "{name}":
            return name
        if fmt == "{id}":
            return WILD
        if fmt == "url":
            return f"https://sqs.{r}.{self.pseudo['AWS::URLSuffix']}/{a}/{name}"
        path = "/"
        if "{path}" in kind.arn and isinstance(props.get("Path"), str):
            path = props["Path"]
        return kind.arn.format(p=p, r=r, a=a, name=name, path=path)

    def _condition(self, node: Any, depth: int) -> bool | None:
        """True/False when a condition can be evaluated offline, else ``None``."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, str):
            if node in self._stack:
                return None
            definition = self.conditions.get(node)
            if definition is None:
                return None
            self._stack.append(node)
            try:
                return self._condition(definition, depth + 1)
            finally:
                self._stack.pop()
        if not isinstance(node, Mapping) or len(node) != 1:
            return None
        (key, arg), = node.items()
        if key == "Condition":
            return self._condition(arg, depth + 1)
        if not isinstance(arg, list):
            return None
        if key == "Fn::Equals" and len(arg) == 2:
            before = len(self.notes)
            left, right = self._value(arg[0], depth + 1), self._value(arg[1], depth + 1)
            unknown = len(self.notes) > before
            del self.notes[before:]
            return None if unknown else str(left) == str(right)
        parts = [self._condition(a, depth + 1) for a in arg]
        if key == "Fn::Not" and len(parts) == 1:
            return None if parts[0] is None else not parts[0]
        if key == "Fn::And":
            return False if False in parts else (None if None in parts else True)
        if key == "Fn::Or":
            return True if True in parts else (None if None in parts else False)
        return None
