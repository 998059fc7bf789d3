"""Amazon EMR, EMR on EKS (``emr-containers``) and EMR Serverless. Pure core."""

from __future__ import annotations

from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import instance_profile_role, last_segment, pass_role
from sfn_iam.engine.integrations.registry import register
from sfn_iam.model import Condition

EMR = "elasticmapreduce.amazonaws.com"

# --- Amazon EMR --------------------------------------------------------------------------------------------------
# API -> (actions always, extra actions for .sync). All act on the cluster named by ClusterId.
_EMR_CLUSTER_APIS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "setclusterterminationprotection": (("elasticmapreduce:SetTerminationProtection",), ()),
    "terminatecluster": (("elasticmapreduce:TerminateJobFlows",), ("elasticmapreduce:DescribeCluster",)),
    "addstep": (("elasticmapreduce:AddJobFlowSteps",),
                ("elasticmapreduce:DescribeStep", "elasticmapreduce:CancelSteps")),
    "cancelstep": (("elasticmapreduce:CancelSteps",), ()),
    "modifyinstancefleetbyname": (("elasticmapreduce:ModifyInstanceFleet", "elasticmapreduce:ListInstanceFleets"), ()),
    "modifyinstancegroupbyname": (
        ("elasticmapreduce:ModifyInstanceGroups", "elasticmapreduce:ListInstanceGroups"), ()),
}


def _cluster(call: Call) -> str | None:
    # A cluster ARN or ID names the cluster in this account and Region; the docs' dynamic form spans every
    # Region and account, this account and Region are enough.
    return call.named("ClusterId", "elasticmapreduce", "cluster/{}", normalize=lambda v: last_segment(v, "cluster/"))


@register("elasticmapreduce", "setClusterTerminationProtection", "cancelStep", "modifyInstanceFleetByName",
          "modifyInstanceGroupByName")
@register("elasticmapreduce", "terminateCluster", "addStep", patterns=(REQUEST_RESPONSE, SYNC))
def emr_cluster(call: Call) -> None:
    cluster = _cluster(call)
    if cluster is None:
        return
    always, on_sync = _EMR_CLUSTER_APIS[call.api.lower()]
    call.allow(always + (on_sync if call.sync else ()), cluster)
    if call.api.lower() == "addstep":
        # An EMR runtime role (AddJobFlowSteps' top-level ExecutionRoleArn) is passed to EMR by the caller.
        pass_role(call, call.args.get("ExecutionRoleArn"), "ExecutionRoleArn", (EMR,))


@register("elasticmapreduce", "createCluster", patterns=(REQUEST_RESPONSE, SYNC))
def emr_create_cluster(call: Call) -> None:
    call.allow("elasticmapreduce:RunJobFlow", "*")  # RunJobFlow has no resource type: the cluster does not exist yet
    if call.sync:
        # The cluster ID is generated at run time: clusters of this account and region.
        call.allow(("elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows"),
                   call.arn("elasticmapreduce", "cluster/*"))
    pass_role(call, call.args.get("ServiceRole"), "ServiceRole", (EMR,))
    pass_role(call, call.args.get("AutoScalingRole"), "AutoScalingRole", ("application-autoscaling.amazonaws.com",))
    instance_profile_role(call, call.args.get("JobFlowRole"), "JobFlowRole", "ec2.amazonaws.com")
    # RunJobFlow creates EMR's cleanup service-linked role the first time (EMR guide, linked from the SFN page).
    call.allow(
        "iam:CreateServiceLinkedRole",
        f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/aws-service-role/{EMR}*/AWSServiceRoleForEMRCleanup*",
        Condition("StringEquals", "iam:AWSServiceName", (EMR,)),
    )


# --- Amazon EMR on EKS ---------------------------------------------------------------------------------------------

EMR_CONTAINERS = "emr-containers.amazonaws.com"


def _virtual_cluster(call: Call, key: str) -> str | None:
    return call.named(key, "emr-containers", "/virtualclusters/{}",
                      normalize=lambda v: last_segment(v, "/virtualclusters/"))


@register("emr-containers", "createVirtualCluster")
def create_virtual_cluster(call: Call) -> None:
    call.allow("emr-containers:CreateVirtualCluster", "*")  # the virtual cluster does not exist yet
    call.allow(
        "iam:CreateServiceLinkedRole",
        f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/aws-service-role/{EMR_CONTAINERS}/"
        "AWSServiceRoleForAmazonEMRContainers",
        Condition("StringLike", "iam:AWSServiceName", (EMR_CONTAINERS,)),
    )


@register("emr-containers", "deleteVirtualCluster", patterns=(REQUEST_RESPONSE, SYNC))
def delete_virtual_cluster(call: Call) -> None:
    cluster = _virtual_cluster(call, "Id")
    if cluster is not None:
        actions = ("DeleteVirtualCluster", "DescribeVirtualCluster") if call.sync else ("DeleteVirtualCluster",)
        call.allow([f"emr-containers:{a}" for a in actions], cluster)


@register("emr-containers", "startJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def emr_containers_job(call: Call) -> None:
    cluster = _virtual_cluster(call, "VirtualClusterId")
    role = call.args.get("ExecutionRoleArn")
    if cluster is None:
        return
    if call.sync:
        call.allow(("emr-containers:DescribeJobRun", "emr-containers:CancelJobRun"), f"{cluster}/jobruns/*")
    if isinstance(role, Dynamic):
        # The ExecutionRoleArn condition is EMR on EKS's PassRole: without a literal role it would pass any role.
        call.finding("PASSROLE_UNSCOPED", "ExecutionRoleArn is only known at run time: StartJobRun is not granted")
        return
    if not role:
        call.missing("ExecutionRoleArn")
        return
    call.allow("emr-containers:StartJobRun", cluster,
               Condition("StringEquals", "emr-containers:ExecutionRoleArn", (role,)))


# --- Amazon EMR Serverless ---------------------------------------------------------------------------------------

EMR_SERVERLESS = "emr-serverless.amazonaws.com"
APPLICATION_RULE = "StepFunctionsGetEventsForEMRServerlessApplicationRule"
JOB_RULE = "StepFunctionsGetEventsForEMRServerlessJobRule"
# API -> (action, extra .sync actions on the application)
_APPLICATION_APIS = {
    "startapplication": ("StartApplication", ("GetApplication", "StopApplication")),
    "stopapplication": ("StopApplication", ("GetApplication",)),
    "deleteapplication": ("DeleteApplication", ("GetApplication",)),
}


def _application(call: Call) -> str | None:
    return call.named("ApplicationId", "emr-serverless", "/applications/{}",
                      normalize=lambda v: last_segment(v, "/applications/"))


def _serverless(actions: tuple[str, ...]) -> list[str]:
    return [f"emr-serverless:{a}" for a in actions]


@register("emr-serverless", "createApplication", patterns=(REQUEST_RESPONSE, SYNC))
def create_application(call: Call) -> None:
    call.allow("emr-serverless:CreateApplication", call.arn("emr-serverless", "/*"))
    call.allow(
        "iam:CreateServiceLinkedRole",
        f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/aws-service-role/ops.{EMR_SERVERLESS}/"
        "AWSServiceRoleForAmazonEMRServerless*",
        Condition("StringLike", "iam:AWSServiceName", (f"ops.{EMR_SERVERLESS}",)),
    )
    if call.sync:
        call.allow(_serverless(("GetApplication", "DeleteApplication")), call.arn("emr-serverless", "/applications/*"))
        call.managed_rule(APPLICATION_RULE)


@register("emr-serverless", "startApplication", "stopApplication", "deleteApplication",
          patterns=(REQUEST_RESPONSE, SYNC))
def application(call: Call) -> None:
    app = _application(call)
    if app is None:
        return
    action, on_sync = _APPLICATION_APIS[call.api.lower()]
    call.allow(_serverless((action, *(on_sync if call.sync else ()))), app)
    if call.sync:
        call.managed_rule(APPLICATION_RULE)


@register("emr-serverless", "startJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def serverless_job(call: Call) -> None:
    app = _application(call)
    role = call.args.get("ExecutionRoleArn")
    if not role:
        call.missing("ExecutionRoleArn")
    if app is None or not role:
        return
    call.allow("emr-serverless:StartJobRun", app)
    pass_role(call, role, "ExecutionRoleArn", (EMR_SERVERLESS,))
    if call.sync:
        call.allow(_serverless(("GetJobRun", "CancelJobRun")), f"{app}/jobruns/*")
        call.managed_rule(JOB_RULE)


@register("emr-serverless", "cancelJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def cancel_job_run(call: Call) -> None:
    app = _application(call)
    if app is None:
        return
    run = call.args.get("JobRunId")
    if isinstance(run, Dynamic):
        job = call.dynamic("JobRunId", f"{app}/jobruns/*")
    elif run:
        job = f"{app}/jobruns/{run}"
    else:
        call.missing("JobRunId")
        return
    call.allow(_serverless(("CancelJobRun", "GetJobRun") if call.sync else ("CancelJobRun",)), job)
    if call.sync:
        call.managed_rule(JOB_RULE)
