"""Actions with several *required* resource types are authorized against each of them, so an SDK Task is granted the
action on every required type its parameters name, the parent beside the child (AppFabric's app bundle beside its
app authorization, Glue's catalog and database beside the table), and the neighbours stay denied.

The Service Authorization Reference, on every service's page (e.g.
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsappfabric.html): "If the action has one or
more required resources, the caller must have permission to use the action with those resources ... If you limit
resource access with the Resource element in an IAM policy, you must include an ARN or pattern for each required
resource type." An *optional* type the parameters name more completely still replaces a less specific one (a
DynamoDB Query by IndexName is granted on the index).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from sfn_iam.engine import Plan
from sfn_iam.engine.integrations.sdk.table import index, service_table
from tests.evaluate import is_allowed
from tests.helpers import ACCOUNT, REGION, admin_guard, assert_allows, assert_denies, plan_for, task

SDK = "arn:aws:states:::aws-sdk:"
APPFABRIC = f"arn:aws:appfabric:{REGION}:{ACCOUNT}"
MEDIACONNECT = f"arn:aws:mediaconnect:{REGION}:{ACCOUNT}"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"


def _sdk(call: str, params: dict[str, Any], guard: str) -> Plan:
    return plan_for(task(SDK + call, params), guard=admin_guard(guard))


# --- the ones named in the review: AppFabric (13 operations), MediaConnect ---------------------------------------


def test_an_app_authorization_request_is_granted_on_its_app_bundle_too() -> None:
    plan = _sdk("appfabric:connectAppAuthorization", {"AppBundleIdentifier": "b1", "AppAuthorizationIdentifier": "a1"},
                "appfabric:*")
    assert_allows(plan, "appfabric:ConnectAppAuthorization", f"{APPFABRIC}:appbundle/b1/appauthorization/a1")
    assert_allows(plan, "appfabric:ConnectAppAuthorization", f"{APPFABRIC}:appbundle/b1")
    assert_denies(plan, "appfabric:ConnectAppAuthorization", f"{APPFABRIC}:appbundle/b2")
    assert_denies(plan, "appfabric:ConnectAppAuthorization", f"{APPFABRIC}:appbundle/b1/appauthorization/a2")
    assert_denies(plan, "appfabric:ConnectAppAuthorization", f"{APPFABRIC}:appbundle/b2/appauthorization/a1")
    assert plan.findings == ()


def test_an_ingestion_destination_request_is_granted_on_its_bundle_ingestion_and_destination() -> None:
    plan = _sdk("appfabric:getIngestionDestination", {"AppBundleIdentifier": "b1", "IngestionIdentifier": "i1",
                                                      "IngestionDestinationIdentifier": "d1"}, "appfabric:*")
    bundle = f"{APPFABRIC}:appbundle/b1"
    for resource in (bundle, f"{bundle}/ingestion/i1", f"{bundle}/ingestion/i1/ingestiondestination/d1"):
        assert_allows(plan, "appfabric:GetIngestionDestination", resource)
    destination = "ingestiondestination"
    for neighbour in (f"{APPFABRIC}:appbundle/b2", f"{bundle}/ingestion/i2", f"{bundle}/ingestion/i1/{destination}/d2",
                      f"{bundle}/ingestion/i2/{destination}/d1"):
        assert_denies(plan, "appfabric:GetIngestionDestination", neighbour)
    assert plan.findings == ()


def test_app_fabric_identifiers_given_as_arns_are_granted_alike() -> None:
    bundle = f"{APPFABRIC}:appbundle/b1"
    plan = _sdk("appfabric:deleteAppAuthorization",
                {"AppBundleIdentifier": bundle, "AppAuthorizationIdentifier": f"{bundle}/appauthorization/a1"},
                "appfabric:*")
    assert_allows(plan, "appfabric:DeleteAppAuthorization", bundle)
    assert_allows(plan, "appfabric:DeleteAppAuthorization", f"{bundle}/appauthorization/a1")
    assert_denies(plan, "appfabric:DeleteAppAuthorization", f"{bundle}/appauthorization/a2")
    assert_denies(plan, "appfabric:DeleteAppAuthorization", f"{APPFABRIC}:appbundle/b2")


def test_revoking_an_entitlement_is_granted_on_the_entitlement_and_its_flow() -> None:
    # The entitlement's template takes its first id from FlowArn (a flow ARN, another type): its EntitlementArn,
    # given after it, still names the entitlement whole.
    flow = f"{MEDIACONNECT}:flow:1-23aBC45dEF67hiJ8-12AbC34DE5fG:game"
    entitlement = f"{MEDIACONNECT}:entitlement:1-11aa22bb11aa22bb-3333cccc4444:partner"
    plan = _sdk("mediaconnect:revokeFlowEntitlement", {"FlowArn": flow, "EntitlementArn": entitlement},
                "mediaconnect:*")
    assert_allows(plan, "mediaconnect:RevokeFlowEntitlement", entitlement)
    assert_allows(plan, "mediaconnect:RevokeFlowEntitlement", flow)
    assert_denies(plan, "mediaconnect:RevokeFlowEntitlement", f"{entitlement}2")
    assert_denies(plan, "mediaconnect:RevokeFlowEntitlement", flow.replace(":game", ":other"))
    assert plan.findings == ()


def test_an_arn_of_another_type_with_no_arn_of_the_whole_type_after_it_still_names_nothing_of_that_type() -> None:
    flow = f"{MEDIACONNECT}:flow:1-23aBC45dEF67hiJ8-12AbC34DE5fG:game"
    plan = _sdk("mediaconnect:revokeFlowEntitlement", {"FlowArn": flow, "EntitlementArn": "partner"},
                "mediaconnect:*")
    assert_allows(plan, "mediaconnect:RevokeFlowEntitlement", flow)
    assert_denies(plan, "mediaconnect:RevokeFlowEntitlement", f"{MEDIACONNECT}:entitlement:1-x:partner")
    assert_denies(plan, "mediaconnect:RevokeFlowEntitlement", f"{MEDIACONNECT}:entitlement:{flow}:partner")


def test_a_glue_table_request_is_granted_on_its_catalog_database_and_table() -> None:
    plan = _sdk("glue:getTable", {"DatabaseName": "sales", "Name": "orders"}, "glue:*")
    for resource in (f"{GLUE}:catalog", f"{GLUE}:database/sales", f"{GLUE}:table/sales/orders"):
        assert_allows(plan, "glue:GetTable", resource)
    assert_denies(plan, "glue:GetTable", f"{GLUE}:database/hr")
    assert_denies(plan, "glue:GetTable", f"{GLUE}:table/sales/refunds")
    assert_denies(plan, "glue:GetTable", f"{GLUE}:table/hr/orders")


def test_an_optional_type_named_more_completely_still_replaces_the_required_one() -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"
    plan = _sdk("dynamodb:query", {"TableName": "T", "IndexName": "I"}, "dynamodb:*")
    assert_allows(plan, "dynamodb:Query", f"{table}/index/I")
    assert_denies(plan, "dynamodb:Query", table)
    assert_denies(plan, "dynamodb:Query", f"{table}/index/J")


# --- the whole class: every table operation whose action has several required types named by plain ids ---------

_PH = re.compile(r"\$\{([^}]+)\}")
_SPECIAL = ("SecretId", "Scope")  # placeholders the filler rewrites (suffix, lower-case)


def _plain_required(op: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """(action, parameters, the ARN of each required type) for each action of ``op`` whose required resource types
    nest: at least two, the parameters of those with placeholders a strict chain (app bundle < app authorization;
    database < table), the others fixed ARNs (Glue's catalog). Every placeholder is bound to a plain parameter, which
    gets the value ``v-<name>``."""
    if op.get("h"):
        return
    ctx = {"Partition": "aws", "Region": REGION, "Account": ACCOUNT}
    for act in op.get("a", ()):
        required = [(tpl, bind) for _, tpl, bind, req in act["r"] if req]
        chain = sorted((frozenset(bind.values()) for tpl, bind in required if set(_PH.findall(tpl)) - set(ctx)),
                       key=len)
        if len(required) < 2 or not chain or any(not a < b for a, b in itertools.pairwise(chain)):
            continue
        params: dict[str, str] = {}
        arns: list[str] = []
        for tpl, bind in required:
            names = [n for n in _PH.findall(tpl) if n not in ctx]
            if any(n not in bind or n in _SPECIAL or n.endswith("WithoutLeadingSlash") for n in names) \
                    or any(not m.isidentifier() or m == "QueueUrl" for m in bind.values()):
                break
            params.update({m: f"v-{m}" for m in bind.values()})
            arns.append(_PH.sub(lambda m, b=bind: ctx.get(m[1]) or f"v-{b[m[1]]}", tpl))
        else:
            yield act["x"], params, sorted(arns, key=len, reverse=True)


def _cases() -> Iterator[Any]:
    for service, entry in sorted(index()["services"].items()):
        if "file" not in entry:
            continue
        for api, op in sorted(service_table(entry["file"])["ops"].items()):
            for action, params, arns in _plain_required(op):
                yield pytest.param(service, op["n"], action, params, arns, id=f"{service}:{api}:{action}")


CASES = list(_cases())


def test_the_class_is_the_one_the_review_named_and_more() -> None:
    ids = {c.id for c in CASES}
    assert len(CASES) >= 100, len(CASES)
    assert "appfabric:connectappauthorization:appfabric:ConnectAppAuthorization" in ids
    assert "glue:gettable:glue:GetTable" in ids


@pytest.mark.parametrize(("service", "api", "action", "params", "arns"), CASES)
def test_each_required_type_named_by_the_parameters_is_granted(service: str, api: str, action: str,
                                                                params: dict[str, str], arns: list[str]) -> None:
    plan = plan_for(task(f"{SDK}{service}:{api}", params))
    # what the engine asks for, before the guardrails (some of these are deny-listed writes)
    document = {"Statement": [{"Effect": "Allow", "Action": r.action, "Resource": r.resource,
                               **({"Condition": {c.operator: {c.key: list(c.values)} for c in r.conditions}}
                                  if r.conditions else {})}
                              for r in plan.requirements]}
    for arn in arns:
        assert is_allowed([document], action, arn), (action, arn, plan.requirements)
        assert arn.endswith("*") or not is_allowed([document], action, f"{arn}-neighbour"), plan.requirements
