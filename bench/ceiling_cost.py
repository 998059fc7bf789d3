"""What the ceiling check costs: the guardrails on the 1 MB definition's requirements with the default ceiling, and
with a ceiling of one Allow of everything (the check itself nearly free), paired in one process; and per event (a
typical corpus definition), the same pair. Each distinct (action, resource, conditions) is decided once per apply
and once per process (lru_cache): the first figure is the cold one, the second the warm one.

Run: .venv/bin/python bench/ceiling_cost.py   (prints numbers)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))
sys.path.insert(0, str(ROOT))

from bench.engine import big_definition  # noqa: E402
from sfn_iam import engine  # noqa: E402
from sfn_iam.engine import guardrails  # noqa: E402
from sfn_iam.engine.guardrails import ceiling  # noqa: E402
from sfn_iam.engine.guardrails.ceiling import _verdict  # noqa: E402
from sfn_iam.model import StateMachine  # noqa: E402

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Bench"
OPEN = guardrails.GuardPolicy(ceiling.parse({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                                            source="bench: everything"))
DEFAULT = guardrails.GuardPolicy(ceiling.default(account="123456789012", stack="sfn-iam"))


def _ms(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    text = big_definition()
    plan = engine.plan(StateMachine(arn=ARN, definition=text))
    reqs = list(plan.requirements)
    _verdict.cache_clear()
    cold = _ms(lambda: guardrails.apply(reqs, DEFAULT, account="123456789012"), repeat=1)
    warm = _ms(lambda: guardrails.apply(reqs, DEFAULT, account="123456789012"))
    free = _ms(lambda: guardrails.apply(reqs, OPEN, account="123456789012"))
    whole = _ms(lambda: engine.plan(StateMachine(arn=ARN, definition=text)), repeat=3)
    parse = _ms(lambda: json.loads(text))
    print(f"1 MB definition: {len(reqs):,} requirements, {len({(r.action, r.resource) for r in reqs}):,} distinct")
    print(f"  guardrails.apply, default ceiling: {cold:.1f} ms cold, {warm:.1f} ms warm; with an allow-everything "
          f"ceiling {free:.1f} ms -> the ceiling check costs {warm - free:+.1f} ms warm")
    print(f"  whole plan {whole:.1f} ms = {whole / parse:.1f}x json.loads ({parse:.1f} ms)")
    corpus = sorted((ROOT.parent / "shared" / "corpus").glob("*__*.json"))[:40]
    if corpus:
        defs = [json.loads(p.read_text(encoding="utf-8"))["definition"] for p in corpus]
        _verdict.cache_clear()
        first = _ms(lambda: [engine.plan(StateMachine(arn=ARN, definition=d), DEFAULT) for d in defs], repeat=1)
        default = _ms(lambda: [engine.plan(StateMachine(arn=ARN, definition=d), DEFAULT) for d in defs])
        opened = _ms(lambda: [engine.plan(StateMachine(arn=ARN, definition=d), OPEN) for d in defs])
        n = len(defs)
        print(f"per event (plan of one of {n} corpus definitions): {first / n:.2f} ms cold, {default / n:.2f} ms warm "
              f"with the default ceiling, {opened / n:.2f} ms with an allow-everything ceiling")


if __name__ == "__main__":
    main()
