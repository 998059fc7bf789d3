"""``sfn-iam restore FILE...``: put back the residual policies a sweep removed (``RemoveResidualPolicies``).

A FILE is anything that carries the removal's outcome: the EventBridge event (``detail-type`` "Policy Removed",
``action`` "remove-residual"), its ``detail``, the sweeper's log line's ``outcome``, or the sweep's JSON report
(``residualRemovals``). Every ``residualAccess`` entry marked ``removed`` is restored: an inline policy with
``PutRolePolicy`` of the saved document, a managed policy with ``AttachRolePolicy`` of its ARN. Without ``--apply``
it prints what it would do. Runs with the operator's credentials (the fixer may never attach other policies).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


def removed_entries(data: Any) -> Iterator[dict[str, Any]]:
    """Every removed residual entry anywhere in ``data`` (events, outcomes, reports, lists of them)."""
    if isinstance(data, dict):
        for entry in data.get("residualAccess", []) if isinstance(data.get("residualAccess"), list) else []:
            if isinstance(entry, dict) and entry.get("removed") and entry.get("roleArn"):
                yield entry
        for key, value in data.items():
            if key != "residualAccess" and isinstance(value, dict | list):
                yield from removed_entries(value)
    elif isinstance(data, list):
        for item in data:
            yield from removed_entries(item)


def plan(files: list[str]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for name in files:
        text = Path(name).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError:  # a log export: one JSON object per line
            data = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
        for e in removed_entries(data):
            seen[(e["roleArn"], e.get("kind", ""), e.get("policyArn") or e.get("policyName", ""))] = e
    return [seen[k] for k in sorted(seen)]


def run(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    try:
        entries = plan(args.files)
    except (OSError, ValueError) as exc:
        print(f"sfn-iam: error: {exc}", file=err)
        return 1
    if not entries:
        print("sfn-iam: nothing to restore (no removed residual policy in the input)", file=err)
        return 1
    client = None
    if args.apply:
        import boto3  # only when applying: the dry run is offline

        client = boto3.client("iam", region_name=args.region) if args.region else boto3.client("iam")
    for e in entries:
        role = str(e["roleArn"]).rsplit("/", 1)[-1]
        if e.get("kind") == "inline":
            if not isinstance(e.get("document"), dict):
                print(f"sfn-iam: error: {e['policyName']} on {role}: no saved document", file=err)
                return 1
            print(f"{'put' if client else 'would put'} inline policy {e['policyName']} on role {role}", file=out)
            if client is not None:
                client.put_role_policy(RoleName=role, PolicyName=e["policyName"],
                                       PolicyDocument=json.dumps(e["document"]))
        else:
            print(f"{'attach' if client else 'would attach'} {e['policyArn']} to role {role}", file=out)
            if client is not None:
                client.attach_role_policy(RoleName=role, PolicyArn=e["policyArn"])
    return 0
