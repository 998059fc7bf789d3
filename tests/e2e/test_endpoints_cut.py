"""The cut of botocore's endpoints.json (sfn_iam.aws.endpoints) that the layer ships beside botocore: every answer
botocore's resolvers give is the whole file's, in every region of every partition, and the clients built from it
have the same endpoint URL, partition, region and signing region."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.config
import botocore.session
import pytest
from botocore.loaders import Loader
from botocore.regions import EndpointResolver

from sfn_iam.aws import clients, endpoints

WHOLE_FILE = Path(botocore.BOTOCORE_ROOT) / "data" / "endpoints.json"
# the role fixer's clients (the cut keeps them), the sweeper's and the facts' (served from the whole file on demand)
CLIENTS = ("stepfunctions", "iam", "events", "dynamodb")
OTHERS = ("sns", "s3", "sts", "lambda")


def _whole() -> Any:
    """A fresh parse: botocore's resolver writes its answers into the data it resolves from (both files alike)."""
    return json.loads(WHOLE_FILE.read_text(encoding="utf-8"))


WHOLE = _whole()  # read only
PARTITIONS = [p["partition"] for p in WHOLE["partitions"]]
REGIONS = [(p["partition"], r) for p in WHOLE["partitions"] for r in p["regions"]]


def _site(tmp_path: Path) -> Path:
    """A ``pip install --target`` directory holding botocore's __init__.py and data file, as the layer's build has."""
    site = tmp_path / "site"
    (site / "botocore" / "data").mkdir(parents=True)
    shutil.copy(Path(botocore.BOTOCORE_ROOT) / "__init__.py", site / "botocore" / "__init__.py")
    shutil.copy(WHOLE_FILE, site / "botocore" / "data" / "endpoints.json")
    return site


@pytest.fixture(scope="module")
def cut_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(endpoints.write(str(_site(tmp_path_factory.mktemp("cut")))))


def _loader(cut: Path | None) -> Loader:
    loader = clients.FocusedLoader(endpoints_cut=str(cut)) if cut is not None else Loader()
    loader._cache = {}  # its own models (tests/conftest.py shares one cache among loaders with the same search path)
    return loader


def _answer(call: Any, *args: Any, **kwargs: Any) -> Any:
    """What the call returns, or the error it raises (type and message): both must be the whole file's."""
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # compared, not swallowed
        return type(exc), str(exc)


def _resolvers(cut: Path) -> tuple[EndpointResolver, EndpointResolver, Any]:
    ours = _loader(cut)
    data, path = ours.load_data_with_path("endpoints")
    assert isinstance(data["partitions"][0]["services"], endpoints.Services)  # the cut is what was served
    assert ours.is_builtin_path(path)  # so the rule-set resolver is not handed the legacy endpoint as SDK::Endpoint
    whole, whole_path = _loader(None).load_data_with_path("endpoints")
    assert whole_path == path
    return EndpointResolver(whole, uses_builtin_data=True), EndpointResolver(data, uses_builtin_data=True), data


def test_the_cut_keeps_every_key_but_other_services_and_is_small(cut_file: Path) -> None:
    saved = json.loads(cut_file.read_text(encoding="utf-8"))
    assert saved["source"] == {"botocore": botocore.__version__, "size": WHOLE_FILE.stat().st_size}
    assert {k: v for k, v in saved["endpoints"].items() if k != "partitions"} == {
        k: v for k, v in WHOLE.items() if k != "partitions"}
    for mine, theirs in zip(saved["endpoints"]["partitions"], WHOLE["partitions"], strict=True):
        assert {k: v for k, v in mine.items() if k not in ("services", "sfnIamKept")} == {
            k: v for k, v in theirs.items() if k != "services"}
        assert mine["services"] == {s: theirs["services"][s] for s in endpoints.SERVICES if s in theirs["services"]}
    assert cut_file.stat().st_size < WHOLE_FILE.stat().st_size / 20


def test_every_answer_of_the_legacy_resolver_is_the_whole_files(cut_file: Path) -> None:
    whole, ours, data = _resolvers(cut_file)
    prefixes = [*endpoints.SERVICES, "sns", "securityhub", "s3", "kms", "sts", "ecs", "lambda", "no-such-service"]
    assert ours.get_available_partitions() == whole.get_available_partitions() == PARTITIONS
    for partition in PARTITIONS:
        assert ours.get_partition_dns_suffix(partition) == whole.get_partition_dns_suffix(partition)
        for prefix in prefixes:
            for non_regional in (False, True):
                assert (ours.get_available_endpoints(prefix, partition, non_regional)
                        == whole.get_available_endpoints(prefix, partition, non_regional)), (prefix, partition)
            assert ours.get_service_endpoints_data(prefix, partition) == whole.get_service_endpoints_data(prefix,
                                                                                                          partition)
    checked = 0
    for partition, region in [*REGIONS, ("aws", "us-east-9"), ("aws", "aws-global"), ("aws-cn", "cn-west-9"),
                              ("aws", "xx-nowhere-1")]:
        assert _answer(ours.get_partition_for_region, region) == _answer(whole.get_partition_for_region, region)
        for prefix in prefixes:
            for fips, dualstack in ((False, False), (True, False), (False, True), (True, True)):
                kwargs = {"use_fips_endpoint": fips, "use_dualstack_endpoint": dualstack}
                expected = _answer(whole.construct_endpoint, prefix, region, **kwargs)
                assert _answer(ours.construct_endpoint, prefix, region, **kwargs) == expected, (prefix, region, kwargs)
                assert _answer(ours.construct_endpoint, prefix, region, partition, **kwargs) == _answer(
                    whole.construct_endpoint, prefix, region, partition, **kwargs)
                checked += isinstance(expected, dict)
    assert checked > len(REGIONS) * len(endpoints.SERVICES)  # not a comparison of nothing
    # the kept services never needed the whole file; only the others did
    assert all(isinstance(p["services"], endpoints.Services) for p in data["partitions"])


def test_the_kept_services_are_answered_without_reading_the_whole_file(cut_file: Path) -> None:
    reads: list[str] = []
    data = endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__, lambda: reads.append("whole") or _whole(),
                          str(cut_file))
    resolver = EndpointResolver(data, uses_builtin_data=True)
    for partition, region in REGIONS:
        for prefix in endpoints.SERVICES:
            resolver.construct_endpoint(prefix, region, partition)
    assert reads == []
    assert resolver.construct_endpoint("lambda", "eu-west-1")["hostname"] == "lambda.eu-west-1.amazonaws.com"
    assert reads == ["whole"]  # another service: the whole file, once
    resolver.construct_endpoint("ecs", "eu-west-1")
    assert reads == ["whole"]


def test_a_cut_of_another_botocore_or_file_is_not_served(cut_file: Path, tmp_path: Path) -> None:
    saved = json.loads(cut_file.read_text(encoding="utf-8"))
    assert endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__, _whole, str(cut_file)) is not None
    assert endpoints.load(botocore.BOTOCORE_ROOT, "0.0.1", _whole, str(cut_file)) is None
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({**saved, "source": {**saved["source"], "size": saved["source"]["size"] + 1}}))
    assert endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__, _whole, str(stale)) is None
    assert endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__, _whole, str(tmp_path / "none")) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert endpoints.load(botocore.BOTOCORE_ROOT, botocore.__version__, _whole, str(broken)) is None
    # served by the loader only for botocore's own file: an endpoints.json on AWS_DATA_PATH is read as botocore does
    custom = tmp_path / "data"
    custom.mkdir()
    (custom / "endpoints.json").write_text(WHOLE_FILE.read_text(encoding="utf-8"))
    loader = clients.FocusedLoader(extra_search_paths=[str(custom)], endpoints_cut=str(cut_file))
    loader._cache = {}
    data, path = loader.load_data_with_path("endpoints")
    assert path == str(custom / "endpoints") and not isinstance(data["partitions"][0]["services"], endpoints.Services)
    # and without a cut beside botocore (a virtualenv), the whole file
    plain = clients.FocusedLoader(endpoints_cut=str(tmp_path / "none"))
    plain._cache = {}
    assert plain.load_data("endpoints") == _whole()


def _session(cut: Path | None) -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader(cut))
    return boto3.session.Session(botocore_session=core)


def _meta(client: Any) -> tuple[Any, ...]:
    """Where the client sends, in which partition and region, how it signs, and the rule-set resolver's inputs."""
    signer = client._request_signer
    return (client.meta.endpoint_url, client.meta.partition, client.meta.region_name, signer.region_name,
            signer.signing_name, {k: "deferred" if callable(v) else v  # the account ID: read from the credentials
                                  for k, v in client._ruleset_resolver._builtins.items()})


@pytest.mark.parametrize("config", [{}, {"use_fips_endpoint": True}, {"use_dualstack_endpoint": True}],
                         ids=["plain", "fips", "dualstack"])
def test_clients_built_from_the_cut_are_the_clients_built_from_the_whole_file(cut_file: Path, config: dict[str, Any],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    ours, whole = _session(cut_file), _session(None)
    assert isinstance(ours._session.get_component("data_loader"), clients.FocusedLoader)
    built = 0
    for _, region in REGIONS:
        for service in (*CLIENTS, *(OTHERS if not config else ())):
            cfg = botocore.config.Config(**config)
            try:
                expected = _meta(whole.client(service, region_name=region, config=cfg))
            except Exception as exc:  # the same refusal from both (e.g. a variant a partition does not have)
                with pytest.raises(type(exc)):
                    ours.client(service, region_name=region, config=cfg)
                continue
            assert _meta(ours.client(service, region_name=region, config=cfg)) == expected, (service, region)
            built += 1
    assert built >= len(REGIONS) * len(CLIENTS) // 2


def test_the_layer_build_writes_the_cut_beside_botocore_as_a_script(tmp_path: Path) -> None:
    """layers/sfn_iam/Makefile runs the module as a script on the ``pip install --target`` directory."""
    layer = Path(__file__).resolve().parents[2] / "layers" / "sfn_iam"
    assert '$(PYTHON) sfn_iam/aws/endpoints.py "$(ARTIFACTS_DIR)/python"' in (layer / "Makefile").read_text()
    site = _site(tmp_path)
    out = subprocess.run([sys.executable, "-I", "sfn_iam/aws/endpoints.py", str(site)], cwd=layer, check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == str(site / endpoints.FILE)
    assert endpoints.load(str(site / "botocore"), botocore.__version__, _whole) is not None  # found beside botocore
    assert endpoints.served(str(site))  # what scripts/check_layer.py checks in the built layer
    (site / "botocore" / "data" / "endpoints.json").write_text(json.dumps(_whole()))  # another file: not served
    assert not endpoints.served(str(site))
