"""Check the layer `sam build` produced (layers/sfn_iam/Makefile): the package whole, its runtime requirements, the
cuts of botocore's endpoints file and of the four clients' models, and bytecode for every module that Lambda can
load without compiling (hash-based, unchecked: /opt is read-only).

Usage: python scripts/check_layer.py [.aws-sam/build/SfnIamLayer/python]   (exit 1 with the reasons)
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "sfn_iam"))
from sfn_iam.aws import endpoints, models  # noqa: E402 -- standard library only

SOURCE = ROOT / "layers" / "sfn_iam" / "sfn_iam"
UNCHECKED_HASH = 0b01  # PEP 552: hash-based, source not checked


def problems(built: Path) -> list[str]:
    out: list[str] = []
    package = built / "sfn_iam"
    expected = {p.relative_to(SOURCE) for p in SOURCE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    present = {p.relative_to(package) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    out += [f"missing from the layer: sfn_iam/{p}" for p in sorted(expected - present)]
    for name in ("boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk"):
        if not (built / name / "__init__.py").exists():
            out.append(f"runtime requirement {name} is not in the layer")
    if (built / "botocore" / "__init__.py").exists() and not endpoints.served(str(built)):
        out.append(f"no {endpoints.FILE} cut from the layer's botocore beside it (sfn_iam/aws/endpoints.py)")
    if (built / "botocore" / "__init__.py").exists():
        version = endpoints.botocore_version(str(built / "botocore"))
        out += [f"no cut of the {service} model from the layer's botocore in {models.DIRECTORY} (sfn_iam/aws/models.py)"
                for service in sorted(set(models.PREFIXES.values()) - set(models.served(str(built), version)))]
    for source in sorted(built.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.exists():
            out.append(f"no bytecode for {source.relative_to(built)}")
            continue
        flags = struct.unpack("<I", cached.read_bytes()[4:8])[0]
        if flags != UNCHECKED_HASH:
            out.append(f"bytecode of {source.relative_to(built)} is checked against its source (flags {flags})")
    return out


def main(argv: list[str]) -> int:
    built = Path(argv[0]) if argv else ROOT / ".aws-sam" / "build" / "SfnIamLayer" / "python"
    found = problems(built)
    for line in found[:50]:
        print(line)
    if found:
        print(f"check_layer: {len(found)} problem(s) in {built}")
        return 1
    print(f"check_layer: {built} holds the package, its requirements and unchecked bytecode for every module")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
