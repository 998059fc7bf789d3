"""The second line: the lists of what is known to be dangerous (the deny-list, the IAM reference's access levels,
the sensitive services and actions). Under the ceiling (``ceiling.py``) they refuse what a wildcard of the ceiling
would let through, and they are the source of the explanations. Pure core: standard library and package data."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Final, NamedTuple

from sfn_iam.wildcards import matches


class DenyEntry(NamedTuple):
    action: str
    reason: str
    # When set, the entry applies only to actions of these IAM access levels (an action the reference does not know
    # is refused all the same): ``organizations:*`` refuses writes, not the reads account inventories need.
    levels: frozenset[str] = frozenset()

    def applies(self, action: str) -> bool:
        if not matches(self.action, action, ignore_case=True):
            return False
        return not self.levels or access_level(action) in self.levels or access_level(action) is None


def _data(name: str) -> Any:
    # the file next to this module: importlib.resources (zipfile, tempfile, shutil...) cost the CLI ~25 ms of start-up
    with open(os.path.join(os.path.dirname(__file__), "data", name), encoding="utf-8") as handle:
        return json.load(handle)


def _load_default() -> tuple[DenyEntry, ...]:
    raw: Any = _data("denylist.json")
    listed = tuple(DenyEntry(e["action"], e["reason"], frozenset(e.get("levels", ()))) for e in raw["entries"])
    # Account-wide safety switches, generated from the IAM reference (scripts/generate_access_levels.py).
    switches = tuple(DenyEntry(action, f"account-wide safety switch: {reason}")
                     for action, reason in _data("account_switches.json")["actions"].items())
    return listed + switches


@lru_cache(maxsize=1)
def _access_levels() -> dict[str, str]:
    """``service:action`` (lower case) -> its access level in the IAM Service Authorization Reference."""
    raw: Any = _data("access_levels.json")
    return {f"{service}:{name}".lower(): level
            for service, by_level in raw["levels"].items() for level, names in by_level.items() for name in names}


@lru_cache(maxsize=1)
def known_actions() -> tuple[str, ...]:
    """Every action of the IAM reference, ``service:Name`` as the reference spells it, sorted."""
    raw: Any = _data("access_levels.json")
    return tuple(sorted(f"{service}:{name}" for service, by_level in raw["levels"].items()
                        for names in by_level.values() for name in names))


def access_level(action: str) -> str | None:
    """The IAM reference's access level of ``action`` (``List``, ``Read``, ``Write``, ``Permissions management``,
    ``Tagging``), or ``None`` for an action the reference does not know.

    >>> access_level("ecr:PutRegistryPolicy"), access_level("ecr:DescribeRepositories")
    ('Permissions management', 'Read')
    """
    return _access_levels().get(action.lower())


PERMISSIONS_MANAGEMENT: Final = "Permissions management"


@lru_cache(maxsize=1)
def _pm_exceptions() -> frozenset[str]:
    """Reviewed Permissions management actions that change no existing resource's access (creating a queue or a
    topic, reading Glue's connection-type catalogue), plus those with a coded exception; see reviewed.json."""
    raw: Any = _data("access_levels.json")
    return frozenset(a.lower() for a in raw["permissions_management_exceptions"])


class Sensitivity(NamedTuple):
    """The classification data of the wildcard rule (``data/sensitive.json``), lower-cased for lookups."""

    services: frozenset[str]
    read_verbs: tuple[str, ...]
    secret_reads: frozenset[str]
    invokes: frozenset[str]
    unscoped: frozenset[str]  # "service:action" of sensitive services with no resource types (only "*" applies)
    actions: frozenset[str] = frozenset()  # sensitive actions of services that are not sensitive as a whole
    # stop/terminate action -> the start actions it cleans up after (run ids generated at run time; see run_stops)
    run_stops: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def load(cls, raw: Any = None) -> Sensitivity:
        """From ``data/sensitive.json`` (``raw``: its content, when already read) and the generated lists."""
        raw = _data("sensitive.json") if raw is None else raw
        generated = _data("secret_reads.json")["actions"]  # scripts/generate_access_levels.py
        return cls(
            services=frozenset(s.lower() for s in raw["sensitive_services"]),
            read_verbs=tuple(raw["read_verbs"]),
            secret_reads=frozenset(a.lower() for a in [*raw["secret_read_actions"], *generated]),
            actions=frozenset(a.lower() for a in raw["sensitive_actions"]),
            invokes=frozenset(a.lower() for a in raw["invoke_actions"]),
            unscoped=frozenset(f"{svc}:{a}" for svc, acts in _data("unscoped_actions.json")["actions"].items()
                               for a in acts),
            run_stops=tuple(sorted((a.lower(), frozenset(s.lower() for s in v["starts"]))
                                   for a, v in raw["run_stops"].items())),
        )

    def starts_of(self, action: str) -> frozenset[str]:
        """The start actions whose run ``action`` stops (empty when it is not a run stop)."""
        lowered = action.lower()
        return next((starts for stop, starts in self.run_stops if stop == lowered), frozenset())


DEFAULT_DENY: tuple[DenyEntry, ...] = _load_default()
_SENSITIVE: Any = _data("sensitive.json")  # read once for both
SENSITIVITY: Final = Sensitivity.load(_SENSITIVE)
_SENSITIVE_ACTIONS: Final = {a.lower(): why for a, why in _SENSITIVE["sensitive_actions"].items()}
