"""The clients' data loader (sfn_iam.aws.clients.FocusedLoader): the same models, read for less on a cold start."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader, create_loader

from sfn_iam.aws import clients

SERVICES = ("stepfunctions", "iam", "events", "dynamodb", "sns", "securityhub", "s3", "kms")


def _unordered(data: Any) -> Any:
    """The data with every mapping's order kept visible (plain dicts and OrderedDicts compare alike otherwise)."""
    if isinstance(data, dict):
        return [(k, _unordered(v)) for k, v in data.items()]
    if isinstance(data, list):
        return [_unordered(v) for v in data]
    return data


@pytest.mark.parametrize("service", SERVICES)
def test_a_model_is_read_as_botocore_reads_it_same_keys_same_order(service: str) -> None:
    ours, theirs = clients.FocusedLoader(), Loader()
    for kind in ("service-2", "endpoint-rule-set-1"):
        assert _unordered(ours.load_service_model(service, kind)) == _unordered(theirs.load_service_model(service,
                                                                                                          kind))
    assert _unordered(ours.load_data("endpoints")) == _unordered(theirs.load_data("endpoints"))


def test_a_service_is_known_without_listing_every_service_and_the_list_is_still_whole() -> None:
    ours = clients.FocusedLoader()
    names = ours.list_available_services("service-2")
    assert "stepfunctions" in names and "iam" in names
    assert "no-such-service" not in names and ".." not in names and "iam/../iam" not in names and "" not in names
    assert list(names) == Loader().list_available_services("service-2")  # iterated: botocore's own answer
    assert len(names) == len(list(names)) > 300
    with pytest.raises(UnknownServiceError):
        ours.load_service_model("no-such-service", "service-2")


def test_clients_of_a_new_session_use_the_loader_and_work_on_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    from moto import mock_aws

    session = clients.new_session()
    assert isinstance(session._session.get_component("data_loader"), clients.FocusedLoader)
    with mock_aws():
        built = clients.make_clients(session)
        assert built.sfn.list_state_machines()["stateMachines"] == []
        assert built.iam.list_roles()["Roles"] == []
        assert clients.make_client("dynamodb", session).list_tables()["TableNames"] == []
    with pytest.raises(UnknownServiceError):
        session.client("no-such-service")


def test_aws_data_path_is_honoured_as_botocore_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", f"{tmp_path}{os.pathsep}~/models")
    loader = clients.new_session()._session.get_component("data_loader")
    botocores = create_loader(os.environ["AWS_DATA_PATH"]).search_paths
    boto3s = os.path.join(os.path.dirname(boto3.__file__), "data")  # boto3's session adds its resource models
    assert loader.search_paths == [*botocores, boto3s]
    assert loader.search_paths[:2] == [str(tmp_path), os.path.expanduser("~/models")]
