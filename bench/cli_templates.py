"""100 templates through `sfn-iam policy` in one process: reading YAML, resolving intrinsics and substitutions,
planning. Target: under 2 s. Uses the public templates when present (../shared/templates), else our fixtures,
repeated to 100.

    .venv/bin/python bench/cli_templates.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "sfn_iam"), str(ROOT)]

from sfn_iam.cli import main  # noqa: E402


def templates() -> list[str]:
    shared = ROOT / ".." / "shared" / "templates"
    found = sorted(str(p) for p in shared.rglob("template.y*ml")) if shared.is_dir() else []
    if not found:
        fixtures = ROOT / "tests" / "fixtures" / "templates"
        found = [str(fixtures / "sam" / "template.yaml"), str(fixtures / "cfn" / "template.json"),
                 str(next((fixtures / "cdk.out").glob("*.template.json")))]
    return (found * (100 // len(found) + 1))[:100]


def bench() -> float:
    paths = templates()
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    main(["policy", *paths, "--region", "us-east-1", "--account", "123456789012", "--format", "json"], out=out, err=err)
    elapsed = time.perf_counter() - started
    machines = out.getvalue().count('"stateMachine"')
    print(f"sfn-iam policy over {len(paths)} templates ({machines} state machines) in one process: "
          f"{elapsed:.2f} s (target < 2 s)")
    return elapsed


if __name__ == "__main__":
    bench()
