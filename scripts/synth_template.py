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
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[1]
NO_VALUE = object()


class _NoManagedPolicies:
    """The template names no managed policies by name; the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


def samconfig_parameters(env: str) -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
    if isinstance(overrides, str):
        overrides = overrides.split()
    return dict(item.split("=", 1) for item in overrides)


def stack_name(env: str) -> str:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    return str(config.get(env, {}).get("deploy", {}).get("parameters", {}).get("stack_name", f"stack-{env}"))


def synthesize(env: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    template = yaml_parse((ROOT / "template.yml").read_text())
    params: dict[str, Any] = {
        name: spec["Default"] for name, spec in template.get("Parameters", {}).items() if "Default" in spec
    }
    params.update(samconfig_parameters(env))
    params.update(overrides or {})
    for name, spec in template.get("Parameters", {}).items():
        if name not in params:
            raise SystemExit(f"synth: parameter {name} has no default and no value for config env {env!r}")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(params[name], str):
            params[name] = [item.strip() for item in params[name].split(",")]
    pseudo = {
        "AWS::Region": "us-east-1",
        "AWS::Partition": "aws",
        "AWS::AccountId": "123456789012",
        "AWS::StackName": stack_name(env),
        "AWS::URLSuffix": "amazonaws.com",
    }
    # The translator wants S3 code locations; `sam build`/`package` fill these in for real deploys.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://synth-bucket/code.zip"
    translated = transform(
        copy.deepcopy(template), {**params, **pseudo}, _NoManagedPolicies(), passthrough_metadata=True
    )
    return resolve(translated, params)


def resolve(template: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    conditions: dict[str, bool] = {}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" and arg in params:
                return params[arg]
            if key == "Ref" and arg == "AWS::NoValue":
                return NO_VALUE
            if key == "Fn::If":
                name, when_true, when_false = arg
                return value(when_true if condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (value(item) for item in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(item) for item in arg)
            if key == "Fn::Or":
                return any(value(item) for item in arg)
            if key == "Condition":
                return condition(arg)
            if key == "Fn::Sub" and isinstance(arg, str):
                text = re.sub(
                    r"\$\{([A-Za-z0-9]+)\}",
                    lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0),
                    arg,
                )
                return text if "${" not in text else {key: text}
            if key == "Fn::Join":
                parts = value(arg[1])
                if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
                    return str(arg[0]).join(parts)
                return {key: [arg[0], parts]}
        if isinstance(node, dict):
            out = {k: value(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(node, list):
            return [item for item in (value(v) for v in node) if item is not NO_VALUE]
        return node

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = bool(value(template["Conditions"][name]))
        return conditions[name]

    resources = {
        logical_id: value(resource)
        for logical_id, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"])
    }
    for resource in resources.values():
        resource.pop("Condition", None)
    outputs = {
        name: value(output)
        for name, output in template.get("Outputs", {}).items()
        if "Condition" not in output or condition(output["Condition"])
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": template.get("Description", ""),
        "Resources": resources,
        "Outputs": outputs,
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
