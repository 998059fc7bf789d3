"""The mutation-testing configuration stays usable: every mapped module and test file exists, every equivalent
mutant names a module that is mutated and gives its reason (docs/mutation.md)."""

from __future__ import annotations

import ast

from scripts import mutate
from tests.helpers import ROOT


def exists(mapped: str) -> bool:
    """A mapped module or test file, or one test of a file as pytest names it (``file.py::test_name``, the runner
    hands it to pytest as is): the file exists and, for a test, the file defines a function of that name."""
    path, _, name = mapped.partition("::")
    file = ROOT / path
    if not file.is_file():
        return False
    defined = {node.name for node in ast.walk(ast.parse(file.read_text())) if isinstance(node, ast.FunctionDef)}
    return not name or name.partition("[")[0] in defined


def test_every_mapped_module_and_test_file_exists() -> None:
    modules, excluded, factor = mutate.load_config()
    assert modules and factor >= 1
    missing = [p for m, tests in modules.items() for p in (m, *tests) if not exists(p)]
    assert not missing, f"mutation/modules.toml names files or tests that do not exist: {missing}"
    assert all(name.startswith("core/") for name in excluded)


def test_a_mapped_test_is_named_by_its_file_and_a_function_it_defines() -> None:
    mapped = "tests/contract/test_mutation_config.py"
    assert exists(mapped) and exists(f"{mapped}::test_every_mapped_module_and_test_file_exists")
    assert exists(f"{mapped}::test_every_mapped_module_and_test_file_exists[case]")  # a parametrized case
    assert not exists(f"{mapped}::test_that_is_not_there")
    assert not exists("tests/contract/test_not_there.py") and not exists("tests/contract/test_not_there.py::test_a")


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


def test_a_change_on_a_modules_last_line_reads_as_its_text_alone() -> None:
    # the diff of a mutant on the last line also removes the file's trailing empty line: the text an equivalents.txt
    # entry names must not end in " / " (entries are stripped, so it could never match)
    diff = ("--- a/m.py\n+++ b/m.py\n@@ -10,2 +10,1 @@\n     keep = 1\n-    return zip(a, b, strict=True)\n-\n"
            "+    return zip(a, b, strict=False)\n")
    assert mutate._changed_lines(diff) == (11, "return zip(a, b, strict=True)", "return zip(a, b, strict=False)")
    two = "@@ -3,2 +3,2 @@\n-a = 1\n-b = 2\n+a = 2\n+b = 1\n"
    assert mutate._changed_lines(two) == (3, "a = 1 / b = 2", "a = 2 / b = 1")
