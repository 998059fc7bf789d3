"""From a state machine to its least-privilege policy: the pure top of the core.

``plan(state_machine)`` walks the definition, maps every node to requirements, adds the role-level needs of
logging, tracing and encryption, applies the guardrails and builds the policy documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sfn_iam import arns
from sfn_iam.engine import asl, facts, guardrails, policy
from sfn_iam.engine.integrations import created_tags, requirements_for
from sfn_iam.engine.integrations.validity import valid_only
from sfn_iam.engine.machine_config import requirements_for_config
from sfn_iam.findings import Finding, Severity
from sfn_iam.model import Context, Requirement, StateMachine


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the engine decided about one state machine."""

    context: Context
    requirements: tuple[Requirement, ...]  # what the definition asks for (document order), before the guardrails
    granted: tuple[Requirement, ...]  # what the guardrails let through
    findings: tuple[Finding, ...]
    documents: tuple[dict[str, Any], ...]  # empty when nothing is needed
    questions: tuple[facts.Question, ...] = ()  # what the account could tell and was not asked (engine.facts)
    proposal: dict[str, Any] | None = None  # the ceiling statements that would approve what it left out

    @property
    def statements(self) -> list[dict[str, Any]]:
        return [s for d in self.documents for s in d["Statement"]]


def context_for(state_machine_arn: str) -> Context:
    """Partition, region, account and name from a state machine ARN (a qualifier is dropped)."""
    parsed = arns.parse_state_machine_arn(state_machine_arn)
    return Context(parsed.partition, parsed.region, parsed.account, parsed.name)


def parse_definition(definition: Mapping[str, Any] | str) -> Mapping[str, Any]:
    # Text is parsed strictly: a duplicate key is a DefinitionError (the engine must see what a reader sees).
    loaded = asl.loads(definition) if isinstance(definition, str) else definition
    asl.load_states(loaded)
    return loaded


def _derive(definition: Mapping[str, Any] | str, ctx: Context, known: facts.Facts, questions: list[facts.Question],
            patterns: frozenset[str] = frozenset()) -> tuple[list[Requirement], list[Finding], frozenset[str]]:
    """Every requirement the definition's states need, the findings of the walk, and the roles Tasks name
    literally in ``Credentials`` (for the sts:AssumeRole guard). Questions asked are appended to ``questions``."""
    nodes, findings = asl.walk(parse_definition(definition))
    reqs: list[Requirement] = []
    created = created_tags(nodes)
    # A definition repeats its Tasks (the same call in many branches): each distinct Task is mapped once and its
    # requirements, findings and questions are given again, under its own path, to every Task that repeats it.
    mapped: dict[_TaskKey, tuple[list[Requirement], list[Finding], list[facts.Question]] | None] = {}
    for node in nodes:
        key = _task_key(node)
        done = mapped.get(key) if key is not None else None
        if done is not None:
            path = node.path
            reqs.extend([Requirement(r.action, r.resource, r.conditions, path) for r in done[0]])
            findings.extend([Finding(f.code, f.severity, f.message, path) for f in done[1]])
            questions.extend(done[2])
            continue
        r0, f0, q0 = len(reqs), len(findings), len(questions)
        requirements_for(node, ctx, reqs, findings, known, questions, created, patterns)
        if key is not None and key not in mapped:
            out = reqs[r0:], findings[f0:], questions[q0:]
            # only what carries this Task's path and nothing else of it can be given to another Task
            mine = all(r.path == node.path for r in out[0]) and all(f.path == node.path for f in out[1])
            mapped[key] = out if mine else None
    return reqs, findings, guardrails.credential_roles(nodes)


_TaskKey = tuple[bool, str, str | None, str | None]
_ABSENT = object()


def _not_json(value: object) -> str:
    raise TypeError(f"{type(value).__name__} is not JSON")


# json's C encoder itself (json.dumps builds one per call, which costs more than encoding a small object does). A
# Python without it maps every Task on its own.
_ENCODER = (c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", False, False, True)
            if c_make_encoder is not None else None)


def _task_key(node: asl.Node) -> _TaskKey | None:
    """What a Task's requirements depend on besides the machine (its context, facts and created resources): its
    language, ``Resource``, ``Credentials`` and arguments, as exact text (JSON keeps ``1``, ``1.0`` and ``true``
    apart; ``None`` when absent). ``None`` for other nodes and for values that are not JSON: those are always mapped
    on their own. (A number used as a key, possible in a YAML template only, reads as its text: no integration reads
    a parameter named by digits, ``true`` or ``null``.)"""
    if node.kind != "task" or _ENCODER is None:
        return None
    state = node.state
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return None
    args = state.get("Arguments" if node.jsonata else "Parameters", _ABSENT)
    credentials = state.get("Credentials", _ABSENT)
    try:
        return (node.jsonata, resource, None if args is _ABSENT else "".join(_ENCODER(args, 0)),
                None if credentials is _ABSENT else "".join(_ENCODER(credentials, 0)))
    except (TypeError, ValueError, RecursionError):
        return None


def plan(sm: StateMachine, guard: guardrails.GuardPolicy | None = None, limit: int = policy.INLINE_LIMIT,
         known: facts.Facts = facts.NO_FACTS) -> Plan:
    """The policy for ``sm`` given what the account told (``known``; nothing offline). Raises
    :class:`asl.DefinitionError` or :class:`arns.ArnError` on unusable input."""
    ctx = context_for(sm.arn)
    asked: list[facts.Question] = []
    reqs, findings, credential_roles = _derive(sm.definition, ctx, known, asked, frozenset(sm.patterns))
    config_reqs, config_findings = requirements_for_config(ctx, sm.logging, sm.tracing, sm.encryption)
    reqs.extend(config_reqs)
    findings.extend(config_findings)
    for version in sm.versions:  # routed versions under the same role: the policy is the union (model.StateMachine)
        v_reqs, v_findings, v_roles = _derive(version.definition, ctx, known, asked, frozenset(sm.patterns))
        v_config, v_config_findings = requirements_for_config(ctx, version.logging, version.tracing,
                                                              version.encryption)
        reqs.extend(v_reqs + v_config)
        findings.extend(v_findings + v_config_findings)
        credential_roles |= v_roles
    reqs = valid_only(reqs, findings)
    guard = guard or guardrails.GuardPolicy()
    granted, blocked = guardrails.apply(reqs, guard, credential_roles=credential_roles, account=ctx.account,
                                        patterns=sm.patterns)
    findings.extend(blocked)
    granted = _whole(reqs, granted, findings)
    # The keys of what is granted (not of what was refused): asked of the account, added when it answered, and
    # held to the same guardrails as everything else.
    patterns = frozenset(sm.patterns)
    asked.extend(facts.key_questions(granted, patterns))
    keyed = facts.key_requirements(granted, known, patterns)
    if keyed:
        reqs.extend(keyed)
        more, refused = guardrails.apply(keyed, guard, credential_roles=credential_roles, account=ctx.account,
                                         patterns=sm.patterns)
        granted.extend(more)
        findings.extend(refused)
    documents: list[dict[str, Any]] = []
    if granted:
        documents, size_findings = policy.documents(granted, limit)
        findings.extend(size_findings)
    elif not reqs and not any(f.severity >= Severity.MEDIUM for f in findings):
        # only when nothing is needed: never next to an unknown integration, a broken definition or a refused value
        findings.append(Finding.of("NO_PERMISSIONS", "the state machine needs no permissions; no policy is needed"))
    unique = sorted(set(findings), key=lambda f: (f.path, f.code, f.message))
    unanswered = tuple(sorted({q for q in asked if known.get(q) is None}))
    return Plan(ctx, _sorted(reqs), _sorted(granted), tuple(unique), tuple(documents), unanswered,
                guardrails.proposal(reqs, guard, ctx.account))


def _resource_type(resource: str) -> str:
    """The resource type an ARN names (``table`` of ``table/db/t``, ``catalog``; S3 ``bucket`` or ``object``)."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return resource
    if parts[2] == "s3":
        return "object" if "/" in parts[5] else "bucket"
    return re.split(r"[/:]", parts[5], maxsplit=1)[0]


def _whole(reqs: list[Requirement], granted: list[Requirement], findings: list[Finding]) -> list[Requirement]:
    """A request authorized on several resources at once (a Glue table write on the catalog, the database and the
    table; a job submitted to a queue with a definition; a model invoked through an inference profile) is granted
    whole or not at all: when the guardrails refused every requirement of one resource type of a state's action,
    the other types' requirements of that action cannot work alone and are dropped, with a finding."""
    if len(granted) == len(reqs):
        return granted  # the guardrails refused nothing (each requirement is granted or refused): all are whole
    kept = set(granted)
    # only a state's action with a refused requirement can miss a resource type
    refused = {(req.path, req.action.lower()) for req in reqs if req not in kept}
    groups: dict[tuple[str, str], list[Requirement]] = {}
    for req in reqs:
        key = (req.path, req.action.lower())
        if key in refused:
            groups.setdefault(key, []).append(req)
    dropped: set[Requirement] = set()
    for (path, _), group in groups.items():
        types = {_resource_type(r.resource) for r in group}
        if len(types) < 2:
            continue
        allowed = {_resource_type(r.resource) for r in group if r in kept}
        missing = sorted(types - allowed)
        if not missing or not allowed:
            continue
        rest = [r for r in group if r in kept]
        dropped.update(rest)
        action = group[0].action
        code = next((f.code for f in findings if f.path == path and f.message.lower().startswith(action.lower() + " ")),
                    "BLOCKED_ACTION")
        findings.append(Finding.of(code, f"{action} not granted on {', '.join(sorted({r.resource for r in rest}))}"
                                         f" either: the request also needs its {', '.join(missing)} resource, which was"
                                         " refused, so it cannot succeed and no part of it is granted", path))
    return [r for r in granted if r not in dropped] if dropped else granted


def _sorted(reqs: list[Requirement]) -> tuple[Requirement, ...]:
    """Unique requirements in document order (the walk is deterministic, so no sort is needed)."""
    return tuple(dict.fromkeys(reqs))
