"""Cold-start import cost of the role fixer handler, next to `import boto3` alone (what every Python Lambda pays).

Each sample is a fresh interpreter. The handler is imported the way Lambda imports it: with the Lambda
environment variables set, so Powertools' Tracer is *enabled* and patches botocore (outside Lambda it would
disable itself and the figure would flatter us), and with the layer directory on sys.path as /opt/python is.
Two figures for the handler: the module import (Lambda's init phase), and import + building the settings and
clients on the first event. Prints medians of N runs (default 9, BENCH_RUNS) and the ratios; the targets are <= 1.3x
for the import and <= 1.6x for the import with settings and clients (and the tracer, which the handler builds then).
Each ratio is printed twice: against the median of separate ``import boto3`` processes, and paired, each handler run
against the ``import boto3`` it starts with (the same first import: on a busy machine this cancels the load).
The environment is the template's (``LEDGER_TABLE_NAME`` set: the ledger's client is built too). ``BENCH_CPU=1`` times
CPU (``time.process_time``) instead of wall time: steadier on a machine busy with other work. ``BENCH_ROOT`` measures
another checkout's handler and layer (with this checkout's layer requirements and bytecode cache); ``--layer-only``
measures the target's environment alone.

Two environments. "layer" is what Lambda has: the bare interpreter (``-S``: no site-packages) with only the layer's
pinned requirements (``layers/sfn_iam/requirements.txt``, installed once with ``pip install --target`` into
``build/bench-layer/``). "dev" is the project's virtualenv, which also holds packages that botocore imports when it
finds them (awscrt, pyOpenSSL via urllib3): they slow both figures and are not in the deployed function. The target is
judged on "layer"; ``--dev-only`` skips building it (no package index at hand). "layer, no bytecode" is the same
with no ``.pyc`` anywhere and none written (``-B``): what a layer built without bytecode costs on Lambda, whose
``/opt`` is read-only (``layers/sfn_iam/Makefile`` ships hash-checked-off bytecode for that reason).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("BENCH_ROOT") or HERE)  # BENCH_ROOT: measure another checkout (its handler and layer)
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
TARGET = 1.3  # the handler's import
TARGET_FIRST = 1.6  # import, settings, clients and tracer: the first event before it does anything
# BENCH_CPU=1: the process's CPU time (time.process_time) instead of wall time: on a machine busy with other work, wall
# time also counts the time the process waited for a CPU
CLOCK = "process_time" if os.environ.get("BENCH_CPU") == "1" else "perf_counter"
LAYER_ENV = HERE / "build" / "bench-layer"  # this checkout's: another checkout is only read

BASELINE = """
import sys, time
sys.path[:0] = {extra!r}
t = time.{clock}()
import boto3
print(time.{clock}() - t)
"""

HANDLER = """
import sys, time
sys.path[:0] = [{function!r}, {layer!r}] + {extra!r}  # /var/task and /opt/python, as Lambda orders them
t = time.{clock}()
import boto3  # what the handler imports first anyway: timed here too, as the paired baseline
boto3_alone = time.{clock}() - t
import app
imported = time.{clock}() - t
app.runtime()
composed = time.{clock}() - t
import sfn_iam.engine.planner  # what every create, update and move then loads to plan (not in either target)
print(imported, composed, app.tracer.disabled if hasattr(app.tracer, "disabled") else "?", boto3_alone,
      time.{clock}() - t)
"""

LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "sfn-iam-role-fixer",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "role_fixer"),  # Powertools decides "in Lambda" from this
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1",
    "ACCOUNT_ID": "123456789012",
    "ROLE_PATH": "/stepfunctions/",
    "POWERTOOLS_SERVICE_NAME": "sfn-iam-role-fixer",
    "POWERTOOLS_METRICS_NAMESPACE": "SfnIam",
    "LEDGER_TABLE_NAME": "sfn-iam-ledger",  # template.yaml sets it: the first event builds the ledger's client
}


def _run(code: str, isolated: bool, bytecode: bool = True) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "PYTHON"))}
    env.update(LAMBDA_ENV)
    # bytecode as the deployed layer has it, written once into a cache of this checkout's (BENCH_ROOT's tree is only
    # read); -B below turns it off for the "no bytecode" figure
    env["PYTHONPYCACHEPREFIX"] = str(HERE / "build" / "bench-pycache")
    python = [sys._base_executable, "-S"] if isolated else [sys.executable]  # -S: no site-packages at all
    if not bytecode:
        python.append("-B")
    out = subprocess.run([*python, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"benchmark subprocess failed:\n{out.stderr}")
    return out.stdout.split()


def layer_env() -> Path:
    """The layer's requirements alone, installed once, with the cuts of botocore's endpoints file and of the four
    clients' service models (what ``sam build`` puts under /opt/python; a checkout that predates a cut does not read
    it)."""
    marker = LAYER_ENV / ".installed"
    requirements = ROOT / "layers" / "sfn_iam" / "requirements.txt"
    if not marker.exists() or marker.read_text() != requirements.read_text():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--upgrade", "--target", str(LAYER_ENV),
                        "-r", str(requirements)], check=True)
        marker.write_text(requirements.read_text())
    # the cuts, as the layer's build writes them (layers/sfn_iam/Makefile), from this checkout's code, every time
    for script in ("endpoints.py", "models.py"):
        subprocess.run([sys.executable, str(HERE / "layers" / "sfn_iam" / "sfn_iam" / "aws" / script),
                        str(LAYER_ENV)], check=True, capture_output=True)
    return LAYER_ENV


def without_bytecode() -> tuple[Path, Path]:
    """Copies of the layer's requirements and of the package with every ``__pycache__`` removed."""
    root = HERE / "build" / "bench-layer-nopyc"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(layer_env(), root / "deps", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "layers" / "sfn_iam" / "sfn_iam", root / "layer" / "sfn_iam",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root / "layer", root / "deps"


def measure(label: str, extra: list[str], isolated: bool, layer: Path | None = None,
            bytecode: bool = True, baseline_extra: list[str] | None = None) -> dict[str, object]:
    handler_code = HANDLER.format(layer=str(layer or ROOT / "layers" / "sfn_iam"),
                                  function=str(ROOT / "functions" / "role_fixer"), extra=extra, clock=CLOCK)
    baseline = BASELINE.format(extra=extra if baseline_extra is None else baseline_extra, clock=CLOCK)
    _run(baseline, isolated)  # warm the OS file cache once; every measured run is still a fresh interpreter
    _run(handler_code, isolated, bytecode)
    boto3_times, import_times, first_event_times, tracer_disabled = [], [], [], set()
    paired_import, paired_first, paired_engine = [], [], []
    for _ in range(RUNS):
        # the baseline always has its bytecode: the runtime's own boto3 is precompiled on Lambda
        boto3_times.append(float(_run(baseline, isolated)[0]))
        imported, composed, disabled, boto3_in_handler, planned = _run(handler_code, isolated, bytecode)
        import_times.append(float(imported))
        first_event_times.append(float(composed))
        tracer_disabled.add(disabled)
        paired_import.append(float(imported) / float(boto3_in_handler))
        paired_first.append(float(composed) / float(boto3_in_handler))
        paired_engine.append((float(planned) - float(composed)) / float(boto3_in_handler))
    base = statistics.median(boto3_times)
    imp = statistics.median(import_times)
    first = statistics.median(first_event_times)
    # On a busy machine two processes seldom see the same load: the ratio of each run to its own `import boto3`
    # (the first thing the handler imports, so the same cost as the baseline's) cancels it. Without bytecode the
    # handler's boto3 is compiled too, so only the separate baseline is meaningful there.
    in_process = bytecode
    result = {
        "environment": label,
        "runs": RUNS,
        "clock": CLOCK,
        "import_boto3_ms": round(base * 1000, 1),
        "handler_import_ms": round(imp * 1000, 1),
        "handler_import_plus_clients_ms": round(first * 1000, 1),
        "ratio_import": round(imp / base, 2),
        "ratio_import_plus_clients": round(first / base, 2),
        "paired_ratio_import": round(statistics.median(paired_import), 2) if in_process else None,
        "paired_ratio_import_plus_clients": round(statistics.median(paired_first), 2) if in_process else None,
        # not a target: the engine (planner, integrations) a handled event loads after the first event's set-up
        "paired_engine_share_of_handled_event": round(statistics.median(paired_engine), 3) if in_process else None,
        "tracer_disabled": sorted(tracer_disabled),
        "target_ratio": TARGET,
        "target_ratio_first_event": TARGET_FIRST,
    }
    print(json.dumps(result, indent=2))
    print(f"[{label}] handler import {imp * 1000:.0f} ms vs import boto3 {base * 1000:.0f} ms: {imp / base:.2f}x "
          f"(target <= {TARGET}x); with settings + clients {first / base:.2f}x (target <= {TARGET_FIRST}x)")
    if in_process:
        print(f"[{label}] paired in each run with its own import boto3: import {result['paired_ratio_import']}x, "
              f"with settings + clients {result['paired_ratio_import_plus_clients']}x; a handled event then loads "
              f"the engine for {result['paired_engine_share_of_handled_event']}x more")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-only", action="store_true", help="measure in the project's virtualenv only")
    parser.add_argument("--layer-only", action="store_true", help="measure in the layer environment only (the target)")
    args = parser.parse_args()
    if args.layer_only:
        measure("layer", [str(layer_env())], isolated=True)
        return 0
    measure("dev", [], isolated=False)
    if not args.dev_only:
        measure("layer", [str(layer_env())], isolated=True)
        layer, deps = without_bytecode()
        measure("layer, no bytecode", [str(deps)], isolated=True, layer=layer, bytecode=False,
                baseline_extra=[str(layer_env())])
    return 0


if __name__ == "__main__":
    sys.exit(main())
