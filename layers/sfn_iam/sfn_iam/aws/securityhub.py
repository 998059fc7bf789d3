"""Security Hub adapter: a sweep's findings in ASFF through ``BatchImportFindings`` (at most 100 per call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

REQUIRED_ACTIONS = frozenset({"securityhub:BatchImportFindings"})
BATCH = 100


class FindingsImportError(RuntimeError):
    """Security Hub refused some findings."""


class SecurityHubImporter:
    def __init__(self, client: SecurityHubClient) -> None:
        self.client = client

    def import_findings(self, findings: list[dict[str, Any]]) -> int:
        accepted = 0
        for start in range(0, len(findings), BATCH):
            r = self.client.batch_import_findings(Findings=findings[start:start + BATCH])  # type: ignore[arg-type]
            accepted += r.get("SuccessCount", 0)
            if r.get("FailedCount"):
                first = r.get("FailedFindings", [{}])[0]
                raise FindingsImportError(f"Security Hub refused {r['FailedCount']} finding(s): "
                                          f"{first.get('ErrorCode')} {first.get('ErrorMessage')}")
        return accepted
