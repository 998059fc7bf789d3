"""The policy builder: merging, determinism, stable Sids, size accounting and splitting without widening."""

from __future__ import annotations

import json
import random

from sfn_iam.engine import policy
from sfn_iam.model import Condition, Requirement
from tests.evaluate import is_allowed

FN = "arn:aws:lambda:us-east-1:123456789012:function"


def test_actions_sharing_resources_are_merged_and_sorted() -> None:
    reqs = [
        Requirement("states:StopExecution", "arn:x:1"),
        Requirement("states:DescribeExecution", "arn:x:1"),
        Requirement("sns:Publish", "arn:t"),
        Requirement("states:DescribeExecution", "arn:x:1"),
    ]
    stmts = policy.statements(reqs)
    assert [s["Action"] for s in stmts] == [["sns:Publish"], ["states:DescribeExecution", "states:StopExecution"]]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    reqs = [Requirement("lambda:InvokeFunction", f"{FN}:f{i}") for i in range(50)]
    reqs += [Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:q{i}") for i in range(20)]
    shuffled = reqs[:]
    random.Random(7).shuffle(shuffled)
    assert json.dumps(policy.documents(reqs)) == json.dumps(policy.documents(shuffled))


def test_sids_are_stable_and_alphanumeric() -> None:
    stmt = policy.statements([Requirement("lambda:InvokeFunction", f"{FN}:a")])[0]
    again = policy.statements([Requirement("lambda:InvokeFunction", f"{FN}:a")])[0]
    assert stmt["Sid"] == again["Sid"]
    assert stmt["Sid"].isalnum() and stmt["Sid"].startswith("Lambda")


def test_a_pattern_subsumes_the_names_it_covers_but_not_conditioned_broader_grants() -> None:
    reqs = [Requirement("lambda:InvokeFunction", f"{FN}:*"), Requirement("lambda:InvokeFunction", f"{FN}:a")]
    assert policy.statements(reqs)[0]["Resource"] == [f"{FN}:*"]
    cond = (Condition("StringEquals", "k", ("v",)),)
    reqs = [Requirement("x:Y", "arn:a:*", cond), Requirement("x:Y", "arn:a:b")]
    resources = sorted(r for s in policy.statements(reqs) for r in s["Resource"])
    assert resources == ["arn:a:*", "arn:a:b"], "a conditioned pattern must not swallow an unconditioned grant"


def test_conditions_render_as_iam_blocks() -> None:
    cond = Condition("StringEquals", "states:HTTPMethod", ("GET",))
    stmt = policy.statements([Requirement("states:InvokeHTTPEndpoint", "arn:sm", (cond,))])[0]
    assert stmt["Condition"] == {"StringEquals": {"states:HTTPMethod": "GET"}}


def test_size_ignores_whitespace() -> None:
    doc = policy.document(policy.statements([Requirement("sns:Publish", "arn:t")]))
    assert policy.size(doc) == len(json.dumps(doc, separators=(",", ":")))
    assert policy.size(doc) == policy.size(json.loads(json.dumps(doc, indent=4)))


def test_large_policies_split_into_documents_within_the_limit_without_widening() -> None:
    reqs = [Requirement("lambda:InvokeFunction", f"{FN}:function-with-a-long-name-{i:04d}") for i in range(400)]
    reqs += [Requirement("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:123456789012:table/t{i}") for i in range(50)]
    docs, findings = policy.documents(reqs)
    assert len(docs) > 1
    assert [f.code for f in findings] == ["POLICY_SPLIT"]
    assert all(policy.size(d) <= policy.INLINE_LIMIT for d in docs)
    for r in reqs:
        assert is_allowed(docs, r.action, r.resource)
    assert not is_allowed(docs, "lambda:InvokeFunction", f"{FN}:other")
    assert all("*" not in res for d in docs for s in d["Statement"] for res in s["Resource"])
    sids = [s["Sid"] for d in docs for s in d["Statement"]]
    assert len(sids) == len(set(sids))


def test_split_respects_a_smaller_managed_limit() -> None:
    reqs = [Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:queue-{i:05d}") for i in range(600)]
    docs, _ = policy.documents(reqs, limit=policy.MANAGED_LIMIT)
    assert all(policy.size(d) <= policy.MANAGED_LIMIT for d in docs)
    assert sum(len(s["Resource"]) for d in docs for s in d["Statement"]) == 600


def test_a_single_resource_too_large_for_any_document_is_refused() -> None:
    docs, findings = policy.documents([Requirement("s3:GetObject", "arn:aws:s3:::b/" + "k" * 300)], limit=200)
    assert docs == []
    assert "POLICY_TOO_LARGE" in {f.code for f in findings}
