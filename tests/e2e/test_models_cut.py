"""The cuts of the four clients' service models (sfn_iam.aws.models) that the layer ships beside botocore: every
operation the adapters call, with every shape it reaches, is botocore's own; the clients built from the cuts send
the same requests to the same endpoints; no code calls an operation outside the cut; a cut is served only for the
file it was cut from."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
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
from botocore.model import Shape
from botocore.utils import ArgumentGenerator

import sfn_iam.aws
from sfn_iam.aws import clients, models

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(botocore.BOTOCORE_ROOT) / "data"
SERVICES = tuple(models.PREFIXES.values())
OPERATIONS = models.operations()


def _whole(service: str) -> Any:
    return Loader().load_service_model(service, "service-2")


def _site(tmp_path: Path) -> Path:
    """A ``pip install --target`` directory holding botocore's __init__.py and the four services' data."""
    site = tmp_path / "site"
    (site / "botocore" / "data").mkdir(parents=True)
    shutil.copy(Path(botocore.BOTOCORE_ROOT) / "__init__.py", site / "botocore" / "__init__.py")
    for service in SERVICES:
        shutil.copytree(DATA / service, site / "botocore" / "data" / service)
    return site


@pytest.fixture(scope="module")
def cut_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = _site(tmp_path_factory.mktemp("models"))
    written = models.write(str(site), botocore.__version__)
    assert len(written) == len(SERVICES)
    return site / models.DIRECTORY


def _loader(cut: Path | None) -> Loader:
    loader = clients.FocusedLoader(models_cut=str(cut)) if cut is not None else Loader()
    loader._cache = {}  # its own models (tests/conftest.py shares one cache among loaders with the same search path)
    return loader


def _required_actions() -> set[str]:
    found: set[str] = set()
    for info in pkgutil.iter_modules(sfn_iam.aws.__path__):
        found |= getattr(importlib.import_module(f"sfn_iam.aws.{info.name}"), "REQUIRED_ACTIONS", frozenset())
    return found


def test_the_operations_are_the_actions_the_adapters_declare_for_the_four_services() -> None:
    declared = _required_actions()
    assert {service: sorted(a.split(":")[1] for a in declared if a.startswith(prefix + ":"))
                          for prefix, service in models.PREFIXES.items()} == OPERATIONS
    assert OPERATIONS["events"] == ["PutEvents"] and OPERATIONS["dynamodb"] == ["DeleteItem", "GetItem", "UpdateItem"]
    assert {"GetRole", "GetAccountAuthorizationDetails", "GetInstanceProfile"} <= set(OPERATIONS["iam"])  # the facts'
    assert "ListStateMachines" in OPERATIONS["stepfunctions"] and "Decrypt" not in OPERATIONS["stepfunctions"]


def _reached(service_model: botocore.model.ServiceModel, names: list[str]) -> set[str]:
    """Every shape the operations reach, found through botocore's own shape objects (not the cut's walk)."""
    seen: set[str] = set()

    def walk(shape: Shape | None) -> None:
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        for attr in ("members", "member", "key", "value"):
            inner = getattr(shape, attr, None)
            if isinstance(inner, dict):
                for member in inner.values():
                    walk(member)
            elif isinstance(inner, Shape):
                walk(inner)

    for name in names:
        op = service_model.operation_model(name)
        walk(op.input_shape)
        walk(op.output_shape)
        for error in op.error_shapes:
            walk(error)
    for error in service_model.error_shapes:
        walk(error)
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_the_cut_is_botocores_model_for_every_operation_kept(service: str, cut_dir: Path) -> None:
    whole = _whole(service)
    ours = _loader(cut_dir).load_service_model(service, "service-2")
    assert ours is not whole and ours != whole
    assert {k: v for k, v in ours.items() if k not in ("operations", "shapes")} == {
        k: v for k, v in whole.items() if k not in ("operations", "shapes")}
    discovery = [n for n, op in whole["operations"].items() if op.get("endpointoperation")]
    assert list(ours["operations"]) == [n for n in whole["operations"] if n in OPERATIONS[service] or n in discovery]
    for name, op in ours["operations"].items():
        assert op == whole["operations"][name]
    reached = _reached(botocore.model.ServiceModel(whole, service), list(ours["operations"]))
    assert list(ours["shapes"]) == [n for n in whole["shapes"] if n in reached]  # every one reached, in order
    for name, shape in ours["shapes"].items():
        assert shape == whole["shapes"][name]
    theirs, mine = botocore.model.ServiceModel(whole, service), botocore.model.ServiceModel(ours, service)
    for prop in ("metadata", "service_id", "signing_name", "signature_version", "protocol", "api_version",
                 "endpoint_prefix", "client_context_parameters", "endpoint_discovery_required"):
        assert getattr(mine, prop) == getattr(theirs, prop), prop
    assert [s.name for s in mine.error_shapes] == [s.name for s in theirs.error_shapes]
    assert getattr(mine.endpoint_discovery_operation, "name", None) == getattr(
        theirs.endpoint_discovery_operation, "name", None)
    assert len(json.dumps(ours)) < len(json.dumps(whole)) / 2


def _session(cut: Path | None) -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader(cut))
    return boto3.session.Session(botocore_session=core, aws_access_key_id="testing",
                                 aws_secret_access_key="testing", region_name="eu-west-1")


class _Sent(Exception):
    pass


def _filled(value: Any) -> Any:
    """A skeleton of botocore's ``ArgumentGenerator`` with its blobs (left ``None``) given bytes."""
    if isinstance(value, dict):
        return {k: _filled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v) for v in value]
    return b"blob" if value is None else value


def _request(client: Any, operation: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """The request the client sends for ``operation``: method, URL, body and headers (but the date and signature)."""
    sent: list[tuple[Any, ...]] = []

    def capture(request: Any, **_: Any) -> None:
        headers = {k: v for k, v in request.headers.items()
                   if k not in ("Authorization", "X-Amz-Date", "amz-sdk-invocation-id", "amz-sdk-request")}
        sent.append((request.method, request.url, request.body, sorted(headers.items())))
        raise _Sent

    client.meta.events.register("before-send", capture)
    try:
        with pytest.raises(_Sent):
            getattr(client, botocore.xform_name(operation))(**params)
    finally:
        client.meta.events.unregister("before-send", capture)
    return sent[0]


@pytest.mark.parametrize("service", SERVICES)
def test_the_clients_from_the_cut_send_the_same_requests_to_the_same_endpoints(service: str, cut_dir: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    config = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 0})
    ours = _session(cut_dir).client(service, config=config)  # type: ignore[call-overload]
    whole = _session(None).client(service, config=config)  # type: ignore[call-overload]
    assert ours.meta.service_model.operation_names != whole.meta.service_model.operation_names  # the cut is served
    assert ours.meta.endpoint_url == whole.meta.endpoint_url
    generate = ArgumentGenerator(use_member_names=True)
    for operation in OPERATIONS[service]:
        shape = whole.meta.service_model.operation_model(operation).input_shape
        params = _filled(generate.generate_skeleton(shape)) if shape is not None else {}
        assert _request(ours, operation, params) == _request(whole, operation, params), operation
    assert sorted(ours.exceptions._code_to_exception) == sorted(whole.exceptions._code_to_exception)
    assert ours.exceptions._code_to_exception  # not a comparison of nothing
    for py_name in whole._PY_TO_OP_NAME:
        if py_name in ours._PY_TO_OP_NAME:
            assert ours.can_paginate(py_name) == whole.can_paginate(py_name)
    other = next(n for n in whole.meta.service_model.operation_names
                 if n not in OPERATIONS[service] and not whole.meta.service_model.operation_model(n).endpoint_discovery
                 and n not in ours.meta.service_model.operation_names)
    with pytest.raises(AttributeError):  # an operation outside the cut is never sent: the client has no such method
        getattr(ours, botocore.xform_name(other))


def test_a_client_from_the_cut_works_on_moto(cut_dir: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        iam = _session(cut_dir).client("iam")
        _session(None).client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        assert iam.get_role(RoleName="r")["Role"]["RoleName"] == "r"
        assert [n for p in iam.get_paginator("list_role_policies").paginate(RoleName="r")
                for n in p["PolicyNames"]] == []
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName="missing")


def _calls(path: Path) -> set[str]:
    """The attribute names and paginator names the code at ``path`` uses."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.args[0].value for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and n.func.attr == "get_paginator" and n.args and isinstance(n.args[0], ast.Constant)}
    return names


def test_no_code_of_the_layer_or_the_functions_calls_an_operation_outside_the_cut() -> None:
    """Any attribute named as an operation of the four services (``get_role``, ``list_roles``...) is one the cut
    keeps: a method of our own with such a name would be checked too, which errs on the safe side."""
    files = [*(ROOT / "layers" / "sfn_iam" / "sfn_iam").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    used = set().union(*map(_calls, files))
    # ledger.create_table makes the table on moto (the demo, the tests, the benches), with a client of their own; no
    # function calls it (template.yaml creates the table)
    assert [f.name for f in files if "create_table" in f.read_text(encoding="utf-8")] == ["ledger.py"]
    allowed = {"dynamodb": {"create_table"}}
    checked = 0
    for service in SERVICES:
        names = {botocore.xform_name(n): n for n in _whole(service)["operations"]}
        outside = {py for py, n in names.items() if py in used and n not in OPERATIONS[service]}
        assert outside == allowed.get(service, set()), (service, outside)
        checked += len({py for py in names if py in used})
    assert checked >= 10  # the adapters' calls were seen


@pytest.mark.parametrize("service", SERVICES)
def test_a_cut_of_another_botocore_or_file_is_not_served(service: str, cut_dir: Path, tmp_path: Path) -> None:
    name = models.latest(botocore.BOTOCORE_ROOT, service)
    file = cut_dir / (name.replace("/", ".") + ".json")
    saved = json.loads(file.read_text(encoding="utf-8"))
    assert saved["source"] == {"botocore": botocore.__version__,
                               "file": str(Path(models._whole_file(botocore.BOTOCORE_ROOT, name) or "")
                                           .relative_to(botocore.BOTOCORE_ROOT)),
                               "size": Path(models._whole_file(botocore.BOTOCORE_ROOT, name) or "").stat().st_size}
    assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, str(cut_dir)) == saved["model"]
    assert models.load(botocore.BOTOCORE_ROOT, "0.0.1", name, str(cut_dir)) is None
    for changed in ({"size": saved["source"]["size"] + 1}, {"file": saved["source"]["file"] + ".gz"}):
        stale = tmp_path / "stale"
        stale.mkdir(exist_ok=True)
        (stale / file.name).write_text(json.dumps({**saved, "source": {**saved["source"], **changed}}))
        assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, str(stale)) is None
    assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, str(tmp_path / "none")) is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / file.name).write_text("{")
    assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, str(broken)) is None
    (broken / file.name).write_text("[]")
    assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, name, str(broken)) is None
    assert models.load(botocore.BOTOCORE_ROOT, botocore.__version__, "no-such/2020-01-01/service-2",
                       str(cut_dir)) is None


def test_a_model_on_aws_data_path_or_without_a_cut_is_read_as_botocore_does(cut_dir: Path, tmp_path: Path) -> None:
    name = models.latest(botocore.BOTOCORE_ROOT, "iam")
    custom = tmp_path / "data"
    (custom / Path(name).parent).mkdir(parents=True)
    (custom / (name + ".json")).write_text(json.dumps(_whole("iam")))
    loader = clients.FocusedLoader(extra_search_paths=[str(custom)], models_cut=str(cut_dir))
    loader._cache = {}
    data, path = loader.load_data_with_path(name)
    assert path == str(custom / name) and data == _whole("iam")
    plain = _loader(tmp_path / "none")
    assert plain.load_service_model("iam", "service-2") == _whole("iam")
    served = _loader(cut_dir)
    data, path = served.load_data_with_path(name)
    assert path == str(DATA / name) and len(data["operations"]) < len(_whole("iam")["operations"])
    assert served.load_data_with_path(name.replace("service-2", "paginators-1"))[1] == str(
        DATA / name.replace("service-2", "paginators-1"))  # other kinds of model: botocore's files


def test_the_build_refuses_an_operation_the_model_does_not_have() -> None:
    with pytest.raises(ValueError, match="NoSuchOperation"):
        models.cut(_whole("events"), ["PutEvents", "NoSuchOperation"])


def test_the_layer_build_writes_the_cuts_beside_botocore_as_a_script(tmp_path: Path) -> None:
    """layers/sfn_iam/Makefile runs the module as a script on the ``pip install --target`` directory."""
    layer = ROOT / "layers" / "sfn_iam"
    assert '$(PYTHON) sfn_iam/aws/models.py "$(ARTIFACTS_DIR)/python"' in (layer / "Makefile").read_text()
    site = _site(tmp_path)
    out = subprocess.run([sys.executable, "-I", "sfn_iam/aws/models.py", str(site)], cwd=layer, check=True,
                         capture_output=True, text=True)
    directory = site / models.DIRECTORY
    assert sorted(out.stdout.split()) == sorted(str(p) for p in directory.iterdir())
    assert sorted(models.served(str(site), botocore.__version__)) == sorted(SERVICES)  # scripts/check_layer.py
    for service in SERVICES:  # found beside botocore
        assert models.load(str(site / "botocore"), botocore.__version__, models.latest(str(site / "botocore"), service))
    iam = next(directory.glob("iam.*"))
    iam.unlink()
    assert sorted(models.served(str(site), botocore.__version__)) == sorted(set(SERVICES) - {"iam"})
    assert len(models.write(str(site), botocore.__version__)) == len(SERVICES)  # built again in the same place
    assert sorted(models.served(str(site), botocore.__version__)) == sorted(SERVICES)
    iam.unlink()
    assert sorted(models.served(str(site), botocore.__version__)) == sorted(set(SERVICES) - {"iam"})
