"""Map a walked node to the requests it makes. Pure core: standard library only.

``requirements_for(node, ctx)`` dispatches on the node kind and the Task ``Resource``:
activities need nothing, a Lambda function ARN is invoked directly, ``arn:aws:states:::SERVICE:API[.PATTERN]``
goes to the registered optimized-integration handler, ``aws-sdk:SERVICE:API`` goes to :mod:`.sdk`, and anything
else is an ``UNKNOWN_INTEGRATION`` finding with no grant.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from sfn_iam.arns import ArnError, parse_role_arn
from sfn_iam.engine.asl import Args, Dynamic, Node, credentials_role
from sfn_iam.engine.facts import NO_FACTS, Facts, Question
from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, Call, ServiceResource, parse_service_resource
from sfn_iam.engine.integrations.registry import HANDLERS, Entry
from sfn_iam.engine.integrations.s3io import item_reader, result_writer
from sfn_iam.engine.static import Known, context_fields
from sfn_iam.findings import Finding
from sfn_iam.lazyre import compiled
from sfn_iam.model import Context, Requirement

# The module that registers the handlers of each optimized integration (``arn:aws:states:::SERVICE:API``), imported
# the first time a definition uses that service: a definition pays only for the integrations it uses, and the CLI and
# the Lambda start faster. tests/engine/integrations/test_optimized_list.py checks this map against the modules.
MODULES: dict[str, str] = {
    "lambda": "lambda_", "sns": "messaging", "sqs": "messaging", "events": "messaging", "sagemaker": "ml",
    "bedrock": "ml", "bedrockagentcore": "ml", "glue": "analytics", "databrew": "analytics", "athena": "analytics",
    "apigateway": "apigateway", "codebuild": "codebuild", "ecs": "containers", "batch": "containers",
    "eks": "containers", "dynamodb": "dynamodb", "elasticmapreduce": "emr", "emr-containers": "emr",
    "emr-serverless": "emr", "http": "http", "mediaconvert": "mediaconvert", "states": "stepfunctions",
}


def load_all() -> None:
    """Import every integration module (their handlers register on import): for tools that list them all."""
    for module in sorted(set(MODULES.values())):
        importlib.import_module(f"{__name__}.{module}")


_LOADED: set[str] = set()  # the integration modules whose import has finished (their handlers are registered)


def _entry(service: str, api: str) -> Entry | None:
    module = MODULES.get(service)
    if module is not None and module not in _LOADED:
        # Not ``sys.modules``: a module is there from the start of its import, before its handlers register, so a
        # thread (the sweep's workers) planning while another imports it would find no handler. ``import_module``
        # waits for an import in progress; the set makes every later call a lookup, not the import machinery.
        importlib.import_module(f"{__name__}.{module}")
        _LOADED.add(module)
    return HANDLERS.get((service, api.lower()))  # registry.lookup, one call less per Task


_ACTIVITY_RE = compiled(globals(), "_ACTIVITY_RE", r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[^:\s]+$")
_MAX_ROLE_PATH = 512  # IAM's limit; a longer "role ARN" names no role and would only bloat policy and findings
_FUNCTION_RE = compiled(globals(), "_FUNCTION_RE",
                        r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:\s]+(:[^:\s]+)?$")


def requirements_for(node: Node, ctx: Context, requirements: list[Requirement] | None = None,
                     findings: list[Finding] | None = None, facts: Facts = NO_FACTS,
                     questions: list[Question] | None = None,
                     created: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
                     patterns: frozenset[str] = frozenset()) -> Call:
    """The requirements and findings of one node, appended to the given lists when there are some (the engine
    passes its own, so thousands of nodes cost no intermediate lists); ``facts`` answer what the account knows,
    and the questions asked are appended to ``questions``; ``created`` is :func:`created_tags` of the machine."""
    # (ctx, path, args, api, pattern, requirements, findings, _s3_pin, facts, created, questions): Call makes the
    # absent lists
    call = Call(ctx, node.path, node.args_in(_known(ctx, patterns)), "", REQUEST_RESPONSE, requirements, findings,
                None, facts, created, questions)
    if node.kind == "distributed_map":
        from sfn_iam.engine.integrations import stepfunctions

        label = node.state.get("Label")
        stepfunctions.distributed_map(call, label if isinstance(label, str) and label else None)
    elif node.kind in ("item_reader", "result_writer"):
        _map_io(call, node)
    else:
        _task(call, node.state)
    return call


@lru_cache(maxsize=64)
def _known(ctx: Context, patterns: frozenset[str]) -> Known:
    """What is known of a machine's values before run time (:class:`static.Known`): the same for each of its
    Tasks, so made once per machine (its fields read-only: every Task shares them)."""
    return Known(MappingProxyType(context_fields(ctx.state_machine_arn, ctx.state_machine_name)), patterns)


# The resources a machine creates and later acts on by a run-time ID (create a cluster, run steps, terminate it): the
# creating calls, by Resource, with the kind of resource created and how their Tags parameter is shaped.
_CREATORS: dict[tuple[str, str], tuple[str, str]] = {
    ("elasticmapreduce", "createcluster"): ("emr-cluster", "list"),
    ("emr", "runjobflow"): ("emr-cluster", "list"),
    ("emr-serverless", "createapplication"): ("emr-serverless-application", "map"),
    ("emrserverless", "createapplication"): ("emr-serverless-application", "map"),
}


def created_tags(nodes: list[Node]) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each kind of resource the machine creates, the literal tags that *every* creating state sets (a tag only
    some creators set does not mark all the machine's resources). A creator whose tags are computed at run time
    leaves none in common."""
    found: dict[str, set[tuple[str, str]]] = {}
    for node in nodes:
        resource = node.state.get("Resource") if node.kind == "task" else None
        parsed = parse_service_resource(resource) if isinstance(resource, str) else None
        if parsed is None:
            continue
        service = parsed.sdk_service if parsed.service == "aws-sdk" else parsed.service
        creator = _CREATORS.get((service, parsed.api.lower()))
        if creator is None:
            continue
        kind, shape = creator
        from sfn_iam.engine.integrations import emr  # loaded with the integrations that use it

        tags = emr.literal_tags(node.args, shape)
        found[kind] = tags if kind not in found else found[kind] & tags
    return {kind: tuple(sorted(tags)) for kind, tags in found.items()}


def _map_io(call: Call, node: Node) -> None:
    resource = node.state.get("Resource")
    if resource is None and node.kind == "result_writer":
        return  # WriterConfig only: results stay in the execution, nothing is written to S3
    parsed = parse_service_resource(resource) if isinstance(resource, str) else None
    expected = {"item_reader": ("getObject", "listObjectsV2"), "result_writer": ("putObject",)}[node.kind]
    if parsed is None or parsed.service != "s3" or parsed.api not in expected or parsed.pattern:
        call.finding("UNKNOWN_INTEGRATION", f"{str(resource)[:200]!r} is not a supported {node.kind} resource")
        return
    call.api = parsed.api
    if node.kind == "item_reader":
        reader = node.state.get("ReaderConfig")
        item_reader(call, Args(reader if isinstance(reader, Mapping) else {}, node.jsonata, call.args.context))
    else:
        result_writer(call)


def _task(call: Call, state: Mapping[str, object]) -> None:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        call.finding("UNKNOWN_INTEGRATION", "Task state without a string Resource: nothing granted")
        return
    if state.get("Credentials") is not None:
        _assume(call, credentials_role(state, call.args.jsonata))
        return
    parsed = parse_service_resource(resource)
    if parsed is None and _ACTIVITY_RE.match(resource):
        return  # the activity worker calls Step Functions with its own credentials
    if parsed is None and _FUNCTION_RE.match(resource):
        from sfn_iam.engine.integrations import lambda_

        known = call.args.context
        lambda_.direct(call, resource, vouched=known is not None and known.vouches(resource))
        return
    if parsed is None:
        call.finding("UNKNOWN_INTEGRATION", f"unknown Task resource {resource[:200]!r}: nothing granted")
        return
    call.api, call.pattern = parsed.api, parsed.pattern
    if parsed.region or parsed.account:  # (neither: the machine's own, the common case)
        _qualified(call, parsed)
    if parsed.service == "aws-sdk":
        from sfn_iam.engine.integrations import sdk

        sdk.requirements(call, parsed.sdk_service, parsed.api)
        return
    entry = _entry(parsed.service, parsed.api)
    if entry is None or parsed.pattern not in entry.patterns:
        call.finding("UNKNOWN_INTEGRATION", f"unknown or unsupported integration {resource[:200]!r}: nothing granted")
        return
    entry.handler(call)


def _qualified(call: Call, parsed: ServiceResource) -> None:
    """``arn:aws:states:REGION:ACCOUNT:SERVICE:API``: the documented Task syntax names the Region and account where the
    resource was created (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html). The machine's own
    Region and account are the common case; others are scoped where the Resource says, with a finding."""
    region, account = parsed.region or call.ctx.region, parsed.account or call.ctx.account
    if (region, account) == (call.ctx.region, call.ctx.account):
        return
    call.finding(
        "CROSS_ACCOUNT_RESOURCE",
        f"the Task Resource names Region {region} and account {account}, not the state machine's "
        f"({call.ctx.region}, {call.ctx.account}); permissions are scoped to the named ones, and a call into another "
        "account also needs that account's resource policy",
    )
    call.ctx = call.ctx._replace(region=region, account=account)


def _assume(call: Call, role: str | Dynamic | None) -> None:
    """A Task with ``Credentials`` runs as another role: this role only needs to assume it."""
    if isinstance(role, Dynamic):
        call.finding(
            "BLOCKED_ACTION",
            "Credentials.RoleArn is only known at run time; sts:AssumeRole is granted only on literal role ARNs",
        )
        return
    try:
        parsed = parse_role_arn(role or "")
        if len(parsed.path) > _MAX_ROLE_PATH:
            raise ArnError("IAM role paths have at most 512 characters")
    except ArnError:
        call.finding("INVALID_VALUE", f"Credentials.RoleArn {str(role)[:200]!r} is not a role ARN; nothing granted")
        return
    call.allow("sts:AssumeRole", str(parsed))
    call.finding(
        "CROSS_ACCOUNT_CREDENTIALS",
        f"the Task runs as {parsed}; its service permissions belong on that role, not on this one",
    )
