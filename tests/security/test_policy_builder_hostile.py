"""Policy builder under hostile input: covered-grant removal must stay correct and bounded."""

from __future__ import annotations

import time

from sfn_iam.engine import policy
from sfn_iam.model import Requirement
from tests.evaluate import is_allowed


def test_two_patterns_that_cover_each_other_keep_one() -> None:
    """'b/*' and 'b/**' match each other; both used to be dropped, leaving nothing granted."""
    reqs = [Requirement("s3:GetObject", "arn:aws:s3:::b/*"), Requirement("s3:GetObject", "arn:aws:s3:::b/**")]
    docs, _ = policy.documents(reqs)
    assert is_allowed(docs, "s3:GetObject", "arn:aws:s3:::b/key")


def test_thousands_of_wildcard_resources_stay_fast_and_complete() -> None:
    """6,000 distinct patterns for one action (a 1 MB definition) took minutes: subsumption was quadratic."""
    reqs = [Requirement("s3:GetObject", f"arn:aws:s3:::bucket-{i}/*") for i in range(6000)]
    reqs += [Requirement("s3:GetObject", f"arn:aws:s3:::bucket-{i}/literal") for i in range(0, 6000, 7)]
    start = time.perf_counter()
    docs, _ = policy.documents(reqs, limit=10**9)
    assert time.perf_counter() - start < 10
    for i in (0, 2999, 5999):
        assert is_allowed(docs, "s3:GetObject", f"arn:aws:s3:::bucket-{i}/any/key")
    assert not is_allowed(docs, "s3:GetObject", "arn:aws:s3:::bucket-6000/any/key")
