"""The mutation-testing configuration stays usable: every mapped module and test file exists, every equivalent
mutant names a module that is mutated and gives its reason (docs/mutation.md)."""

from __future__ import annotations

from scripts import mutate
from tests.helpers import ROOT


def test_every_mapped_module_and_test_file_exists() -> None:
    modules, excluded, factor = mutate.load_config()
    assert modules and factor >= 1
    missing = [p for m, tests in modules.items() for p in (m, *tests) if not (ROOT / p).is_file()]
    assert not missing, f"mutation/modules.toml names files that do not exist: {missing}"
    assert all(name.startswith("core/") for name in excluded)


def test_every_equivalent_mutant_has_a_mutated_module_and_a_reason() -> None:
    modules, _, _ = mutate.load_config()
    for (module, operator, before, after), reason in mutate.load_equivalents().items():
        assert module in modules, f"{module} is not mutated (mutation/modules.toml)"
        assert operator.startswith("core/") and before != after and len(reason) >= 20, (module, operator, reason)


def test_annotations_are_recognised_only_under_postponed_evaluation() -> None:
    source = "from __future__ import annotations\n\ndef f(a: int | None, *, b: str = 'x') -> dict[str, int]:\n" \
             "    c: list[int] = []\n    return {}\n"
    spans = mutate.annotation_spans(source)
    assert ((3, 9), (3, 19)) in spans and len(spans) == 4
    assert mutate.annotation_spans(source.replace("from __future__ import annotations\n", "")) == []
