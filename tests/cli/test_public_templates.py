"""The public templates (SAM and CloudFormation projects as their authors wrote them) against the corpus's
hand-substituted definitions. Skips when the public data is absent."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sfn_iam import engine
from sfn_iam.cli import check, sources
from sfn_iam.model import StateMachine

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TEMPLATES = SHARED / "templates"
CORPUS = SHARED / "corpus"
CONFIG = ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration")
OPTIONS = sources.Options(region="us-east-1", account="123456789012")


def _entries() -> list[dict[str, Any]]:
    index = TEMPLATES / "index.json"
    if not index.exists():
        return []
    return list(json.loads(index.read_text(encoding="utf-8"))["entries"])


ENTRIES = _entries()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="public templates (../shared/templates) are absent")


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _machine(entry: dict[str, Any]) -> sources.Machine | None:
    loaded = sources.load([str(TEMPLATES / entry["template"])], OPTIONS, io.StringIO())
    return next((m for m in loaded.machines if m.name == entry["stateMachine"]), None)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["corpus"])
def test_template_gives_the_grants_of_the_hand_substituted_definition(entry: dict[str, Any]) -> None:
    machine = _machine(entry)
    if machine is None:
        pytest.skip("the template's definition file is not in the public data (left out there)")
    plan = engine.plan(machine.state_machine)
    assert not any("${" in r for s in plan.statements for r in s["Resource"])
    corpus = json.loads((CORPUS / (entry["corpus"].replace("/", "__") + ".json")).read_text(encoding="utf-8"))
    reference = engine.plan(StateMachine(arn=machine.state_machine.arn, definition=corpus["definition"]))
    ours = {(r.action, r.resource) for r in plan.granted if r.path not in CONFIG}
    theirs = {(r.action, r.resource) for r in reference.granted}
    unresolved = [f for f in machine.findings if f.code == "UNRESOLVED_REFERENCE"]
    if not unresolved:  # the template names everything: exactly the same grants
        assert ours == theirs
        return
    # The corpus put logical ids where CloudFormation generates names. Every request it grants is granted by our
    # pattern, or refused by a guardrail / left out with a finding at that state: never silently fewer.
    # Where the template leaves a name out, CloudFormation generates STACK-LogicalId-SUFFIX (a state machine:
    # LogicalId-SUFFIX); the corpus wrote the bare logical ID, which the real resource is never called.
    flagged = {f.path for f in plan.findings if f.severity >= f.severity.MEDIUM}
    ids = [str(i) for i in (machine.template or {}).get("Resources", {})]
    for req in reference.granted:
        candidates = [req.resource, *_generated(req.resource, ids)]
        covered = any(a == req.action and _glob(p).fullmatch(r) for a, p in ours for r in candidates)
        assert covered or req.path in flagged, (req, sorted(flagged))


def _generated(resource: str, ids: list[str]) -> list[str]:
    """``resource`` with a logical ID standing for a name replaced by the names CloudFormation generates for it."""
    out = []
    for logical_id in ids:
        for sep in (":", "/"):
            marker = sep + logical_id
            if resource.endswith(marker) or marker + "/" in resource or marker + ":" in resource:
                for name in (f"stack-{logical_id}-ABCDEF123456", f"{logical_id}-ABCDEF123456",
                             f"stack-{logical_id}-ABCDEF123456".lower()):
                    out.append(resource.replace(marker, sep + name, 1))
    return out


def test_the_public_templates_are_read_and_compared() -> None:
    """A summary the report quotes: how many entries are exact, and what `check` finds on them."""
    exact = found = 0
    codes: dict[str, int] = {}
    for entry in ENTRIES:
        machine = _machine(entry)
        if machine is None:
            continue
        found += 1
        plan = engine.plan(machine.state_machine)
        exact += not any(f.code == "UNRESOLVED_REFERENCE" for f in machine.findings)
        for f in check.compare(machine, plan):
            codes[f.code] = codes.get(f.code, 0) + 1
    # three entries' definition files are not in the public data; one template repeats a top-level key, which the
    # loader refuses (duplicate keys are a parser differential: CloudFormation and cfn-lint reject them too)
    assert found >= len(ENTRIES) - 4
    assert exact >= 15
    assert codes.get("MISSING_GRANT", 0) > 0 and codes.get("EXCESS_GRANT", 0) > 0
