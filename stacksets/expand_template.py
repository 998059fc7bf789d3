"""Expand the packaged SAM template into plain CloudFormation for a service-managed StackSet.

Service-managed StackSets do not run macros, and ``AWS::Serverless`` is one: the template they deploy must already
be expanded. This runs the same SAM translator that ``sam validate``/``sam deploy`` use, offline, then points the
Lambda code, the layer and the sweep state machine's definition at the regional artifact bucket
``<ArtifactBucketPrefix>-<region>`` (Lambda only reads code from a bucket in its own region), added as a parameter.

Usage (docs/organization.md):
    sam build && sam package --s3-bucket PREFIX-us-east-1 --output-template-file packaged.yaml
    python stacksets/expand_template.py packaged.yaml > sfn-iam.expanded.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

BUCKET_PARAMETER = "ArtifactBucketPrefix"
REGIONAL_BUCKET = {"Fn::Sub": "${" + BUCKET_PARAMETER + "}-${AWS::Region}"}


class _NoManagedPolicies:
    """The template names its managed policies by ARN; the translator never needs to look one up."""

    def load(self) -> dict[str, str]:
        return {}


def expand(packaged: str) -> dict[str, Any]:
    template = yaml_parse(packaged)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region for its ARN helper
    sam_metadata = {name: res["Metadata"] for name, res in template.get("Resources", {}).items()
                     if str(res.get("Type", "")).startswith("AWS::Serverless::") and "Metadata" in res}
    out: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    # The translator drops a SAM resource's Metadata. Put it back on the resource that keeps its logical id (the
    # AWS::Lambda::Function of an AWS::Serverless::Function), so that the checkov skips of template.yaml and their
    # reasons stay on the functions the StackSet deploys (docs/security.md, "Template scanning").
    for name, metadata in sam_metadata.items():
        if name in out["Resources"]:
            out["Resources"][name].setdefault("Metadata", metadata)
    out.setdefault("Parameters", {})[BUCKET_PARAMETER] = {
        "Type": "String", "MinLength": 3,
        "Description": "Prefix of the regional artifact buckets: the code is read from <prefix>-<region>"}
    for resource in out["Resources"].values():
        props = resource.get("Properties", {})
        location = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}.get(resource["Type"])
        if location and "S3Bucket" in props.get(location, {}):
            props[location]["S3Bucket"] = REGIONAL_BUCKET
        # The sweep state machine's definition file, uploaded by `sam package` next to the code.
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and "Bucket" in props.get("DefinitionS3Location", {}):
            props["DefinitionS3Location"]["Bucket"] = REGIONAL_BUCKET
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("packaged", help="the template written by `sam package` (code on S3)")
    parser.add_argument("--placeholder-code", action="store_true",
                        help="accept template.yaml itself: local code paths become placeholder S3 locations "
                        "(to lint the expansion without packaging; the result is not deployable)")
    args = parser.parse_args(argv)
    text = Path(args.packaged).read_text(encoding="utf-8")
    if args.placeholder_code:
        text = re.sub(r"^(\s*(?:CodeUri|ContentUri|DefinitionUri): )(?!s3://)(\S+)$",
                      lambda m: f"{m.group(1)}s3://placeholder-us-east-1/{m.group(2).strip('/').replace('/', '-')}.zip",
                      text, flags=re.MULTILINE)
    if "s3://" not in text:
        print("expand_template: the template has no s3:// code locations; run `sam package` first", file=sys.stderr)
        return 1
    json.dump(expand(text), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
