"""The facts step over a fake port: bounded, cached per invocation, failures become findings and never widen."""

from __future__ import annotations

from sfn_iam.engine import facts
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.fixing import facts as step
from sfn_iam.fixing import settings as config
from sfn_iam.fixing.facts import FactResolver, FactUnavailableError
from sfn_iam.fixing.outcome import Status
from sfn_iam.fixing.service import RoleFixer
from sfn_iam.model import StateMachine
from tests.evaluate import is_allowed
from tests.fakes import ACCOUNT, FakeMachines, FakeRoles

REGION = "us-east-1"
SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:M"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _queues(n: int) -> dict[str, object]:
    states: dict[str, object] = {
        f"S{i}": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": f"S{i + 1}",
                  "Parameters": {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q{i}",
                                 "MessageBody": "m"}} for i in range(n)}
    states[f"S{n}"] = {"Type": "Succeed"}
    return {"StartAt": "S0", "States": states}


class FakeFacts:
    """Every queue has KEY, except those named in ``denied`` (AccessDenied)."""

    def __init__(self, denied: frozenset[str] = frozenset()) -> None:
        self.denied = denied
        self.asked: list[str] = []

    def encryption_key(self, resource: str) -> facts.Answer:
        self.asked.append(resource)
        if resource.rsplit(":", 1)[-1] in self.denied:
            raise FactUnavailableError("AccessDenied")
        return facts.customer_key(KEY)

    def task_definition(self, arn: str) -> facts.Answer:
        raise FactUnavailableError("ClientException")

    def work_group(self, arn: str) -> facts.Answer:
        raise FactUnavailableError("InvalidRequestException")

    def instance_profile(self, arn: str) -> facts.Answer:
        raise FactUnavailableError("NoSuchEntity")


VIA_SQS = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}


def test_access_denied_plans_without_the_fact_and_says_so() -> None:
    port = FakeFacts(denied=frozenset({"q1"}))
    plan, findings = step.plan(StateMachine(SM, _queues(2)), GuardPolicy(), 10240, FactResolver(port))
    assert is_allowed(plan.documents, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q1")
    assert is_allowed(plan.documents, "kms:Decrypt", KEY, VIA_SQS)  # q0's key is still granted
    assert [f.code for f in findings] == ["FACT_UNRESOLVED"]
    assert "q1" in findings[0].message and "AccessDenied" in findings[0].message


def test_every_question_is_asked_once_per_invocation_and_again_in_the_next() -> None:
    port = FakeFacts()
    resolver = FactResolver(port)
    sm = StateMachine(SM, _queues(3))
    step.plan(sm, GuardPolicy(), 10240, resolver)
    step.plan(sm, GuardPolicy(), 10240, resolver)  # the managed-overflow plan, a re-check pass: cached
    assert len(port.asked) == 3
    resolver.begin()
    step.plan(sm, GuardPolicy(), 10240, resolver)
    assert len(port.asked) == 6


def test_resolution_is_bounded_and_the_rest_is_a_finding() -> None:
    port = FakeFacts()
    plan, findings = step.plan(StateMachine(SM, _queues(5)), GuardPolicy(), 10240, FactResolver(port, 2))
    assert len(port.asked) == 2
    assert len(findings) == 3 and all("MAX_FACTS_PER_EVENT" in f.message for f in findings)
    assert is_allowed(plan.documents, "kms:Decrypt", KEY, VIA_SQS)


def test_the_fixer_reports_unresolved_facts_and_still_writes() -> None:
    settings = config.from_env({"ACCOUNT_ID": ACCOUNT, "ROLE_PATH": "/stepfunctions/"})
    machines, roles = FakeMachines(), FakeRoles()
    machines.add(SM, _queues(1), roles.add_role("r"))
    fixer = RoleFixer(machines, roles, settings, facts=FakeFacts(denied=frozenset({"q0"})))
    out = fixer.fix(SM)
    assert out.status is Status.WRITTEN
    assert "FACT_UNRESOLVED" in {f.code for f in out.findings}
    assert not any(r.service == "kms" for r in out.granted)
