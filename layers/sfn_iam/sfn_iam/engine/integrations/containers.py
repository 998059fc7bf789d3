"""Containers: ECS/Fargate ``runTask``, AWS Batch ``submitJob`` and the Amazon EKS integrations. Pure core."""

from __future__ import annotations

import re

from sfn_iam.engine import facts
from sfn_iam.engine.asl import Dynamic
from sfn_iam.engine.integrations.base import CALLBACK, REQUEST_RESPONSE, SYNC, Call
from sfn_iam.engine.integrations.common import last_segment, nested, pass_role, role_arn
from sfn_iam.engine.integrations.registry import register
from sfn_iam.model import Condition

ECS_RULE = "StepFunctionsGetEventsForECSTaskRule"
BATCH_RULE = "StepFunctionsGetEventsForBatchJobsRule"
ECS_TASKS = "ecs-tasks.amazonaws.com"
EKS = "eks.amazonaws.com"
_REVISION_RE = re.compile(r":\d+$")


# --- ECS / Fargate -------------------------------------------------------------------------------------------------


def _task_definition(call: Call) -> str | None:
    """``task-definition/FAMILY:REV``; a bare family runs the latest ACTIVE revision, so any revision of it."""
    value = call.args.get("TaskDefinition")
    if isinstance(value, Dynamic):
        return call.dynamic("TaskDefinition", call.arn("ecs", "task-definition/*"))
    if not value:
        call.missing("TaskDefinition")
        return None
    if value.startswith("arn:"):
        # any revision: ":*" already written (a template's task definition, its revision known at deploy time)
        return value if _REVISION_RE.search(value) or value.endswith(":*") else f"{value}:*"
    return call.arn("ecs", f"task-definition/{value if _REVISION_RE.search(value) else value + ':*'}")


def _cluster(call: Call) -> tuple[str | None, str]:
    """(cluster ARN when literal, pattern of the tasks it runs)."""
    value = call.args.get("Cluster")
    if isinstance(value, Dynamic):
        return None, call.dynamic("Cluster", call.arn("ecs", "task/*"))
    if value and value.startswith("arn:") and ":cluster/" in value:
        return value, value.replace(":cluster/", ":task/", 1) + "/*"
    name = value or "default"
    return (call.arn("ecs", f"cluster/{name}") if value else None), call.arn("ecs", f"task/{name}/*")


@register("ecs", "runTask", patterns=(REQUEST_RESPONSE, SYNC, CALLBACK))
def run_task(call: Call) -> None:
    definition = _task_definition(call)
    if definition is None:
        return
    cluster, tasks = _cluster(call)
    in_cluster = (Condition("ArnEquals", "ecs:cluster", (cluster,)),) if cluster else ()
    call.allow("ecs:RunTask", definition, *in_cluster)
    if call.args.has("Tags") or call.args.has("PropagateTags"):
        # ECS authorizes tags applied at creation with ecs:TagResource on the new task.
        call.allow("ecs:TagResource", tasks, Condition("StringEquals", "ecs:CreateAction", ("RunTask",)))
    if call.sync:
        # The task ID is unknown until run time; the cluster bounds which tasks Step Functions may watch or stop.
        call.allow(("ecs:DescribeTasks", "ecs:StopTask"), tasks)
        call.managed_rule(ECS_RULE)
    overridden = [nested(call.args, f"Overrides.{key}") for key in ("TaskRoleArn", "ExecutionRoleArn")]
    for key, value in zip(("Overrides.TaskRoleArn", "Overrides.ExecutionRoleArn"), overridden, strict=True):
        pass_role(call, value, key, (ECS_TASKS,))
    if not all(isinstance(v, str) and v for v in overridden):
        _task_definition_roles(call, definition, overridden)


def _task_definition_roles(call: Call, definition: str, overridden: list[str | Dynamic | None]) -> None:
    """The task and execution roles of the task definition (facts from the account), unless overridden."""
    named = definition.removesuffix(":*")
    known = call.args.context
    askable = not ("*" in named or "?" in named) or (known is not None and known.vouches(named))
    answer = call.fact(facts.TASK_DEFINITION, named) if askable else None
    if answer is None:
        call.finding(
            "OUT_OF_BAND_PERMISSION",
            "roles in the task definition itself (task role, execution role) are not in the state machine: "
            "if it has them, RunTask also needs iam:PassRole on them (ecs-tasks.amazonaws.com); the fixer reads "
            "them from the account (the CLI with --resolve)",
        )
        return
    for (key, value), role in zip((("taskRoleArn", overridden[0]), ("executionRoleArn", overridden[1])),
                                  answer.values, strict=False):
        if role and not (isinstance(value, str) and value):  # an override replaces the definition's role
            pass_role(call, role, f"the task definition's {key}", (ECS_TASKS,))


# --- AWS Batch -----------------------------------------------------------------------------------------------------


def _job_definition(call: Call) -> list[str]:
    value = call.args.get("JobDefinition")
    if isinstance(value, Dynamic):
        return [call.dynamic("JobDefinition", call.arn("batch", "job-definition/*"))]
    if not value:
        call.missing("JobDefinition")
        return []
    arn = value if value.startswith("arn:") else call.arn("batch", f"job-definition/{value}")
    # A name without a revision means the latest ACTIVE revision.
    return [arn] if _REVISION_RE.search(arn) else [arn, f"{arn}:*"]


@register("batch", "submitJob", patterns=(REQUEST_RESPONSE, SYNC))
def submit_job(call: Call) -> None:
    queue = call.named("JobQueue", "batch", "job-queue/{}")
    definitions = _job_definition(call)
    if queue is None or not definitions:
        return
    # Batch's user guide scopes SubmitJob by queue and definition only ("you must provide both"); the
    # authorization reference also lists the created job, which would need job/* (docs/adr/0009;
    # https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-queue.html).
    call.allow("batch:SubmitJob", [queue, *definitions])
    if call.sync:
        call.allow("batch:DescribeJobs", "*")  # DescribeJobs has no resource-level permissions
        call.allow("batch:TerminateJob", call.arn("batch", "job/*"))  # the job ID is generated at run time
        call.managed_rule(BATCH_RULE)


# --- Amazon EKS ----------------------------------------------------------------------------------------------------


@register("eks", "runJob", patterns=(REQUEST_RESPONSE, SYNC, CALLBACK))
@register("eks", "call")
def kubernetes(call: Call) -> None:
    """Kubernetes API calls are authorized by the cluster's RBAC mapping of this role, not by IAM."""
    call.finding(
        "OUT_OF_BAND_PERMISSION",
        "EKS runJob/call are authorized inside Kubernetes: map this role in the cluster (access entry or aws-auth)",
    )


def _cluster_name(call: Call, key: str = "Name") -> str | Dynamic | None:
    value = call.args.get(key)
    if isinstance(value, str) and value:
        return last_segment(value, "cluster/")
    if value is None or value == "":
        call.missing(key)
        return None
    return value


def _eks_arn(call: Call, kind: str, *parts: str | Dynamic, keys: tuple[str, ...]) -> str:
    """``arn:..:eks:R:A:KIND/PART/PART[/*]`` with ``*`` for dynamic parts (and a finding naming them)."""
    dynamic = [k for k, p in zip(keys, parts, strict=True) if isinstance(p, Dynamic)]
    text = "/".join("*" if isinstance(p, Dynamic) else p for p in parts)
    suffix = "" if kind == "cluster" else "/*"  # node group and Fargate profile ARNs end in a generated ID
    arn = call.arn("eks", f"{kind}/{text}{suffix}")
    return call.dynamic(" and ".join(dynamic), arn) if dynamic else arn


_EKS_SYNC = {
    "createcluster": ("eks:DescribeCluster", "eks:DeleteCluster"),
    "deletecluster": ("eks:DescribeCluster",),
    "createnodegroup": ("eks:DescribeNodegroup", "eks:DeleteNodegroup"),
    "deletenodegroup": ("eks:DescribeNodegroup",),
    "createfargateprofile": ("eks:DescribeFargateProfile", "eks:DeleteFargateProfile"),
    "deletefargateprofile": ("eks:DescribeFargateProfile",),
}


@register("eks", "createCluster", "deleteCluster", patterns=(REQUEST_RESPONSE, SYNC))
def eks_cluster(call: Call) -> None:
    name = _cluster_name(call)
    if name is None:
        return
    cluster = _eks_arn(call, "cluster", name, keys=("Name",))
    create = call.api.lower() == "createcluster"
    if create:
        if not call.args.get("RoleArn"):
            call.missing("RoleArn")
            return
        pass_role(call, call.args.get("RoleArn"), "RoleArn", (EKS,))
    # CreateCluster has no resource type (the docs and the authorization reference agree): only "*" works.
    call.allow("eks:CreateCluster" if create else "eks:DeleteCluster", "*" if create else cluster)
    if call.sync:
        call.allow(_EKS_SYNC[call.api.lower()], cluster)


@register("eks", "createNodegroup", "deleteNodegroup", patterns=(REQUEST_RESPONSE, SYNC))
def eks_nodegroup(call: Call) -> None:
    _cluster_part(call, "nodegroup", "NodegroupName", "eks:CreateNodegroup", "eks:DeleteNodegroup", "NodeRole")


@register("eks", "createFargateProfile", "deleteFargateProfile", patterns=(REQUEST_RESPONSE, SYNC))
def eks_fargate_profile(call: Call) -> None:
    _cluster_part(call, "fargateprofile", "FargateProfileName", "eks:CreateFargateProfile",
                  "eks:DeleteFargateProfile", "PodExecutionRoleArn")


def _cluster_part(call: Call, kind: str, name_key: str, create_action: str, delete_action: str, role_key: str) -> None:
    """A node group or Fargate profile: created on its cluster, deleted and described on its own ARN."""
    cluster = _cluster_name(call, "ClusterName")
    name = call.args.get(name_key)
    if not name:
        call.missing(name_key)
    if cluster is None or not name:
        return
    part = _eks_arn(call, kind, cluster, name, keys=("ClusterName", name_key))
    if call.api.lower().startswith("create"):
        role = call.args.get(role_key)
        if not role:
            call.missing(role_key)
            return
        _create_part(call, cluster, role, role_key, create_action)
    else:
        call.allow(delete_action, part)
    if call.sync:
        call.allow(_EKS_SYNC[call.api.lower()], part)


def _create_part(call: Call, cluster: str | Dynamic, role: str | Dynamic, role_key: str, action: str) -> None:
    # Create* authorizes on the cluster; the role passed is checked by EKS (iam:PassedToService eks.amazonaws.com).
    call.allow(action, _eks_arn(call, "cluster", cluster, keys=("ClusterName",)))
    services = (EKS,) if role_key == "NodeRole" else (EKS, "eks-fargate-pods.amazonaws.com")
    pass_role(call, role, role_key, services)
    if role_key == "NodeRole":
        call.allow("ec2:DescribeSubnets", "*")  # EC2 Describe* has no resource-level permissions
        literal = role_arn(call, role) if isinstance(role, str) else None
        if literal:
            # EKS validates the node role's attached policies with the caller's credentials (documented).
            call.allow(("iam:GetRole", "iam:ListAttachedRolePolicies"), literal)
