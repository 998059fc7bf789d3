"""Amazon EMR, EMR on EKS (``emr-containers``) and EMR Serverless. Pure core."""

from __future__ import annotations

from sfn_iam.engine.asl import DYNAMIC, Args, Dynamic
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


# Clusters the machine creates itself and then acts on by their run-time ID (the create / add steps / terminate
# workflow): their IDs are generated, but a tag the creating state sets literally marks them. EMR authorizes the
# actions that take a cluster ID on the cluster's tags (elasticmapreduce:ResourceTag/KEY, "Use cluster tags for
# fine-grained access control": https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-fine-grained-cluster-access.html);
# ModifyInstanceGroups takes no cluster ID, so no tag can scope it.
EMR_CLUSTER = "emr-cluster"
_NOT_TAG_SCOPED = {"modifyinstancegroupbyname"}


def literal_tags(args: Args, shape: str) -> set[tuple[str, str]]:
    """The tags a creating call sets literally: ``Tags`` as a list of ``{Key, Value}`` (``shape`` "list", EMR) or
    as an object (``shape`` "map", EMR Serverless); tags computed at run time are left out."""
    if shape == "map":
        tags = args.sub("Tags")
        if tags.dynamic:
            return set()
        names: list[str] = tags.keys()  # Args.keys(): the keys without JSONPath's ".$"
        return {(key, value) for key in names if isinstance(value := tags.get(key), str)}
    items = args.items("Tags")
    if not isinstance(items, list):
        return set()
    out = set()
    for item in items:
        key, value = item.get("Key"), item.get("Value")
        if isinstance(key, str) and isinstance(value, str):
            out.add((key, value))
    return out


def own_tags(call: Call, key_prefix: str, shape: str) -> tuple[Condition, ...]:
    """A ``.sync`` creation stops what it created on abort: the resource carries the tags the call sets literally."""
    return tuple(Condition("StringEquals", f"{key_prefix}{k}", (v,)) for k, v in sorted(literal_tags(call.args, shape)))


def created_scope(call: Call, kind: str, what: str, key_prefix: str, pattern: str, creator: str
                  ) -> tuple[str, tuple[Condition, ...]] | None:
    """A run-time ``what`` of a resource this machine creates: the pattern scoped by the literal tags every creating
    state sets (``key_prefix`` + tag key), with a finding; ``None`` when the machine creates no such resource."""
    if kind not in call.created:
        return None
    tags = call.created[kind]
    if not tags:
        call.finding("DYNAMIC_RESOURCE", f"{what} is only known at run time and the {creator} of this machine sets "
                                          f"no literal tag: narrowest pattern {pattern}; set a tag in its Tags and "
                                          "the grant is scoped to the resources carrying it")
        return pattern, ()
    shown = ", ".join(f"{k}={v}" for k, v in tags)
    call.finding("DYNAMIC_RESOURCE", f"{what} is only known at run time: granted on {pattern} carrying the tags the "
                                      f"{creator} of this machine sets ({shown})")
    return pattern, tuple(Condition("StringEquals", f"{key_prefix}{k}", (v,)) for k, v in tags)


def _cluster(call: Call) -> tuple[str, tuple[Condition, ...]] | None:
    # A cluster ARN or ID names the cluster in this account and Region; the docs' dynamic form spans every
    # Region and account, this account and Region are enough.
    value = call.args.get("ClusterId")
    if isinstance(value, Dynamic) and call.api.lower() not in _NOT_TAG_SCOPED:
        scoped = created_scope(call, EMR_CLUSTER, "ClusterId", "elasticmapreduce:ResourceTag/",
                               call.arn("elasticmapreduce", "cluster/*"), "createCluster")
        if scoped is not None:
            return scoped
    cluster = call.resolve(value, "ClusterId", "elasticmapreduce", "cluster/{}",
                           normalize=lambda v: last_segment(v, "cluster/"))
    return None if cluster is None else (cluster, ())


@register("elasticmapreduce", "setClusterTerminationProtection", "cancelStep", "modifyInstanceFleetByName",
          "modifyInstanceGroupByName")
@register("elasticmapreduce", "terminateCluster", "addStep", patterns=(REQUEST_RESPONSE, SYNC))
def emr_cluster(call: Call) -> None:
    found = _cluster(call)
    if found is None:
        return
    cluster, conditions = found
    always, on_sync = _EMR_CLUSTER_APIS[call.api.lower()]
    call.allow(always + (on_sync if call.sync else ()), cluster, *conditions)
    if call.api.lower() == "addstep":
        # An EMR runtime role (AddJobFlowSteps' top-level ExecutionRoleArn) is passed to EMR by the caller.
        pass_role(call, call.args.get("ExecutionRoleArn"), "ExecutionRoleArn", (EMR,))


@register("elasticmapreduce", "createCluster", patterns=(REQUEST_RESPONSE, SYNC))
def emr_create_cluster(call: Call) -> None:
    call.allow("elasticmapreduce:RunJobFlow", "*")  # RunJobFlow has no resource type: the cluster does not exist yet
    cluster_tags(call)
    if call.sync:
        # The cluster ID is generated at run time: clusters of this account and region.
        call.allow(("elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows"),
                   call.arn("elasticmapreduce", "cluster/*"), *own_tags(call, "elasticmapreduce:ResourceTag/", "list"))
    pass_role(call, call.args.get("ServiceRole"), "ServiceRole", (EMR,))
    pass_role(call, call.args.get("AutoScalingRole"), "AutoScalingRole", ("application-autoscaling.amazonaws.com",))
    instance_profile_role(call, call.args.get("JobFlowRole"), "JobFlowRole", "ec2.amazonaws.com")
    # RunJobFlow creates EMR's cleanup service-linked role the first time (EMR guide, linked from the SFN page).
    call.allow(
        "iam:CreateServiceLinkedRole",
        f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/aws-service-role/{EMR}*/AWSServiceRoleForEMRCleanup*",
        Condition("StringEquals", "iam:AWSServiceName", (EMR,)),
    )


def cluster_tags(call: Call) -> None:
    """RunJobFlow with ``Tags`` tags the new cluster: ``elasticmapreduce:AddTags`` on it (its ID is generated: clusters
    of this account and Region), limited to the tag keys the definition names when they are literal
    (``aws:TagKeys``; the tag-on-create keys of RunJobFlow and AddTags in the Service Authorization Reference,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticmapreduce.html; AWS CDK's
    EmrCreateCluster grants AddTags whenever it sets tags)."""
    items = call.args.items("Tags")
    if items is None or items == []:
        return
    keys = [item.get("Key") for item in items] if isinstance(items, list) else [DYNAMIC]
    clusters = call.arn("elasticmapreduce", "cluster/*")
    if all(isinstance(k, str) and k for k in keys):
        call.allow("elasticmapreduce:AddTags", clusters,
                   Condition("ForAllValues:StringEquals", "aws:TagKeys", tuple(sorted({str(k) for k in keys}))))
        return
    call.allow("elasticmapreduce:AddTags", call.dynamic("the keys of Tags", clusters))


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


EMR_SERVERLESS_APPLICATION = "emr-serverless-application"


def _application(call: Call, *, created: bool = False) -> tuple[str, tuple[Condition, ...]] | None:
    """The application ``ApplicationId`` names; with ``created``, a run-time ID of an application this machine creates
    is scoped by the tags its createApplication sets (aws:ResourceTag/KEY, "Policies for tag-based access control":
    https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-TBAC.html)."""
    value = call.args.get("ApplicationId")
    if created and isinstance(value, Dynamic):
        scoped = created_scope(call, EMR_SERVERLESS_APPLICATION, "ApplicationId", "aws:ResourceTag/",
                               call.arn("emr-serverless", "/applications/*"), "createApplication")
        if scoped is not None:
            return scoped
    app = call.resolve(value, "ApplicationId", "emr-serverless", "/applications/{}",
                       normalize=lambda v: last_segment(v, "/applications/"))
    return None if app is None else (app, ())


def _serverless(actions: tuple[str, ...]) -> list[str]:
    return [f"emr-serverless:{a}" for a in actions]


# The SDK forms (aws-sdk:emr:terminateJobFlows, aws-sdk:emrserverless:stopApplication, ...) of the same actions: the
# SDK table grants them on the account's pattern when the ID is only known at run time; in a machine that creates
# such resources, the writes on that pattern are scoped by the creators' tags as the optimized forms are (a read on a
# pattern is granted as it is: a standalone describe of another cluster keeps working).
_SDK_CREATED: dict[str, tuple[str, str, str, str, frozenset[str]]] = {
    "emr": (EMR_CLUSTER, "elasticmapreduce", "cluster/*", "elasticmapreduce:ResourceTag/", frozenset({
        "elasticmapreduce:terminatejobflows", "elasticmapreduce:addjobflowsteps", "elasticmapreduce:cancelsteps",
        "elasticmapreduce:setterminationprotection", "elasticmapreduce:modifyinstancefleet"})),
    "emrserverless": (EMR_SERVERLESS_APPLICATION, "emr-serverless", "/applications/*", "aws:ResourceTag/", frozenset({
        "emr-serverless:startapplication", "emr-serverless:stopapplication", "emr-serverless:deleteapplication"})),
}


def sdk_created(call: Call, service: str, since: int, noted: int) -> None:
    """Scope what an SDK call of ``service`` required since index ``since`` of ``call.requirements`` on the
    account's pattern by the tags the machine's creators set (findings since ``noted`` that only named the pattern
    are replaced by the scoped one); nothing changes when the machine creates no such resource."""
    spec = _SDK_CREATED.get(service)
    if spec is None or spec[0] not in call.created:
        return
    kind, prefix, resource, key_prefix, actions = spec
    pattern = call.arn(prefix, resource)
    mine = call.requirements[since:]
    hits = [r for r in mine if r.resource == pattern and not r.conditions and r.action.lower() in actions]
    if not hits:
        return
    what = "ClusterId" if service == "emr" else "ApplicationId"
    creator = "runJobFlow" if service == "emr" else "createApplication"
    before = len(call.findings)
    scoped = created_scope(call, kind, what, key_prefix, pattern, creator)  # its finding says how to scope it
    if scoped is None or not scoped[1]:
        return  # no tag every creator sets: the pattern stays, and so does the wildcard rule's verdict on it
    del call.requirements[since:]
    call.requirements.extend(r for r in mine if r not in hits)
    for r in hits:
        call.allow(r.action, pattern, *scoped[1])
    call.findings[noted:before] = [f for f in call.findings[noted:before]
                                   if not (f.code == "DYNAMIC_RESOURCE" and pattern in f.message)]


def serverless_linked_role(call: Call) -> None:
    """EMR Serverless creates its service-linked role with the caller's permissions when the account's first
    application is created ("You need to specify the CreateServiceLinkedRole permissions in your IAM policies during
    the creation of the first application": https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html;
    https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/using-service-linked-roles.html): that role only,
    for that service only. Shared by the optimized and the SDK createApplication."""
    call.allow(
        "iam:CreateServiceLinkedRole",
        f"arn:{call.ctx.partition}:iam::{call.ctx.account}:role/aws-service-role/ops.{EMR_SERVERLESS}/"
        "AWSServiceRoleForAmazonEMRServerless*",
        Condition("StringLike", "iam:AWSServiceName", (f"ops.{EMR_SERVERLESS}",)),
    )


@register("emr-serverless", "createApplication", patterns=(REQUEST_RESPONSE, SYNC))
def create_application(call: Call) -> None:
    # CreateApplication has no resource type in the Service Authorization Reference
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonemrserverless.html): it is
    # authorized on "*" only. The Step Functions page's arn:...:/* is not what IAM checks.
    call.allow("emr-serverless:CreateApplication", "*")
    serverless_linked_role(call)
    if call.sync:
        call.allow(_serverless(("GetApplication", "DeleteApplication")), call.arn("emr-serverless", "/applications/*"),
                   *own_tags(call, "aws:ResourceTag/", "map"))
        call.managed_rule(APPLICATION_RULE)


@register("emr-serverless", "startApplication", "stopApplication", "deleteApplication",
          patterns=(REQUEST_RESPONSE, SYNC))
def application(call: Call) -> None:
    found = _application(call, created=True)
    if found is None:
        return
    app, conditions = found
    action, on_sync = _APPLICATION_APIS[call.api.lower()]
    call.allow(_serverless((action, *(on_sync if call.sync else ()))), app, *conditions)
    if call.sync:
        call.managed_rule(APPLICATION_RULE)


@register("emr-serverless", "startJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def serverless_job(call: Call) -> None:
    found = _application(call)
    role = call.args.get("ExecutionRoleArn")
    if not role:
        call.missing("ExecutionRoleArn")
    if found is None or not role:
        return
    app = found[0]
    call.allow("emr-serverless:StartJobRun", app)
    pass_role(call, role, "ExecutionRoleArn", (EMR_SERVERLESS,))
    if call.sync:
        call.allow(_serverless(("GetJobRun", "CancelJobRun")), f"{app}/jobruns/*")
        call.managed_rule(JOB_RULE)


@register("emr-serverless", "cancelJobRun", patterns=(REQUEST_RESPONSE, SYNC))
def cancel_job_run(call: Call) -> None:
    found = _application(call)
    if found is None:
        return
    app = found[0]
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
