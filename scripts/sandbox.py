"""A local AWS world for the role fixer, shared by `make demo`, `make invoke` and the end-to-end tests.

Nothing here ships in the layer. It creates roles and state machines in moto (in-process ``mock_aws`` or a
``ThreadedMotoServer`` reached through ``AWS_ENDPOINT_URL``), loads and patches the CloudTrail events in
``events/``, captures the published outcome events through an EventBridge rule → SQS queue, counts AWS calls,
and emulates the IAM quotas moto does not enforce (aggregate inline size, attached policies per role).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sfn_iam.aws.ledger import create_table
from sfn_iam.engine import policy

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
EXAMPLES = ROOT / "examples"
ACCOUNT = "123456789012"  # moto's default account, also the account in events/*.json
REGION = "us-east-1"
ROLE_PATH = "/stepfunctions/"
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}],
}
FIXER_ENV = {
    "MODE": "enforce",
    "ROLE_PATH": ROLE_PATH,
    "ACCOUNT_ID": ACCOUNT,
    "OPT_OUT_TAG_KEY": "sfn-iam:opt-out",
    "POLICY_NAME_PREFIX": "sfn-iam.",
    "FIXER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/sfn-iam-role-fixer",
    "DESCRIBE_ATTEMPTS": "3",
    "LEDGER_TABLE_NAME": "sfn-iam-ledger",
    "DESCRIBE_RETRY_DELAY": "0",
    "POWERTOOLS_SERVICE_NAME": "sfn-iam-role-fixer",
    "POWERTOOLS_METRICS_NAMESPACE": "SfnIam",
    "AWS_DEFAULT_REGION": REGION,
    # The template's CeilingPolicy (the default ceiling as IAM holds it): every role the fixer writes carries it.
    "CEILING_POLICY_ARN": f"arn:aws:iam::{ACCOUNT}:policy/sfn-iam/sfn-iam-ceiling",
    "STACK_NAME": "sfn-iam",
}


def create_ceiling(iam: Any) -> str:
    """The template's ``CeilingPolicy`` in this account (the default boundary, placeholders filled as
    CloudFormation would)."""
    from sfn_iam.engine.guardrails import ceiling

    values = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::StackName": "sfn-iam",
              "ManagedPolicyPath": "/sfn-iam/"}
    document = ceiling.filled(ceiling.default_boundary(), values)
    arn: str = iam.create_policy(PolicyName="sfn-iam-ceiling", Path="/sfn-iam/",
                                 PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    return arn


def extend_ceiling(iam: Any, *statements: dict[str, Any]) -> None:
    """An administrator approving ``statements``: a new default version of the ceiling policy with them added."""
    arn = FIXER_ENV["CEILING_POLICY_ARN"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    iam.create_policy_version(PolicyArn=arn, SetAsDefault=True, PolicyDocument=json.dumps(
        {**document, "Statement": [*document["Statement"], *statements]}))


def load_event(name: str) -> dict[str, Any]:
    path = Path(name) if name.endswith(".json") and Path(name).exists() else EVENTS / name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def patch_event(event: dict[str, Any], *, state_machine_arn: str | None = None, role_arn: str | None = None,
                account: str | None = None) -> dict[str, Any]:
    """A copy of ``event`` pointing at resources created in moto (ARNs and account replaced wherever they occur)."""
    text = json.dumps(event)
    detail = event.get("detail", {})
    old_sm = (detail.get("responseElements") or {}).get("stateMachineArn") or \
        (detail.get("requestParameters") or {}).get("stateMachineArn") or \
        (detail.get("requestParameters") or {}).get("resourceArn")
    if state_machine_arn and old_sm:
        text = text.replace(old_sm, state_machine_arn)
    old_role = (detail.get("requestParameters") or {}).get("roleArn")
    if role_arn and old_role:
        text = text.replace(old_role, role_arn)
    if account:
        text = text.replace(event["account"], account)
    patched: dict[str, Any] = json.loads(text)
    return patched


def load_handler(function: str = "role_fixer") -> ModuleType:
    """functions/FUNCTION/app.py as a module (it is not a package: Lambda loads it by file)."""
    name = f"{function}_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class FakeContext:
    """Enough of a Lambda context for Powertools."""

    function_name = "sfn-iam-role-fixer"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sfn-iam-role-fixer"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/sfn-iam-role-fixer"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


# -- world building --------------------------------------------------------------------------------------------

def create_role(iam: Any, name: str, *, path: str = ROLE_PATH, trust: dict[str, Any] | None = None,
                tags: dict[str, str] | None = None) -> str:
    kwargs: dict[str, Any] = {"RoleName": name, "Path": path,
                              "AssumeRolePolicyDocument": json.dumps(trust or STATES_TRUST)}
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn: str = iam.create_role(**kwargs)["Role"]["Arn"]
    return arn


def create_state_machine(sfn: Any, name: str, example: str, role_arn: str) -> str:
    definition = (EXAMPLES / example).read_text(encoding="utf-8")
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
    return arn


def role_policies(iam: Any, role: str) -> dict[str, Any]:
    """Everything attached to a role: inline documents by name, and attached managed policy names."""
    inline = {n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
              for n in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    attached = sorted(p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])
    return {"inline": inline, "attached": attached}


def capture_outcomes(events: Any, sqs: Any, bus: str = "default") -> str:
    """Route every ``source: sfn-iam`` event to a new SQS queue; returns the queue URL."""
    url: str = sqs.create_queue(QueueName="sfn-iam-outcomes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="sfn-iam-outcomes", EventBusName=bus, EventPattern=json.dumps({"source": ["sfn-iam"]}))
    events.put_targets(Rule="sfn-iam-outcomes", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def read_outcomes(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The outcome events published since the last read (EventBridge envelopes)."""
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# -- instrumentation -------------------------------------------------------------------------------------------

class CallCounter:
    """Counts API calls per ``service:Operation`` on the clients it is attached to (one per call, not per retry).

    Thread-safe: the sweep's workers count at once, and a budget may read the totals meanwhile (``bench/sweep.py``
    asks before each machine). ``Counter`` increments are read-modify-write, not atomic, and iterating the counter
    while another thread adds a key raises; so every count and every total holds the lock. ``calls`` is for reading
    once the calls are done."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    FACTS = "facts/"  # prefix of the facts adapter's calls (docs/facts.md): reads, not the fixer's own budget

    def attach(self, *clients: Any, tag: str = "") -> CallCounter:
        for client in clients:
            service = tag + client.meta.service_model.service_name
            # unique_id: a client attached twice (the facts adapter shares the IAM client) counts once
            client.meta.events.register("provide-client-params", self._count(service),
                                        unique_id=f"sfn-iam-count-{id(self)}")
        return self

    def _count(self, service: str) -> Any:
        def handler(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls[f"{service}:{model.name}"] += 1
        return handler

    def _items(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self.calls.items())

    def own(self) -> int:
        """The fixer's own calls: without the facts adapter's reads (tagged, and GetInstanceProfile on the shared
        IAM client)."""
        return sum(n for key, n in self._items()
                   if not key.startswith(self.FACTS) and key != "iam:GetInstanceProfile")

    def facts(self) -> int:
        return sum(n for key, n in self._items() if key.startswith(self.FACTS) or key == "iam:GetInstanceProfile")

    def total(self, *services: str) -> int:
        return sum(n for key, n in self._items() if not services or key.split(":")[0] in services)

    def writes(self) -> int:
        verbs = ("Put", "Delete", "Create", "Attach", "Detach")
        return sum(n for key, n in self._items() if key.startswith("iam:") and key[4:].startswith(verbs))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


def _limit_exceeded(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "LimitExceeded", "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": 409}}, operation)


def enforce_iam_quotas(iam: Any, *, inline_limit: int = policy.INLINE_LIMIT, max_attached: int = 10) -> None:
    """Make moto refuse what IAM refuses: PutRolePolicy over the role's aggregate inline size, AttachRolePolicy
    over the attached-policy quota, both with ``LimitExceeded`` (moto accepts both silently)."""
    reader = boto3.client("iam", region_name=REGION, endpoint_url=iam.meta.endpoint_url)

    def size_of(role: str, name: str) -> int:
        try:
            return policy.size(reader.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        except reader.exceptions.NoSuchEntityException:
            return 0  # deleted by a concurrent writer between the listing and this read

    def put_role_policy(params: dict[str, Any], **_: Any) -> None:
        role, name = params["RoleName"], params["PolicyName"]
        used = sum(size_of(role, n) for n in reader.list_role_policies(RoleName=role)["PolicyNames"] if n != name)
        new = policy.size(json.loads(params["PolicyDocument"]))
        if used + new > inline_limit:
            raise _limit_exceeded("PutRolePolicy", f"Maximum policy size of {inline_limit} bytes exceeded for "
                                  f"role {role}")

    def attach_role_policy(params: dict[str, Any], **_: Any) -> None:
        attached = reader.list_attached_role_policies(RoleName=params["RoleName"])["AttachedPolicies"]
        if len(attached) >= max_attached and params["PolicyArn"] not in {p["PolicyArn"] for p in attached}:
            raise _limit_exceeded("AttachRolePolicy", f"Cannot exceed quota for PoliciesPerRole: {max_attached}")

    iam.meta.events.register("before-parameter-build.iam.PutRolePolicy", put_role_policy)
    iam.meta.events.register("before-parameter-build.iam.AttachRolePolicy", attach_role_policy)


# -- the harness: the real handler, instrumented, plus the test-side clients -------------------------------------

@dataclass
class Harness:
    """The loaded handler module and clients to look at the world it changes (moto in-process or server)."""

    app: ModuleType
    iam: Any
    sfn: Any
    sqs: Any
    outcomes_url: str
    counter: CallCounter = field(default_factory=CallCounter)

    def deliver(self, event: Any, *, quiet: bool = False) -> dict[str, Any]:
        """Invoke ``lambda_handler``. The handler builds its clients on the first event (so settings can still
        change before it); they are instrumented then: call counting and IAM's quotas."""
        rt = self.app.runtime()
        if not getattr(rt.fixer, "_instrumented", False):  # the runtime is a NamedTuple: the mark is on its fixer
            self.counter.attach(rt.wiring.clients.sfn, rt.wiring.clients.iam)
            if rt.wiring.ledger is not None:
                self.counter.attach(rt.wiring.ledger.client)
            enforce_iam_quotas(rt.wiring.clients.iam)
            if rt.wiring.facts is not None:  # the facts adapter creates its clients on first use: count those too
                rt.wiring.facts._factory = _counted(rt.wiring.facts._factory, self.counter)
            rt.fixer._instrumented = True
        # Powertools' Logger keeps its own stream; only the EMF metric lines (print) are silenced by quiet.
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            result: dict[str, Any] = self.app.lambda_handler(event, FakeContext())
        return result

    def published(self) -> list[dict[str, Any]]:
        return read_outcomes(self.sqs, self.outcomes_url)

    def policies(self, role_name: str) -> dict[str, Any]:
        return role_policies(self.iam, role_name)


def _counted(factory: Any, counter: CallCounter) -> Any:
    def make(service: str, region: str) -> Any:
        client = factory(service, region)
        counter.attach(client, tag=CallCounter.FACTS)
        return client
    return make


def harness(**client_kwargs: Any) -> Harness:
    """Load the handler (fresh runtime) and capture outcome events; ``client_kwargs`` reach every boto3 client."""
    kw = {"region_name": REGION, **client_kwargs}
    sqs = boto3.client("sqs", **kw)
    url = capture_outcomes(boto3.client("events", **kw), sqs)
    create_table(boto3.client("dynamodb", **kw), FIXER_ENV["LEDGER_TABLE_NAME"])  # the template's ledger table
    create_ceiling(boto3.client("iam", **kw))
    app = load_handler()
    app._runtime = None
    return Harness(app, boto3.client("iam", **kw), boto3.client("stepfunctions", **kw), sqs, url)


# -- staging: the world each recorded event happened in ----------------------------------------------------------

SM_NAME, ROLE_NAME, ROLE2_NAME = "OrderProcessing", "OrderProcessingRole", "OrderProcessingRoleV2"


def stage(file: str, sfn: Any, iam: Any, deliver: Any) -> tuple[str, str | None]:
    """Create what ``events/<file>`` describes, as it is right after the recorded call; events after the create
    first get the create delivered (``deliver(event)``). Returns the state machine ARN and the role ARN to patch
    into the event (``None``: keep the event's role)."""
    role = create_role(iam, ROLE_NAME)
    sm = create_state_machine(sfn, SM_NAME, "order_processing.asl.json", role)
    if file == "create_state_machine.json":
        return sm, role
    deliver(patch_event(load_event("create_state_machine.json"), state_machine_arn=sm, role_arn=role))
    if file == "update_state_machine_definition.json":
        sfn.update_state_machine(stateMachineArn=sm,
                                 definition=(EXAMPLES / "order_processing_v2.asl.json").read_text(encoding="utf-8"))
    elif file == "update_state_machine_role.json":
        role2 = create_role(iam, ROLE2_NAME)
        sfn.update_state_machine(stateMachineArn=sm, roleArn=role2)
        return sm, role2
    elif file == "delete_state_machine.json":
        sfn.delete_state_machine(stateMachineArn=sm)
    elif file in ("publish_state_machine_version.json", "update_state_machine_alias.json"):
        # A canary: version 1 (the first definition) is live behind the alias, version 2 (the second) published.
        v1 = sfn.update_state_machine(stateMachineArn=sm, roleArn=role, publish=True)["stateMachineVersionArn"]
        sfn.create_state_machine_alias(name="live", routingConfiguration=[
            {"stateMachineVersionArn": v1, "weight": 100}])
        v2_definition = (EXAMPLES / "order_processing_v2.asl.json").read_text(encoding="utf-8")
        v2 = sfn.update_state_machine(stateMachineArn=sm, publish=True,
                                      definition=v2_definition)["stateMachineVersionArn"]
        if file == "update_state_machine_alias.json":
            sfn.update_state_machine_alias(stateMachineAliasArn=f"{sm}:live", routingConfiguration=[
                {"stateMachineVersionArn": v2, "weight": 10}, {"stateMachineVersionArn": v1, "weight": 90}])
    return sm, None
