"""Every finding code the core can emit is documented in docs/findings.md, and nothing undocumented is listed."""

from __future__ import annotations

import re

from sfn_iam.findings import CODES
from tests.helpers import ROOT


def test_every_finding_code_is_documented() -> None:
    text = (ROOT / "docs" / "findings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(CODES)
