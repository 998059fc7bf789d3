"""Where a finding is in the files: the line of a state (``States.A.Branches[0].States.B``) or of a declaring
statement (``PipelineRole.Policies[0].Statement[1]``, ``Policies[1] (DynamoDBCrudPolicy).Statement[0]``), so code
scanning annotates that line rather than the state machine's first one.

The files are read again as text and searched key by key from the state machine's line (YAML and JSON keys look
alike: ``Name:``, ``"Name":``). Good enough for an annotation; ``None`` when a key is not found (the caller then uses
the state machine's line). A definition inside a string (``DefinitionString``) has no lines of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from sfn_iam.lazyre import compiled

_STATE_RE = compiled(globals(), "_STATE_RE", r"States\.(.+?)(?=\.Branches\[\d+\]|\.ItemProcessor|\.Iterator|$)")
_INDEX_RE = compiled(globals(), "_INDEX_RE", r"^(.*?)\[(\d+)\]$")


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return tuple(handle.read().splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _key(lines: tuple[str, ...], name: str, start: int) -> int | None:
    pattern = re.compile(rf"^\s*(?:-\s+)?[\"']?{re.escape(name)}[\"']?\s*:")
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number
    return None


def _nth(lines: tuple[str, ...], name: str, start: int, n: int) -> int | None:
    at: int | None = start - 1
    for _ in range(n + 1):
        at = _key(lines, name, (at if at is not None else start) + 1)
        if at is None:
            return None
    return at


def _state_names(path: str) -> list[str] | None:
    names: list[str] = []
    rest = path
    while rest.startswith("States."):
        match = _STATE_RE.match(rest)
        if match is None:
            return None
        names.append(match.group(1))
        rest = rest[match.end():].lstrip(".")
        rest = re.sub(r"^(?:Branches\[\d+\]|ItemProcessor|Iterator)\.?", "", rest)
    return names if names and not rest else None


def finder(template: str, machine_line: int, definition_file: str | None = None
           ) -> Callable[[str], tuple[str, int] | None]:
    """A function from a finding's path to (file, line), for the state machine declared at ``machine_line``."""

    def find(path: str) -> tuple[str, int] | None:
        names = _state_names(path)
        if names is not None:
            source, start = (definition_file, 0) if definition_file else (template, max(machine_line - 1, 0))
            lines = _lines(source)
            at: int | None = start
            for name in names:
                at = _key(lines, name, at if at is not None else start)
                if at is None:
                    return None
            return (source, at + 1) if at is not None else None
        # a declaring statement: RoleId.Policies[0].Statement[1] or Policies[1] (Template).Statement[0]
        lines = _lines(template)
        parts = re.sub(r" \([^)]*\)", "", path).split(".")
        at = max(machine_line - 1, 0)
        if parts and not _INDEX_RE.match(parts[0]) and parts[0] != "Policies":
            found = _key(lines, parts[0], 0)  # a resource of the template: its logical id, anywhere
            if found is None:
                return None
            at, parts = found, parts[1:]
        for part in parts:
            indexed = _INDEX_RE.match(part)
            name, n = (indexed.group(1), int(indexed.group(2))) if indexed else (part, 0)
            if name == "Statement":
                found = _nth(lines, "Effect", at, n)  # each statement has one Effect
            elif name in ("Policies", "ManagedPolicyArns"):
                found = _key(lines, name, at)
            else:
                found = _key(lines, name, at)
            if found is None:
                return (template, at + 1)
            at = found
        return (template, at + 1)

    return find
