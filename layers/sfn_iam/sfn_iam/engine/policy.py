"""Requirements → deterministic, merged, size-aware IAM policy documents. Pure core: standard library only."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any

from sfn_iam.findings import Finding
from sfn_iam.model import Condition, Requirement
from sfn_iam.wildcards import matches

VERSION = "2012-10-17"
INLINE_LIMIT = 10_240  # all inline policies of one role together, whitespace not counted
MANAGED_LIMIT = 6_144  # one customer-managed policy
SUBSUME_LIMIT = 256  # wildcard resources per action beyond which covered grants are kept rather than searched

Statement = dict[str, Any]
Document = dict[str, Any]


def canonical_action(action: str) -> str:
    """``SERVICE:Action`` with a lower-case prefix and an upper-case first letter (IAM ignores case)."""
    prefix, _, name = action.partition(":")
    return f"{prefix.lower()}:{name[:1].upper()}{name[1:]}"


def size(document: Document | Sequence[Document] | str) -> int:
    """Characters IAM counts for ``document``: its JSON without whitespace."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return sum(map(len, text.split()))  # split() drops what \s matches (str.isspace), without a regex pass


def _string_size(text: str) -> int:
    """:func:`size` of a string: the encoder ``json.dumps`` uses for it (``ensure_ascii=False``), without building
    an encoder per call."""
    return sum(map(len, encode_basestring(text).split()))


# The characters of a document without statements. A document's size is this, plus each statement's size, plus the
# commas between them: :func:`size` counts characters, and the document's JSON is the statements' JSON joined by
# commas inside this frame; so each statement is dumped once, not once per document tried.
_FRAME = len(json.dumps({"Version": VERSION, "Statement": []}, separators=(",", ":")))


def _canonical_conditions(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """The same conditions in one order: grants that differ only in the order of their conditions are one grant
    (two such grants of one pattern covered each other and were both dropped)."""
    return tuple(sorted({Condition(c.operator, c.key, tuple(sorted(set(c.values)))) for c in conditions}))


_GRANT = itemgetter(0, 1, 2)  # a Requirement's (action, resource, conditions): the grant, without the path


def _drop_subsumed(reqs: Iterable[Requirement]) -> list[tuple[str, str, tuple[Condition, ...]]]:
    """Unique (action, resource, conditions), without those another grant of the same action already covers."""
    by_action: dict[str, set[tuple[str, tuple[Condition, ...]]]] = defaultdict(set)
    named: dict[str, str] = {}  # canonical_action of each action seen (a plan has a few actions, many resources)
    # the same grant repeats state after state (the path is not part of it): each distinct one is read once
    for action, resource, conditions in dict.fromkeys(map(_GRANT, reqs)):
        canonical = named.get(action)
        if canonical is None:
            canonical = named[action] = canonical_action(action)
        by_action[canonical].add((resource, _canonical_conditions(conditions) if conditions else conditions))
    kept: list[tuple[str, str, tuple[Condition, ...]]] = []
    for action, grants in by_action.items():
        # A pattern with "?" could match a literal "*" of a narrower pattern without covering it: skip those.
        patterns = [(res, cond, res.split("*", 1)[0]) for res, cond in grants if "*" in res and "?" not in res]
        if not patterns:  # nothing can cover anything: every grant is kept (the common case)
            kept.extend([(action, res, cond) for res, cond in grants])
            continue
        if len(patterns) > SUBSUME_LIMIT:
            # Dropping covered grants only makes the document smaller; with an adversarial number of patterns it
            # would cost grants x patterns regex matches (minutes for a 1 MB definition), so keep them all.
            kept.extend((action, res, cond) for res, cond in grants)
            continue
        for res, cond in grants:
            covered = any(
                (p_res, p_cond) != (res, cond) and res.startswith(prefix) and set(p_cond) <= set(cond)
                and matches(p_res, res)
                # Two patterns that cover each other ("b/*", "b/**") must not both go: the smaller one stays.
                and not (set(cond) <= set(p_cond) and matches(res, p_res) and res < p_res)
                for p_res, p_cond, prefix in patterns
            )
            if not covered:
                kept.append((action, res, cond))
    return kept


def _condition_block(conditions: tuple[Condition, ...]) -> dict[str, dict[str, str | list[str]]]:
    block: dict[str, dict[str, str | list[str]]] = {}
    for c in conditions:
        values = sorted(set(c.values))
        block.setdefault(c.operator, {})[c.key] = values[0] if len(values) == 1 else values
    return block


def _sid(actions: Sequence[str], resources: Sequence[str], conditions: tuple[Condition, ...]) -> str:
    services = []
    for a in actions:
        svc = re.sub(r"[^A-Za-z0-9]", "", a.split(":", 1)[0].title())
        if svc not in services:
            services.append(svc)
    conds = [[c.operator, c.key, *c.values] for c in conditions]
    import hashlib  # here: loading OpenSSL costs a fifth of the bare interpreter's start-up, and a policy with no
    # statement (the CLI's small runs) never needs it

    digest = hashlib.sha256(json.dumps([actions, resources, conds]).encode()).hexdigest()[:8]
    return f"{''.join(services)[:48]}{digest.upper()}"


def statements(reqs: Iterable[Requirement]) -> list[Statement]:
    """Merge requirements into Allow statements: actions sharing resources and conditions go together.

    >>> statements([Requirement("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")])[0]["Action"]
    ['sns:Publish']
    """
    by_resource: dict[tuple[str, tuple[Condition, ...]], set[str]] = defaultdict(set)
    for action, res, cond in _drop_subsumed(reqs):
        by_resource[(res, cond)].add(action)
    by_actions: dict[tuple[tuple[str, ...], tuple[Condition, ...]], set[str]] = defaultdict(set)
    for (res, cond), action_set in by_resource.items():
        by_actions[(tuple(sorted(action_set, key=str.lower)), cond)].add(res)
    out: list[Statement] = []
    for (acts, cond), resources in by_actions.items():
        res_sorted = sorted(resources)
        stmt: Statement = {"Sid": _sid(acts, res_sorted, cond), "Effect": "Allow", "Action": list(acts),
                           "Resource": res_sorted}
        if cond:
            stmt["Condition"] = _condition_block(cond)
        out.append(stmt)
    out.sort(key=lambda s: (s["Action"][0].lower(), s["Resource"][0], json.dumps(s.get("Condition", {}),
                                                                                 sort_keys=True)))
    return out


def document(stmts: Sequence[Statement]) -> Document:
    return {"Version": VERSION, "Statement": list(stmts)}


def _split_statement(stmt: Statement, limit: int) -> list[Statement]:
    """Split one statement's Resource list so each part fits ``limit`` on its own (sizes added up, not re-dumped)."""
    base = size(document([{**stmt, "Sid": stmt["Sid"] + "P999", "Resource": []}]))
    parts: list[Statement] = []
    current: list[str] = []
    used = base
    for res in stmt["Resource"]:
        own = _string_size(res)
        cost = own + (1 if current else 0)
        if current and used + cost > limit:
            parts.append({**stmt, "Resource": current})
            current, used = [], base
            cost = own
        current.append(res)
        used += cost
    parts.append({**stmt, "Resource": current})
    for i, part in enumerate(parts):
        part["Sid"] = f"{stmt['Sid']}P{i}"
    return parts


def documents(reqs: Iterable[Requirement], limit: int = INLINE_LIMIT) -> tuple[list[Document], list[Finding]]:
    """The policy as one document, or as several that each fit ``limit`` with a ``POLICY_SPLIT`` finding.

    Nothing is ever widened to fit: a statement too large on its own is split by resources, and a single
    resource too large for any document is refused with ``POLICY_TOO_LARGE``.
    """
    stmts = statements(reqs)
    sized = [(stmt, size(stmt)) for stmt in stmts]  # each statement dumped once (see _FRAME)
    whole = _FRAME + sum(own for _, own in sized) + len(stmts) - 1 if stmts else _FRAME
    if whole <= limit:
        return [document(stmts)], []
    findings: list[Finding] = []
    pieces: list[tuple[Statement, int]] = []
    for stmt, own in sized:
        if _FRAME + own <= limit:
            pieces.append((stmt, own))
            continue
        for part in _split_statement(stmt, limit):
            own = size(part)
            if _FRAME + own > limit:
                findings.append(Finding.of("POLICY_TOO_LARGE", f"statement {part['Sid']} alone exceeds {limit} "
                                           "characters; it is not granted"))
            else:
                pieces.append((part, own))
    docs: list[list[Statement]] = []
    used = 0
    for stmt, own in pieces:  # first fit, in the deterministic statement order
        cost = own + 1
        if docs and used + cost <= limit:
            docs[-1].append(stmt)
            used += cost
        else:
            docs.append([stmt])
            used = _FRAME + own  # the first statement of a document has no comma before it
    result = [document(d) for d in docs]
    if len(result) > 1:
        findings.append(Finding.of("POLICY_SPLIT", f"the policy needs {len(result)} documents of at most {limit} "
                                   f"characters ({whole} in one)"))
    return result, findings
