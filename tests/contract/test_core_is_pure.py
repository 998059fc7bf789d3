"""The import rule: the core imports only the standard library and other core modules (docs/adr/0001, design.md).

No boto3/botocore, no Powertools, no logging, no reading of the environment, no clock, and never the adapters
(``sfn_iam.aws``) or the CLI. The service, ports, settings and event parsing are held to the same rule: only
``sfn_iam/aws`` and the entry points may touch AWS or the process.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "sfn_iam" / "sfn_iam"
CORE = ["asl", "sdk", "policy", "guardrails", "findings", "model", "arns", "engine", "evaluate", "wildcards",
        "machine_config"]
FIXER_CORE = ["events", "config", "naming", "scope", "ports", "service", "outcome", "sweep", "report"]
FORBIDDEN_STDLIB = {"logging", "time", "datetime", "subprocess", "socket", "random"}
EDGE = {"aws", "cli"}


def core_files() -> list[Path]:
    files = [PACKAGE / f"{name}.py" for name in CORE + FIXER_CORE]
    files += sorted((PACKAGE / "integrations").glob("*.py"))
    return files


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the package, but never reaches the edge
                first = (node.module or "").split(".")[0]
                names = [first] if first else [a.name for a in node.names]
                problems += [f"line {node.lineno}: imports sfn_iam.{n}" for n in names if n in EDGE]
                continue
            modules = [node.module or ""]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in {"environ", "getenv", "putenv"}:
            problems.append(f"line {node.lineno}: reads the environment (os.{node.attr})")
            continue
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == "sfn_iam":
                if module.split(".")[1:2] and module.split(".")[1] in EDGE:
                    problems.append(f"line {node.lineno}: imports {module}")
            elif top not in sys.stdlib_module_names:
                problems.append(f"line {node.lineno}: imports third-party {module}")
            elif top in FORBIDDEN_STDLIB:
                problems.append(f"line {node.lineno}: imports {module} (no logging, clock or I/O in the core)")
    return problems


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_only_stdlib_and_core(path: Path) -> None:
    assert path.exists(), f"{path} is listed as core but does not exist"
    assert _problems(path) == []


def test_the_scan_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport boto3\nimport logging\nfrom .aws import iam\nx = os.environ['A']\n")
    assert len(_problems(bad)) == 4
