"""Synthesize template.yml offline: SAM transform, then resolve parameters and conditions for one environment.

Runs with the SAM CLI's own interpreter (it needs aws-sam-translator and samcli.yamlhelper), e.g.
    "$(scripts/stack.sh sam-python)" scripts/synth_template.py --env prod [--out FILE]
The result is plain CloudFormation with Fn::If / Conditions / parameter Refs resolved, so scanners
(checkov) and tests (tests/infra) see exactly what one environment would get. Resource Refs, GetAtt
and Sub stay as they are.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # devstack, from the SAM CLI's interpreter

from devstack.template import Evaluator, parameter_overrides, parameter_values, stack_name  # noqa: E402


class _NoManagedPolicies:
    """The template names no managed policies by name; the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


def synthesize(env: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    template = yaml_parse((ROOT / "template.yml").read_text())
    missing = [
        name
        for name, spec in template.get("Parameters", {}).items()
        if "Default" not in spec and name not in {**parameter_overrides(env), **(overrides or {})}
    ]
    if missing:
        raise SystemExit(f"synth: parameter(s) {', '.join(missing)} have no default and no value for {env!r}")
    params = parameter_values(template, {**parameter_overrides(env), **(overrides or {})}, stack_name(env))
    # The translator wants S3 code locations; `sam build`/`package` fill these in for real deploys.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://synth-bucket/code.zip"
    translated = transform(copy.deepcopy(template), params, _NoManagedPolicies(), passthrough_metadata=True)
    return resolve(translated, params)


def resolve(template: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Keep what this environment gets: conditional resources and outputs decided, intrinsics evaluated."""
    evaluator = Evaluator(template, params)

    def kept(entries: dict[str, Any]) -> dict[str, Any]:
        chosen = {
            name: evaluator.value(entry)
            for name, entry in entries.items()
            if "Condition" not in entry or evaluator.condition(entry["Condition"])
        }
        for entry in chosen.values():
            entry.pop("Condition", None)
        return chosen

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": template.get("Description", ""),
        "Resources": kept(template["Resources"]),
        "Outputs": kept(template.get("Outputs", {})),
    }


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator asks boto for a region
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env", required=True, help="a config env of samconfig.toml (dev, staging, prod, local)"
    )
    parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("overrides", nargs="*", help="Name=Value parameter overrides")
    args = parser.parse_args()
    synthesized = synthesize(args.env, dict(item.split("=", 1) for item in args.overrides))
    text = json.dumps(synthesized, indent=2, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
