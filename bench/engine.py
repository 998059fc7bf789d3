"""Engine benchmarks: corpus median, a 1 MB definition (time, peak memory, ratio to json.loads), CLI process time.

Run: .venv/bin/python bench/engine.py   (prints numbers; targets: 1 MB < 100 ms and <= 3x json.loads of the same
text in the same process; the corpus median not above the last measured one; CLI < 300 ms). The 1 MB figure
interleaves the two (a plan, then a ``json.loads``, per round, each in CPU time after a full collection) and prints
the median of the per-round ratios and the ratio of the CPU-time minima. It still moves with the machine's load
(json.loads and the engine do not slow by the same factor on a busy machine): compare figures measured in paired
runs, or instruction counts (below), as docs/performance.md describes. ``--megabyte [ROUNDS]`` runs the 1 MB figure
alone (15 rounds by default), ``--corpus`` the corpus median alone.

``bench/engine.py --profile`` prints instead where the time of a 1 MB plan goes: the share of ``engine.plan`` in
each of its parts, under cProfile (which inflates Python calls: compare shares, not times).

``bench/engine.py --repeat plan|json N`` plans (or parses) the 1 MB definition N more times after one of each, for
an instruction counter: ``valgrind --tool=cachegrind --cache-sim=no`` around N = 3 and N = 0 gives the instructions
of one plan and of one ``json.loads``, unchanged by other processes (docs/performance.md).
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))

from sfn_iam import engine  # noqa: E402
from sfn_iam.model import StateMachine  # noqa: E402

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Bench"
CORPORA = [ROOT.parent / "shared" / "corpus", ROOT.parent / "shared" / "peer-cases", ROOT / "examples"]


def _state(i: int) -> dict[str, Any]:
    kind = i % 6
    if kind == 0:
        return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": f"fn-{i % 400}", "Payload.$": "$"}}
    if kind == 1:
        return {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": f"arn:aws:sns:us-east-1:123456789012:topic-{i % 300}", "Message.$": "$"}}
    if kind == 2:
        return {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/q-{i % 300}",
                               "MessageBody.$": "$"}}
    if kind == 3:
        return {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": f"table-{i % 200}", "Item": {"pk": {"S.$": "$.id"}}}}
    if kind == 4:
        return {"Type": "Pass", "Result": {"note": "x" * 40}}
    return {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": i, "Next": "End"}], "Default": "End"}


def big_definition(target_bytes: int = 1_000_000) -> str:
    """A valid-looking definition just under ``target_bytes``: chains of states nested in Parallel branches."""
    branches: list[dict[str, Any]] = []
    states: dict[str, Any] = {}
    i = 0
    while True:
        states[f"S{i}"] = {**_state(i), **({"End": True} if i % 6 < 5 else {})}
        i += 1
        if len(states) == 25:
            branches.append({"StartAt": next(iter(states)), "States": states})
            states = {}
            text = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches,
                                                                "End": True}}})
            if len(text) > target_bytes - 12_000:
                return text


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def corpus_median() -> None:
    definitions = []
    for folder in CORPORA:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = json.loads(path.read_text())
            definition = data.get("definition", data)
            if isinstance(definition, dict) and "States" in definition:
                definitions.append(definition)
    times = []
    for d in definitions:
        times.append(_median_ms(lambda d=d: engine.plan(StateMachine(arn=ARN, definition=d)), 5))
    print(f"corpus: {len(definitions)} definitions; median generation {statistics.median(times):.3f} ms, "
          f"max {max(times):.3f} ms")


def interleaved(plan: Any, load: Any, rounds: int) -> tuple[list[float], list[float]]:
    """CPU time (``time.process_time``, ms) of ``plan`` and of ``load``, measured in turn, one of each per round:
    both see the same machine, and a round's ratio compares neighbours. Each measure starts after a full
    collection, so neither pays for the other's garbage."""
    plans: list[float] = []
    loads: list[float] = []
    for _ in range(rounds):
        for fn, times in ((plan, plans), (load, loads)):
            gc.collect()
            t0 = time.process_time()
            fn()
            times.append((time.process_time() - t0) * 1000)
    return plans, loads


def one_megabyte(rounds: int = 15) -> None:
    text = big_definition()
    n_states = text.count('"Type"')
    sm = StateMachine(arn=ARN, definition=text)
    engine.plan(sm)  # warm caches
    json.loads(text)
    plans, loads = interleaved(lambda: engine.plan(sm), lambda: json.loads(text), rounds)
    t_plan, t_json = statistics.median(plans), statistics.median(loads)
    ratio = statistics.median(p / j for p, j in zip(plans, loads, strict=True))
    tracemalloc.start()
    plan = engine.plan(sm)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"1 MB definition: {len(text):,} bytes, {n_states:,} states, {len(plan.documents)} policy documents")
    print(f"  engine.plan (parse included): {t_plan:.1f} ms median; json.loads alone: {t_json:.1f} ms; "
          f"ratio {ratio:.2f}x (target < 100 ms and <= 3x)")
    print(f"  {rounds} interleaved rounds, CPU time (process_time): median of the per-round ratios {ratio:.2f}x; "
          f"ratio of the minima {min(plans) / min(loads):.2f}x ({min(plans):.1f} / {min(loads):.1f} ms)")
    print(f"  peak traced memory during plan: {peak / 1e6:.1f} MB (text itself {len(text) / 1e6:.1f} MB)")

    def listed() -> None:  # what a consumer of every state's requirements pays on top (engine.Plan lists them lazily)
        made = engine.plan(sm)
        t0 = time.perf_counter()
        made.requirements, made.granted  # noqa: B018
        times.append((time.perf_counter() - t0) * 1000)

    times: list[float] = []
    for _ in range(7):
        listed()
    print(f"  listing plan.requirements and plan.granted ({len(plan.requirements):,} and {len(plan.granted):,}) "
          f"when first read: {statistics.median(times):.1f} ms median (not in engine.plan)")


def cli_process() -> None:
    example = {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": "orders-validate", "Payload.$": "$"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
              "Parameters": {"TableName": "Orders", "Item": {"id": {"S.$": "$.id"}}}, "Next": "C"},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
              "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:orders", "Message.$": "$"},
              "End": True}}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(example, fh)
    exe = Path(sys.executable).with_name("sfn-iam")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sfn_iam.cli"]
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        subprocess.run([*cmd, "policy", fh.name], check=True, capture_output=True)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"CLI `sfn-iam policy` whole process on a typical definition: {statistics.median(times):.0f} ms median "
          f"of 7 (target < 300 ms)")


# (label, file the function is in, function): the parts of a plan --profile reports
_PARTS = [("strict parse (asl.loads)", "engine/asl.py", "loads"), ("walk", "engine/asl.py", "walk_entries"),
          ("integrations (distinct Tasks)", "engine/integrations/__init__.py", "requirements_for"),
          ("created tags", "engine/integrations/__init__.py", "created_tags"),
          ("validity", "engine/integrations/validity.py", "valid_only"),
          ("guardrails.apply", "engine/guardrails/guard.py", "apply"),
          ("whole-request check", "engine/planner.py", "_whole"),
          ("key questions", "engine/facts.py", "key_questions"), ("policy documents", "engine/policy.py", "documents"),
          ("ceiling proposal", "engine/guardrails/guard.py", "proposal")]


def profile(runs: int = 5) -> None:
    import cProfile
    import pstats

    sm = StateMachine(arn=ARN, definition=big_definition())
    engine.plan(sm)  # warm caches
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        engine.plan(sm)
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def cumulative(path: str, function: str) -> float:
        return float(sum(v[3] for (file, _, name), v in stats.items() if file.endswith(path) and name == function))

    whole = cumulative("engine/planner.py", "plan")
    print(f"1 MB definition, {runs} plans under cProfile: share of engine.plan")
    for label, path, function in _PARTS:
        print(f"  {label:32s} {100 * cumulative(path, function) / whole:5.1f} %")
    parts = sum(cumulative(path, function) for _, path, function in _PARTS)
    print(f"  {'the rest (the planner itself)':32s} {100 * (whole - parts) / whole:5.1f} %")


def repeat(what: str, times: int) -> None:
    """Build the 1 MB definition, plan it and parse it once, then ``times`` more plans (``plan``) or ``json.loads``
    (``json``): for an instruction counter (cachegrind), which a loaded machine does not disturb. The difference
    between ``times`` = 3 and 0, over 3, is the cost of one; see docs/performance.md."""
    text = big_definition()
    sm = StateMachine(arn=ARN, definition=text)
    engine.plan(sm)
    json.loads(text)
    for _ in range(times):
        if what == "plan":
            engine.plan(sm)
        else:
            json.loads(text)


if __name__ == "__main__" and "--profile" in sys.argv[1:]:
    profile()
elif __name__ == "__main__" and sys.argv[1:2] == ["--repeat"]:
    repeat(sys.argv[2], int(sys.argv[3]))
elif __name__ == "__main__" and sys.argv[1:2] == ["--megabyte"]:
    one_megabyte(int(sys.argv[2]) if len(sys.argv) > 2 else 15)
elif __name__ == "__main__" and sys.argv[1:2] == ["--corpus"]:
    corpus_median()
elif __name__ == "__main__":
    corpus_median()
    one_megabyte()
    cli_process()
