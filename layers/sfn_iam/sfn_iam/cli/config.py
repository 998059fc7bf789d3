"""The CLI's settings file: ``.sfn-iam.toml``, or ``[tool.sfn-iam]`` in ``pyproject.toml``.

```toml
[tool.sfn-iam]
ceiling = "security/ceiling.json"   # the ceiling (an IAM policy document), relative to this file; absent: the default
fail-on = "high"
region = "eu-west-1"
account = "210987654321"

[[tool.sfn-iam.suppress]]
code = "DYNAMIC_RESOURCE"
path = "States.Notify"          # a state path, matched literally; * matches any text; absent: everywhere
state-machine = "OrdersMachine"  # optional
reason = "the topic is chosen per tenant; reviewed in #123"   # required
```

The settings ``extra-denied-actions``, ``allowed-services`` and ``passable-roles`` of earlier releases are still read,
translated into Deny statements of the ceiling (:func:`sfn_iam.engine.guardrails.ceiling.restricted`), with a note.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from sfn_iam.engine.guardrails import GuardPolicy, ceiling
from sfn_iam.engine.guardrails.roles import bad_role_patterns
from sfn_iam.findings import CODES, Finding, Severity
from sfn_iam.lazyre import compiled

_ACTION = compiled(globals(), "_ACTION", r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
_SERVICE = compiled(globals(), "_SERVICE", r"^[a-z0-9-]+$")
_KEYS = {"ceiling", "extra-denied-actions", "allowed-services", "passable-roles", "fail-on", "suppress", "region",
         "account", "partition"}


class ConfigError(ValueError):
    """A settings file that cannot be used (exit 1)."""


class Suppression(NamedTuple):
    code: str
    reason: str
    path: str | None = None
    state_machine: str | None = None

    def matches(self, finding: Finding, state_machine: str) -> bool:
        if finding.code != self.code:
            return False
        if self.state_machine is not None and self.state_machine != state_machine:
            return False
        return self.path is None or _path_pattern(self.path).fullmatch(finding.path) is not None


@lru_cache(maxsize=256)
def _path_pattern(path: str) -> re.Pattern[str]:
    """A suppression path: literal text (``Policies[0]`` is not a character class, ``?`` is a question mark) in which
    ``*`` matches any text."""
    return re.compile(".*".join(re.escape(part) for part in path.split("*")), re.DOTALL)


class Config(NamedTuple):
    source: str | None = None
    guard: GuardPolicy = GuardPolicy()  # read-only, one shared: the default settings
    fail_on: Severity | str | None = None  # a severity, "none" (never fail on findings), or None: not set
    suppressions: tuple[Suppression, ...] = ()
    region: str | None = None
    account: str | None = None
    partition: str | None = None
    notes: tuple[str, ...] = ()  # what the reader should know: the default ceiling, translated settings

    def with_ceiling(self, path: str) -> Config:
        """This configuration with the ceiling of file ``path`` (``--ceiling``), replacing the one it had."""
        loaded = load_ceiling(path)
        notes = tuple(n for n in self.notes if not n.startswith("using the default ceiling"))
        return self._replace(guard=self.guard._replace(ceiling=loaded), notes=notes)

    def split(self, findings: list[Finding], state_machine: str, used: set[int] | None = None
              ) -> tuple[list[Finding], list[tuple[Finding, str]]]:
        """(kept, suppressed with its reason); the indexes of the rules that matched are added to ``used``."""
        kept, suppressed = [], []
        for f in findings:
            index = next((i for i, s in enumerate(self.suppressions) if s.matches(f, state_machine)), None)
            if index is None:
                kept.append(f)
            else:
                suppressed.append((f, self.suppressions[index].reason))
                if used is not None:
                    used.add(index)
        return kept, suppressed

    def describe(self, index: int) -> str:
        """How the settings file names a suppression: ``suppress[0] (DYNAMIC_RESOURCE at States.Notify)``."""
        rule = self.suppressions[index]
        where = f" at {rule.path}" if rule.path is not None else ""
        machine = f" in {rule.state_machine}" if rule.state_machine is not None else ""
        return f"suppress[{index}] ({rule.code}{where}{machine})"


def find(start: str = ".") -> str | None:
    """``.sfn-iam.toml`` or a ``pyproject.toml`` with ``[tool.sfn-iam]`` in ``start`` or a folder above it."""
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, ".sfn-iam.toml")
        if os.path.isfile(candidate):
            return candidate
        pyproject = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(pyproject):
            import tomllib

            try:
                with open(pyproject, "rb") as handle:
                    if "sfn-iam" in tomllib.load(handle).get("tool", {}):
                        return pyproject
            except (OSError, tomllib.TOMLDecodeError):
                pass
        if os.path.exists(os.path.join(folder, ".git")):
            return None  # the repository root: settings above it belong to someone else
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load(path: str | None) -> Config:
    if path is None:
        return Config(notes=(DEFAULT_NOTE,))
    import tomllib  # only when there is a settings file

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    section: Any = data
    nested = data.get("tool")
    if os.path.basename(path) == "pyproject.toml":
        section = nested.get("sfn-iam", {}) if isinstance(nested, Mapping) else {}
    elif set(data) == {"tool"} and isinstance(nested, Mapping) and set(nested) == {"sfn-iam"}:
        section = nested["sfn-iam"]  # .sfn-iam.toml written like pyproject.toml: [tool.sfn-iam] is accepted too
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [tool.sfn-iam] must be a table")
    return parse(section, path)


def _strings(section: Mapping[str, Any], key: str, path: str) -> list[str] | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def parse(section: Mapping[str, Any], path: str) -> Config:
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {unknown}; known: {sorted(_KEYS)}")
    denied = _strings(section, "extra-denied-actions", path) or []
    bad = [a for a in denied if not _ACTION.match(a)]
    if bad:
        raise ConfigError(f"{path}: extra-denied-actions has entries that are not service:Action patterns: {bad}")
    services = _strings(section, "allowed-services", path)
    bad = [s for s in services or [] if not _SERVICE.match(s.lower())]
    if bad:
        raise ConfigError(f"{path}: allowed-services has entries that are not IAM service prefixes: {bad}")
    passable = _strings(section, "passable-roles", path)
    bad = bad_role_patterns(passable or [])
    if bad:
        raise ConfigError(f"{path}: passable-roles has entries that are not IAM role ARN patterns: {bad}")
    fail_on: Severity | str | None = None
    if "fail-on" in section:
        try:
            fail_on = "none" if str(section["fail-on"]).strip().lower() == "none" else \
                Severity.parse(str(section["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{path}: fail-on: {exc}") from None
    rules = section.get("suppress", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{path}: suppress must be an array of tables ([[tool.sfn-iam.suppress]])")
    suppressions = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{path}: suppress[{i}] must be a table")
        code, reason = rule.get("code"), rule.get("reason")
        if code not in CODES:
            raise ConfigError(f"{path}: suppress[{i}].code {code!r} is not a finding code (docs/findings.md)")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{path}: suppress[{i}] needs a reason")
        extra = sorted(set(rule) - {"code", "reason", "path", "state-machine"})
        if extra:
            raise ConfigError(f"{path}: suppress[{i}] has unknown keys {extra}")
        where, machine = rule.get("path"), rule.get("state-machine")
        if (where is not None and not isinstance(where, str)) or (machine is not None and not isinstance(machine, str)):
            raise ConfigError(f"{path}: suppress[{i}].path and .state-machine must be strings")
        suppressions.append(Suppression(str(code), reason.strip(), where, machine))
    notes: list[str] = []
    chosen = section.get("ceiling")
    if chosen is not None and not isinstance(chosen, str):
        raise ConfigError(f"{path}: ceiling must be the path of an IAM policy document")
    if chosen:
        where = chosen if os.path.isabs(chosen) else os.path.join(os.path.dirname(path), chosen)
        loaded = load_ceiling(where)
    else:
        loaded = ceiling.default()
        notes.append(DEFAULT_NOTE)
    translated = [key for key, value in (("extra-denied-actions", denied), ("allowed-services", services),
                                         ("passable-roles", passable)) if value]
    if translated:
        loaded = ceiling.restricted(loaded, denied_actions=denied, allowed_services=services or (),
                                    passable_roles=passable or ())
        notes.append(f"{', '.join(translated)} translated into Deny statements of the ceiling (these settings are "
                     "replaced by the ceiling: docs/cli.md)")
    context = {}
    for key in ("region", "account", "partition"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string")
        context[key] = value
    return Config(path, GuardPolicy(loaded), fail_on, tuple(suppressions), **context, notes=tuple(notes))


DEFAULT_NOTE = "using the default ceiling (`sfn-iam ceiling` prints it; --ceiling FILE or `ceiling` in the settings " \
    "gives your own)"


def load_ceiling(path: str) -> ceiling.Ceiling:
    """The ceiling in file ``path``: an IAM policy document in JSON (raises :class:`ConfigError`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read the ceiling {path}: {exc.strerror or exc}") from None
    try:
        return ceiling.parse(text, source=path)
    except ceiling.CeilingError as exc:
        raise ConfigError(f"{path}: {exc}") from None
