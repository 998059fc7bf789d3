"""Where we grant narrower than the peer generator, pin the narrower shape: the neighbouring request is denied.

``test_peer_cases.py`` bounds our policy from above (never wider than the peer) and ignores conditions, so a
regression that widens a grant back to the peer's (a prefix dropped, a Distributed Map label ignored, a condition
lost) passes it silently. Here, for every peer case (``../shared/peer-cases``) and every grant of ours, requests
are generated systematically around it:

* the request *inside* our grant (wildcards filled in, the context our conditions ask for) is allowed;
* *resource neighbours*: the same ARN cut at each ``/`` or ``:`` of its resource part with another name appended,
  or an exact ARN with ``-name``, ``:qualifier`` or ``/path`` added; sent with the context our conditions ask for;
* *condition neighbours*: the inside resource without the condition context, and with another value.

A neighbour the peer's policy allows and ours denies shows that our grant is narrower. Which (case, action) pairs
are narrower, and how (``resource``/``condition``), is recorded in ``peer_narrower.json`` (names only, no data):
a pair that is no longer narrower is a regression; a pair that became narrower is recorded after review with
``python -m tests.engine.test_peer_narrower --write``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_peer_cases import CASES, _plan
from tests.evaluate import is_allowed

RECORD = Path(__file__).with_name("peer_narrower.json")
OTHER = "zz-neighbour"
Ctx = dict[str, str | list[str]]


def concrete(pattern: str) -> str:
    """A request inside ``pattern``: every wildcard filled with a plain name."""
    return pattern.replace("*", "x1").replace("?", "x")


_CTX_OPERATORS = re.compile(r"^(ForAnyValue:|ForAllValues:)?(String|Arn)(Equals|Like)(IgnoreCase)?(IfExists)?$")


def satisfying(condition: Mapping[str, Mapping[str, Any]] | None) -> Ctx | None:
    """A request context meeting every condition of a statement; ``None`` when an operator is not modelled here."""
    ctx: Ctx = {}
    for operator, keys in (condition or {}).items():
        m = _CTX_OPERATORS.match(operator)
        if m is None:
            return None
        for key, values in keys.items():
            value = concrete(values if isinstance(values, str) else values[0])
            ctx[key] = [value] if m.group(1) else value
    return ctx


def other_values(ctx: Ctx) -> Iterator[Ctx]:
    """The context with one key removed, or given another value, at a time."""
    for key in sorted(ctx):
        yield {k: v for k, v in ctx.items() if k != key}
        yield {**ctx, key: [OTHER] if isinstance(ctx[key], list) else OTHER}


def resource_neighbours(resource: str) -> Iterator[str]:
    literal = re.split(r"[*?]", resource, maxsplit=1)[0]
    arn_head = len(":".join(literal.split(":", 5)[:5])) + 1 if literal.startswith("arn:") else 0
    for i in range(len(literal) - 1, arn_head - 1, -1):
        if literal[i] in "/:":
            yield literal[: i + 1] + OTHER
    if literal == resource:  # an exact ARN: a longer name, a qualifier or a path below it
        for sep in "-:/":
            yield resource + sep + OTHER


def _our_grants(documents: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, str, Ctx | None]]:
    for doc in documents:
        for stmt in doc["Statement"]:
            ctx = satisfying(stmt.get("Condition"))
            for action in stmt["Action"]:
                for resource in stmt["Resource"]:
                    yield action, resource, ctx


def narrower(case: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{action: ["condition"?, "resource"?]}``: where a request the peer allows is denied by our policy."""
    peer = [{"Version": "2012-10-17", "Statement": case["peer_output"]["statements"]}]
    ours = list(_plan(dict(case)).documents)
    found: dict[str, set[str]] = {}
    for action, resource, ctx in _our_grants(ours):
        if ctx is None or "*" in action:
            continue
        inside = concrete(resource)
        assert is_allowed(ours, action, inside, ctx), f"{action} on {inside} ({ctx}) is not allowed by our own grant"
        for neighbour in resource_neighbours(resource):
            if is_allowed(peer, action, neighbour, ctx) and not is_allowed(ours, action, neighbour, ctx):
                found.setdefault(action, set()).add("resource")
                break
        for other in other_values(ctx):
            if is_allowed(peer, action, inside, other) and not is_allowed(ours, action, inside, other):
                found.setdefault(action, set()).add("condition")
                break
    return {a: sorted(k) for a, k in sorted(found.items())}


def _record() -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = json.loads(RECORD.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_what_we_grant_narrower_than_the_peer_stays_narrower(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    expected = _record().get(case["name"], {})
    actual = narrower(case)
    lost = {a: sorted(set(k) - set(actual.get(a, []))) for a, k in expected.items() if set(k) - set(actual.get(a, []))}
    assert not lost, f"no longer narrower than the peer (a request the peer allows is now allowed too): {lost}"
    new = {a: k for a, k in actual.items() if set(k) - set(expected.get(a, []))}
    assert not new, (f"newly narrower than the peer: {new}; review, then record with "
                     "`python -m tests.engine.test_peer_narrower --write`")


def test_the_record_names_only_known_cases_and_narrowings() -> None:
    record = _record()
    assert record, "the record of narrower grants is empty"
    assert all(kinds and set(kinds) <= {"condition", "resource"} for actions in record.values()
               for kinds in actions.values())
    if not isinstance(CASES[0], Path):
        pytest.skip("public peer cases absent: the record's case names cannot be checked")
    names = {json.loads(p.read_text(encoding="utf-8"))["name"] for p in CASES}
    assert set(record) <= names, f"recorded cases that do not exist: {sorted(set(record) - names)}"


def _write() -> None:
    if not isinstance(CASES[0], Path):
        sys.exit("the public peer cases are absent: nothing to record")
    out = {}
    for path in CASES:
        case = json.loads(path.read_text(encoding="utf-8"))
        found = narrower(case)
        if found:
            out[case["name"]] = found
    RECORD.write_text(json.dumps(dict(sorted(out.items())), indent=1) + "\n", encoding="utf-8")
    print(f"{RECORD}: {sum(len(v) for v in out.values())} narrower grants in {len(out)} cases")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    _write()
