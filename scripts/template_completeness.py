"""How many state machines of a folder of SAM/CloudFormation projects get a complete policy from the CLI.

A policy is *complete* when no grant is withheld for want of a name the template holds: no refused or unscoped
grant (``WILDCARD_READ``, ``WILDCARD_WRITE``, ``PASSROLE_UNSCOPED``) in a machine whose template references a
resource of the same template that the CLI could not name (an ``UNRESOLVED_REFERENCE`` naming one of the template's
logical IDs).
Also counted: machines with any such unresolved reference (a grant widened to a pattern), and machines with any
withheld grant at all.

Run: PYTHONPATH=layers/sfn_iam .venv/bin/python -m scripts.template_completeness FOLDER [--stack-name NAME] [--list]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Mapping

from sfn_iam import engine
from sfn_iam.cli import sources

try:  # the template's own facts (keys of its queues and topics, roles of its task definitions)
    from sfn_iam.cli import template_facts
except ImportError:  # pragma: no cover - an older checkout, measured as it was
    template_facts = None  # type: ignore[assignment]

WITHHELD = ("WILDCARD_READ", "WILDCARD_WRITE", "PASSROLE_UNSCOPED")


def _template_reference(machine: sources.Machine) -> bool:
    template = machine.template if isinstance(machine.template, Mapping) else {}
    resources = template.get("Resources")
    ids = set(resources) if isinstance(resources, Mapping) else set()
    for finding in machine.findings:
        if finding.code != "UNRESOLVED_REFERENCE":
            continue
        parts = [part.strip().split(".", 1)[0] for part in finding.message.split(": ")[:-1]]
        if any(part in ids for part in parts):
            return True
    return False


def _generated(resource: str, patterns: tuple[str, ...]) -> bool:
    """``resource`` is a pattern only through CloudFormation-generated names (a grant the guardrails refuse as a
    wildcard though it stands for one resource)."""
    rest = resource
    for pattern in sorted(patterns, key=len, reverse=True):
        rest = rest.replace(pattern, "")
    return rest != resource and "*" not in rest and "?" not in rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--stack-name")
    parser.add_argument("--list", action="store_true", help="print each incomplete machine")
    args = parser.parse_args(argv)
    options = sources.Options(region="us-east-1", account="123456789012", stack_name=args.stack_name)
    files = sorted(os.path.join(d, n) for d, _, names in os.walk(args.folder) for n in names
                   if n.lower().endswith((".yaml", ".yml", ".json")) and n != "index.json")
    total = complete = referencing = withheld_any = only_generated = 0
    for path in files:
        try:
            text = sources.read_text(path, io.StringIO())
            data = sources.parse(path, text)
            if sources.kind_of(data) != "template":
                continue
            machines = sources.from_template(path, data, options)
        except Exception:  # a project the CLI cannot read is counted by the CLI's own tests
            continue
        for machine in machines:
            try:
                known = (template_facts.of_template(machine.template, machine.resolver)
                         if template_facts and machine.template is not None and machine.resolver is not None
                         else None)
                plan = engine.plan(machine.state_machine, known=known) if known else engine.plan(machine.state_machine)
            except ValueError:
                continue
            total += 1
            withheld = any(f.code in WITHHELD for f in plan.findings)
            refused = [r for r in plan.requirements if r not in set(plan.granted)]
            patterns = getattr(machine.state_machine, "patterns", ())  # absent before generated names were known
            if withheld and refused and all(_generated(r.resource, patterns) for r in refused):
                only_generated += 1
            referenced = _template_reference(machine)
            withheld_any += withheld
            referencing += referenced
            if withheld and referenced:
                if args.list:
                    print(f"incomplete: {path} {machine.name}", file=sys.stderr)
            else:
                complete += 1
    print(f"machines={total} complete={complete} incomplete={total - complete} "
          f"unresolved_template_reference={referencing} any_withheld={withheld_any} "
          f"withheld_only_on_generated_names={only_generated}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
