"""Module-level regular expressions compiled on first use. Pure core: standard library only.

Compiling a pattern costs 0.1-0.8 ms; the CLI's ``policy`` on a small definition loads some forty modules' patterns
and uses three, so compiling them all at import was a tenth of its start-up. ``NAME = compiled(globals(), "NAME",
r"...")`` binds a stand-in that compiles the pattern when first used and then puts the compiled pattern in its place
under ``NAME``: from then on the module reads the pattern itself, at no cost per use. A stand-in imported by name
into another module keeps answering there (through one more call): keep such patterns compiled at import.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, cast


class _Deferred:
    __slots__ = ("_flags", "_name", "_namespace", "_pattern")

    def __init__(self, namespace: MutableMapping[str, Any], name: str, pattern: str, flags: int) -> None:
        self._namespace = namespace
        self._name = name
        self._pattern = pattern
        self._flags = flags

    def __getattr__(self, attribute: str) -> Any:
        compiled = re.compile(self._pattern, self._flags)
        if self._namespace.get(self._name) is self:
            self._namespace[self._name] = compiled
        return getattr(compiled, attribute)

    def __repr__(self) -> str:
        return f"compiled on first use: re.compile({self._pattern!r}, {self._flags})"


def compiled(namespace: MutableMapping[str, Any], name: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A stand-in for ``re.compile(pattern, flags)`` bound as ``name`` in ``namespace`` (a module's ``globals()``)."""
    return cast("re.Pattern[str]", _Deferred(namespace, name, pattern, flags))
