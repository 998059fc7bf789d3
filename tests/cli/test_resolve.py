"""`sfn-iam policy --resolve`: the fixer's facts, read with the caller's credentials (moto in-process here)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from sfn_iam.cli import main
from tests.evaluate import is_allowed

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _policy(tmp_path: Path, url: str, *extra: str) -> dict[str, object]:
    path = tmp_path / "d.asl.json"
    path.write_text(json.dumps({"StartAt": "S", "States": {"S": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
        "Parameters": {"QueueUrl": url, "MessageBody": "m"}}}}))
    out, err = io.StringIO(), io.StringIO()
    code = main(["policy", str(path), "--region", REGION, "--account", ACCOUNT, "--format", "json", *extra],
                out=out, err=err)
    assert code == 0, err.getvalue()
    result: dict[str, object] = json.loads(out.getvalue())["results"][0]
    return result


def test_resolve_reads_the_queue_key_and_offline_stays_the_default(aws: None, tmp_path: Path) -> None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    url = boto3.client("sqs", region_name=REGION).create_queue(
        QueueName="q", Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    via = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
    offline = _policy(tmp_path, url)
    assert not is_allowed(offline["documents"], "kms:GenerateDataKey", key, via)  # type: ignore[arg-type]
    resolved = _policy(tmp_path, url, "--resolve")
    assert is_allowed(resolved["documents"], "kms:GenerateDataKey", key, via)  # type: ignore[arg-type]
    assert is_allowed(resolved["documents"], "kms:Decrypt", key, via)  # type: ignore[arg-type]


def test_resolve_without_an_answer_is_a_finding_not_a_failure(aws: None, tmp_path: Path) -> None:
    result = _policy(tmp_path, f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/missing", "--resolve")
    codes = {f["code"] for f in result["findings"]}  # type: ignore[attr-defined]
    assert "FACT_UNRESOLVED" in codes
    assert "kms:" not in json.dumps(result["documents"])


def test_the_commands_build_their_clients_with_the_lambdas_data_loader(aws: None, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sfn_iam.aws.clients import FocusedLoader

    loaders: list[type] = []
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: object, **kwargs: object) -> object:
        loaders.append(type(self._session.get_component("data_loader")))
        return original(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(boto3.session.Session, "client", client)
    _policy(tmp_path, f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/missing", "--resolve")
    resolved = len(loaders)
    out, err = io.StringIO(), io.StringIO()
    assert main(["sweep", "--region", REGION], out=out, err=err) == 0, err.getvalue()
    assert "0 writes" in out.getvalue()
    assert resolved >= 1 and len(loaders) > resolved  # --resolve built a client, and so did the sweep
    assert set(loaders) == {FocusedLoader}
