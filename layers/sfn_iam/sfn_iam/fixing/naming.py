"""Deterministic names of the policies the fixer owns. Pure core: standard library only.

One state machine owns one inline policy ``<prefix><region>.<name>`` on its role and, when that does not fit,
customer-managed policies ``<base>.1``, ``<base>.2``, ... While executions started before an update still run, it
also owns a retiring inline policy ``<base>,retiring`` with the grants of the previous definition
(fixing/retiring.py), and on each other role that a published version an alias routes to runs under, an inline
policy ``<base>,version`` (fixing/versions.py).
The region is part of the name because IAM is global while state machine names are only unique per region.

**Injective over machine ARNs** (docs/adr/0001): two machines never share a base name, so never a ledger key, an
overflow, retiring or version name either.

- The *readable* form ``<prefix><region>.<name>`` is used when the name fits and contains only characters IAM allows
  (``[\\w+=,.@-]``, at most 128). A Step Functions name never contains a comma
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: "special characters
  `` " # % \\ ^ | ~ ` $ & , ; : / ``" are not allowed), so a readable base has none after the prefix.
- The *hashed* form ``<prefix><region>.<sanitised name>,<20 hex digits of SHA-256 of the ARN>`` is used otherwise: its
  comma keeps it out of the readable namespace, and 80 bits of digest make two ARNs sharing it a second preimage of
  SHA-256, not a choice of name. (Before, the hashed form ended ``.<12 hex>`` and a machine could be *named* so:
  :func:`legacy_name` gives that old name, which the fixer adopts only when its ledger entry names this machine.)
- Derived names append ``,retiring`` / ``,version`` (a base never ends so: readable bases have no comma, hashed ones
  end in hex digits) or ``.N`` (managed overflow; a separate IAM namespace, and a base ends in neither ``.N`` of
  an overflow name of another base: the digits after the last dot are the overflow index). A derived name that
  would exceed 128 characters is truncated and suffixed with a digest of the base, with a comma.
- A name is never the proof of ownership: the ledger records the ARN that claimed a base, a claim by another ARN is
  refused (fixing/placement.py), and a policy is removed from a role only on the ledger's word or, without an entry,
  when its name is this machine's and cannot be an older hashed name of another one (:func:`ambiguous`).
"""

from __future__ import annotations

import hashlib
import re

from sfn_iam.arns import parse_state_machine_arn

MAX_NAME = 128
_SUFFIX_ROOM = 4  # ".NN" for overflow policies
_VALID = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
_INVALID_CHAR = re.compile(r"[^\w+=,.@-]", re.ASCII)
_PREFIX = re.compile(r"^[\w+=,.@-]{1,32}$", re.ASCII)


def valid_prefix(prefix: str) -> bool:
    return bool(_PREFIX.match(prefix))


def policy_name(prefix: str, state_machine_arn: str) -> str:
    """The inline policy name for a state machine (a version or alias qualifier is ignored).

    >>> policy_name("sfn-iam.", "arn:aws:states:us-east-1:123456789012:stateMachine:Orders")
    'sfn-iam.us-east-1.Orders'
    """
    sm = parse_state_machine_arn(state_machine_arn)
    plain = f"{prefix}{sm.region}.{sm.name}"
    if len(plain) <= MAX_NAME - _SUFFIX_ROOM and _VALID.match(plain) and "," not in sm.name:
        return plain
    digest = hashlib.sha256(sm.unqualified.encode()).hexdigest()[:DIGEST]
    room = MAX_NAME - _SUFFIX_ROOM - len(prefix) - len(sm.region) - 2 - len(digest)
    return f"{prefix}{sm.region}.{_INVALID_CHAR.sub('_', sm.name)[:room]},{digest}"


DIGEST = 20  # hex digits of the ARN's SHA-256 in a hashed name (80 bits)
_LEGACY_DIGEST = 12
_LEGACY_SHAPE = re.compile(r"\.[0-9a-f]{12}$", re.ASCII)


def legacy_name(prefix: str, state_machine_arn: str) -> str | None:
    """The hashed name releases before this one gave the machine (``...<sanitised>.<12 hex>``), when it differs from
    :func:`policy_name`; ``None`` when the machine's name is readable (unchanged). Such a name is also the readable
    name a machine could be given, so a policy under it is this machine's only on its ledger entry's word.

    >>> legacy_name("sfn-iam.", "arn:aws:states:us-east-1:123456789012:stateMachine:Orders")
    >>> legacy_name("sfn-iam.", "arn:aws:states:us-east-1:123456789012:stateMachine:Orders(eu)")
    'sfn-iam.us-east-1.Orders_eu_.98017bab195a'
    """
    sm = parse_state_machine_arn(state_machine_arn)
    plain = f"{prefix}{sm.region}.{sm.name}"
    if len(plain) <= MAX_NAME - _SUFFIX_ROOM and _VALID.match(plain):
        return None
    digest = hashlib.sha256(sm.unqualified.encode()).hexdigest()[:_LEGACY_DIGEST]
    room = MAX_NAME - _SUFFIX_ROOM - len(prefix) - len(sm.region) - 2 - len(digest)
    return f"{prefix}{sm.region}.{_INVALID_CHAR.sub('_', sm.name)[:room]}.{digest}"


def ambiguous(base: str) -> bool:
    """Could ``base`` be another machine's name from an earlier release (the old hashed shape ``.<12 hex>``)? Such a
    name proves nothing on its own: only a ledger entry naming the machine does."""
    return bool(_LEGACY_SHAPE.search(base))


def overflow_name(base: str, index: int) -> str:
    """The name of the ``index``-th (from 1) customer-managed overflow policy of ``base``."""
    return f"{base}.{index}"


def is_overflow_of(base: str, name: str) -> bool:
    rest = name[len(base) + 1:] if name.startswith(base + ".") else ""
    return rest.isdigit() and rest.isascii()


RETIRING_SUFFIX = ",retiring"


def _suffixed(base: str, suffix: str) -> str:
    plain = base + suffix
    if len(plain) <= MAX_NAME:
        return plain
    digest = hashlib.sha256(base.encode()).hexdigest()[:DIGEST]
    return f"{base[:MAX_NAME - len(suffix) - len(digest) - 1]},{digest}{suffix}"


def retiring_name(base: str) -> str:
    """The inline policy keeping the previous grants of ``base`` for executions still running the old definition.

    >>> retiring_name("sfn-iam.us-east-1.Orders")
    'sfn-iam.us-east-1.Orders,retiring'
    """
    return _suffixed(base, RETIRING_SUFFIX)


def is_retiring(name: str) -> bool:
    """Is ``name`` a retiring policy's name (of any machine)?"""
    return name.endswith(RETIRING_SUFFIX)


VERSION_SUFFIX = ",version"


def version_name(base: str) -> str:
    """The inline policy of ``base`` on a role other than the machine's: what the published versions an alias routes
    to need when they run under that role (fixing/versions.py).

    >>> version_name("sfn-iam.us-east-1.Orders")
    'sfn-iam.us-east-1.Orders,version'
    """
    return _suffixed(base, VERSION_SUFFIX)


def is_version(name: str) -> bool:
    """Is ``name`` a routed version's policy name (of any machine)?"""
    return name.endswith(VERSION_SUFFIX)
