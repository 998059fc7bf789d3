"""sfn_iam.aws.clients: the loader serves the layer's two cuts of botocore's data (endpoints, the four service
models) only for botocore's own files, and the IAM pacing of a sweep. Fast: the exhaustive proofs of the cuts are
tests/e2e/test_endpoints_cut.py and tests/e2e/test_models_cut.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.exceptions import ClientError, DataNotFoundError

import sfn_iam
from sfn_iam.aws import clients, endpoints, models

DATA = Path(botocore.BOTOCORE_ROOT) / "data"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``pip install --target`` directory with botocore's files and both cuts, as the layer's build leaves it."""
    site = tmp_path_factory.mktemp("layer") / "python"
    (site / "botocore" / "data").mkdir(parents=True)
    shutil.copy(Path(botocore.BOTOCORE_ROOT) / "__init__.py", site / "botocore" / "__init__.py")
    shutil.copy(DATA / "endpoints.json", site / "botocore" / "data" / "endpoints.json")
    for service in models.PREFIXES.values():
        shutil.copytree(DATA / service, site / "botocore" / "data" / service)
    endpoints.write(str(site))
    models.write(str(site), botocore.__version__)
    return site


def _loader(site: Path | None, **kwargs: Any) -> clients.FocusedLoader:
    cuts = {"endpoints_cut": str(site / endpoints.FILE), "models_cut": str(site / models.DIRECTORY)} if site else {}
    loader = clients.FocusedLoader(**cuts, **kwargs)
    loader._cache = {}  # its own models (tests/conftest.py shares one cache among loaders with the same search path)
    return loader


def test_both_cuts_are_served_under_botocores_own_paths(site: Path) -> None:
    loader = _loader(site)
    data, path = loader.load_data_with_path("endpoints")
    assert path == str(DATA / "endpoints") and loader.is_builtin_path(path)
    assert isinstance(data["partitions"][0]["services"], endpoints.Services)
    name = models.latest(botocore.BOTOCORE_ROOT, "events")
    model, path = loader.load_data_with_path(name)
    assert path == str(DATA / name) and list(model["operations"]) == ["PutEvents"]
    assert loader.load_service_model("events", "service-2") is model
    # the other kinds of data and the other services' models: botocore's files
    rules, path = loader.load_data_with_path(name.replace("service-2", "endpoint-rule-set-1"))
    assert path == str(DATA / name.replace("service-2", "endpoint-rule-set-1")) and "rules" in rules
    assert len(loader.load_service_model("sns", "service-2")["operations"]) > 20
    whole = _loader(None).load_data("endpoints")
    assert [p["partition"] for p in data["partitions"]] == [p["partition"] for p in whole["partitions"]]
    assert data["partitions"][0]["services"]["sns"] == whole["partitions"][0]["services"]["sns"]  # on demand


def test_without_cuts_or_for_files_on_aws_data_path_botocores_data_is_read(site: Path, tmp_path: Path) -> None:
    plain = _loader(None, endpoints_cut=str(tmp_path / "none"), models_cut=str(tmp_path / "none"))
    data, _ = plain.load_data_with_path("endpoints")
    assert not isinstance(data["partitions"][0]["services"], endpoints.Services)
    assert len(plain.load_service_model("events", "service-2")["operations"]) > 1
    custom = tmp_path / "data"
    name = models.latest(botocore.BOTOCORE_ROOT, "events")
    (custom / Path(name).parent).mkdir(parents=True)
    (custom / (name + ".json")).write_text(json.dumps({"marker": 1}))
    (custom / "endpoints.json").write_text(json.dumps({"marker": 2}))
    on_path = _loader(site, extra_search_paths=[str(custom)])
    assert on_path.load_data_with_path(name) == ({"marker": 1}, str(custom / name))
    assert on_path.load_data_with_path("endpoints") == ({"marker": 2}, str(custom / "endpoints"))


def test_error_code_is_the_aws_code_of_a_client_error_only() -> None:
    error = ClientError({"Error": {"Code": "NoSuchEntity", "Message": "m"}}, "GetRole")
    assert clients.error_code(error) == "NoSuchEntity"
    assert clients.error_code(ClientError({}, "GetRole")) == ""
    assert clients.error_code(ValueError("x")) == ""


def _bucket(rate: float, **kwargs: Any) -> tuple[clients.TokenBucket, list[float], list[float]]:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    return clients.TokenBucket(rate, clock=lambda: now[0], sleep=sleep, **kwargs), slept, now


def test_a_bucket_of_one_token_waits_from_the_second_call() -> None:
    bucket, slept, now = _bucket(4)  # burst 1 by default
    bucket.acquire()
    assert slept == []
    bucket.acquire()
    assert slept == [pytest.approx(0.25)]
    now[0] += 0.1  # a part of a token: the wait is the rest
    bucket.acquire()
    assert slept[1] == pytest.approx(0.15)
    bursty, slept, _ = _bucket(4, burst=3)
    for _ in range(3):
        bursty.acquire()
    assert slept == []
    bursty.acquire()
    assert slept == [pytest.approx(0.25)]


def test_a_bucket_paces_any_positive_rate() -> None:
    for rate, wait in ((1, 1.0), (0.5, 2.0)):  # IamCallsPerSecond may be 1, or less
        bucket, slept, _ = _bucket(rate)
        bucket.acquire()
        bucket.acquire()
        assert slept == [pytest.approx(wait)]


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_bucket_refuses_no_rate_or_no_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        clients.TokenBucket(rate, burst)


def test_rate_limit_takes_a_token_before_every_request_signed() -> None:
    from moto import mock_aws

    bucket, slept, _ = _bucket(2)
    with mock_aws():
        iam = clients.new_session(aws_access_key_id="t", aws_secret_access_key="t",
                                  region_name="us-east-1").client("iam")
        clients.rate_limit(iam, bucket)
        iam.list_roles()
        iam.list_roles()
    assert slept == [pytest.approx(0.5)]


def test_every_client_comes_from_the_session_given_with_the_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    session = clients.new_session()
    loader = session._session.get_component("data_loader")
    built = [*clients.make_clients(session), clients.make_client("dynamodb", session)]
    assert all(c._loader is loader for c in built)  # one session: its models are read once
    alone = [clients.make_client("sns"), *clients.make_clients()]  # or a session of their own
    assert all(c._loader is not loader and isinstance(c._loader, clients.FocusedLoader) for c in alone)
    for c in (*built, *alone):
        # adaptive retries (throttling of IAM's per-account buckets), bounded waits, and who is calling
        assert c.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}  # max_attempts 8 + the first
        assert (c.meta.config.connect_timeout, c.meta.config.read_timeout) == (5, 20)
        assert c.meta.config.user_agent_extra == f"sfn-iam/{sfn_iam.__version__}"


def test_a_model_nowhere_is_not_found_and_a_name_that_is_no_service_name_is_no_service(site: Path) -> None:
    loader = _loader(site)
    with pytest.raises(DataNotFoundError):
        loader.load_data_with_path("no-such-service/2020-01-01/service-2")
    with pytest.raises(DataNotFoundError):
        loader.load_data_with_path("no-such-data")
    names = loader.list_available_services("service-2")
    assert "events" in names
    assert all(odd not in names for odd in (5, None, b"events", "", ".", "..", "events/", "/events"))


def test_the_type_stubs_are_not_imported_at_run_time() -> None:
    """The clients' types come from mypy-boto3 stubs, which the layer does not ship (its requirements.txt)."""
    import subprocess
    import sys

    layer = str(Path(clients.__file__).parents[2])  # the package under test, wherever this run imports it from
    code = (f"import sys; sys.path.insert(0, {layer!r}); import sfn_iam.aws.clients as c; "
            "print(c.__file__, sorted(m for m in sys.modules if m.startswith('mypy_boto3')))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == [clients.__file__, "[]"]
