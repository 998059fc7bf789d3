"""IAM adapter: the role's inline and attached policies, our customer-managed overflow policies, and a search for
the roles carrying our policies. "Not found" becomes ``None``/``False``; ``LimitExceeded`` on a write becomes
:class:`PolicyLimitExceededError`; everything else propagates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.fixing.ports import (
    AttachedPolicy,
    Document,
    PolicyHolder,
    PolicyLimitExceededError,
    Role,
    RolePolicies,
    RoleUnreadableError,
)
from sfn_iam.fixing.scope import tags_dict

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

REQUIRED_ACTIONS = frozenset({
    # roles under the configured path
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    # the ceiling as the permissions boundary of each role written (fixing/boundary.py), never another one
    "iam:PutRolePermissionsBoundary",
    # our customer-managed overflow policies, under their own path
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
    # holders(): find the roles that carry a machine's policies (role moved, machine deleted, sweep)
    "iam:GetAccountAuthorizationDetails",
    # residual access (fixing/residual.py): the documents of the other managed policies on an in-scope role (AWS
    # managed ones included) are read with GetPolicy + GetPolicyVersion above; the sweep may detach them
    # (DetachRolePolicy above, granted on any policy only when RemoveResidualPolicies is on)
    # role_permissions() (fixing/passable.py): any role a machine passes or assumes is read, never written, with
    # GetRole, ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies, GetPolicy and GetPolicyVersion above
})
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def _document(value: Any) -> Document:
    """Policy documents arrive as dicts (botocore decodes them) or, from some endpoints, URL-encoded JSON."""
    if isinstance(value, Mapping):
        return dict(value)
    loaded = json.loads(unquote(value) if isinstance(value, str) and value.startswith("%7B") else value)
    return loaded if isinstance(loaded, dict) else {}


def _dumps(document: Document) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=False)


class IamRolePolicyStore:
    def __init__(self, client: IAMClient, *, partition: str, account: str, role_path: str = "/",
                 managed_path: str = "/sfn-iam/", scope_tag: str = "") -> None:
        self.client = client
        self.role_path = role_path
        self.scope_tag = scope_tag.lower()  # roles tagged <scope_tag>=true are in scope whatever their path
        self.managed_path = managed_path
        self._policy_arn_prefix = f"arn:{partition}:iam::{account}:policy{managed_path}"

    def policy_arn(self, name: str) -> str:
        return self._policy_arn_prefix + name

    # -- roles and inline policies -----------------------------------------------------------------------

    def get_role(self, name: str) -> Role | None:
        try:
            role = self.client.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise
        return Role(arn=role["Arn"], name=role["RoleName"], path=role["Path"],
                    trust_policy=_document(role.get("AssumeRolePolicyDocument") or {}),
                    tags=tags_dict(role.get("Tags", [])),
                    boundary_arn=str((role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") or ""),
                    role_id=str(role.get("RoleId") or ""),
                    last_used_region=str((role.get("RoleLastUsed") or {}).get("Region") or ""))

    def set_boundary(self, role: str, policy_arn: str) -> None:
        self.client.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=policy_arn)

    def list_inline(self, role: str) -> list[str] | None:
        try:
            return [n for page in self.client.get_paginator("list_role_policies").paginate(RoleName=role)
                    for n in page["PolicyNames"]]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    def get_inline(self, role: str, name: str) -> Document | None:
        try:
            return _document(self.client.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    def put_inline(self, role: str, name: str, document: Document) -> None:
        try:
            self.client.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_dumps(document))
        except ClientError as exc:
            if error_code(exc) == "LimitExceeded":
                raise PolicyLimitExceededError(str(exc)) from exc
            raise

    def delete_inline(self, role: str, name: str) -> bool:
        try:
            self.client.delete_role_policy(RoleName=role, PolicyName=name)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    def list_attached(self, role: str) -> list[AttachedPolicy] | None:
        try:
            return [AttachedPolicy(p["PolicyName"], p["PolicyArn"])
                    for page in self.client.get_paginator("list_attached_role_policies").paginate(RoleName=role)
                    for p in page["AttachedPolicies"]]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    def attach(self, role: str, name: str) -> None:
        try:
            self.client.attach_role_policy(RoleName=role, PolicyArn=self.policy_arn(name))
        except ClientError as exc:
            if error_code(exc) == "LimitExceeded":
                raise PolicyLimitExceededError(str(exc)) from exc
            raise

    def detach(self, role: str, name: str) -> bool:
        return self.detach_arn(role, self.policy_arn(name))

    # -- our customer-managed overflow policies ----------------------------------------------------------

    def get_managed(self, name: str) -> Document | None:
        return self.get_policy_document(self.policy_arn(name))

    def _prune_versions(self, arn: str) -> None:
        """Delete every non-default version: IAM keeps at most five, and we only ever need the current one.

        A version already gone is fine: botocore may retry a delete that took effect before its response was lost
        (a 5xx after the fact), or a concurrent writer pruned it first."""
        for v in self.client.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not v["IsDefaultVersion"]:
                try:
                    self.client.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
                except ClientError as exc:
                    if error_code(exc) != "NoSuchEntity":
                        raise

    def put_managed(self, name: str, document: Document) -> str:
        arn = self.policy_arn(name)
        try:
            self.client.create_policy(PolicyName=name, Path=self.managed_path, PolicyDocument=_dumps(document),
                                      Description="Written by sfn-iam: overflow of a state machine's policy")
            return arn
        except ClientError as exc:
            if error_code(exc) != "EntityAlreadyExists":
                raise
        self._prune_versions(arn)
        try:
            self.client.create_policy_version(PolicyArn=arn, PolicyDocument=_dumps(document), SetAsDefault=True)
        except ClientError as exc:
            # A retried CreatePolicyVersion whose first attempt took effect, racing a concurrent writer, can meet
            # the five-version quota: prune and write once more (the read-back verifies the outcome).
            if error_code(exc) != "LimitExceeded":
                raise
            self._prune_versions(arn)
            self.client.create_policy_version(PolicyArn=arn, PolicyDocument=_dumps(document), SetAsDefault=True)
        self._prune_versions(arn)
        return arn

    def delete_managed(self, name: str) -> bool:
        arn = self.policy_arn(name)
        try:
            self._prune_versions(arn)  # IAM deletes a policy only once its other versions are gone
            self.client.delete_policy(PolicyArn=arn)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    # -- any managed policy (residual access) ------------------------------------------------------------

    def get_policy_document(self, arn: str) -> Document | None:
        """The default version of any managed policy (AWS managed included); ``None`` when it does not exist."""
        try:
            version = self.client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            return _document(self.client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
                             ["Document"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise

    def detach_arn(self, role: str, arn: str) -> bool:
        """``DetachRolePolicy`` of any managed policy; ``False`` when it was not attached."""
        try:
            self.client.detach_role_policy(RoleName=role, PolicyArn=arn)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    # -- any role a machine passes or assumes (fixing/passable.py) ------------------------------------------

    def role_permissions(self, name: str) -> RolePolicies | None:
        """The role's inline and attached policy documents and its permissions boundary's, read-only; ``None`` when the
        role does not exist. AccessDenied raises :class:`RoleUnreadableError` (the role is refused, never passed
        unchecked); other errors (throttling beyond the retries) propagate so the platform retries the event. A
        policy deleted between the listing and its read is skipped; a boundary policy that does not exist is ignored
        (which can only over-refuse)."""
        try:
            role = self.client.get_role(RoleName=name)["Role"]
            inline = self.list_inline(name)
            attached = self.list_attached(name)
            if inline is None or attached is None:
                return None  # deleted while being read
            documents = [d for d in (self.get_inline(name, n) for n in inline) if d is not None]
            documents += [d for d in (self.get_policy_document(a.arn) for a in attached) if d is not None]
            boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            boundary = self.get_policy_document(boundary_arn) if boundary_arn else None
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchEntity":
                return None
            if code in _DENIED:
                raise RoleUnreadableError(f"{code} reading role {name}") from exc
            raise
        return RolePolicies(tuple(documents), tuple(a.arn for a in attached), boundary, boundary_arn or "")

    # -- search -------------------------------------------------------------------------------------------

    def holders(self, prefix: str) -> list[PolicyHolder]:
        found: list[PolicyHolder] = []
        pages = self.client.get_paginator("get_account_authorization_details").paginate(
            Filter=["Role"], PaginationConfig={"PageSize": 1000})  # the API's maximum; its default is 100
        for page in pages:
            for role in page.get("RoleDetailList", []):
                # Every role, in scope or not: a policy of ours left on a role that left scope is reported by the
                # caller (ORPHANED_GRANT), never written; the listing is one call either way.
                ours = [p for p in role.get("RolePolicyList", []) if p["PolicyName"].startswith(prefix)]
                inline = tuple(p["PolicyName"] for p in ours)
                documents = tuple((p["PolicyName"], _document(p["PolicyDocument"])) for p in ours
                                  if "PolicyDocument" in p)
                attached = tuple(AttachedPolicy(p["PolicyName"], p["PolicyArn"])
                                 for p in role.get("AttachedManagedPolicies", [])
                                 if p["PolicyName"].startswith(prefix) and p["PolicyArn"].startswith(
                                     self._policy_arn_prefix))
                if inline or attached:
                    every = (tuple(p["PolicyName"] for p in role.get("RolePolicyList", [])),
                             tuple(AttachedPolicy(p["PolicyName"], p["PolicyArn"])
                                   for p in role.get("AttachedManagedPolicies", [])))
                    found.append(PolicyHolder(role["Arn"], role["RoleName"], inline, attached, documents, every))
        return found
