"""Cold-start import cost of the role fixer handler, next to `import boto3` alone (what every Python Lambda pays).

Each sample is a fresh interpreter. The handler is imported the way Lambda imports it: with the Lambda
environment variables set, so Powertools' Tracer is *enabled* and patches botocore (outside Lambda it would
disable itself and the figure would flatter us), and with the layer directory on sys.path as /opt/python is.
Two figures for the handler: the module import (Lambda's init phase), and import + building the settings and
clients on the first event. Prints medians of N runs (default 9, BENCH_RUNS) and the ratios; the target is <= 1.5x.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
TARGET = 1.5

BASELINE = """
import time
t = time.perf_counter()
import boto3
print(time.perf_counter() - t)
"""

HANDLER = """
import sys, time
sys.path[:0] = [{function!r}, {layer!r}]  # /var/task and /opt/python, as Lambda orders them
t = time.perf_counter()
import app
imported = time.perf_counter() - t
app.runtime()
print(imported, time.perf_counter() - t, app.tracer.disabled if hasattr(app.tracer, "disabled") else "?")
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
}


def _run(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(LAMBDA_ENV)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"benchmark subprocess failed:\n{out.stderr}")
    return out.stdout.split()


def main() -> int:
    handler_code = HANDLER.format(layer=str(ROOT / "layers" / "sfn_iam"),
                                  function=str(ROOT / "functions" / "role_fixer"))
    _run(BASELINE)  # warm the OS file cache once; every measured run is still a fresh interpreter
    _run(handler_code)
    boto3_times, import_times, first_event_times, tracer_disabled = [], [], [], set()
    for _ in range(RUNS):
        boto3_times.append(float(_run(BASELINE)[0]))
        imported, composed, disabled = _run(handler_code)
        import_times.append(float(imported))
        first_event_times.append(float(composed))
        tracer_disabled.add(disabled)
    base = statistics.median(boto3_times)
    imp = statistics.median(import_times)
    first = statistics.median(first_event_times)
    result = {
        "runs": RUNS,
        "import_boto3_ms": round(base * 1000, 1),
        "handler_import_ms": round(imp * 1000, 1),
        "handler_import_plus_clients_ms": round(first * 1000, 1),
        "ratio_import": round(imp / base, 2),
        "ratio_import_plus_clients": round(first / base, 2),
        "tracer_disabled": sorted(tracer_disabled),
        "target_ratio": TARGET,
    }
    print(json.dumps(result, indent=2))
    print(f"handler import {imp * 1000:.0f} ms vs import boto3 {base * 1000:.0f} ms: {imp / base:.2f}x "
          f"(target <= {TARGET}x); with settings + clients {first / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
