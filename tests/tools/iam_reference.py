"""Development-time loader for the IAM reference the linter needs (cfn-lint's ``Policies.json``).

cfn-lint is already a development dependency (``sam validate --lint``) and ships the freshest offline copy of
the Service Authorization Reference we have: lower-cased actions per service with their resource types, and
ARN format regexes per resource type. The core never imports it; tests inject it into :mod:`sfn_iam.lint`.
See docs/dependencies.md.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """The parsed ``cfnlint/data/AdditionalSpecs/Policies.json`` (fails loudly when cfn-lint is missing)."""
    path = resources.files("cfnlint").joinpath("data", "AdditionalSpecs", "Policies.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "s3" not in data or "Actions" not in data["s3"]:
        raise RuntimeError(f"{path} does not look like cfn-lint's IAM reference")
    return data
