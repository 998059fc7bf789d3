"""Deterministic names of the policies the fixer owns. Pure core: standard library only.

One state machine owns one inline policy ``<prefix><region>.<name>`` on its role and, when that does not fit,
customer-managed policies ``<base>.1``, ``<base>.2``, ... While executions started before an update still run, it
also owns a retiring inline policy ``<base>,retiring`` with the grants of the previous definition
(fixing/retiring.py), and on each other role that a published version an alias routes to runs under, an inline
policy ``<base>,version`` (fixing/versions.py). A comma never occurs in a base name after the prefix (IAM allows it
in policy names, Step Functions forbids it in state machine names), so no machine's base name can be another
machine's retiring or version name.
The region is part of the name because IAM is global while state machine names are only unique per region. Names
that are too long or contain characters IAM does not allow (``[\\w+=,.@-]``, at most 128) are truncated, sanitised
and suffixed with a hash of the ARN.
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
    if len(plain) <= MAX_NAME - _SUFFIX_ROOM and _VALID.match(plain):
        return plain
    digest = hashlib.sha256(sm.unqualified.encode()).hexdigest()[:12]
    room = MAX_NAME - _SUFFIX_ROOM - len(prefix) - len(sm.region) - 2 - len(digest)
    return f"{prefix}{sm.region}.{_INVALID_CHAR.sub('_', sm.name)[:room]}.{digest}"


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
    digest = hashlib.sha256(base.encode()).hexdigest()[:12]
    return f"{base[:MAX_NAME - len(suffix) - len(digest) - 1]}.{digest}{suffix}"


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
