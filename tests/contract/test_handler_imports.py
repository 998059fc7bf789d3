"""What the role fixer's cold start loads (bench/cold_start.py measures what it costs): the import (Lambda's init
phase) and ``runtime()`` (the first event's tracer, settings and clients) load neither the engine's planner nor what
a create event never uses; the X-Ray SDK arrives with the tracer, on the first event. A heavy module coming back on
that path fails here, not only in a benchmark nobody ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "sfn-iam-role-fixer", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
          "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "role_fixer"), "AWS_REGION": "us-east-1",
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "ACCOUNT_ID": "123456789012", "ROLE_PATH": "/stepfunctions/", "POWERTOOLS_SERVICE_NAME": "sfn-iam-role-fixer",
          "POWERTOOLS_METRICS_NAMESPACE": "SfnIam", "LEDGER_TABLE_NAME": "sfn-iam-ledger",
          "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1"}
PROBE = """
import dataclasses, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]  # /var/task and /opt/python, as Lambda orders them
created = []  # every dataclass created, by module and name (each cost ~0.5-1.5 ms of the cold start)
process_class = dataclasses._process_class
def probe(cls, *args, **kwargs):
    created.append(f"{cls.__module__}.{cls.__qualname__}")
    return process_class(cls, *args, **kwargs)
dataclasses._process_class = probe
import app
imported, at_import = sorted(sys.modules), list(created)
app.runtime()
print(json.dumps({"imported": imported, "first_event": sorted(sys.modules), "tracing": not app.tracer.disabled,
                  "dataclasses_at_import": at_import, "dataclasses_at_first_event": created[len(at_import):]}))
"""
# loaded by a handled event when it needs them: the planner and the integrations (every create, update and move
# plans; docs/performance.md), the residual-access checks (an update, a retiring change, a full role)
LATER = {"sfn_iam.engine.planner", "sfn_iam.engine.integrations", "sfn_iam.engine.machine_config",
         "sfn_iam.fixing.residual"}
NEVER = {"sfn_iam.cli", "sfn_iam.governance", "yaml", "samtranslator", "moto"}
# No dataclass of ours on the cold path (creating one cost ~0.5-1.5 ms; a typing.NamedTuple ~0.1 ms). By owner of the
# conversion; the role fixer's own (fixing, aws, the handler) are pinned now, the rest once every branch is merged.
OWN = ("app", "sfn_iam.fixing.", "sfn_iam.aws.")
EVERY = (*OWN, "sfn_iam.model", "sfn_iam.findings", "sfn_iam.arns", "sfn_iam.engine.", "sfn_iam.governance.",
         "sfn_iam.cli.")


def _ours(created: object, prefixes: tuple[str, ...]) -> list[str]:
    assert isinstance(created, list)
    return [c for c in created if c.startswith(tuple(p if p.endswith(".") else f"{p}." for p in prefixes))]


def _loaded() -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))} | LAMBDA
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "functions" / "role_fixer"),
                          str(ROOT / "layers" / "sfn_iam")], env=env, capture_output=True, text=True, check=True,
                         cwd=ROOT)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _covered(modules: object, names: set[str]) -> set[str]:
    assert isinstance(modules, list)
    return {n for n in names if any(m == n or m.startswith(f"{n}.") for m in modules)}


def test_the_import_and_the_first_event_load_only_what_every_event_uses() -> None:
    loaded = _loaded()
    assert loaded["tracing"] is True  # the Lambda environment: Powertools' tracer is enabled, as deployed
    assert _covered(loaded["imported"], {"sfn_iam.fixing.service", "sfn_iam.aws.wiring", "boto3"}) == {
        "sfn_iam.fixing.service", "sfn_iam.aws.wiring", "boto3"}
    assert not _covered(loaded["imported"], LATER | NEVER | {"aws_xray_sdk"})
    assert _covered(loaded["first_event"], {"aws_xray_sdk"}) == {"aws_xray_sdk"}  # the tracer, on the first event
    assert not _covered(loaded["first_event"], LATER | NEVER)


def test_the_import_and_the_first_event_create_no_dataclass_of_the_fixers_own_modules() -> None:
    loaded = _loaded()
    assert any(c.startswith("botocore.") for c in loaded["dataclasses_at_import"])  # type: ignore[attr-defined]
    assert _ours(loaded["dataclasses_at_import"], OWN) == []
    assert _ours(loaded["dataclasses_at_first_event"], OWN) == []


def test_the_import_and_the_first_event_create_no_dataclass_of_sfn_iam() -> None:
    loaded = _loaded()
    assert _ours(loaded["dataclasses_at_import"], EVERY) == []
    assert _ours(loaded["dataclasses_at_first_event"], EVERY) == []
