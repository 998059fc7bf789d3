"""Development-time loader for the IAM reference the linter needs (cfn-lint's ``Policies.json``).

cfn-lint is already a development dependency (``sam validate --lint``) and ships the freshest offline copy of
the Service Authorization Reference we have: lower-cased actions per service with their resource types, and
ARN format regexes per resource type. The core never imports it; tests inject it into :mod:`tests.tools.lint`.
See docs/dependencies.md.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

# Known gaps of the reference, each with its source. Kept tiny and explicit: a patch here changes what the linter
# accepts, so every entry must cite AWS documentation.
PATCHES: dict[tuple[str, str], tuple[list[str], str]] = {
    ("states", "invokehttpendpoint"): (
        ["statemachine"],
        "AWS 'Call HTTPS APIs' (call-https-apis) scopes states:InvokeHTTPEndpoint to the state machine ARN, with "
        "states:HTTPMethod / states:HTTPEndpoint conditions; the reference lists no resource type",
    ),
}


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """The parsed ``cfnlint/data/AdditionalSpecs/Policies.json`` (fails loudly when cfn-lint is missing)."""
    path = resources.files("cfnlint").joinpath("data", "AdditionalSpecs", "Policies.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "s3" not in data or "Actions" not in data["s3"]:
        raise RuntimeError(f"{path} does not look like cfn-lint's IAM reference")
    return patched(data)


def patched(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with :data:`PATCHES` applied (only where the reference still lacks the resource types)."""
    out = copy.copy(data)
    for (service, action), (types, _why) in PATCHES.items():
        actions = dict(out[service]["Actions"])
        if not actions.get(action, {}).get("Resources"):
            actions[action] = {"Resources": list(types)}
            out[service] = {**out[service], "Actions": actions}
    return out
