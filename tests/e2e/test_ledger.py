"""The DynamoDB ledger adapter on moto: what a claim records and returns, taking an entry, the retiring marks."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from sfn_iam.aws.ledger import DynamoDbLedger, create_table

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
BASE = "sfn-iam.us-east-1.Orders"


@pytest.fixture
def ledger() -> Iterator[DynamoDbLedger]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        create_table(client, "ledger")
        yield DynamoDbLedger(client, "ledger")


def test_a_claim_records_the_role_and_the_aliases_and_returns_the_entry_before(ledger: DynamoDbLedger) -> None:
    assert ledger.claim(BASE, ARN, "a", "d1", "p1", aliases=False) is None
    before = ledger.claim(BASE, ARN, "b", "d2", "p2")  # aliases not known this time: the recorded answer stays
    assert before is not None and (before.role, before.aliases, before.roles) == ("a", False, frozenset({"a"}))
    entry = ledger.get(BASE)
    assert entry is not None and (entry.role, entry.aliases, entry.roles) == ("b", False, frozenset({"a", "b"}))
    ledger.claim(BASE, ARN, "b", "d2", "p2", aliases=True)
    entry = ledger.get(BASE)
    assert entry is not None and entry.aliases is True


def test_an_entry_without_the_new_attributes_is_not_known(ledger: DynamoDbLedger) -> None:
    ledger.add_roles(BASE, ARN, frozenset({"a"}))
    entry = ledger.get(BASE)
    assert entry is not None and (entry.role, entry.aliases, entry.retiring) == ("", None, frozenset())


def test_take_deletes_the_entry_and_returns_it(ledger: DynamoDbLedger) -> None:
    ledger.claim(BASE, ARN, "a", "d1", "p1")
    taken = ledger.take(BASE)
    assert taken is not None and taken.roles == frozenset({"a"})
    assert ledger.get(BASE) is None and ledger.take(BASE) is None


def test_retiring_marks_are_added_and_removed_and_never_create_an_entry(ledger: DynamoDbLedger) -> None:
    ledger.mark_retiring(BASE, "a")
    assert ledger.get(BASE) is None
    ledger.claim(BASE, ARN, "a", "d1", "p1")
    ledger.mark_retiring(BASE, "a")
    ledger.mark_retiring(BASE, "b")
    entry = ledger.get(BASE)
    assert entry is not None and entry.retiring == frozenset({"a", "b"})
    ledger.mark_retiring(BASE, "a", carries=False)
    entry = ledger.get(BASE)
    assert entry is not None and entry.retiring == frozenset({"b"})
