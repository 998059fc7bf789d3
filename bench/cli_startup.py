"""Start-up of the `sfn-iam` command against the bare interpreter, in paired runs (target: at most 4x).

Each round starts, one after the other, the bare interpreter (``python -c pass``, with site-packages, as the console
script has), ``sfn-iam --version`` and ``sfn-iam policy`` on a one-state definition, each a fresh process with its
bytecode compiled once, as after ``pip install``; the ratio is taken within the round, so a machine busy with other
work slows both sides of a pair alike. Prints the median wall time of each and the median of the per-round ratios.
The commands run in an empty temporary folder, as in a project without settings file (a ``pyproject.toml`` above
would be read for ``[tool.sfn-iam]``).

    .venv/bin/python bench/cli_startup.py            # BENCH_RUNS rounds (default 21)
    BENCH_ROOT=/path/to/other/checkout .venv/bin/python bench/cli_startup.py   # the same for another version
    BENCH_CPU=1 .venv/bin/python bench/cli_startup.py   # CPU time (user + system) instead of wall time: a busy machine
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[1])  # BENCH_ROOT: another checkout
RUNS = int(os.environ.get("BENCH_RUNS", "21"))
CPU = os.environ.get("BENCH_CPU") == "1"  # CPU time instead of wall time (a busy machine)
TARGET = 4.0
ONE_STATE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _sfn_iam() -> list[str]:
    script = Path(sys.executable).with_name("sfn-iam")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from sfn_iam.cli import main; sys.exit(main())"]


def _time(command: list[str], cwd: str, env: dict[str, str]) -> float:
    """Wall time of one run, or with BENCH_CPU=1 its CPU time (user + system of the child): on a machine shared with
    other work, wall time also counts the time the process waited for a CPU, CPU time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if CPU:
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall


def bench(runs: int = RUNS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as cache:
        # bytecode as an installed package has it (pip compiles on install): written once into a cache of its own,
        # also where PYTHONDONTWRITEBYTECODE is set
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "PYTHONPATH": str(ROOT / "layers" / "sfn_iam"), "PYTHONPYCACHEPREFIX": cache}
        definition = Path(folder) / "one.asl.json"
        definition.write_text(json.dumps(ONE_STATE), encoding="utf-8")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "sfn-iam --version": [*_sfn_iam(), "--version"],
            "sfn-iam policy one.asl.json": [*_sfn_iam(), "policy", str(definition), "--region", "eu-west-1",
                                            "--account", "210987654321"],
        }
        for command in commands.values():  # warm the file cache and write bytecode once
            _time(command, folder, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        ratios: dict[str, list[float]] = {name: [] for name in commands if name != "python -c pass"}
        for _ in range(runs):
            bare = _time(commands["python -c pass"], folder, env)
            times["python -c pass"].append(bare)
            for name in ratios:
                elapsed = _time(commands[name], folder, env)
                times[name].append(elapsed)
                ratios[name].append(elapsed / bare)
    figures = {}
    for name, values in times.items():
        line = f"{name:<30} median {statistics.median(values) * 1000:6.1f} ms"
        if name in ratios:
            ratio = statistics.median(ratios[name])
            figures[name] = ratio
            line += f"   {ratio:4.1f}x the bare interpreter (target <= {TARGET:.0f}x)"
        print(line)
    print(f"{runs} paired rounds of {'CPU' if CPU else 'wall'} time; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f}")
    return figures


if __name__ == "__main__":
    bench()
