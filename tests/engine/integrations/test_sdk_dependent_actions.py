"""An SDK Task makes the same request as the optimized integration of the same API, with the same credentials: it
needs the same dependent actions. Request level: the action the service checks at run time is allowed on exactly
what it is checked on, its neighbours are denied."""

from __future__ import annotations

import pytest

from tests.helpers import ACCOUNT, REGION, assert_allows, assert_denies, plan_for, task

ATHENA = f"arn:aws:athena:{REGION}:{ACCOUNT}"
SLR = (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ops.emr-serverless.amazonaws.com/"
       "AWSServiceRoleForAmazonEMRServerless")
EMRS = {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"}


@pytest.mark.parametrize("resource", ["arn:aws:states:::athena:startQueryExecution",
                                      "arn:aws:states:::aws-sdk:athena:startQueryExecution"])
def test_a_query_reads_the_data_catalogs_of_this_account(resource: str) -> None:
    """Step Functions' own policy for StartQueryExecution grants athena:GetDataCatalog on the account's catalogs
    (https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html)."""
    plan = plan_for(task(resource, {"QueryString": "SELECT 1 FROM t", "WorkGroup": "primary",
                                    "QueryExecutionContext": {"Database": "db"}}))
    assert_allows(plan, "athena:GetDataCatalog", f"{ATHENA}:datacatalog/AwsDataCatalog")
    assert_denies(plan, "athena:GetDataCatalog", f"arn:aws:athena:{REGION}:999999999999:datacatalog/AwsDataCatalog")
    assert_denies(plan, "athena:UpdateDataCatalog", f"{ATHENA}:datacatalog/AwsDataCatalog")
    assert_denies(plan, "athena:GetDataCatalog", f"{ATHENA}:workgroup/primary")


@pytest.mark.parametrize("resource", ["arn:aws:states:::emr-serverless:createApplication",
                                      "arn:aws:states:::aws-sdk:emrserverless:createApplication"])
def test_the_first_application_may_create_the_emr_serverless_service_linked_role_only(resource: str) -> None:
    """EMR Serverless creates its service-linked role with the creator's permissions when the first application is
    created (https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html, "You need to specify the
    CreateServiceLinkedRole permissions ... during the creation of the first application";
    https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/using-service-linked-roles.html)."""
    plan = plan_for(task(resource, {"Name": "app", "ReleaseLabel": "emr-7.0.0", "Type": "SPARK"}))
    assert_allows(plan, "emr-serverless:CreateApplication", "*")
    assert_allows(plan, "iam:CreateServiceLinkedRole", SLR, EMRS)
    assert_denies(plan, "iam:CreateServiceLinkedRole", SLR, {"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"})
    assert_denies(plan, "iam:CreateServiceLinkedRole",
                  f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/elasticmapreduce.amazonaws.com/"
                  "AWSServiceRoleForEMRCleanup", EMRS)
    assert_denies(plan, "iam:CreateServiceLinkedRole", SLR.replace(ACCOUNT, "999999999999"), EMRS)
    assert_denies(plan, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/x")
