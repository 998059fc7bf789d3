"""Module-level patterns compiled on first use (sfn_iam/lazyre.py): the same answers as the compiled pattern, the
pattern compiled once and then read from the module itself."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from sfn_iam import arns
from sfn_iam.lazyre import compiled
from tests.helpers import ROOT


def test_the_stand_in_answers_as_the_pattern_and_then_gives_its_place_to_it() -> None:
    namespace: dict[str, Any] = {}
    namespace["WORD"] = compiled(namespace, "WORD", r"(?P<w>[a-z]+)-(\d+)", re.IGNORECASE)
    stand_in = namespace["WORD"]
    assert not isinstance(stand_in, re.Pattern) and "compiled on first use" in repr(stand_in)
    match = stand_in.fullmatch("Ab-12")
    assert match is not None and match["w"] == "Ab" and match[2] == "12"
    assert namespace["WORD"] is re.compile(r"(?P<w>[a-z]+)-(\d+)", re.IGNORECASE)  # compiled, in the stand-in's place
    assert stand_in.sub("x", "a-1 b-2") == "x x"  # a copy taken before keeps answering
    assert stand_in.pattern == r"(?P<w>[a-z]+)-(\d+)" and stand_in.flags & re.IGNORECASE


def test_a_stand_in_bound_under_another_name_leaves_that_name_alone() -> None:
    namespace: dict[str, Any] = {"OTHER": "kept"}
    stand_in = compiled(namespace, "OTHER", r"a+")
    assert stand_in.match("aa") is not None
    assert namespace["OTHER"] == "kept"


def test_without_flags_the_pattern_is_compiled_as_re_compile_does() -> None:
    namespace: dict[str, Any] = {}
    namespace["PLAIN"] = compiled(namespace, "PLAIN", r"a.b")
    assert namespace["PLAIN"].flags == re.compile(r"a.b").flags
    assert namespace["PLAIN"] is re.compile(r"a.b")


def test_a_module_pattern_is_compiled_when_first_used() -> None:
    probe = ("import re, sys; from sfn_iam import arns; before = isinstance(arns._ROLE_RE, re.Pattern); "
             "ok = arns.is_role_arn('arn:aws:iam::123456789012:role/x'); "
             "print(before, isinstance(arns._ROLE_RE, re.Pattern), ok)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "layers" / "sfn_iam")}).stdout.split()
    assert out == ["False", "True", "True"]
    assert arns.parse_role_arn("arn:aws:iam::123456789012:role/a/b/name").path == "/a/b/"
