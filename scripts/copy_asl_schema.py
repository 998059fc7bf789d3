"""Copy the Amazon States Language schema cfn-lint ships (its rule E3601 validates state machine definitions with it)
into the CLI's package data, so `sfn-iam` validates definitions without importing cfn-lint at run time.

    .venv/bin/python -m scripts.copy_asl_schema

cfn-lint is MIT-0 (https://github.com/aws-cloudformation/cfn-lint). tests/cli/test_aslschema.py checks the copy is
byte for byte what the pinned cfn-lint (requirements-dev.txt) ships: upgrading cfn-lint means running this again.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

SOURCE = "cfnlint/data/schemas/other/step_functions/statemachine.json"
TARGET = Path(__file__).resolve().parents[1] / "layers" / "sfn_iam" / "sfn_iam" / "cli" / "data" / "statemachine.json"


def shipped() -> bytes:
    """The schema file of the installed cfn-lint, found through its distribution (cfn-lint is not imported)."""
    return Path(str(metadata.distribution("cfn-lint").locate_file(SOURCE))).read_bytes()


def main() -> None:
    TARGET.write_bytes(shipped())
    print(f"wrote {TARGET} ({len(shipped())} bytes) from cfn-lint {metadata.version('cfn-lint')}")


if __name__ == "__main__":
    main()
