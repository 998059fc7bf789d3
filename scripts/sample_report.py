"""Generate docs/sample-report.md: the posture report of a 500-machine account on moto, as a platform team would see
it on its first sweep (report mode). Deterministic: fixed names, a fixed time, the same account every run.

The account: 500 state machines over 60 roles; most roles under /stepfunctions/, some adopted by tag at / and
/service-role/, some untagged at / (out of scope: skipped, with the policy they would need); residual access on a
few roles (AdministratorAccess, a hand-written ``Action: "*"``, a team policy wider than the machines need), a
dynamic resource here and there.

Run: PYTHONPATH=layers/sfn_iam:. .venv/bin/python -m scripts.sample_report [--out docs/sample-report.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from scripts import sandbox
from sfn_iam.aws.iam import IamRolePolicyStore
from sfn_iam.aws.ledger import DynamoDbLedger, create_table
from sfn_iam.aws.stepfunctions import StepFunctionsReader
from sfn_iam.fixing import settings as config
from sfn_iam.governance import report
from sfn_iam.governance.sweep import Sweeper

ROOT = Path(__file__).resolve().parent.parent
MACHINES, ROLES = 500, 60
EXAMPLES = ["order_processing.asl.json", "inventory_sync.asl.json", "order_processing_v2.asl.json"]
DYNAMIC = json.dumps({"StartAt": "P", "States": {"P": {
    "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
    "Parameters": {"TopicArn.$": "$.topic", "Message": "m"}}}})
STAR = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TEAM = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "dynamodb:*",
     "Resource": f"arn:aws:dynamodb:{sandbox.REGION}:{sandbox.ACCOUNT}:table/*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-data/*"}]})


def build(iam: Any, sfn: Any) -> None:
    roles = []
    for i in range(ROLES):
        if i % 12 == 5:
            path, tags = "/service-role/", {"sfn-iam:managed": "true"}  # console role, adopted by tag
        elif i % 12 == 7:
            path, tags = "/", {"sfn-iam:managed": "true"}  # SAM/CDK role, adopted by tag
        elif i % 12 == 11:
            path, tags = "/", None  # not adopted: out of scope
        else:
            path, tags = sandbox.ROLE_PATH, None
        roles.append(sandbox.create_role(iam, f"team-{i:02d}-role", path=path, tags=tags))
    for i in (3, 17, 41):
        iam.attach_role_policy(RoleName=f"team-{i:02d}-role",
                               PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    for i in (8, 29):
        iam.put_role_policy(RoleName=f"team-{i:02d}-role", PolicyName="legacy-do-anything",
                            PolicyDocument=STAR)
    team = iam.create_policy(PolicyName="team-data-access", PolicyDocument=TEAM)["Policy"]["Arn"]
    for i in (12, 13, 14, 30):
        iam.attach_role_policy(RoleName=f"team-{i:02d}-role", PolicyArn=team)
    for n in range(MACHINES):
        role = roles[n % ROLES]
        name = f"wf-{n:03d}"
        if n % 25 == 24:
            sfn.create_state_machine(name=name, definition=DYNAMIC, roleArn=role)
        else:
            sandbox.create_state_machine(sfn, name, EXAMPLES[n % len(EXAMPLES)], role)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "sample-report.md"))
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": sandbox.REGION, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        kw = {"region_name": sandbox.REGION}
        iam, sfn, ddb = boto3.client("iam", **kw), boto3.client("stepfunctions", **kw), boto3.client("dynamodb", **kw)
        create_table(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])
        build(iam, sfn)
        settings = config.from_env({**sandbox.FIXER_ENV, "MODE": "report"})
        store = IamRolePolicyStore(iam, partition="aws", account=settings.account, role_path=settings.role_path,
                                   managed_path=settings.managed_path, scope_tag=settings.scope_tag)
        result = Sweeper(StepFunctionsReader(sfn), store, settings, sandbox.REGION, workers=4,
                         ledger=DynamoDbLedger(ddb, sandbox.FIXER_ENV["LEDGER_TABLE_NAME"])).run()
        text = report.to_markdown(result, "2026-11-29T06:00:00Z")
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(result.outcomes)} machines, {len(text) // 1024} KB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
