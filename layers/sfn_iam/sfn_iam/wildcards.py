"""IAM-style wildcard matching (``*`` and ``?``). Pure core: standard library only."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@lru_cache(maxsize=16384)
def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Does IAM pattern ``pattern`` match ``value``? Resources are case-sensitive; actions are not.

    Remembered: the guardrails ask the same (deny-list entry, action) pairs for every distinct grant of a plan."""
    if pattern == value or pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else False
    return _compile(pattern, ignore_case).match(value) is not None



def _tokens(pattern: str) -> tuple[str, ...]:
    """``*`` runs collapsed: ``a**b`` and ``a*b`` match the same strings."""
    out: list[str] = []
    for ch in pattern:
        if not (ch == "*" and out and out[-1] == "*"):
            out.append(ch)
    return tuple(out)


@lru_cache(maxsize=65536)
def covers(outer: str, inner: str, *, ignore_case: bool = False) -> bool:
    """Does every string ``inner`` matches also match ``outer``? (Both are IAM patterns.)

    Sound: ``True`` only when it holds. ``outer``'s ``*`` takes any run of ``inner``'s characters and wildcards,
    its ``?`` one character or one ``?`` of ``inner`` (never a ``*``, which may stand for none or many).

    >>> covers("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/in/*"), covers("arn:aws:s3:::b?/*", "arn:aws:s3:::b*/x")
    (True, False)
    """
    if ignore_case:
        outer, inner = outer.lower(), inner.lower()
    if outer == "*" or outer == inner:
        return True
    o, i = _tokens(outer), _tokens(inner)
    # reach[j]: outer[:k] can cover inner[:j] (for the current k)
    reach = [True] + [False] * len(i)
    for tok in o:
        nxt = [False] * (len(i) + 1)
        if tok == "*":
            seen = False
            for j in range(len(i) + 1):
                seen = seen or reach[j]
                nxt[j] = seen
        else:
            for j in range(1, len(i) + 1):
                if reach[j - 1] and i[j - 1] != "*" and (tok == "?" or tok == i[j - 1]):
                    nxt[j] = True
        reach = nxt
    return reach[len(i)]


@lru_cache(maxsize=65536)
def overlap(a: str, b: str, *, ignore_case: bool = False) -> bool:
    """Is there a string that both IAM patterns ``a`` and ``b`` match?

    >>> overlap("arn:aws:sqs:*:1:queue-*", "arn:aws:sqs:eu-west-1:1:*"), overlap("a*b", "c*")
    (True, False)
    """
    if ignore_case:
        a, b = a.lower(), b.lower()
    x, y = _tokens(a), _tokens(b)
    # state (i, j): x[:i] and y[:j] can produce the same string
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(x) and j == len(y):
            return True
        if i < len(x) and x[i] == "*":
            todo.append((i + 1, j))  # the star ends here
            if j < len(y):
                todo.append((i, j + 1))  # it takes y's next token (a char, a ?, or a star's part)
        if j < len(y) and y[j] == "*":
            todo.append((i, j + 1))
            if i < len(x):
                todo.append((i + 1, j))
        if i < len(x) and j < len(y) and x[i] != "*" and y[j] != "*" and (
                x[i] == "?" or y[j] == "?" or x[i] == y[j]):
            todo.append((i + 1, j + 1))
    return False
