"""The service models of the functions' four clients cut to the operations the adapters call. Standard library.

A client's first cost on a cold start is its service model: botocore reads and parses the whole file (IAM's is 0.75 MB
for 180 operations, DynamoDB's 0.56 MB, compressed on disk) and creates a method and its docstring for every
operation, of which the functions call a handful. The layer's build (``layers/sfn_iam/Makefile``) runs this file as
a script beside the botocore it installed: it writes into :data:`DIRECTORY` there, for each service of
:data:`PREFIXES`, the model with only the operations the adapters declare in their ``REQUIRED_ACTIONS`` (what
template.yaml grants: an operation outside them is refused by IAM anyway) and every shape they reach; every other
key of the model is kept, and so are every exception shape (a client's ``exceptions`` and the error classes botocore
raises are built from all of them) and the operation botocore's endpoint discovery looks for. :func:`load` serves
a cut only for the model file it was cut from (botocore's version, the file's name and size). A client built from a
cut has no method for another operation: calling one fails (``AttributeError``), it is never sent differently.
tests/e2e/test_models_cut.py proves the kept operations and shapes equal to botocore's, the requests the clients
send identical, and that no code calls an operation outside the cut.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

DIRECTORY = "sfn-iam-models"
# The IAM action prefix of each service whose model is cut -> botocore's name for the service. These are the clients
# the role fixer builds on its first event (the sweeper builds the same); for them the action is the API operation.
PREFIXES = {"states": "stepfunctions", "iam": "iam", "events": "events", "dynamodb": "dynamodb"}
HERE = os.path.dirname(os.path.abspath(__file__))


def operations(package: str = HERE) -> dict[str, list[str]]:
    """Each cut service's operations: the actions with its prefix in the ``REQUIRED_ACTIONS`` of the adapter modules
    in ``package`` (read from their source: the build runs without boto3)."""
    found: dict[str, set[str]] = {service: set() for service in PREFIXES.values()}
    for name in sorted(os.listdir(package)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(package, name), encoding="utf-8") as fp:
            tree = ast.parse(fp.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRED_ACTIONS"
                                                    for t in node.targets):
                assert isinstance(node.value, ast.Call), f"{name}: REQUIRED_ACTIONS is not frozenset({{...}})"
                for action in ast.literal_eval(node.value.args[0]):
                    prefix, _, operation = action.partition(":")
                    if prefix in PREFIXES:
                        found[PREFIXES[prefix]].add(operation)
    return {service: sorted(ops) for service, ops in found.items()}


def _references(value: Any) -> Iterator[str]:
    """The shapes ``value`` (an operation or a shape) names: every ``{"shape": name}`` in it, at any depth."""
    if isinstance(value, dict):
        if isinstance(value.get("shape"), str):
            yield value["shape"]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def cut(model: Mapping[str, Any], kept: list[str]) -> dict[str, Any]:
    """``model`` with only the operations ``kept`` (and the endpoint discovery operation) and the shapes they and
    the exception shapes reach, in the model's order; every other key as it is."""
    missing = sorted(set(kept) - set(model["operations"]))
    if missing:
        raise ValueError(f"no such operation in {model['metadata'].get('serviceId')}'s model: {missing}")
    ops = {name: op for name, op in model["operations"].items() if name in kept or op.get("endpointoperation")}
    shapes = model["shapes"]
    todo = [*_references(list(ops.values())), *(name for name, s in shapes.items() if s.get("exception"))]
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(_references(shapes[name]))
    return {**model, "operations": ops, "shapes": {name: s for name, s in shapes.items() if name in reached}}


def _whole_file(botocore_dir: str, name: str) -> str | None:
    """The file botocore reads for ``name`` (``iam/2010-05-08/service-2``): ``.json``, else ``.json.gz``."""
    for ext in (".json", ".json.gz"):
        path = os.path.join(botocore_dir, "data", name + ext)
        if os.path.isfile(path):
            return path
    return None


def source(botocore_dir: str, version: str, name: str) -> dict[str, Any] | None:
    """What a cut is checked against: botocore's version, the model file's name and size (None: no such model)."""
    path = _whole_file(botocore_dir, name)
    if path is None:
        return None
    return {"botocore": version, "file": os.path.relpath(path, botocore_dir), "size": os.stat(path).st_size}


def _file_name(name: str) -> str:
    return name.replace("/", ".") + ".json"


def load(botocore_dir: str, version: str, name: str, directory: str | None = None) -> Any:
    """The cut of model ``name`` (``iam/2010-05-08/service-2``) beside ``botocore_dir`` (or in ``directory``),
    ``None`` when there is none or it was not cut from this botocore's file (the caller then reads the whole)."""
    directory = directory or os.path.join(os.path.dirname(botocore_dir), DIRECTORY)
    try:
        with open(os.path.join(directory, _file_name(name)), "rb") as fp:
            saved = json.loads(fp.read())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("source") != source(botocore_dir, version, name):
        return None
    return saved["model"]


def _read(path: str) -> Any:
    if path.endswith(".gz"):
        import gzip

        with gzip.open(path, "rb") as fp:
            return json.loads(fp.read())
    with open(path, "rb") as fp:
        return json.loads(fp.read())


def latest(botocore_dir: str, service: str) -> str:
    """``service/<api version>/service-2`` for the newest API version botocore has a model of (as a client picks)."""
    versions = sorted(v for v in os.listdir(os.path.join(botocore_dir, "data", service))
                      if _whole_file(botocore_dir, f"{service}/{v}/service-2") is not None)
    return f"{service}/{versions[-1]}/service-2"


def write(site: str, version: str, package: str = HERE) -> list[str]:
    """Write the cuts beside the botocore (``version``) installed in ``site`` (a ``pip install --target`` directory);
    their paths."""
    botocore_dir = os.path.join(site, "botocore")
    out_dir = os.path.join(site, DIRECTORY)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for service, ops in operations(package).items():
        name = latest(botocore_dir, service)
        found = _whole_file(botocore_dir, name)
        assert found is not None
        out = os.path.join(out_dir, _file_name(name))
        with open(out, "w", encoding="utf-8") as fp:
            json.dump({"source": source(botocore_dir, version, name), "model": cut(_read(found), ops)}, fp,
                      separators=(",", ":"))
        written.append(out)
    return written


def served(site: str, version: str) -> list[str]:
    """The models the clients in ``site`` (a built layer's ``python/``) would be served from a cut
    (scripts/check_layer.py)."""
    botocore_dir = os.path.join(site, "botocore")
    return [service for service in PREFIXES.values()
            if load(botocore_dir, version, latest(botocore_dir, service)) is not None]


if __name__ == "__main__":  # python3 sfn_iam/aws/models.py <pip --target directory>: the layer's build
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the package imports the standard library alone
    from sfn_iam.aws.endpoints import botocore_version

    for written in write(sys.argv[1], botocore_version(os.path.join(sys.argv[1], "botocore"))):
        print(written)
