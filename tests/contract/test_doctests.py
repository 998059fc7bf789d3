"""The examples in the package's docstrings are run: a docstring that no longer tells the truth fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sfn_iam

MODULES = sorted(m.name for m in pkgutil.walk_packages(sfn_iam.__path__, "sfn_iam.")
                 if not m.name.endswith("__main__"))


def test_some_modules_carry_examples() -> None:
    finder = doctest.DocTestFinder()
    assert sum(bool(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))) >= 5


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail"
