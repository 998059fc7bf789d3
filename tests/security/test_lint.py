"""The offline policy linter: it catches what it must, and our output over the peer cases and probes is clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import plan_for, shared_files, shared_folder
from tests.tools import iam_reference, lint

CASES = shared_files("peer-cases") + (shared_files("peer-cases/probes") if shared_folder("peer-cases") else [])


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _codes(*statements: dict[str, Any]) -> list[str]:
    return [i.code for i in lint.errors(lint.lint([_doc(*statements)], iam_reference.load()))]


def test_peer_cases_and_probes_are_there() -> None:
    if shared_folder("peer-cases") is None:
        pytest.skip("public test data not present next to the repository (../shared/peer-cases); CI has it")
    assert len(CASES) >= 120


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_output_for_peer_cases_and_probes_lints_clean(path: Path) -> None:
    case = json.loads(path.read_text())
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{case.get('state_machine_name', 'MyStateMachine')}"
    plan = plan_for(case["definition"], arn=arn)
    issues = lint.errors(lint.lint(plan.documents, iam_reference.load()))
    assert issues == [], lint.dumps(issues)


@pytest.mark.parametrize(("statement", "code"), [
    ({"Effect": "Allow", "Action": ["s3:GetObjekt"], "Resource": ["arn:aws:s3:::b/k"]}, "UNKNOWN_ACTION"),
    ({"Effect": "Allow", "Action": ["nosuchservice:Get"], "Resource": ["*"]}, "UNKNOWN_ACTION"),
    ({"Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["*"]}, "WILDCARD_ACTION"),
    ({"Effect": "Allow", "Action": ["s3 GetObject"], "Resource": ["*"]}, "MALFORMED_ACTION"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sqs:us-east-1:123456789012:q"]},
     "RESOURCE_MISMATCH"),
    ({"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:x/t"]},
     "RESOURCE_MISMATCH"),
    ({"Effect": "Allow", "Action": ["logs:CreateLogDelivery"], "Resource": ["arn:aws:logs:us-east-1:123456789012:x"]},
     "RESOURCE_MISMATCH"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:us-east-1"]}, "MALFORMED_ARN"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:nope:sns:us-east-1:123456789012:t"]},
     "MALFORMED_ARN"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["topic-name"]}, "MALFORMED_ARN"),
    ({"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::123456789012:role/Admin\n"]},
     "MALFORMED_ARN"),
    ({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["*"]}, "DOCUMENT_SHAPE"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": []}, "DOCUMENT_SHAPE"),
    ({"Effect": "Maybe", "Action": ["sns:Publish"], "Resource": ["*"]}, "DOCUMENT_SHAPE"),
    ({"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["*"], "Condition": {"StringEqualz": {"a:b": "c"}}},
     "DOCUMENT_SHAPE"),
    ({"Sid": "not ok!", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["*"]}, "DOCUMENT_SHAPE"),
])
def test_linter_catches(statement: dict[str, Any], code: str) -> None:
    assert code in _codes(statement)


def test_linter_accepts_well_formed_grants_and_patterns() -> None:
    assert _codes(
        {"Sid": "A1", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Sid": "A2", "Effect": "Allow", "Action": ["dynamodb:Query"],
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/t/index/*"]},
        {"Sid": "A3", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::123456789012:role/r"],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "A4", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": ["*"]},
    ) == []


def test_duplicate_sids_across_documents_are_caught() -> None:
    stmt = {"Sid": "Same", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["*"]}
    issues = lint.lint([_doc(stmt), _doc(stmt)], iam_reference.load())
    assert [i.code for i in lint.errors(issues)] == ["DOCUMENT_SHAPE"]


def test_oversized_document_is_caught() -> None:
    big = {"Effect": "Allow", "Action": ["sns:Publish"],
           "Resource": [f"arn:aws:sns:us-east-1:123456789012:topic-{i:05d}" for i in range(400)]}
    assert "SIZE" in _codes(big)
