"""The dependency rule, stated by folder (docs/architecture.md).

Each layer of ``sfn_iam`` imports only the layers below it:

    shared value types (package root)  <  engine/  <  fixing/  <  governance/  <  aws/  <  cli

The root, the engine, the use case and governance are pure: the standard library only, and no logging, clock,
process or environment access (they return findings and take a ``sleep`` port instead). Only ``aws/`` and the
entry points (``cli``, ``functions/*/app.py``) import boto3 or touch the process. There is no import cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "sfn_iam" / "sfn_iam"
ORDER = ["root", "engine", "fixing", "governance", "aws", "cli"]
PURE = {"root", "engine", "fixing", "governance"}
FORBIDDEN_STDLIB = {"logging", "time", "datetime", "subprocess", "socket", "random"}
THIRD_PARTY_AT_EDGE = {"boto3", "botocore"}
# The offline CLI reads YAML templates (PyYAML) and SAM's policy templates (aws-sam-translator's data): dependencies
# of the `sfn-iam` distribution (pyproject.toml), never of the Lambda layer, which does not import the cli package.
THIRD_PARTY_CLI_ONLY = {"yaml", "samtranslator"}


def layer_of(module: str) -> str:
    """The layer of a dotted module under ``sfn_iam`` (``sfn_iam.engine.asl`` -> ``engine``)."""
    parts = module.split(".")
    if parts[0] != "sfn_iam":
        raise ValueError(module)
    if len(parts) == 1:
        return "root"
    return parts[1] if parts[1] in ORDER else "root"


def module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = module_of(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found: list[tuple[int, str]] = []
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # `if TYPE_CHECKING:` imports never run

        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from sfn_iam.engine import asl` imports the submodule sfn_iam.engine.asl
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names
                      if module.startswith("sfn_iam") and _is_module(f"{module}.{a.name}")]
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def problems(path: Path) -> list[str]:
    layer = layer_of(module_of(path))
    out: list[str] = []
    for line, module in imports(path):
        top = module.split(".")[0]
        if top == "sfn_iam":
            target = layer_of(module)
            if ORDER.index(target) > ORDER.index(layer):
                out.append(f"line {line}: {layer} imports {module} ({target} is above {layer})")
        elif layer in PURE:
            if top not in sys.stdlib_module_names:
                out.append(f"line {line}: imports third-party {module}")
            elif top in FORBIDDEN_STDLIB:
                out.append(f"line {line}: imports {module} (no logging, clock or I/O in the pure layers)")
        elif layer == "cli" and top in THIRD_PARTY_CLI_ONLY:
            continue
        elif top not in sys.stdlib_module_names and top not in THIRD_PARTY_AT_EDGE:
            out.append(f"line {line}: imports {module}, which the Lambda layer does not ship")
    if layer in PURE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        out += [f"line {n.lineno}: reads the environment (os.{n.attr})" for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "os"
                and n.attr in {"environ", "getenv", "putenv"}]
    return out


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below(path: Path) -> None:
    assert problems(path) == []


def test_every_layer_has_modules() -> None:
    layers = {layer_of(module_of(p)) for p in package_files()}
    assert layers == set(ORDER)


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in package_files():
        me = module_of(path)
        graph[me] = {m for _, m in imports(path) if m.startswith("sfn_iam") and _is_module(m) and m != me}
    # a package's __init__ running before its submodule is not a cycle: drop edges from a module to its parents
    for me, edges in graph.items():
        edges -= {p for p in edges if me.startswith(p + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_rule_catches_what_it_forbids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "sfn_iam"
    (fake / "engine").mkdir(parents=True)
    (fake / "fixing").mkdir()
    for name in ("engine/__init__.py", "fixing/__init__.py", "fixing/service.py", "model.py"):
        (fake / name).write_text("")
    bad = fake / "engine" / "bad.py"
    bad.write_text("import os\nimport boto3\nimport logging\nfrom sfn_iam.fixing import service\n"
                   "from ..fixing import service as s\nx = os.environ['A']\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert [p.split(":")[0] for p in problems(bad)] == ["line 2", "line 3", "line 4", "line 4", "line 5", "line 5",
                                                        "line 6"]
    ok = fake / "fixing" / "ok.py"
    ok.write_text("from sfn_iam import model\nfrom sfn_iam.engine import bad\nimport json\n")
    assert problems(ok) == []
