"""S3 adapter of the sweep state machine's bucket: the listing the Distributed Map reads (``ItemReader``), the Map
Run's result files (``ResultWriter``) the summary reads, and the report the summary leaves there.

The listing is one object at a fixed key in a versioned bucket; each sweep reads back exactly the version it wrote
(``GetObject`` with ``VersionId``, authorized as ``s3:GetObjectVersion``), so two sweeps never read each other's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REQUIRED_ACTIONS = frozenset({
    "s3:PutObject",  # put_listing, put_report
    "s3:GetObject",  # read_json (the Map Run's manifest and result files)
    "s3:GetObjectVersion",  # get_listing (one version of the listing)
})
LISTING_KEY = "listing/state-machines.json"  # statemachines/sweep.asl.json reads it
RESULTS_PREFIX = "results"  # the ResultWriter's prefix in statemachines/sweep.asl.json
REPORTS_PREFIX = "reports"


class SweepBucket:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_listing(self, arns: list[str]) -> str:
        """Write the listing (a JSON array of state machine ARNs); returns the version written."""
        r = self.client.put_object(Bucket=self.bucket, Key=LISTING_KEY, Body=json.dumps(arns).encode(),
                                   ContentType="application/json")
        return str(r.get("VersionId", ""))

    def get_listing(self, version: str) -> list[str]:
        kwargs: dict[str, Any] = {"VersionId": version} if version else {}
        body = self.client.get_object(Bucket=self.bucket, Key=LISTING_KEY, **kwargs)["Body"].read()
        return [str(a) for a in json.loads(body)]

    def read_json(self, key: str) -> Any:
        return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def put_report(self, name: str, body: str, content_type: str) -> str:
        key = f"{REPORTS_PREFIX}/{name}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType=content_type)
        return key
