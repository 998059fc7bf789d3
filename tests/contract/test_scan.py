"""The template scan (`make scan`, scripts/scan.py, docs/security.md "Template scanning"): every checkov skip in the
templates carries a one-line reason, docs/security.md lists exactly those skips, the expanded StackSet template
keeps them, the functions' concurrency is reserved, and the scan's own verdict fails when it should."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import scan

from . import template
from .test_stacksets import ROLLOUT, expanded, rollout

ROOT = Path(__file__).resolve().parents[2]
SECURITY_DOC = ROOT / "docs" / "security.md"
TEMPLATES = {"template.yaml": template.load, "stacksets/org-rollout.yaml": rollout}


def skips(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(resource, check id, comment) of every checkov skip in a template's resources' Metadata."""
    return [(name, skip.get("id"), skip.get("comment"))
            for name, resource in data["Resources"].items()
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]


def documented_skips() -> set[tuple[str, str]]:
    """(resource, check id) pairs of the skip table in docs/security.md: `| CKV_AWS_n | `Res`, `Res` | why |`."""
    text = SECURITY_DOC.read_text(encoding="utf-8")
    section = text.split("### Skipped checks", 1)[1].split("\n#", 1)[0]
    pairs = set()
    for row in re.findall(r"^\| (CKV2?_AWS_\d+)\b[^|]*\|([^|]+)\|", section, flags=re.MULTILINE):
        pairs |= {(resource, row[0]) for resource in re.findall(r"`(\w+)`", row[1])}
    return pairs


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_skip_names_a_check_and_gives_a_one_line_reason(name: str) -> None:
    found = skips(TEMPLATES[name]())
    assert found, f"{name} has no checkov skip: the test would prove nothing"
    for resource, check_id, comment in found:
        assert isinstance(check_id, str) and re.fullmatch(r"CKV2?_AWS_\d+", check_id), (resource, check_id)
        assert isinstance(comment, str) and 20 <= len(comment.strip()) <= 200 and "\n" not in comment, \
            (resource, check_id, comment)


def test_docs_list_exactly_the_skipped_checks() -> None:
    declared = {(resource, check_id) for load in TEMPLATES.values() for resource, check_id, _ in skips(load())}
    assert documented_skips() == declared


def test_the_expanded_stack_set_template_keeps_the_functions_skips() -> None:
    sam, cfn = template.load()["Resources"], expanded()["Resources"]
    for function in ("RoleFixerFunction", "RoleSweeperFunction", "SweepStepsFunction"):
        assert cfn[function]["Type"] == "AWS::Lambda::Function"
        assert cfn[function]["Metadata"]["checkov"] == sam[function]["Metadata"]["checkov"]


def test_concurrency_is_reserved_by_default_and_one_sweep_runs_at_a_time() -> None:
    t = template.load()
    parameter = t["Parameters"]["FixerReservedConcurrency"]
    assert parameter["Type"] == "Number" and parameter["MinValue"] == 0 and 1 <= parameter["Default"] <= 4
    assert t["Conditions"]["ReserveConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FixerReservedConcurrency"}, "0"]}]}
    functions = {name: t["Resources"][name]["Properties"] for name in ("RoleFixerFunction", "RoleSweeperFunction")}
    assert functions["RoleFixerFunction"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveConcurrency", {"Ref": "FixerReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    assert functions["RoleSweeperFunction"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveConcurrency", 1, {"Ref": "AWS::NoValue"}]}
    # The sweep state machine's steps: as many as the Map runs batches at once (each at 1 IAM call/s), so even two
    # overlapping sweeps keep the account's sweep traffic under IamCallsPerSecond.
    assert t["Resources"]["SweepStepsFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveConcurrency", {"Ref": "IamCallsPerSecond"}, {"Ref": "AWS::NoValue"}]}
    passed = {p["ParameterKey"]: p["ParameterValue"]
              for p in rollout()["Resources"]["SfnIamStackSet"]["Properties"]["Parameters"]}
    assert passed["FixerReservedConcurrency"] == {"Ref": "FixerReservedConcurrency"}
    assert rollout()["Parameters"]["FixerReservedConcurrency"]["Default"] == parameter["Default"]


def test_the_scanner_is_pinned_with_all_its_dependencies() -> None:
    lines = [line for line in (ROOT / "requirements-scan.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert any(re.fullmatch(r"checkov==\d+\.\d+\.\d+", line) for line in lines)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[\w.]+", line) for line in lines), lines


# scripts/scan.py: the variants and the verdict.

def test_a_variant_changes_only_the_named_defaults_in_place() -> None:
    original = ROLLOUT.read_text(encoding="utf-8")
    variant = scan.with_defaults(original, {"CreateOrganizationTrail": "true"})
    changed = [(a, b) for a, b in zip(original.splitlines(), variant.splitlines(), strict=True) if a != b]
    assert changed == [('    Default: "false"', '    Default: "true"')]
    data = yaml.load(variant, Loader=template._Loader)
    assert data["Parameters"]["CreateOrganizationTrail"]["Default"] == "true"
    assert data["Parameters"]["CreateOrganizationTrail"]["AllowedValues"] == ["true", "false"]


def test_a_variant_of_a_missing_parameter_is_an_error() -> None:
    with pytest.raises(scan.VariantError, match="CreateTrial"):
        scan.with_defaults(template.TEMPLATE.read_text(encoding="utf-8"), {"CreateTrial": "true"})


def test_declared_skips_are_read_from_yaml_and_json() -> None:
    assert ("FailedInvocationsQueue", "CKV_AWS_27") in scan.declared_skips(template.TEMPLATE)
    assert scan.declared_skips(ROLLOUT) == {(r, c) for r, c, _ in skips(rollout())}


def _check(path: Path, check_id: str, resource: str, comment: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"result": "SKIPPED" if comment is not None else "PASSED"}
    if comment is not None:
        result["suppress_comment"] = comment
    return {"file_abs_path": str(path), "check_id": check_id, "resource": resource, "check_result": result,
            "check_name": "a check"}


def _verdict(results: dict[str, Any]) -> list[str]:
    targets = [scan.Target("t", template.TEMPLATE, template.TEMPLATE)]
    declared = {template.TEMPLATE: {("Queue", "CKV_AWS_27")}}
    full = {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []} | results
    return scan.verdict(full, targets, declared)[1]


def test_the_verdict_passes_a_clean_report() -> None:
    assert _verdict({"passed_checks": [_check(template.TEMPLATE, "CKV_AWS_1", "AWS::X::Y.R")],
                     "skipped_checks": [_check(template.TEMPLATE, "CKV_AWS_27", "AWS::SQS::Queue.Queue", "why")]}) == []


@pytest.mark.parametrize(("results", "problem"), [
    ({"failed_checks": [_check(template.TEMPLATE, "CKV_AWS_2", "AWS::X::Y.R")],
      "skipped_checks": [_check(template.TEMPLATE, "CKV_AWS_27", "AWS::SQS::Queue.Queue", "why")]}, "FAILED"),
    ({"skipped_checks": [_check(template.TEMPLATE, "CKV_AWS_27", "AWS::SQS::Queue.Queue", "No comment provided")]},
     "without a reason"),
    ({"passed_checks": [_check(template.TEMPLATE, "CKV_AWS_1", "AWS::X::Y.R")]}, "skipped nothing"),
    ({}, "checked nothing"),
    ({"skipped_checks": [_check(template.TEMPLATE, "CKV_AWS_27", "AWS::SQS::Queue.Queue", "why")],
      "parsing_errors": ["template.yaml"]}, "could not parse"),
])
def test_the_verdict_fails(results: dict[str, Any], problem: str) -> None:
    problems = _verdict(results)
    assert problems and any(problem in p for p in problems), problems
