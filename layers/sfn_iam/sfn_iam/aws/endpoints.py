"""botocore's ``endpoints.json`` cut to what the functions' clients look up, for a cheaper cold start. Standard library.

botocore builds its legacy endpoint resolver (partition of a region, signing region, the S3 and EventBridge
customisations) from ``endpoints.json``: 1.25 MB for ~300 services in 8 partitions, about 11 ms of ``json.loads``
on every cold start, of which a client reads its own service's entry. The layer's build (``layers/sfn_iam/Makefile``)
runs this file as a script beside the botocore it installed: it writes :data:`FILE` there, holding every key of the
whole file and of each partition except ``services``, which keeps only :data:`SERVICES` (whole, and absent where the
whole file has no such entry). :func:`load` serves it in place of the whole file when it was cut from the same file
(botocore's version and the file's size); each partition's ``services`` is a :class:`Services` mapping that answers
any other service from the whole file, read the first time one is asked for. So every answer botocore's resolver
gives is the whole file's (tests/e2e/test_endpoints_cut.py compares them in every region of every partition).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

FILE = "sfn-iam-endpoints.json"
# The ``endpointPrefix`` of the services whose clients the role fixer builds on its first event (Step Functions,
# IAM, EventBridge, DynamoDB for the ledger); any other is served from the whole file
SERVICES = ("states", "iam", "events", "dynamodb")


def cut(whole: Mapping[str, Any], services: tuple[str, ...] = SERVICES) -> dict[str, Any]:
    """``whole`` with only ``services`` in each partition's ``services`` (and the names kept, in ``sfnIamKept``)."""
    return {**whole, "partitions": [{**p, "services": {s: p["services"][s] for s in services if s in p["services"]},
                                     "sfnIamKept": list(services)} for p in whole["partitions"]]}


def source(botocore_dir: str, version: str) -> dict[str, Any]:
    """What a cut is checked against: botocore's version and the size of the ``endpoints.json`` it ships."""
    return {"botocore": version, "size": os.stat(os.path.join(botocore_dir, "data", "endpoints.json")).st_size}


class Services(Mapping[str, Any]):
    """A partition's ``services``: the kept ones from the cut, any other from the whole file (read on first need)."""

    def __init__(self, partition: str, kept: dict[str, Any], names: frozenset[str],
                 whole: Callable[[], Mapping[str, Any]]) -> None:
        self._partition = partition
        self._kept = kept
        self._names = names  # the cut's services: absent from ``kept`` means absent from the whole file too
        self._whole = whole

    def _all(self) -> Mapping[str, Any]:
        for p in self._whole()["partitions"]:
            if p["partition"] == self._partition:
                services: Mapping[str, Any] = p["services"]
                return services
        return {}

    def __getitem__(self, name: str) -> Any:
        return self._kept[name] if name in self._names else self._all()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kept if name in self._names else name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def load(botocore_dir: str, version: str, read_whole: Callable[[], Any], path: str | None = None) -> Any:
    """The cut beside ``botocore_dir`` (or at ``path``) as botocore's endpoint data, ``None`` when there is none or
    it was not cut from this botocore's file (then the caller reads the whole file, as botocore does)."""
    path = path or os.path.join(os.path.dirname(botocore_dir), FILE)
    try:
        with open(path, "rb") as fp:
            saved = json.loads(fp.read())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("source") != source(botocore_dir, version):
        return None
    lock = threading.Lock()
    loaded: list[Any] = []

    def whole() -> Any:
        with lock:
            if not loaded:
                loaded.append(read_whole())
            return loaded[0]

    data = saved["endpoints"]
    for p in data["partitions"]:
        p["services"] = Services(p["partition"], p["services"], frozenset(p.pop("sfnIamKept")), whole)
    return data


def botocore_version(botocore_dir: str) -> str:
    """The version of the botocore in ``botocore_dir``, read without importing it."""
    with open(os.path.join(botocore_dir, "__init__.py"), encoding="utf-8") as fp:
        found = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", fp.read(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"no __version__ in {botocore_dir}/__init__.py")
    return found.group(1)


def write(site: str) -> str:
    """Write the cut beside the botocore installed in ``site`` (a ``pip install --target`` directory); its path."""
    botocore_dir = os.path.join(site, "botocore")
    with open(os.path.join(botocore_dir, "data", "endpoints.json"), encoding="utf-8") as fp:
        whole = json.load(fp)
    out = os.path.join(site, FILE)
    with open(out, "w", encoding="utf-8") as fp:
        json.dump({"source": source(botocore_dir, botocore_version(botocore_dir)), "endpoints": cut(whole)}, fp,
                  separators=(",", ":"))
    return out


def served(site: str) -> bool:
    """Would the clients in ``site`` (a built layer's ``python/``) be served the cut? (scripts/check_layer.py)"""
    botocore_dir = os.path.join(site, "botocore")
    return load(botocore_dir, botocore_version(botocore_dir), dict) is not None


if __name__ == "__main__":  # python3 sfn_iam/aws/endpoints.py <pip --target directory>
    print(write(sys.argv[1]))
