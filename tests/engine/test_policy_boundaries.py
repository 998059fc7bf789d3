"""The policy builder at IAM's size limits: exactly the limit fits, one character more does not.

IAM counts a policy's characters without whitespace
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): 10,240 for all inline policies of a
role, 6,144 for one customer-managed policy. ``policy.size`` is that count, commas and brackets included, so every
document the builder returns is checked with it — not with the builder's own running total.
"""

from __future__ import annotations

import itertools

import pytest

from sfn_iam.engine import policy
from sfn_iam.model import Condition, Requirement

LIMITS = [10_240, 6_144]


def test_the_limits_are_iams() -> None:
    assert tuple(LIMITS) == (policy.INLINE_LIMIT, policy.MANAGED_LIMIT)


def requirement(i: int, pad: int = 0) -> Requirement:
    """One small statement per requirement: the condition value differs, so nothing merges."""
    resource = f"arn:aws:sns:us-east-1:123456789012:topic-{i:04d}{'x' * pad}"
    return Requirement("sns:Publish", resource, (Condition("StringEquals", "aws:RequestTag/n", (f"v{i}",)),))


def padded_to(n: int, target: int) -> list[Requirement]:
    """``n`` requirements whose single document is exactly ``target`` characters (the last one padded)."""
    reqs = [requirement(i) for i in range(n)]
    missing = target - policy.size(policy.document(policy.statements(reqs)))
    assert missing >= 0, "too many statements for the target"
    reqs[-1] = requirement(n - 1, missing)
    assert policy.size(policy.document(policy.statements(reqs))) == target
    return reqs


def flatten(docs: list[policy.Document]) -> list[policy.Statement]:
    return [s for d in docs for s in d["Statement"]]


@pytest.mark.parametrize("limit", LIMITS)
def test_a_document_of_exactly_the_limit_stays_one_document(limit: int) -> None:
    n = limit // 250
    docs, findings = policy.documents(padded_to(n, limit), limit)
    assert len(docs) == 1 and findings == []
    assert policy.size(docs[0]) == limit
    assert len(docs[0]["Statement"]) == n


@pytest.mark.parametrize("limit", LIMITS)
def test_one_character_more_splits_into_documents_that_each_fit(limit: int) -> None:
    n = limit // 250
    reqs = padded_to(n, limit + 1)
    docs, findings = policy.documents(reqs, limit)
    assert len(docs) == 2
    assert [f.code for f in findings] == ["POLICY_SPLIT"]
    assert findings[0].message.endswith(f"({limit + 1} in one)")  # the size of the policy as one document
    assert all(policy.size(d) <= limit for d in docs)
    assert flatten(docs) == policy.statements(reqs)  # nothing lost, nothing widened, order kept


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("n", [60, 97, 203])
def test_packing_many_small_statements_fills_each_document_as_far_as_iam_allows(limit: int, n: int) -> None:
    reqs = [requirement(i, pad=i % 7) for i in range(n)]
    stmts = policy.statements(reqs)
    docs, findings = policy.documents(reqs, limit)
    assert len(docs) >= 2, "the case must exercise the packing"
    assert flatten(docs) == stmts
    sizes = [policy.size(d) for d in docs]
    assert all(s <= limit for s in sizes), sizes
    # First fit in order: the next statement (with its comma) would not have fitted into the previous document.
    for doc, nxt in itertools.pairwise(docs):
        assert policy.size(doc) + 1 + policy.size(nxt["Statement"][0]) > limit
    assert [f.code for f in findings] == (["POLICY_SPLIT"] if len(docs) > 1 else [])


@pytest.mark.parametrize("limit", LIMITS)
def test_a_split_document_can_be_exactly_the_limit(limit: int) -> None:
    """The first document filled to the character: the packing counts what IAM counts, no more."""
    n = limit // 250
    first = padded_to(n, limit)
    reqs = [*first, *(requirement(i) for i in range(n, n + 5))]
    docs, _ = policy.documents(reqs, limit)
    assert len(docs) == 2
    assert policy.size(docs[0]) == limit
    assert len(docs[0]["Statement"]) == n


@pytest.mark.parametrize("limit", LIMITS)
def test_one_statement_split_by_resources_at_the_limit(limit: int) -> None:
    """One statement too large on its own: its resources are split into parts that each fit, none lost."""
    reqs = [Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:queue-{i:05d}") for i in range(500)]
    docs, findings = policy.documents(reqs, limit)
    assert "POLICY_TOO_LARGE" not in {f.code for f in findings}
    assert all(policy.size(d) <= limit for d in docs)
    granted = sorted(r for s in flatten(docs) for r in s["Resource"])
    assert granted == sorted(r.resource for r in reqs)
    # each part but the last would not have taken the next resource (its Sid reserved as ...P999)
    parts = flatten(docs)
    for part, nxt in itertools.pairwise(parts):
        reserved = {**part, "Sid": part["Sid"].rsplit("P", 1)[0] + "P999"}
        assert policy.size(policy.document([reserved])) + 1 + policy.size(nxt["Resource"][0]) > limit


@pytest.mark.parametrize("pad", range(8))
def test_a_lone_statement_one_character_over_the_limit_is_split_by_its_resources(pad: int) -> None:
    """A policy of one statement whose document is the limit plus one: that statement alone does not fit either, so
    its resources are split (the pads move the statement's size through the low bits of the document's frame)."""
    reqs = [Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:queue-{i:03d}") for i in range(40)]
    reqs.append(Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:queue-last" + "x" * pad))
    limit = policy.size(policy.document(policy.statements(reqs))) - 1
    docs, findings = policy.documents(reqs, limit)
    assert len(docs) == 2 and [f.code for f in findings] == ["POLICY_SPLIT"]
    assert all(policy.size(d) <= limit for d in docs)
    assert sorted(r for s in flatten(docs) for r in s["Resource"]) == sorted(r.resource for r in reqs)


def test_size_counts_commas_brackets_and_quotes_but_no_whitespace() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["a:B", "c:D"], "Resource": "*"}]}
    compact = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["a:B","c:D"],"Resource":"*"}]}'
    assert policy.size(doc) == len(compact)
    spaced = {**doc, "Statement": [{**doc["Statement"][0], "Resource": "arn:aws:s3:::b/with some spaces"}]}
    assert policy.size(spaced) == len(compact) - len('"*"') + len('"arn:aws:s3:::b/withsomespaces"')


@pytest.mark.parametrize("limit", LIMITS)
def test_a_statement_of_exactly_the_limit_is_kept_whole_next_to_others(limit: int) -> None:
    """A statement that fits a document on its own (to the character) is not split by resources."""
    big = [Requirement("sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:queue-{i:04d}")
           for i in range(limit // 60)]
    stmt_size = policy.size(policy.document(policy.statements(big)))
    assert stmt_size < limit
    # pad the last queue so the statement's own document is exactly the limit
    last = big[-1]
    big[-1] = Requirement(last.action, last.resource + "x" * (limit - stmt_size))
    [stmt] = policy.statements(big)
    assert policy.size(policy.document([stmt])) == limit
    docs, findings = policy.documents([*big, requirement(1)], limit)
    assert "POLICY_TOO_LARGE" not in {f.code for f in findings}
    assert stmt in flatten(docs)  # the same statement, same Sid, every resource: not split


def _part_reserve_base(stmt: policy.Statement) -> int:
    """What a part of ``stmt`` costs before its resources: the Sid is reserved with a three-digit part number."""
    return policy.size(policy.document([{**stmt, "Sid": stmt["Sid"] + "P999", "Resource": []}]))


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("extra", [0, 1])
def test_parts_of_a_split_statement_are_filled_to_the_character(limit: int, extra: int) -> None:
    """Resources padded so that the first two parts reach the limit exactly (with the Sid's P999 reserve), or
    exceed it by ``extra`` characters, in which case each part's last resource moves to the next part."""
    def res(j: int, pad: int = 0) -> str:
        return f"arn:aws:sqs:us-east-1:123456789012:q-{j:05d}{'x' * pad}"

    probe = policy.statements([Requirement("sqs:SendMessage", res(j)) for j in range(3)])[0]
    base = _part_reserve_base(probe)
    one = policy.size(res(0))  # every unpadded resource has the same size
    per_part = (limit - base + 1) // (one + 1)  # resources of a part: base + k*one + (k-1) commas <= limit
    pad = limit - (base + per_part * one + (per_part - 1)) + extra
    resources: list[str] = []
    for part in range(2):
        for j in range(per_part):
            n = part * per_part + j
            resources.append(res(n, pad if j == per_part - 1 else 0))
    resources += [res(2 * per_part + j) for j in range(3)]
    reqs = [Requirement("sqs:SendMessage", r) for r in resources]
    docs, findings = policy.documents(reqs, limit)
    assert "POLICY_TOO_LARGE" not in {f.code for f in findings}
    parts = flatten(docs)
    if extra == 0:
        assert [len(p["Resource"]) for p in parts][:2] == [per_part, per_part]
    else:  # the padded resource opens the next part, which then holds the rest of that run and the next one
        assert len(parts[0]["Resource"]) == per_part - 1
    assert sorted(r for p in parts for r in p["Resource"]) == sorted(resources)
    assert all(policy.size(d) <= limit for d in docs)


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("over", [0, 1])
def test_a_resource_whose_part_is_exactly_the_limit_is_granted_one_more_is_refused(limit: int, over: int) -> None:
    """A statement split by resources whose first part holds one resource: granted at exactly the limit."""
    small = "arn:aws:sqs:us-east-1:123456789012:zz-small"
    probe = policy.statements([Requirement("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q"),
                               Requirement("sqs:SendMessage", small)])[0]
    part_base = policy.size(policy.document([{**probe, "Sid": probe["Sid"] + "P0", "Resource": []}]))
    head = "arn:aws:sqs:us-east-1:123456789012:q"
    big = head + "x" * (limit - part_base - policy.size(head) + over)
    reqs = [Requirement("sqs:SendMessage", big), Requirement("sqs:SendMessage", small)]
    docs, findings = policy.documents(reqs, limit)
    granted = [r for d in docs for s in d["Statement"] for r in s["Resource"]]
    assert small in granted
    if over:
        assert big not in granted and "POLICY_TOO_LARGE" in {f.code for f in findings}
    else:
        assert big in granted and "POLICY_TOO_LARGE" not in {f.code for f in findings}
        assert max(policy.size(d) for d in docs) == limit
