"""Security Hub adapter: a sweep's findings in ASFF through ``BatchImportFindings`` (at most 100 per call).

Every batch is sent whatever happened to the others; a refused batch or refused findings are raised once all were
sent (:class:`FindingsImportError`), so the sweep reports them after everything else was delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

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
        refused: list[str] = []
        for start in range(0, len(findings), BATCH):
            try:
                r = self.client.batch_import_findings(Findings=findings[start:start + BATCH])  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                refused.append(f"{len(findings[start:start + BATCH])} finding(s): {type(exc).__name__}: "
                               f"{str(exc)[:300]}")
                continue
            accepted += r.get("SuccessCount", 0)
            if r.get("FailedCount"):
                first = r.get("FailedFindings", [{}])[0]
                refused.append(f"{r['FailedCount']} finding(s): {first.get('ErrorCode')} {first.get('ErrorMessage')}")
        if refused:
            raise FindingsImportError(f"Security Hub refused {'; '.join(refused)} ({accepted} accepted)")
        return accepted
