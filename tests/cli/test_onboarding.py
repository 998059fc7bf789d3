"""Onboarding as the README promises it: two set-up commands, `make demo` installing only what it runs and showing
the CLI's policy document with its resources and a happy path without alarming findings, docs that speak of the
project (not of where it was built), and release references a user can actually pin."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", package).lower()] = version
    return pins


def _demo_recipe() -> str:
    r = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, check=True)
    return r.stdout


def test_the_readme_setup_is_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]
    assert commands == ["make demo", "make test"]


def test_make_demo_installs_only_the_demo_set_pinned_as_the_development_set() -> None:
    recipe = _demo_recipe()
    assert "-r requirements-demo.txt" in recipe and "requirements-dev.txt" not in recipe
    demo, dev = _pins("requirements-demo.txt"), _pins("requirements-dev.txt")
    assert set(demo) < set(dev) | {"pyyaml", "aws-sam-translator"}  # a subset: the test tools are not in it
    for package, version in demo.items():
        # the same version as `make test` installs: pinned there, or what its pins resolve to (this environment)
        assert version == dev.get(package, importlib.metadata.version(package)), package


def test_the_demo_shows_the_cli_policy_document_with_its_resources_and_no_alarm() -> None:
    [line] = [line for line in _demo_recipe().splitlines() if line.startswith(".venv/bin/sfn-iam policy")]
    args = shlex.split(line)
    assert args[0].endswith("/sfn-iam")
    r = subprocess.run([str(Path(sys.executable).with_name("sfn-iam")), *args[1:]], cwd=ROOT, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
    document = json.loads(r.stdout)
    assert document["Statement"] and all(s["Resource"] and "*" not in s["Resource"] for s in document["Statement"])
    assert not re.search(r"^(CRITICAL|HIGH|MEDIUM) ", r.stderr, re.MULTILINE), r.stderr


def test_the_demos_happy_path_has_no_alarming_finding() -> None:
    r = subprocess.run([sys.executable, "-m", "scripts.demo"], cwd=ROOT, capture_output=True, text=True, check=False,
                       timeout=600)
    assert r.returncode == 0 and "outcomes as expected" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    happy = r.stdout.split("outside the default ceiling", 1)[0]  # the ceiling's refusal is shown on purpose after
    assert "=== CreateStateMachine OrderProcessing" in happy
    assert not re.findall(r"finding: (CRITICAL|HIGH|MEDIUM) .*", happy), happy


def test_the_docs_speak_of_the_project_not_of_where_it_was_built() -> None:
    for doc in DOCS:
        text = " ".join(doc.read_text(encoding="utf-8").split()).lower()
        assert "these machines" not in text, doc


def test_release_references_pin_a_commit_the_reader_reviews() -> None:
    tags = subprocess.run(["git", "tag"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pin the commit you reviewed" in readme
    for doc in [*DOCS, ROOT / "action.yml"]:
        text = doc.read_text(encoding="utf-8")
        refs = re.findall(r"(?:rev:\s*|sfn-iam/sfn-iam@)(\S+)", text)
        for ref in refs:  # ours: a tag that exists, or a full commit id
            assert ref in tags or re.fullmatch(r"[0-9a-f]{40}", ref), (doc, ref)
