"""The CLI's one input error, apart so that ``sfn-iam --version`` and ``sweep`` need not load the readers."""

from __future__ import annotations


class InputError(Exception):
    """Input the CLI cannot use; reported in one line, exit code 1."""
