"""DynamoDB adapter of the ledger: which roles carry which machine's policies, and the sweep's cursor. One item per
machine, keyed by its policy base name (``pk``), with ``arn``, the string set ``roles``, ``defHash``,
``policyHash``, ``docs`` (the documents planned, compact JSON: what a retiring policy may keep), ``overflow``,
``aliases`` (the machine had aliases when last listed; absent: not known), ``role`` (the machine's own role at the
last claim), ``rid:<role name>`` (the RoleId of each role written to, when claimed), ``retiring`` (string set: roles
that may carry its retiring policy) and ``findingsHash`` (what the last sweep reported: it publishes only what
changed); one item per sweep cursor, keyed ``#cursor.<name>`` (``#`` never occurs in an IAM policy name). ``arn`` is
the owner of the base name: a claim, ``add_roles`` or ``take`` for another machine is refused
(``PolicyNameTakenError``), so a name never passes from one machine to another while its entry exists. Every write
is a single atomic ``UpdateItem``/``DeleteItem``, so concurrent events never lose each other's roles (set
``ADD``/``DELETE`` instead of read-modify-write). docs/adr/0006-ledger-and-convergence.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from sfn_iam.aws.clients import error_code
from sfn_iam.fixing.ports import Document, LedgerEntry, PolicyNameTakenError, RoleReplacedError

REQUIRED_ACTIONS = frozenset({
    "dynamodb:GetItem",  # get, get_cursor, reported
    "dynamodb:UpdateItem",  # claim, add_roles, release, mark_overflow, mark_retiring, put_cursor, note_findings
    "dynamodb:DeleteItem",  # forget, take, put_cursor("")
})
_CURSOR = "#cursor."
# An entry is written and taken only by the machine it records (or when it records none): the ARN is the owner of
# the base name, never the name itself (fixing/naming.py).
_OWNED = "attribute_not_exists(arn) OR arn = :a"
# One attribute per role written to: ``rid:<role name>`` = its RoleId when claimed (a role is its RoleId, not its name)
_RID = "rid:"


def _taken(exc: ClientError, base: str, arn: str) -> None:
    """A refused ownership condition raises :class:`PolicyNameTakenError`; the caller re-raises any other error."""
    if error_code(exc) == "ConditionalCheckFailedException":
        raise PolicyNameTakenError(f"{base} is recorded for another state machine than {arn}") from exc


def _documents(text: str) -> tuple[Document, ...]:
    """The ``docs`` attribute; anything that is not a list of JSON objects is no record at all."""
    try:
        docs = json.loads(text) if text else []
    except ValueError:
        return ()
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        return ()
    return tuple(docs)


def _entry(item: Mapping[str, Any] | None) -> LedgerEntry | None:
    if not item or "arn" not in item:
        return None
    return LedgerEntry(
        arn=item["arn"]["S"],
        roles=frozenset(item.get("roles", {}).get("SS", ())),
        definition_hash=item.get("defHash", {}).get("S", ""),
        policy_hash=item.get("policyHash", {}).get("S", ""),
        overflow=bool(item.get("overflow", {}).get("BOOL", False)),
        documents=_documents(item.get("docs", {}).get("S", "")),
        aliases=item["aliases"].get("BOOL") if "aliases" in item else None,
        role=item.get("role", {}).get("S", ""),
        retiring=frozenset(item.get("retiring", {}).get("SS", ())),
        role_ids=tuple(sorted((k[len(_RID):], v["S"]) for k, v in item.items() if k.startswith(_RID) and "S" in v)),
    )


class DynamoDbLedger:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def claim(self, base: str, arn: str, role: str, definition_hash: str, policy_hash: str,
              documents: tuple[Document, ...] = (), aliases: bool | None = None, role_id: str = "",
              adopt: bool = True) -> LedgerEntry | None:
        docs = json.dumps(list(documents), separators=(",", ":"), sort_keys=True)
        values: dict[str, Any] = {":a": {"S": arn}, ":d": {"S": definition_hash}, ":p": {"S": policy_hash},
                                  ":j": {"S": docs}, ":r": {"SS": [role]},
                                  ":o": {"S": role}}
        names = {"#roles": "roles", "#docs": "docs", "#own": "role"}
        extra, condition = "", _OWNED
        if aliases is not None:
            extra, values[":al"] = ", aliases = :al", {"BOOL": aliases}
        if role_id:
            extra += ", #rid = :rid"
            names["#rid"], values[":rid"] = _RID + role, {"S": role_id}
            if not adopt:  # the role under this name must be the one recorded (or none recorded)
                condition = f"({_OWNED}) AND (attribute_not_exists(#rid) OR #rid = :rid)"
        try:
            r = self.client.update_item(
                TableName=self.table, Key={"pk": {"S": base}},
                UpdateExpression=f"SET arn = :a, defHash = :d, policyHash = :p, #docs = :j, #own = :o{extra} "
                                 "ADD #roles :r",
                ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_OLD")
        except ClientError as exc:
            if condition != _OWNED and error_code(exc) == "ConditionalCheckFailedException":
                current = self.get(base)  # which condition failed (one read, on this path only)
                if current is not None and current.arn in ("", arn):
                    raise RoleReplacedError(f"role {role} is not the role recorded for {base}") from exc
            _taken(exc, base, arn)
            raise
        return _entry(r.get("Attributes"))

    def get(self, base: str) -> LedgerEntry | None:
        r = self.client.get_item(TableName=self.table, Key={"pk": {"S": base}}, ConsistentRead=True)
        return _entry(r.get("Item"))

    def add_roles(self, base: str, arn: str, roles: frozenset[str],
                  role_ids: tuple[tuple[str, str], ...] = ()) -> None:
        if roles:
            names = {"#roles": "roles", **{f"#i{n}": _RID + r for n, (r, _) in enumerate(role_ids)}}
            values = {":a": {"S": arn}, ":r": {"SS": sorted(roles)},
                      **{f":i{n}": {"S": i} for n, (_, i) in enumerate(role_ids)}}
            ids = "".join(f", #i{n} = :i{n}" for n in range(len(role_ids)))
            try:
                self.client.update_item(
                    TableName=self.table, Key={"pk": {"S": base}}, UpdateExpression=f"SET arn = :a{ids} ADD #roles :r",
                    ConditionExpression=_OWNED, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
            except ClientError as exc:
                _taken(exc, base, arn)
                raise

    def release(self, base: str, roles: frozenset[str]) -> None:
        if roles:
            ordered = sorted(roles)
            self.client.update_item(
                TableName=self.table, Key={"pk": {"S": base}},
                UpdateExpression="DELETE #roles :r REMOVE " + ", ".join(f"#i{n}" for n in range(len(ordered))),
                ExpressionAttributeNames={"#roles": "roles", **{f"#i{n}": _RID + r for n, r in enumerate(ordered)}},
                ExpressionAttributeValues={":r": {"SS": ordered}})

    def mark_overflow(self, base: str) -> None:
        self.client.update_item(TableName=self.table, Key={"pk": {"S": base}}, UpdateExpression="SET overflow = :t",
                                ExpressionAttributeValues={":t": {"BOOL": True}})

    def mark_retiring(self, base: str, role: str, carries: bool = True) -> None:
        try:  # never creates an entry (one taken meanwhile stays gone)
            self.client.update_item(TableName=self.table, Key={"pk": {"S": base}},
                                    UpdateExpression=f"{'ADD' if carries else 'DELETE'} #r :r",
                                    ConditionExpression="attribute_exists(arn)",
                                    ExpressionAttributeNames={"#r": "retiring"},
                                    ExpressionAttributeValues={":r": {"SS": [role]}})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def forget(self, base: str, roles: frozenset[str]) -> None:
        condition = "attribute_not_exists(#roles)"
        values: dict[str, Any] = {}
        if roles:
            condition += " OR #roles = :r"
            values[":r"] = {"SS": sorted(roles)}
        try:
            self.client.delete_item(TableName=self.table, Key={"pk": {"S": base}}, ConditionExpression=condition,
                                    ExpressionAttributeNames={"#roles": "roles"},
                                    **({"ExpressionAttributeValues": values} if values else {}))
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            self.release(base, roles)  # a concurrent claim added a role: keep the entry, drop only what we cleaned

    def take(self, base: str, arn: str = "") -> LedgerEntry | None:
        owned: dict[str, Any] = {"ConditionExpression": _OWNED, "ExpressionAttributeValues": {":a": {"S": arn}}} \
            if arn else {}
        try:
            r = self.client.delete_item(TableName=self.table, Key={"pk": {"S": base}}, ReturnValues="ALL_OLD",
                                        **owned)
        except ClientError as exc:
            _taken(exc, base, arn)
            raise
        return _entry(r.get("Attributes"))

    def note_findings(self, base: str, digest: str) -> str:
        r = self.client.update_item(TableName=self.table, Key={"pk": {"S": base}}, UpdateExpression="SET #f = :f",
                                    ExpressionAttributeNames={"#f": "findingsHash"},
                                    ExpressionAttributeValues={":f": {"S": digest}}, ReturnValues="ALL_OLD")
        return str(r.get("Attributes", {}).get("findingsHash", {}).get("S", ""))

    def reported(self, base: str) -> str:
        r = self.client.get_item(TableName=self.table, Key={"pk": {"S": base}}, ConsistentRead=True,
                                 ProjectionExpression="#f", ExpressionAttributeNames={"#f": "findingsHash"})
        return str(r.get("Item", {}).get("findingsHash", {}).get("S", ""))

    def get_cursor(self, name: str) -> str:
        r = self.client.get_item(TableName=self.table, Key={"pk": {"S": _CURSOR + name}}, ConsistentRead=True)
        return str(r.get("Item", {}).get("next", {}).get("S", ""))

    def put_cursor(self, name: str, value: str) -> None:
        key = {"pk": {"S": _CURSOR + name}}
        if not value:
            self.client.delete_item(TableName=self.table, Key=key)
            return
        self.client.update_item(TableName=self.table, Key=key, UpdateExpression="SET #n = :v",
                                ExpressionAttributeNames={"#n": "next"}, ExpressionAttributeValues={":v": {"S": value}})


def create_table(client: Any, table: str) -> None:
    """The table as template.yaml declares it (for moto: the demo, the tests and the bench)."""
    client.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
