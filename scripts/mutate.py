"""Mutation testing of the core with cosmic-ray (docs/mutation.md): `make mutate`, or directly

    .venv-mutate/bin/python scripts/mutate.py [--python .venv/bin/python] [--module PATH ...] [--min-rate 95]
                                              [--survivors]

For each module in mutation/modules.toml, the tracked tree is copied to .mutate/work/ (the working tree is never
mutated; ../shared is linked beside the copy when present), cosmic-ray generates the mutants, and each one runs
only the tests mapped to its module (fail-fast, Hypothesis derandomized). A surviving mutant is either killed by a
new test or listed with its reason in mutation/equivalents.txt. Prints the kill rate per module and exits non-zero
when a module is under --min-rate (equivalents excluded) or an equivalent entry no longer matches any mutant.

``--survivors`` re-runs only the mutants that survived the module's last session (after new tests were written),
with the current mapped tests, except the reviewed equivalents: the other mutants keep their result. It does so
only while the module's source is the one that session mutated; otherwise (or without a session) the module is
run in full.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mutation" / "modules.toml"
EQUIVALENTS = ROOT / "mutation" / "equivalents.txt"
STATE = ROOT / ".mutate"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Mutant:
    module: str
    operator: str
    occurrence: int
    line: int
    before: str
    after: str
    outcome: str  # killed / survived / incompetent / pending

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.module, self.operator, self.before, self.after)


def load_config() -> tuple[dict[str, list[str]], list[str], float]:
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    modules = {path: list(entry["tests"]) for path, entry in data["modules"].items()}
    return modules, list(data.get("exclude-operators", [])), float(data.get("timeout-factor", 4.0))


def load_equivalents() -> dict[tuple[str, str, str, str], str]:
    """``module :: operator :: before => after :: reason`` per line; ``#`` starts a comment line."""
    out: dict[tuple[str, str, str, str], str] = {}
    for n, raw in enumerate(EQUIVALENTS.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split(" :: ")]
        if len(parts) != 4 or " => " not in parts[2] or not parts[3]:
            sys.exit(f"{EQUIVALENTS}:{n}: expected 'module :: operator :: before => after :: reason'")
        before, after = (s.strip() for s in parts[2].split(" => ", 1))
        out[(parts[0], parts[1], before, after)] = parts[3]
    return out


def copy_tree(work: Path) -> Path:
    """The tracked (and new, not ignored) files of the repository, copied to ``work/<name>``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    repo = work / ROOT.name
    if repo.exists():
        shutil.rmtree(repo)
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            dst = repo / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    shared = ROOT.parent / "shared"
    link = work / "shared"
    if shared.is_dir() and not link.exists():
        link.symlink_to(shared.resolve())
    return repo


def _changed_lines(diff: str) -> tuple[int, str, str]:
    """The first changed line's number and the changed text before and after, lines joined by `` / ``. Blank lines
    are left out: a change on a module's last line also shows the file's trailing empty line, which would end the
    text in `` / `` that no entry of equivalents.txt can hold (entries are stripped)."""
    lines = diff.splitlines()
    before = [t for ln in lines if ln.startswith("-") and not ln.startswith("---") if (t := ln[1:].strip())]
    after = [t for ln in lines if ln.startswith("+") and not ln.startswith("+++") if (t := ln[1:].strip())]
    line = 0
    for ln in diff.splitlines():
        if ln.startswith("@@"):
            line = int(ln.split()[1].split(",")[0].lstrip("-"))
        elif line and ln.startswith("-"):
            break  # the first changed line
        elif line and ln.startswith(" "):
            line += 1
    return line, " / ".join(before), " / ".join(after)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: with ``from __future__ import annotations`` they are never evaluated,
    so a mutant inside one (``str | None`` -> ``str - None``) is equivalent by construction."""
    tree = ast.parse(source)
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in tree.body):
        return []
    nodes: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            nodes += [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg)
                      if x is not None and x.annotation is not None]
            if node.returns is not None:
                nodes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in nodes]


ANNOTATION = "inside an annotation (never evaluated): equivalent"


def skip_annotations(session: Path, spans: list[tuple[tuple[int, int], tuple[int, int]]]) -> None:
    """Mark the mutants inside annotations as done before ``exec``: running their tests would only cost time."""
    # cosmic-ray is installed in .venv-mutate only (this script runs there): imported where it is needed
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session)) as db:
        skipped = [item.job_id for item in db.pending_work_items
                   if any(lo <= tuple(item.mutations[0].start_pos) < hi for lo, hi in spans)]
        if skipped:
            db.set_multiple_results(skipped, WorkResult(output=ANNOTATION, worker_outcome=WorkerOutcome.SKIPPED))


def _reset_survivors(session: Path, module: str, equivalents: dict[tuple[str, str, str, str], str]) -> int:
    """Forget the results of the session's surviving mutants that are not reviewed equivalents (those run again:
    no test can kill an equivalent mutant); how many there were."""
    db = sqlite3.connect(session)
    try:
        with db:
            rows = db.execute("SELECT r.job_id, s.operator_name, r.diff FROM work_results r "
                              "JOIN mutation_specs s ON s.job_id = r.job_id WHERE r.test_outcome = 'SURVIVED'")
            again = [(job,) for job, operator, diff in rows.fetchall()
                     if (module, operator, *_changed_lines(diff or "")[1:]) not in equivalents]
            db.executemany("DELETE FROM work_results WHERE job_id = ?", again)
            return len(again)
    finally:
        db.close()


def run_module(module: str, tests: list[str], repo: Path, python: str, excluded: list[str], factor: float,
               survivors: bool = False, equivalents: dict[tuple[str, str, str, str], str] | None = None
               ) -> list[Mutant]:
    session = STATE / (module.replace("/", "__") + ".sqlite")
    stamp = session.with_suffix(".source")
    source = hashlib.sha256((repo / module).read_bytes()).hexdigest()
    resume = survivors and session.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == source
    if survivors and not resume:
        print(f"{module}: no session of this source to resume: running every mutant", flush=True)
    if not resume:
        session.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
    command = f"{python} -m pytest -x -q -p no:cacheprovider -n 0 --hypothesis-seed=0 {' '.join(tests)}"
    baseline = subprocess.run([*command.split(), "--co", "-q"], cwd=repo, capture_output=True, text=True)
    if baseline.returncode != 0:
        sys.exit(f"{module}: the mapped tests cannot be collected:\n{baseline.stdout[-2000:]}{baseline.stderr[-2000:]}")
    start = time.monotonic()
    unmutated = subprocess.run(command.split(), cwd=repo, capture_output=True, text=True)
    if unmutated.returncode != 0:
        sys.exit(f"{module}: the mapped tests fail without any mutation:\n{unmutated.stdout[-3000:]}")
    timeout = max(20.0, factor * (time.monotonic() - start))
    config = STATE / (module.replace("/", "__") + ".toml")
    config.write_text("\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(module)}",
        f"timeout = {timeout:.0f}",
        "excluded-modules = []",
        f"test-command = {json.dumps(command)}",
        "[cosmic-ray.distributor]",
        'name = "local"',  # one mutant at a time: the machine is shared
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = {json.dumps(excluded)}",
    ]) + "\n", encoding="utf-8")
    if resume:
        again = _reset_survivors(session, module, equivalents or {})
        print(f"{module}: re-running the {again} survivors of the last session (reviewed equivalents kept)", flush=True)
    else:
        subprocess.run([BIN / "cosmic-ray", "init", config, session], cwd=repo, check=True)
        subprocess.run([BIN / "cr-filter-operators", session, config], cwd=repo, check=True)
        subprocess.run([BIN / "cr-filter-pragma", session], cwd=repo, check=True)
        spans = annotation_spans((repo / module).read_text(encoding="utf-8"))
        skip_annotations(session, spans)
        stamp.write_text(source, encoding="utf-8")
    subprocess.run([BIN / "cosmic-ray", "exec", config, session], cwd=repo, check=True)
    dump = subprocess.run([BIN / "cosmic-ray", "dump", session], cwd=repo, check=True, capture_output=True, text=True)
    mutants = []
    for line in dump.stdout.splitlines():
        item, result = json.loads(line)
        if result is not None and result.get("output") == ANNOTATION:
            outcome = "annotation"
        elif result is None:
            outcome = "pending"
        elif result.get("worker_outcome") == "skipped":
            continue  # filtered out (excluded operator or pragma)
        else:
            outcome = result.get("test_outcome") or result.get("worker_outcome") or "unknown"
        for mutation in item["mutations"]:
            no, before, after = _changed_lines((result or {}).get("diff") or "")
            mutants.append(Mutant(module, mutation["operator_name"], mutation["occurrence"], no or
                                  mutation["start_pos"][0], before, after, outcome))
    return mutants


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"),
                        help="the interpreter of the project's test virtualenv")
    parser.add_argument("--module", action="append", help="only this module (repeatable; default: all)")
    parser.add_argument("--min-rate", type=float, default=95.0)
    parser.add_argument("--survivors", action="store_true",
                        help="re-run only the last session's survivors of each module (same source only)")
    args = parser.parse_args()
    modules, excluded, factor = load_config()
    selected = args.module or list(modules)
    unknown = [m for m in selected if m not in modules]
    if unknown:
        sys.exit(f"not in {CONFIG.name}: {unknown}")
    equivalents = load_equivalents()
    STATE.mkdir(exist_ok=True)
    repo = copy_tree(STATE / "work")
    python = str(Path(args.python).absolute())  # not resolved: a venv python is a symlink
    all_mutants: list[Mutant] = []
    for module in selected:
        print(f"== {module}", flush=True)
        all_mutants += run_module(module, modules[module], repo, python, excluded, factor, args.survivors,
                                  equivalents)
    report = []
    failed = False
    by_module: dict[str, list[Mutant]] = defaultdict(list)
    for m in all_mutants:
        by_module[m.module].append(m)
    report.append(f"{'module':<58} {'mutants':>7} {'killed':>6} {'equiv':>5} {'surv':>5} {'rate':>7}")
    total_killed = total_counted = 0
    for module in selected:
        ms = by_module[module]
        killed = [m for m in ms if m.outcome in ("killed", "incompetent")]
        equivalent = [m for m in ms if m.outcome == "annotation" or (m.outcome == "survived" and m.key in equivalents)]
        survived = [m for m in ms if m.outcome not in ("killed", "incompetent", "annotation")
                    and m.key not in equivalents]
        counted = len(killed) + len(survived)
        rate = 100.0 * len(killed) / counted if counted else 100.0
        total_killed += len(killed)
        total_counted += counted
        failed |= rate < args.min_rate
        report.append(f"{module:<58} {len(ms):>7} {len(killed):>6} {len(equivalent):>5} {len(survived):>5} "
                      f"{rate:>6.1f}%")
        for m in sorted(survived, key=lambda m: m.line):
            report.append(f"   survived {module}:{m.line} {m.operator} [{m.outcome}]\n"
                          f"      {m.module} :: {m.operator} :: {m.before} => {m.after} :: REASON")
    overall = 100.0 * total_killed / total_counted if total_counted else 100.0
    report.append(f"{'total':<58} {len(all_mutants):>7} {total_killed:>6} {'':>5} "
                  f"{total_counted - total_killed:>5} {overall:>6.1f}%")
    seen = {m.key for m in all_mutants}
    stale = [k for k in equivalents if k[0] in selected and k not in seen]
    for k in stale:
        report.append(f"   stale equivalent (no such mutant any more): {' :: '.join(k)}")
    failed |= bool(stale)
    text = "\n".join(report)
    print(text)
    (STATE / "report.txt").write_text(text + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
