"""From a state machine to its least-privilege policy: the pure top of the core.

``plan(state_machine)`` walks the definition, maps every node to requirements, adds the role-level needs of
logging, tracing and encryption, applies the guardrails and builds the policy documents.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Collection, Mapping
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

# The requirements of a plan as the planner keeps them (:func:`_expand`): per state, in document order, either that
# state's own requirements (path ``None``) or those of the distinct Task it repeats, to be given under its own path.
_Entries = list[tuple[str | None, list[Requirement]]]
# how a plan's requirements or grants are listed when first read: the entries, which of their requirements are kept
# (ids; None: all), the requirements after them, and whether repeats are dropped
_Pending = tuple[_Entries, set[int] | None, list[Requirement], bool]


class Plan:
    """Everything the engine decided about one state machine.

    ``requirements`` (what the definition asks for, document order, before the guardrails) and ``granted`` (what
    the guardrails let through) list one requirement per state and need: a definition repeating one Task in
    thousands of states has thousands of them, all copies of the distinct Task's under another path. The planner
    decides each distinct Task once and lists those copies only when one of the two is first read
    (:func:`_expand`); documents, findings, questions and the proposal never need them."""

    __slots__ = ("_granted", "_pending", "_requirements", "context", "documents", "findings", "proposal",
                 "questions")

    def __init__(self, context: Context, requirements: tuple[Requirement, ...], granted: tuple[Requirement, ...],
                 findings: tuple[Finding, ...], documents: tuple[dict[str, Any], ...],
                 questions: tuple[facts.Question, ...] = (), proposal: dict[str, Any] | None = None) -> None:
        _set = object.__setattr__  # a plan is not changed once made (the fixer writes, re-checks, reports one plan)
        _set(self, "context", context)
        _set(self, "_requirements", requirements)
        _set(self, "_granted", granted)
        _set(self, "findings", findings)
        _set(self, "documents", documents)  # empty when nothing is needed
        _set(self, "questions", questions)  # what the account could tell and was not asked (engine.facts)
        _set(self, "proposal", proposal)  # the ceiling statements that would approve what it left out
        _set(self, "_pending", None)

    context: Context
    _requirements: tuple[Requirement, ...] | None
    _granted: tuple[Requirement, ...] | None
    findings: tuple[Finding, ...]
    documents: tuple[dict[str, Any], ...]
    questions: tuple[facts.Question, ...]
    proposal: dict[str, Any] | None
    _pending: tuple[_Pending, _Pending] | None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Plan is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Plan is immutable")

    @classmethod
    def _listed_later(cls, context: Context, requirements: _Pending, granted: _Pending, findings: tuple[Finding, ...],
                      documents: tuple[dict[str, Any], ...], questions: tuple[facts.Question, ...],
                      proposal: dict[str, Any] | None) -> Plan:
        made = cls(context, (), (), findings, documents, questions, proposal)
        object.__setattr__(made, "_requirements", None)
        object.__setattr__(made, "_granted", None)
        object.__setattr__(made, "_pending", (requirements, granted))
        return made

    def _listing(self, name: str, which: int) -> tuple[Requirement, ...]:
        """``requirements`` (``_requirements``, the first of ``_pending``) or ``granted`` (``_granted``, the second),
        listed on first read and kept."""
        found: tuple[Requirement, ...] | None = getattr(self, name)
        if found is None:
            assert self._pending is not None
            found = _listed(*self._pending[which])
            object.__setattr__(self, name, found)
        return found

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._listing("_requirements", 0)

    @property
    def granted(self) -> tuple[Requirement, ...]:
        return self._listing("_granted", 1)

    @property
    def statements(self) -> list[dict[str, Any]]:
        return [s for d in self.documents for s in d["Statement"]]

    def __repr__(self) -> str:
        return (f"Plan(context={self.context!r}, requirements={self.requirements!r}, granted={self.granted!r}, "
                f"findings={self.findings!r}, documents={self.documents!r}, questions={self.questions!r}, "
                f"proposal={self.proposal!r})")


def _expand(entries: _Entries, keep: set[int] | None) -> list[Requirement]:
    """The requirements of ``entries`` in document order, each repeating state's under its own path; only those
    whose (distinct) requirement's id is in ``keep`` unless it is ``None``."""
    out: list[Requirement] = []
    for path, reqs in entries:
        if keep is not None:
            reqs = [r for r in reqs if id(r) in keep]
        if path is None:
            out.extend(reqs)
        else:
            out.extend([Requirement(r.action, r.resource, r.conditions, path) for r in reqs])
    return out


def _listed(entries: _Entries, keep: set[int] | None, tail: list[Requirement], once: bool) -> tuple[Requirement, ...]:
    full = _expand(entries, keep)
    full.extend(tail)
    return tuple(full) if once else _sorted(full)


def context_for(state_machine_arn: str) -> Context:
    """Partition, region, account and name from a state machine ARN (a qualifier is dropped)."""
    parsed = arns.parse_state_machine_arn(state_machine_arn)
    return Context(parsed.partition, parsed.region, parsed.account, parsed.name)


def parse_definition(definition: Mapping[str, Any] | str) -> Mapping[str, Any]:
    # Text is parsed strictly: a duplicate key is a DefinitionError (the engine must see what a reader sees).
    loaded = asl.loads(definition) if isinstance(definition, str) else definition
    asl.load_states(loaded)
    return loaded


class _Derived:
    """What the states of one definition need. ``work``: each distinct Task's requirements once (the first Task
    with its key stands for the others: :meth:`aliases` maps its path to theirs), and every other requirement, in
    document order; ``entries`` lists them per state (:data:`_Entries`); ``findings`` in full (one entry per state).
    When nothing was repeated, or when the paths do not say which state a requirement belongs to, ``work`` holds
    every state's requirements (repeats given under their own path), ``entries`` is ``[(None, work)]`` and
    ``groups`` is empty."""

    __slots__ = ("entries", "findings", "groups", "roles", "work")

    def __init__(self, work: list[Requirement], entries: _Entries, findings: list[Finding], roles: frozenset[str],
                 groups: Collection[_Group] = ()) -> None:
        self.work = work
        self.entries = entries
        self.findings = findings
        self.roles = roles
        self.groups = groups

    def aliases(self) -> dict[str, list[str]]:
        """The path of each distinct Task that others repeat, and theirs (a repeat's entry holds its own path).
        Listed only when the plan has something to tell them (:func:`plan`)."""
        entries = self.entries
        # (a repeat's entry always holds its path: only a distinct Task's entry has None)
        return {g.node.path: [entries[i][0] for i in g.members] for g in self.groups if g.members}  # type: ignore[misc]


def _derive(definition: Mapping[str, Any] | str, ctx: Context, known: facts.Facts, questions: list[facts.Question],
            patterns: frozenset[str] = frozenset(), *, fold: bool = True) -> _Derived:
    """Every requirement the definition's states need, the findings of the walk, and the roles Tasks name
    literally in ``Credentials`` (for the sts:AssumeRole guard). Questions asked are appended to ``questions``.

    A definition repeats its Tasks (the same call in many branches): each distinct Task is mapped once and its
    requirements and findings are given again, under its own path, to every Task that repeats it (its questions
    were asked once: the plan reads them as a set). With
    ``fold`` (no other definition shares the plan's paths) the rest of the plan decides each distinct Task once
    too (:func:`plan`), and the repeats' requirements are listed only when read (:class:`Plan`).

    One pass over the walk groups the Tasks by key and lists every state in ``entries`` (a repeat with the list of
    the Task it repeats, filled when that Task is mapped); then only the distinct nodes are mapped, in document
    order. A Task whose outcome names another path than its own cannot be given to another: its repeats are mapped
    each on its own, and the plan is then decided state by state."""
    found, findings, distinct_paths = asl.walk_entries(parse_definition(definition))
    dump: Callable[[Any], object] = marshal.dumps if isinstance(definition, str) else _encoded  # text: JSON types
    groups: dict[_TaskKey, _Group] = {}
    group_of = groups.get
    entries: _Entries = []  # per state (the index of ``found``); a repeat's list is its group's, filled below
    add = entries.append
    mapped: list[tuple[asl.Node, list[Requirement], _Group | None]] = []  # the distinct nodes, in document order
    for i, (kind, path, state, jsonata) in enumerate(found):
        key = None  # a Task's key (_TaskKey)
        if kind == "task" and isinstance(resource := state.get("Resource"), str) and _ENCODER is not None:
            args = state.get("Arguments" if jsonata else "Parameters", _ABSENT)
            credentials = state.get("Credentials", _ABSENT)
            try:
                key = (jsonata, resource, None if args is _ABSENT else dump(args),
                       None if credentials is _ABSENT else dump(credentials))
            except (TypeError, ValueError, RecursionError):
                key = None
        if key is not None:
            group = group_of(key)
            if group is not None:
                group.members.append(i)
                add((path, group.reqs))
                continue
        node = asl.Node(kind, path, state, jsonata)
        reqs: list[Requirement] = []
        mapped.append((node, reqs, None if key is None else groups.setdefault(key, _Group(node, reqs))))
        add((None, reqs))
    distinct = [node for node, _, _ in mapped]
    created = created_tags(distinct)  # both read only what the key holds: the first of each key stands for all
    roles = guardrails.credential_roles(distinct)
    work: list[Requirement] = []
    own = True  # every output carries the path of the state that made it
    repeated = False
    for node, reqs, group in mapped:
        f0 = len(findings)
        requirements_for(node, ctx, reqs, findings, known, questions, created, patterns)
        work.extend(reqs)
        path = node.path
        mine = all(r.path == path for r in reqs) and all(f.path == path for f in findings[f0:])
        if group is None or not group.members:
            own = own and mine
            continue
        if mine:  # every requirement and finding of this Task carries its own path: its repeats can be given them
            repeated = True
            told = findings[f0:]
            if told:  # each repeat is told what the Task it repeats was told, under its own path
                for i in group.members:
                    at = found[i][1]
                    findings.extend([Finding(f.code, f.severity, f.message, at) for f in told])
            continue
        own = False  # only what carries this Task's path and nothing else of it can be given to another Task
        for i in group.members:  # mapped anew, each under its own path
            alone: list[Requirement] = []
            requirements_for(asl.Node(*found[i]), ctx, alone, findings, known, questions, created, patterns)
            entries[i] = (None, alone)
    if not repeated and own:
        return _Derived(work, [(None, work)], findings, roles)
    if fold and own and (distinct_paths or len(found) == len({entry[1] for entry in found})):
        return _Derived(work, entries, findings, roles, groups.values())
    full = _expand(entries, None)  # decided state by state: every repeat is a requirement of its own
    return _Derived(full, [(None, full)], findings, roles)


class _Group:
    """The Tasks of one key: the first (``node``, mapped through the integrations), the list its requirements are
    mapped into, and the places in the plan's entries of the others (``members``, document order)."""

    __slots__ = ("members", "node", "reqs")

    def __init__(self, node: asl.Node, reqs: list[Requirement]) -> None:
        self.node = node
        self.reqs = reqs
        self.members: list[int] = []


# A Task's key: what its requirements depend on besides the machine (its context, facts and created resources): its
# language, ``Resource``, arguments and ``Credentials``, as exact text (JSON keeps ``1``, ``1.0`` and ``true`` apart;
# ``None`` when absent). A Task without a text ``Resource`` or with values that are not JSON has none: it is always
# mapped on its own. (A number used as a key, possible in a YAML template only, reads as its text: no integration
# reads a parameter named by digits, ``true`` or ``null``.) The values are written exactly by :func:`_encoded` (the
# JSON encoder), or, for a definition the engine parsed from text, whose values are only JSON's (dict with str keys,
# list, str, int, float, bool, None), by :func:`marshal.dumps`, which writes each of those types under its own code
# and their content exactly (floats as their 8 bytes), so equal bytes mean equal values of equal types, at half the
# encoder's cost. (Its bytes also depend on which strings are shared objects: equal arguments may then get two
# keys, and are mapped twice, never wrongly.) :func:`_derive` computes it in its loop (a function call per Task
# cost more than the rest of the key but the values' writing).
_TaskKey = tuple[bool, str, object, object]
_ABSENT = object()


def _not_json(value: object) -> str:
    raise TypeError(f"{type(value).__name__} is not JSON")


# json's C encoder itself (json.dumps builds one per call, which costs more than encoding a small object does). A
# Python without it maps every Task on its own.
_ENCODER = (c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", False, False, True)
            if c_make_encoder is not None else None)


def _encoded(value: object) -> str:
    return "".join(_ENCODER(value, 0))  # type: ignore[misc]


@cache
def _default_guard() -> guardrails.GuardPolicy:
    """The guardrails of a plan given none (the CLI, a test): one policy for the process, so what it remembers of
    the deny-list (:meth:`GuardPolicy.denied`, ~200 entries tried per action) serves every plan."""
    return guardrails.GuardPolicy()


def plan(sm: StateMachine, guard: guardrails.GuardPolicy | None = None, limit: int = policy.INLINE_LIMIT,
         known: facts.Facts = facts.NO_FACTS) -> Plan:
    """The policy for ``sm`` given what the account told (``known``; nothing offline). Raises
    :class:`asl.DefinitionError` or :class:`arns.ArnError` on unusable input.

    A Task that repeats another (same key, :data:`_TaskKey`) is decided once: validity, the guardrails and the
    whole-request check run on the plan's distinct Tasks (``work``, whose outcome for a state depends only on that
    state's own requirements and on what the plan holds as a whole: the roles, the tags it creates), and each
    repeating Task gets the outcome of the one it repeats under its own path."""
    ctx = context_for(sm.arn)
    asked: list[facts.Question] = []
    patterns = frozenset(sm.patterns)
    main = _derive(sm.definition, ctx, known, asked, patterns, fold=not sm.versions)
    work, entries, findings, credential_roles = main.work, main.entries, main.findings, main.roles
    config_reqs, config_findings = requirements_for_config(ctx, sm.logging, sm.tracing, sm.encryption)
    if config_reqs:
        if len(entries) > 1:
            entries.append((None, config_reqs))
        work.extend(config_reqs)  # (entries is [(None, work)] otherwise)
    findings.extend(config_findings)
    for version in sm.versions:  # routed versions under the same role: the policy is the union (model.StateMachine)
        v = _derive(version.definition, ctx, known, asked, patterns, fold=False)
        v_config, v_config_findings = requirements_for_config(ctx, version.logging, version.tracing,
                                                              version.encryption)
        work.extend(v.work + v_config)  # main is not folded (fold=False above): its entries are [(None, work)]
        findings.extend(v.findings + v_config_findings)
        credential_roles |= v.roles
    decided: list[Finding] = []  # what validity, the guardrails and the whole-request check say of ``work``
    valid = valid_only(work, decided)
    valid_ids = None if len(valid) == len(work) else {id(r) for r in valid}  # an invalid value is no requirement
    work = valid  # a new list (valid_only): the key requirements added to it below stay out of ``entries``
    guard = guard or _default_guard()
    granted, blocked = guardrails.apply(work, guard, credential_roles=credential_roles, account=ctx.account,
                                        patterns=sm.patterns)
    decided.extend(blocked)
    granted = _whole(work, granted, findings, decided)
    findings.extend(decided)
    if decided and main.groups:
        aliases = main.aliases()
        for finding in decided:  # each repeating Task reports what the one it repeats was told, under its own path
            for path in aliases.get(finding.path, ()):
                findings.append(Finding(finding.code, finding.severity, finding.message, path))
    # granted in document order, every repeating Task with the grants of the one it repeats
    granted_ids = valid_ids if len(work) == len(granted) else {id(r) for r in granted}
    # The keys of what is granted (not of what was refused): asked of the account, added when it answered, and
    # held to the same guardrails as everything else.
    asked.extend(facts.key_questions(granted, patterns))
    keyed = facts.key_requirements(_expand(entries, granted_ids) if known else (), known, patterns)
    more: list[Requirement] = []
    if keyed:
        work.extend(keyed)
        more, refused = guardrails.apply(keyed, guard, credential_roles=credential_roles, account=ctx.account,
                                         patterns=sm.patterns)
        granted.extend(more)
        findings.extend(refused)
    documents: list[dict[str, Any]] = []
    if granted:
        documents, size_findings = policy.documents(granted, limit)
        findings.extend(size_findings)
    elif not work and not any(f.severity >= Severity.MEDIUM for f in findings):
        # only when nothing is needed: never next to an unknown integration, a broken definition or a refused value
        findings.append(Finding.of("NO_PERMISSIONS", "the state machine needs no permissions; no policy is needed"))
    unique = sorted(set(findings), key=lambda f: (f.path, f.code, f.message))
    unanswered = tuple(sorted({q for q in asked if known.get(q) is None}))
    # repeated requirements only within a state, or from the account's keys: ``work`` shows the first kind
    once = not keyed and len(set(work)) == len(work)
    proposal = guardrails.proposal(work, guard, ctx.account)
    return Plan._listed_later(ctx, (entries, valid_ids, keyed, once), (entries, granted_ids, more, once),
                              tuple(unique), tuple(documents), unanswered, proposal)


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
