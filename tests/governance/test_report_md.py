"""The Markdown posture report reads well at scale: summary and pictures first, residual access sorted by severity,
every machine folded, most severe first (governance/report_md.py)."""

from __future__ import annotations

from sfn_iam.governance import report, sweep
from tests.fakes import ACCOUNT, FakeLedger, FakeMachines, FakeRoles
from tests.governance.test_sweep import DYNAMIC, arn, settings, topic_definition

STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
WIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}


def test_summary_pictures_residual_and_folded_machines_in_that_order() -> None:
    machines, roles = FakeMachines(), FakeRoles()
    machines.add(arn("admin"), topic_definition("t"), roles.add_role("r-admin", inline={"legacy": STAR}))
    machines.add(arn("wide"), topic_definition("t"), roles.add_role("r-wide", inline={"team": WIDE}))
    machines.add(arn("dyn"), DYNAMIC, roles.add_role("r-clean"))
    machines.add(arn("clean"), topic_definition("t"), roles.add_role("r-clean2"))
    result = sweep.Sweeper(machines, roles, settings(), "us-east-1", ledger=FakeLedger()).run()
    md = report.to_markdown(result, "2026-11-29T00:00:00Z")
    order = ["## Summary", "### Top risks", "## Pictures", "## Totals",
             "## Roles that can do more than their machines need", "## State machines"]
    assert [md.index(h) for h in order] == sorted(md.index(h) for h in order)
    assert "**2 roles can do more than their machines need**, 1 of them admin-equivalent" in md
    assert "```mermaid\npie showData title Findings by severity" in md
    # residual access: critical before high, each naming its policy
    residual = md.split("## Roles that can do more", 1)[1].split("## State machines", 1)[0]
    assert residual.index("`legacy`") < residual.index("`team`")
    assert "CRITICAL | `r-admin`" in residual and "HIGH | `r-wide`" in residual
    # machines folded, most severe first, the clean one last
    folded = md.split("## State machines", 1)[1]
    assert folded.count("<details>") == folded.count("</details>") == 4
    summaries = [line for line in folded.splitlines() if line.startswith("<summary>")]
    assert [s.split("</b> ")[1].split(":")[0] for s in summaries] == ["admin", "wide", "dyn", "clean"]
    assert summaries[-1].startswith("<summary><b>CLEAN</b>")
    # the JSON report carries the same residual roles, sorted by severity
    doc = report.to_json(result, "2026-11-29T00:00:00Z")
    assert [r["severity"] for r in doc["residualAccess"]] == ["CRITICAL", "HIGH"]
    assert doc["residualAccess"][0]["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/stepfunctions/r-admin"
