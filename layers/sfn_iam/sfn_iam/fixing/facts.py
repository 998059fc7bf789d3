"""Ask the account what a definition implies but does not say, and plan with the answers. No boto3, no clock.

Facts from the account stay out of the engine (``sfn_iam.engine.facts``): the engine asks questions, this step asks
an adapter (:class:`AccountFacts`, one read-only call or two per question) and plans again with the answers as plain
input. Resolution is bounded (``max_questions`` distinct questions per invocation, a few rounds: a work group's
bucket has a key of its own) and cached for the invocation (a re-check pass or an overflow plan asks nothing twice).
A question the account cannot answer (AccessDenied, not found, throttled beyond the retries) is planned without
its answer, exactly as offline, plus a ``FACT_UNRESOLVED`` finding: never a crash, never a wider grant.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Protocol

from sfn_iam import engine
from sfn_iam.engine import facts
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.findings import Finding
from sfn_iam.model import StateMachine

ROUNDS = 3  # plan → ask → plan: a second round asks what the first answers revealed (a work group's bucket key)
MAX_QUESTIONS = 25  # distinct questions per invocation; beyond, planned as offline with a finding


class FactUnavailableError(Exception):
    """The account did not answer (``reason``: AccessDenied, not found, ...): plan without the fact."""


class AccountFacts(Protocol):
    """Read-only questions to the account (adapter: ``sfn_iam.aws.facts``). Each raises
    :class:`FactUnavailableError` when it cannot answer."""

    def task_definition(self, arn: str) -> facts.Answer:
        """Task and execution role of a task definition (``ecs:DescribeTaskDefinition``)."""

    def encryption_key(self, resource: str) -> facts.Answer:
        """The customer-managed key a queue, topic, bucket, stream, secret or parameter is encrypted with (the
        resource's attribute read, then ``kms:DescribeKey`` unless it is named as an AWS-managed alias)."""

    def work_group(self, arn: str) -> facts.Answer:
        """A work group's result location, encryption and enforcement (``athena:GetWorkGroup``)."""

    def instance_profile(self, arn: str) -> facts.Answer:
        """The roles in an instance profile (``iam:GetInstanceProfile``)."""

    def table_location(self, arn: str) -> facts.Answer:
        """A Glue table's S3 location and whether Lake Formation governs it (``glue:GetTable``)."""


class FactResolver:
    """Answers questions through an :class:`AccountFacts`, cached until :meth:`begin` starts a new invocation.
    Thread-safe (the sweep's workers share one): answers are returned from the call that asked, never only from the
    shared cache, so a concurrent :meth:`begin` costs a re-read, not an answer."""

    def __init__(self, source: AccountFacts, max_questions: int = MAX_QUESTIONS) -> None:
        self.source = source
        self.max_questions = max_questions
        self._lock = threading.Lock()
        self._answers: dict[facts.Question, facts.Answer] = {}
        self._failed: dict[facts.Question, Finding] = {}
        self.calls = 0  # questions sent to the adapter since begin() (for tests and the bench)

    def begin(self) -> None:
        """A new invocation: what the account said may have changed since."""
        with self._lock:
            self._answers.clear()
            self._failed.clear()
            self.calls = 0

    def resolve(self, questions: Iterable[facts.Question]) -> tuple[dict[facts.Question, facts.Answer],
                                                                    dict[facts.Question, Finding]]:
        """The answers to ``questions`` (asking the adapter for those not cached) and a finding for each question
        that could not be answered."""
        answers: dict[facts.Question, facts.Answer] = {}
        failed: dict[facts.Question, Finding] = {}
        for question in sorted(set(questions)):
            with self._lock:
                answer, failure = self._answers.get(question), self._failed.get(question)
                over = answer is None and failure is None and self.calls >= self.max_questions
                if answer is None and failure is None and not over:
                    self.calls += 1
            if over:
                failure = _unresolved(question, f"more than {self.max_questions} facts to read for one event "
                                                "(MAX_FACTS_PER_EVENT)")
            elif answer is None and failure is None:
                answer, failure = self._ask(question)
                with self._lock:
                    if answer is not None:
                        self._answers[question] = answer
                    elif failure is not None:
                        self._failed[question] = failure
            if answer is not None:
                answers[question] = answer
            elif failure is not None:
                failed[question] = failure
        return answers, failed

    def _ask(self, question: facts.Question) -> tuple[facts.Answer | None, Finding | None]:
        method = {
            facts.TASK_DEFINITION: "task_definition",
            facts.ENCRYPTION_KEY: "encryption_key",
            facts.WORK_GROUP: "work_group",
            facts.INSTANCE_PROFILE: "instance_profile",
            facts.TABLE_LOCATION: "table_location",
        }.get(question.kind)
        ask = getattr(self.source, method, None) if method else None
        if ask is None:
            return None, _unresolved(question, "no adapter answers this kind of question")
        try:
            return ask(question.resource), None
        except FactUnavailableError as exc:
            return None, _unresolved(question, str(exc)[:300] or type(exc).__name__)


def _unresolved(question: facts.Question, reason: str) -> Finding:
    what = {
        facts.TASK_DEFINITION: "the roles of task definition",
        facts.ENCRYPTION_KEY: "the encryption key of",
        facts.WORK_GROUP: "the result configuration of work group",
        facts.INSTANCE_PROFILE: "the role in instance profile",
        facts.TABLE_LOCATION: "the location of Glue table",
    }.get(question.kind, question.kind)
    return Finding.of("FACT_UNRESOLVED", f"could not read {what} {question.resource[:300]} ({reason}): planned "
                      "without it, as offline; the permissions it implies are not granted")


def plan(sm: StateMachine, guard: GuardPolicy, limit: int, resolver: FactResolver | None
         ) -> tuple[engine.Plan, list[Finding]]:
    """The engine's plan for ``sm`` with what the account knows (offline when ``resolver`` is ``None``), and the
    findings of the questions the account could not answer."""
    result = engine.plan(sm, guard, limit)
    findings: list[Finding] = []
    if resolver is None:
        return result, findings
    known: dict[facts.Question, facts.Answer] = {}
    failed: dict[facts.Question, Finding] = {}
    for _ in range(ROUNDS):
        if not result.questions:
            break
        answered, failures = resolver.resolve(result.questions)
        failed.update(failures)
        if answered.keys() <= known.keys():
            break  # nothing new: the rest cannot be answered
        known.update(answered)
        result = engine.plan(sm, guard, limit, facts.Facts(dict(known)))
    return result, [failed.get(q) or _unresolved(q, f"found after {ROUNDS} rounds of questions")
                    for q in result.questions]
