"""Policy names are injective over machine ARNs: no shape of a name (readable, hashed, the old hashed form, retiring,
version, overflow) can equal another machine's (fixing/naming.py)."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest

from sfn_iam.fixing import naming

ACCOUNT = "123456789012"
PREFIXES = ("sfn-iam.", "p" * 32, "x,")


def _arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{name}"


NAMES = ["Orders", "Orders(eu)", "Orders_eu_", "Orders.1", "Orders.12", "Ordres-été!", "A" * 80, "A" * 79 + "B",
         "a.b", "a_b", "Orders'", "x" * 76 + ".1"]


def _hashed_shapes(prefix: str, name: str) -> list[str]:
    """Readable names an attacker could give a machine to imitate ``name``'s hashed names."""
    base = naming.policy_name(prefix, _arn(name))
    tail = base.removeprefix(f"{prefix}us-east-1.")
    legacy = naming.legacy_name(prefix, _arn(name))
    return [tail.replace(",", "."), tail.replace(",", "_"), *([legacy.removeprefix(f"{prefix}us-east-1.")]
                                                               if legacy else [])]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_derived_name_of_every_machine_is_distinct(prefix: str) -> None:
    names = NAMES + [s for n in NAMES for s in _hashed_shapes(prefix, n) if "," not in s]
    inline: dict[str, str] = {}  # IAM's inline policy names of a role (and the ledger's keys: the bases)
    managed: dict[str, str] = {}  # IAM's customer-managed policy names (overflow), a namespace of their own
    for name in names:
        base = naming.policy_name(prefix, _arn(name))
        for seen, derived in ((inline, [base, naming.retiring_name(base), naming.version_name(base)]),
                              (managed, [naming.overflow_name(base, i) for i in range(1, 21)])):
            for d in derived:
                assert len(d) <= naming.MAX_NAME and re.fullmatch(r"[\w+=,.@-]+", d, re.ASCII), d
                assert seen.setdefault(d, name) == name, (d, name, seen[d])


def test_readable_names_have_no_comma_after_the_prefix_and_hashed_ones_do() -> None:
    assert naming.policy_name("sfn-iam.", _arn("Orders")) == "sfn-iam.us-east-1.Orders"
    assert naming.policy_name("sfn-iam.", _arn("Orders") + ":3") == "sfn-iam.us-east-1.Orders"
    hashed = naming.policy_name("sfn-iam.", _arn("Orders(eu)"))
    digest = hashlib.sha256(_arn("Orders(eu)").encode()).hexdigest()[:naming.DIGEST]
    assert hashed == f"sfn-iam.us-east-1.Orders_eu_,{digest}"
    assert naming.policy_name("sfn-iam.", _arn("Orders(eu)", "eu-west-1")) != hashed
    long = naming.policy_name("p" * 32, _arn("A" * 80, "ap-southeast-2"))
    assert "," in long and len(long) == naming.MAX_NAME - 4 and long.endswith(
        hashlib.sha256(_arn("A" * 80, "ap-southeast-2").encode()).hexdigest()[:naming.DIGEST])
    assert not naming.is_retiring(hashed) and not naming.is_version(hashed)


def test_the_old_hashed_name_is_known_and_ambiguous_only_for_hashed_machines() -> None:
    assert naming.legacy_name("sfn-iam.", _arn("Orders")) is None
    legacy = naming.legacy_name("sfn-iam.", _arn("Orders(eu)"))
    digest = hashlib.sha256(_arn("Orders(eu)").encode()).hexdigest()[:12]
    assert legacy == f"sfn-iam.us-east-1.Orders_eu_.{digest}"
    assert naming.ambiguous(legacy) and not naming.ambiguous(naming.policy_name("sfn-iam.", _arn("Orders(eu)")))
    assert not naming.ambiguous("sfn-iam.us-east-1.Orders") and not naming.ambiguous("p.x.0123456789a")
    assert not naming.ambiguous("p.x.0123456789abg") and naming.ambiguous("p.x.0123456789ab")
    assert not naming.ambiguous("p.x.0123456789AB")
    long = naming.legacy_name("p" * 32, _arn("A" * 80, "ap-southeast-2"))
    assert long is not None and len(long) == naming.MAX_NAME - 4


def test_long_derived_names_are_cut_with_a_digest_of_the_base() -> None:
    base = naming.policy_name("p" * 32, _arn("A" * 80, "ap-southeast-2"))
    other = naming.policy_name("p" * 32, _arn("A" * 79 + "B", "ap-southeast-2"))
    for make, suffix in ((naming.retiring_name, ",retiring"), (naming.version_name, ",version")):
        name = make(base)
        assert len(name) == naming.MAX_NAME and name.endswith(suffix) and make(other) != name
        digest = hashlib.sha256(base.encode()).hexdigest()[:naming.DIGEST]
        assert name == f"{base[:naming.MAX_NAME - len(suffix) - naming.DIGEST - 1]},{digest}{suffix}"
    assert naming.retiring_name("p.x") == "p.x,retiring" and naming.version_name("p.x") == "p.x,version"


def test_overflow_names_belong_to_their_base_only() -> None:
    for a, b in itertools.permutations(["p.x", "p.x.1", "p.x,0123", "p.x.1.1"], 2):
        for i in (1, 2, 12):
            assert not naming.is_overflow_of(a, naming.overflow_name(b, i)), (a, b, i)
        assert naming.is_overflow_of(a, naming.overflow_name(a, 3))
    assert not naming.is_overflow_of("p.x", "p.x.") and not naming.is_overflow_of("p.x", "p.x.1a")
    assert not naming.is_overflow_of("p.x", "p.x.\u0661")  # a non-ASCII digit is no overflow index


def test_names_as_deployed_are_pinned() -> None:
    """A changed digest length or boundary would rename every deployed policy of such machines: pinned literally."""
    assert naming.policy_name("sfn-iam.", _arn("Orders(eu)")) == "sfn-iam.us-east-1.Orders_eu_,98017bab195a932f3dff"
    assert naming.legacy_name("sfn-iam.", _arn("Orders(eu)")) == "sfn-iam.us-east-1.Orders_eu_.98017bab195a"
    prefix = "p" * 32
    region = "ap-southeast-2"
    room = naming.MAX_NAME - 4 - len(f"{prefix}{region}.")  # 77: a Step Functions name may have 80 characters
    fits = naming.policy_name(prefix, _arn("n" * room, region))
    assert fits == f"{prefix}{region}.{'n' * room}" and len(fits) == naming.MAX_NAME - 4
    assert "," in naming.policy_name(prefix, _arn("n" * (room + 1), region))
    assert naming.legacy_name(prefix, _arn("n" * room, region)) is None
    assert naming.legacy_name(prefix, _arn("n" * (room + 1), region)) is not None


def test_derived_names_are_cut_only_beyond_iam_s_128_characters() -> None:
    assert naming.MAX_NAME == 128  # IAM's limit on policy names
    assert naming.retiring_name("b" * 119) == "b" * 119 + ",retiring"  # 128: not cut
    cut = naming.retiring_name("b" * 120)
    assert len(cut) == 128 and cut.startswith("b" * 98 + ",") and cut.endswith(",retiring")
    assert naming.version_name("b" * 120) != naming.version_name("b" * 121)
