"""From a state machine to its least-privilege policy: the pure top of the core.

``plan(state_machine)`` walks the definition, maps every node to requirements, adds the role-level needs of
logging, tracing and encryption, applies the guardrails and builds the policy documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
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


@dataclass(slots=True)
class _Derived:
    """What the states of one definition need, in two forms: ``reqs`` and ``findings`` in full (one entry per
    state, in document order), and ``work``: the same requirements with each repeated Task given once (the first
    Task with its key stands for the others: ``aliases`` maps its path to theirs). ``shadow[i]`` is the requirement
    of ``work`` that ``reqs[i]`` repeats (``reqs[i]`` itself when it was mapped). When nothing was repeated, or when
    the paths do not say which state a requirement belongs to, ``work`` is ``reqs`` and ``aliases`` is empty."""

    reqs: list[Requirement]
    findings: list[Finding]
    roles: frozenset[str]
    work: list[Requirement]
    shadow: list[Requirement]
    aliases: dict[str, list[str]]


def _derive(definition: Mapping[str, Any] | str, ctx: Context, known: facts.Facts, questions: list[facts.Question],
            patterns: frozenset[str] = frozenset(), *, fold: bool = True) -> _Derived:
    """Every requirement the definition's states need, the findings of the walk, and the roles Tasks name
    literally in ``Credentials`` (for the sts:AssumeRole guard). Questions asked are appended to ``questions``.

    A definition repeats its Tasks (the same call in many branches): each distinct Task is mapped once and its
    requirements, findings and questions are given again, under its own path, to every Task that repeats it. With
    ``fold`` (no other definition shares the plan's paths) the rest of the plan decides each distinct Task once
    too (:func:`plan`)."""
    nodes, findings = asl.walk(parse_definition(definition))
    groups: dict[_TaskKey, _Group] = {}
    of_node: list[_Group | None] = []  # each node's group (None: a node without a key, always mapped on its own)
    distinct: list[asl.Node] = []  # the first node of each group, and every node without one
    for node in nodes:
        key = _task_key(node)
        group = groups.get(key) if key is not None else None
        if group is None:
            distinct.append(node)
            if key is not None:
                group = groups[key] = _Group(node)
        of_node.append(group)
    created = created_tags(distinct)  # both read only what the key holds: the first of each key stands for all
    roles = guardrails.credential_roles(distinct)
    reqs: list[Requirement] = []
    split: tuple[list[Requirement], list[Requirement]] | None = None  # work and shadow (_Derived) once a Task repeats
    own = True  # every output carries the path of the state that made it
    for node, group in zip(nodes, of_node, strict=True):
        if group is not None and group.first is not node and group.outcome is not None:
            done = group.outcome
            if split is None:
                split = reqs[:], reqs[:]  # until now every requirement was mapped: work and shadow are reqs
            path = node.path
            reqs.extend([Requirement(r.action, r.resource, r.conditions, path) for r in done[0]])
            split[1].extend(done[0])
            if done[1]:
                findings.extend([Finding(f.code, f.severity, f.message, path) for f in done[1]])
            questions.extend(done[2])
            group.paths.append(path)
            continue
        r0, f0, q0 = len(reqs), len(findings), len(questions)
        requirements_for(node, ctx, reqs, findings, known, questions, created, patterns)
        out = reqs[r0:], findings[f0:], questions[q0:]
        if split is not None:
            split[0].extend(out[0])
            split[1].extend(out[0])
        # only what carries this Task's path and nothing else of it can be given to another Task
        mine = all(r.path == node.path for r in out[0]) and all(f.path == node.path for f in out[1])
        own = own and mine
        if group is not None and group.first is node and mine:
            group.outcome = out
    if split is not None and fold and own and len(nodes) == len({node.path for node in nodes}):
        aliases = {g.first.path: g.paths for g in groups.values() if g.paths}
        return _Derived(reqs, findings, roles, *split, aliases)
    return _Derived(reqs, findings, roles, reqs, reqs, {})


@dataclass(slots=True)
class _Group:
    """The Tasks of one key: the first (mapped through the integrations), its outcome once mapped (``None`` when it
    carries anything but its own path: then each Task of the group is mapped on its own), the paths of the others."""

    first: asl.Node
    outcome: tuple[list[Requirement], list[Finding], list[facts.Question]] | None = None
    paths: list[str] = field(default_factory=list)


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


@cache
def _default_guard() -> guardrails.GuardPolicy:
    """The guardrails of a plan given none (the CLI, a test): one policy for the process, so what it remembers of
    the deny-list (:meth:`GuardPolicy.denied`, ~200 entries tried per action) serves every plan."""
    return guardrails.GuardPolicy()


def plan(sm: StateMachine, guard: guardrails.GuardPolicy | None = None, limit: int = policy.INLINE_LIMIT,
         known: facts.Facts = facts.NO_FACTS) -> Plan:
    """The policy for ``sm`` given what the account told (``known``; nothing offline). Raises
    :class:`asl.DefinitionError` or :class:`arns.ArnError` on unusable input.

    A Task that repeats another (same key, :func:`_task_key`) is decided once: validity, the guardrails and the
    whole-request check run on the plan's distinct Tasks (``work``, whose outcome for a state depends only on that
    state's own requirements and on what the plan holds as a whole: the roles, the tags it creates), and each
    repeating Task gets the outcome of the one it repeats under its own path."""
    ctx = context_for(sm.arn)
    asked: list[facts.Question] = []
    patterns = frozenset(sm.patterns)
    main = _derive(sm.definition, ctx, known, asked, patterns, fold=not sm.versions)
    reqs, work, findings, credential_roles = main.reqs, main.work, main.findings, main.roles
    config_reqs, config_findings = requirements_for_config(ctx, sm.logging, sm.tracing, sm.encryption)
    reqs.extend(config_reqs)
    findings.extend(config_findings)
    if work is not reqs:
        work.extend(config_reqs)
        main.shadow.extend(config_reqs)
    for version in sm.versions:  # routed versions under the same role: the policy is the union (model.StateMachine)
        v = _derive(version.definition, ctx, known, asked, patterns, fold=False)
        v_config, v_config_findings = requirements_for_config(ctx, version.logging, version.tracing,
                                                              version.encryption)
        reqs.extend(v.reqs + v_config)
        findings.extend(v.findings + v_config_findings)
        credential_roles |= v.roles
    shadow = main.shadow  # reqs itself when nothing was folded
    decided: list[Finding] = []  # what validity, the guardrails and the whole-request check say of ``work``
    valid = valid_only(work, decided)
    if len(valid) < len(work):  # an invalid value is no requirement at all
        ok = {id(r) for r in valid}
        pairs = [(r, s) for r, s in zip(reqs, shadow, strict=True) if id(s) in ok]
        reqs, shadow = [r for r, _ in pairs], [s for _, s in pairs]
    work = valid
    guard = guard or _default_guard()
    granted, blocked = guardrails.apply(work, guard, credential_roles=credential_roles, account=ctx.account,
                                        patterns=sm.patterns)
    decided.extend(blocked)
    granted = _whole(work, granted, findings, decided)
    findings.extend(decided)
    if main.aliases:
        for finding in decided:  # each repeating Task reports what the one it repeats was told, under its own path
            for path in main.aliases.get(finding.path, ()):
                findings.append(Finding(finding.code, finding.severity, finding.message, path))
    # granted in document order, every repeating Task with the grants of the one it repeats
    if len(work) == len(granted):
        full = reqs[:]  # all of them
    else:
        kept = {id(r) for r in granted}
        full = [r for r, s in zip(reqs, shadow, strict=True) if id(s) in kept]
    # The keys of what is granted (not of what was refused): asked of the account, added when it answered, and
    # held to the same guardrails as everything else.
    asked.extend(facts.key_questions(granted, patterns))
    keyed = facts.key_requirements(full, known, patterns)
    if keyed:
        reqs.extend(keyed)
        work.extend(keyed)
        more, refused = guardrails.apply(keyed, guard, credential_roles=credential_roles, account=ctx.account,
                                         patterns=sm.patterns)
        granted.extend(more)
        full.extend(more)
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
    # repeated requirements only within a state, or from the account's keys: ``work`` shows the first kind
    once = not keyed and len(set(work)) == len(work)
    return Plan(ctx, tuple(reqs) if once else _sorted(reqs), tuple(full) if once else _sorted(full),
                tuple(unique), tuple(documents), unanswered, guardrails.proposal(work, guard, ctx.account))


def _resource_type(resource: str) -> str:
    """The resource type an ARN names (``table`` of ``table/db/t``, ``catalog``; S3 ``bucket`` or ``object``)."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return resource
    if parts[2] == "s3":
        return "object" if "/" in parts[5] else "bucket"
    return re.split(r"[/:]", parts[5], maxsplit=1)[0]


def _whole(reqs: list[Requirement], granted: list[Requirement], findings: list[Finding], decided: list[Finding]
           ) -> list[Requirement]:
    """A request authorized on several resources at once (a Glue table write on the catalog, the database and the
    table; a job submitted to a queue with a definition; a model invoked through an inference profile) is granted
    whole or not at all: when the guardrails refused every requirement of one resource type of a state's action,
    the other types' requirements of that action cannot work alone and are dropped, with a finding (added to
    ``decided``, with the code of the state's refusal, read from ``findings`` and ``decided``)."""
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
        code = next((f.code for f in chain(findings, decided)
                     if f.path == path and f.message.lower().startswith(action.lower() + " ")), "BLOCKED_ACTION")
        decided.append(Finding.of(code, f"{action} not granted on {', '.join(sorted({r.resource for r in rest}))}"
                                         f" either: the request also needs its {', '.join(missing)} resource, which was"
                                         " refused, so it cannot succeed and no part of it is granted", path))
    return [r for r in granted if r not in dropped] if dropped else granted


def _sorted(reqs: list[Requirement]) -> tuple[Requirement, ...]:
    """Unique requirements in document order (the walk is deterministic, so no sort is needed)."""
    return tuple(dict.fromkeys(reqs))
