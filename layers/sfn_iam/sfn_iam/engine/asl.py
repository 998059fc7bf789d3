"""Walk an Amazon States Language definition. Pure core: standard library only.

Objects are checked with ``isinstance(x, dict)`` (what ``json.loads`` returns) rather than the slower ABC check:
the walker is the hot path for 1 MB definitions.

The walker visits every state at any depth (``Parallel`` branches, ``Map`` ``Iterator``/``ItemProcessor``,
Distributed Map ``ItemReader``/``ResultWriter``) without following ``Next`` transitions, so loops in the
graph cannot trap it, and it uses an explicit stack, so deep nesting cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Final

from sfn_iam.engine import static
from sfn_iam.findings import Finding

JSONATA: Final = "JSONata"


class DefinitionError(ValueError):
    """The definition is not an ASL document at all (not an object, no ``States``)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)  # the common case, at C speed: a duplicate shows as a shorter dict
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    shown = key if len(key) <= 100 else key[:100] + "..."
    raise DefinitionError(f"the definition repeats the key {shown!r} in one object: JSON parsers disagree on "
                          "which value wins, so the workflow a reader sees may not be the one that runs")


def loads(text: str) -> Any:
    """Parse definition JSON strictly: a duplicate key in any object is a :class:`DefinitionError`.

    ``json.loads`` keeps the last value silently; Step Functions, linters and human readers need not agree, so
    the engine would explain and grant a different state than the one a reviewer read.

    Text is first parsed at C speed (:func:`_parse_unique`), which proves most texts free of duplicates; any other
    text, and any text the parser refuses, goes through the pairs hook, which names the repeated key (or the syntax
    error) exactly as before.
    """
    if isinstance(text, str):
        try:
            found = _parse_unique(text)
        except (ValueError, RecursionError):
            found = _UNPROVEN  # the strict parse below reports the error it always reported
        if found is not _UNPROVEN:
            return found
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except DefinitionError:
        raise
    except (ValueError, RecursionError) as exc:
        raise DefinitionError(f"the definition is not valid JSON: {exc}") from None


_UNPROVEN: Final = object()
_WHITE_SPACE: Final = b" \t\n\r"  # JSON's white space (RFC 8259, section 2)


def _keeping(keep: Callable[[dict[str, Any]], None]) -> Generator[dict[str, Any], dict[str, Any], None]:
    """The parse's object hook, as a generator whose ``send`` keeps each object it is sent and returns it. (A
    generator resumes its one frame for each of the ~16,000 objects of a 1 MB definition, where a hook function
    would make a frame per call: a sixth fewer instructions in the hook.)"""
    obj = yield {}
    while True:
        keep(obj)
        obj = yield obj


def _parse_unique(text: str) -> Any:
    """``json.loads(text)`` when that proves no object repeats a key, else :data:`_UNPROVEN`.

    The proof, by two counts. ``entries``: the keys of every object the parser built (each object keeps one entry
    per distinct key) — at most the number of members written in the text, and equal only when no object repeats a
    key. ``bound``: the occurrences of ``"`` followed by ``:`` once JSON white space is deleted — every member's
    key ends with a quote followed by optional white space and ``:``, each at its own quote, so this is at least
    the number of members (more when a string holds ``":``, such as embedded JSON). So ``entries == bound`` means
    members == entries: no repeated key. A text without an escaped backslash may also leave out of ``bound`` the
    quotes that follow a backslash (escaped, so inside a string). (In UTF-8, the bytes of white space, ``"``,
    ``\\`` and ``:`` never occur inside another character's encoding, and ``surrogatepass`` keeps every ``str``
    encodable.) Anything else is unproven, and the caller's strict parse decides exactly."""
    built: list[dict[str, Any]] = []
    keeper = _keeping(built.append)
    next(keeper)
    value = json.loads(text, object_hook=keeper.send)
    entries = sum(map(len, built))
    compact = text.encode("utf-8", "surrogatepass")
    if b"\n" in compact or b"\t" in compact or b"\r" in compact or b" :" in compact:
        # white space may stand between a key's quote and its colon: delete it. (Otherwise there is none to delete
        # there: only spaces, none before a colon. The search for one byte costs little, deleting all of them
        # more than the count; a text as json.dumps writes it takes this shorter way.)
        compact = compact.translate(None, _WHITE_SPACE)
    bound = compact.count(b'":')
    if entries == bound:
        return value
    if "\\\\" not in text:
        # No escaped backslash: a quote after a backslash is an escaped quote, inside a string (embedded JSON such
        # as a JSONata object constructor), never a key's end; and deleting white space puts no backslash before
        # a quote (a backslash followed by white space is not JSON). So those occurrences are not keys either.
        bound -= compact.count(b'\\":')
        if entries == bound:
            return value
    return _UNPROVEN


class Dynamic:
    """Marker for a value that is only known at run time."""

    _instance: Dynamic | None = None

    def __new__(cls) -> Dynamic:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DYNAMIC"

    def __bool__(self) -> bool:
        return True


DYNAMIC: Final[Dynamic] = Dynamic()
_QUERY_SUFFIX_RE = re.compile(r"\?[A-Za-z][A-Za-z0-9_-]*=[^?*]*$")


def is_pattern(value: object) -> bool:
    """A literal string that IAM would read as a pattern (``*`` or ``?``): a value, not a name.

    ``"RepositoryName": "prod/*"`` or a role ARN with ``*`` in its path names no single resource; granting on it
    would hand a second, dynamic state every resource it matches. Such a value is treated exactly like a run-time
    value (:data:`DYNAMIC`). Text that cannot be an IAM name is exempt: URLs (HTTP endpoints have their own checks),
    anything with white space (SQL such as ``SELECT * FROM t``), and a ``?name=value`` query suffix
    (``CopySource: "bucket/key?versionId=..."``).
    """
    if not isinstance(value, str) or ("*" not in value and "?" not in value):
        return False  # the common case, decided before the scan for white space
    if "://" in value or any(c.isspace() for c in value):
        return False
    return "*" in value or "?" in _QUERY_SUFFIX_RE.sub("", value)


def is_expression(value: object) -> bool:
    """A JSONata expression: a string wrapped in ``{% ... %}``."""
    return isinstance(value, str) and value.strip().startswith("{%") and value.strip().endswith("%}")


_FORMAT_RE = re.compile(r"^\s*States\.Format\(\s*'(?P<text>(?:[^'\\]|\\.)*)'")
_JSONATA_LITERAL_RE = re.compile(r"""^\s*\{%\s*(?P<q>['"])(?P<text>(?:(?!(?P=q))[^\\]|\\.)*)(?P=q)\s*(?:&|%\})""")


class Args:
    """The arguments a Task sends: ``Parameters`` (JSONPath) or ``Arguments`` (JSONata).

    ``get`` returns the literal string, :data:`DYNAMIC` when the value is computed at run time
    (a ``.$`` key, an intrinsic, a context path, a variable, or a JSONata expression), or ``None`` when absent.
    """

    __slots__ = ("context", "jsonata", "raw")

    def __init__(self, raw: Any, jsonata: bool, context: static.Known | None = None) -> None:
        self.raw = raw
        self.jsonata = jsonata
        self.context = context  # what is known about the machine before run time besides literals (static.Known)

    @classmethod
    def of_state(cls, state: Mapping[str, Any], jsonata: bool, context: static.Known | None = None) -> Args:
        key = "Arguments" if jsonata else "Parameters"
        if key not in state:
            # Without Parameters/Arguments the state input itself is sent: everything is run-time data.
            return cls(DYNAMIC, jsonata, context)
        return cls(state[key], jsonata, context)

    def literal(self, value: Any) -> Any:
        """A literal as read: a pattern stays :data:`DYNAMIC` unless it is the name pattern of a resource the
        machine's source creates (``static.Known.vouches``)."""
        if is_pattern(value) and not (self.context is not None and self.context.vouches(value)):
            return DYNAMIC
        return value

    def known(self, text: Any) -> Any:
        """A computed value (``.$`` value or JSONata expression) when it is known before run time
        (:func:`static.evaluate`: literals only, the machine's own fixed context fields), else :data:`DYNAMIC`. A
        value that IAM would read as a pattern stays :data:`DYNAMIC`, as a literal one does."""
        if not isinstance(text, str):
            return DYNAMIC
        value = static.evaluate(text, self.jsonata, self.context.fields if self.context is not None else None)
        return DYNAMIC if value is static.UNKNOWN else self.literal(value)

    @property
    def dynamic(self) -> bool:
        """The whole argument object is computed at run time."""
        return self.raw is DYNAMIC or (self.jsonata and is_expression(self.raw))

    @property
    def is_object(self) -> bool:
        return isinstance(self.raw, dict)

    def value(self, key: str) -> Any:
        """The raw value of ``key``: a JSON value, :data:`DYNAMIC`, or ``None`` when absent."""
        if self.dynamic:
            return DYNAMIC
        if not isinstance(self.raw, dict):
            return None
        if not self.jsonata and f"{key}.$" in self.raw:
            return self.known(self.raw[f"{key}.$"])
        if key not in self.raw:
            return None
        found = self.raw[key]
        if self.jsonata and is_expression(found):
            return self.known(found)
        return self.literal(found)

    def get(self, key: str) -> str | Dynamic | None:
        """A string parameter: the literal, :data:`DYNAMIC`, or ``None`` (absent or not a string)."""
        found = self.value(key)
        if isinstance(found, Dynamic | str):
            return found
        if isinstance(found, bool) or found is None:
            return None
        if isinstance(found, int | float):
            return str(found)
        return None

    def literal_prefix(self, key: str) -> str | None:
        """The literal text a run-time string value of ``key`` starts with, when the definition shows it:
        ``States.Format('/@connections/{}', ...)`` (JSONPath) or ``{% '/@connections/' & $id %}`` (JSONata).
        The literal itself for a literal; ``None`` when nothing is known."""
        found = self.get(key)
        if isinstance(found, str) or found is None:
            return found
        if not isinstance(self.raw, dict):
            return None
        raw = self.raw.get(key) if self.jsonata else self.raw.get(f"{key}.$")
        if not isinstance(raw, str):
            return None
        m = _FORMAT_RE.match(raw) if not self.jsonata else _JSONATA_LITERAL_RE.match(raw)
        if not m:
            return None
        text = m.group("text")
        return text.split("{}", 1)[0] if not self.jsonata else text

    def has(self, key: str) -> bool:
        return self.value(key) is not None

    def sub(self, key: str) -> Args:
        """The nested object under ``key`` (absent → an empty object)."""
        found = self.value(key)
        if found is DYNAMIC:
            return Args(DYNAMIC, self.jsonata, self.context)
        return Args(found if isinstance(found, dict) else {}, self.jsonata, self.context)

    def items(self, key: str) -> list[Args] | Dynamic | None:
        """The elements of an array parameter, each as :class:`Args`."""
        found = self.value(key)
        if isinstance(found, Dynamic):
            return found
        if not isinstance(found, list):
            return None
        return [Args(self.known(x) if self.jsonata and is_expression(x) else self.literal(x), self.jsonata,
                     self.context) for x in found]

    def keys(self) -> list[str]:
        if not isinstance(self.raw, dict):
            return []
        strip = not self.jsonata
        return sorted({k[:-2] if (strip and k.endswith(".$")) else k for k in self.raw if isinstance(k, str)})


class Node:
    """A place in the definition that may need permissions.

    ``kind`` is ``task`` (a Task state), ``item_reader`` / ``result_writer`` (a Distributed Map's S3 I/O, with the
    reader or writer object as ``state``), or ``distributed_map`` (the Map state that starts child executions).
    """

    __slots__ = ("jsonata", "kind", "path", "state")

    def __init__(self, kind: str, path: str, state: Mapping[str, Any], jsonata: bool) -> None:
        self.kind = kind
        self.path = path
        self.state = state
        self.jsonata = jsonata

    def __repr__(self) -> str:
        return f"Node({self.kind!r}, {self.path!r}, jsonata={self.jsonata})"

    @property
    def args(self) -> Args:
        return Args.of_state(self.state, self.jsonata)

    def args_in(self, known: static.Known) -> Args:
        """:attr:`args` with what is known about the machine's values before run time."""
        return Args.of_state(self.state, self.jsonata, known)


def _language(container: Mapping[str, Any], inherited: str) -> str:
    value = container.get("QueryLanguage")
    return value if isinstance(value, str) else inherited


def load_states(definition: Any) -> Mapping[str, Any]:
    """Check the top of a definition and return its ``States`` object."""
    if not isinstance(definition, Mapping):
        raise DefinitionError(f"a state machine definition must be a JSON object, not {type(definition).__name__}")
    states = definition.get("States")
    if not isinstance(states, Mapping):
        raise DefinitionError("the definition has no 'States' object")
    return states


# A node as the walk finds it: kind, path, state, jsonata (the fields of a :class:`Node`, before one is built)
Entry = tuple[str, str, Mapping[str, Any], bool]


def walk(definition: Any) -> tuple[list[Node], list[Finding]]:
    """Every node of ``definition`` that may need permissions, in document order, plus structural findings.

    >>> nodes, _ = walk({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish"}}})
    >>> [n.path for n in nodes]
    ['States.A']
    """
    entries, findings, _ = walk_entries(definition)
    return [Node(*entry) for entry in entries], findings


def walk_entries(definition: Any) -> tuple[list[Entry], list[Finding], bool]:
    """:func:`walk` with each node as an :data:`Entry`: a caller that maps only some of them (the planner maps one
    Task of each repeated kind) builds a :class:`Node` for those only. The third value is true when no Task, Map or
    Parallel state's name holds a dot, which proves every entry's path its own: a path is then read back, dot by dot,
    as the names and places that lead to its state (a Task's path has 3k + 2 parts, a Map's ``ItemReader`` or
    ``ResultWriter`` 3k + 3, a Distributed Map's is that Map's own; names are unique within their ``States``).
    Otherwise two states may share a path (``"A.Branches[0].States.B"`` at the top and ``B`` in ``A``'s first
    branch), and a caller that tells states apart by path checks."""
    states = load_states(definition)
    nodes: list[Entry] = []
    findings: list[Finding] = []
    undotted = True
    top_language = _language(definition, "JSONPath")
    stack: list[tuple[str, Mapping[str, Any], str]] = [("States", states, top_language)]
    add = nodes.append
    while stack:
        prefix, machine_states, language = stack.pop()
        pending: list[tuple[str, Mapping[str, Any], str]] = []
        jsonata = language == JSONATA
        dot = prefix + "."  # a state's path is dot + name: one concatenation per state, not a formatted string
        for name, state in machine_states.items():
            if not isinstance(state, dict):
                findings.append(Finding.of("DEFINITION_ERROR", f"state {name!r} is not an object", f"{prefix}.{name}"))
                continue
            kind = state.get("Type")
            if kind == "Task":  # the common case, without the generator below
                if "QueryLanguage" not in state:  # the common case again: the language of the machine
                    add(("task", dot + name, state, jsonata))
                else:
                    own = state["QueryLanguage"]
                    add(("task", dot + name, state, own == JSONATA if isinstance(own, str) else jsonata))
                if "." in name:
                    undotted = False
            elif kind == "Parallel" or kind == "Map":  # only these hold states or need permissions of their own
                if not isinstance(name, str) or "." in name:
                    undotted = False
                own = state.get("QueryLanguage")
                lang = own if isinstance(own, str) else language
                pending.extend(_visit(f"{prefix}.{name}", state, lang == JSONATA, lang, nodes, findings))
            # any other state (Pass, Choice, Wait, ...) needs nothing: no path is built for it
        stack.extend(reversed(pending))
    return nodes, findings, undotted


def _visit(
    path: str, state: Mapping[str, Any], jsonata: bool, lang: str, nodes: list[Entry], findings: list[Finding]
) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """Record the nodes of a Parallel or Map state; yield the sub-machines it contains (Tasks are recorded by
    :func:`walk_entries` itself)."""
    kind = state.get("Type")
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list):
            findings.append(Finding.of("DEFINITION_ERROR", "Parallel state without a Branches array", path))
            return
        for i, branch in enumerate(branches):
            yield from _sub_machine(f"{path}.Branches[{i}]", branch, lang, findings)
    elif kind == "Map":
        processor_key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        processor = state.get(processor_key)
        config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
        if isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED":
            nodes.append(("distributed_map", path, state, jsonata))
        for key, node_kind in (("ItemReader", "item_reader"), ("ResultWriter", "result_writer")):
            part = state.get(key)
            if isinstance(part, dict):
                nodes.append((node_kind, f"{path}.{key}", part, jsonata))
            elif part is not None:
                findings.append(Finding.of("DEFINITION_ERROR", f"{key} is not an object", f"{path}.{key}"))
        if processor is None:
            findings.append(Finding.of("DEFINITION_ERROR", "Map state without ItemProcessor or Iterator", path))
            return
        yield from _sub_machine(f"{path}.{processor_key}", processor, lang, findings)


def _sub_machine(
    path: str, machine: Any, lang: str, findings: list[Finding]
) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), Mapping):
        findings.append(Finding.of("DEFINITION_ERROR", "nested state machine without a States object", path))
        return
    yield (f"{path}.States", machine["States"], _language(machine, lang))


def credentials_role(state: Mapping[str, Any], jsonata: bool) -> str | Dynamic | None:
    """The role a Task's ``Credentials.RoleArn`` names (literal or :data:`DYNAMIC`), ``None`` when it names none.

    The one reading of ``Credentials`` that the integrations (what to assume) and the guardrails (which roles
    ``sts:AssumeRole`` may get) share.
    """
    credentials = state.get("Credentials")
    if credentials is None:
        return None  # the common case, decided before the (slower) Mapping check
    return Args(credentials, jsonata).get("RoleArn") if isinstance(credentials, Mapping) else None
