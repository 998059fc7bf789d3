"""AWS SDK integrations (``arn:aws:states:::aws-sdk:SERVICE:apiAction``). Pure core.

Being rebuilt from generated data (issue 4); until then every SDK call is reported and not granted.
"""

from __future__ import annotations

from .integrations.base import Call


def requirements(call: Call, service: str, api: str) -> None:
    call.finding("UNKNOWN_INTEGRATION", f"aws-sdk:{service}:{api} is not mapped yet: nothing granted")
