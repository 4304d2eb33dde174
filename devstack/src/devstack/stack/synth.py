"""template.yml as one environment gets it, offline: SAM transform, then parameters and conditions resolved.

`devstack synth --env prod` prints plain CloudFormation with Fn::If / Conditions / parameter Refs resolved, so
scanners (checkov) and tests (tests/infra) see exactly what one environment would get. Resource Refs, GetAtt
and Sub stay as they are. The transform is aws-sam-translator's (the one SAM CLI and the emulator run).
"""

from __future__ import annotations

import copy
import os
from typing import Any

from devstack import config, paths
from devstack.stack.intrinsics import Evaluator, parameter_values
from devstack.stack.model import local_overrides
from devstack.stack.samconfig import LOCAL, config_env
from devstack.stack.template import load
from devstack.supervision import StartupError

TRANSLATOR = "aws-sam-translator"


class _NoManagedPolicies:
    """The template names no managed policies by name; the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


def translator_requirement() -> str:
    """What `uv run --with` adds for synthesis: the translator the emulator pins."""
    return f"{TRANSLATOR}=={config.load().aws.sam_translator_version}"


def synthesize(env: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        raise StartupError(
            f"synth needs {TRANSLATOR}: run `uv run --with {translator_requirement()} devstack synth ...`"
        ) from None
    facts = config.load()
    document = load(paths.TEMPLATE)
    samconfig = config_env(env)
    local = local_overrides(facts) if env == LOCAL else {}
    given = {**samconfig.parameter_overrides, **local, **(overrides or {})}
    declared = document.get("Parameters", {})
    missing = [name for name, spec in declared.items() if "Default" not in spec and name not in given]
    if missing:
        raise StartupError(
            f"synth: parameter(s) {', '.join(missing)} have no default and no value for {env!r}"
        )
    region = samconfig.region or facts.aws.region
    params = parameter_values(document, given, samconfig.stack_name, region)
    # The translator wants S3 code locations; `sam build`/`package` fill these in for real deploys.
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://synth-bucket/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # the translator asks boto for a region
    translated = transform(copy.deepcopy(document), params, _NoManagedPolicies(), passthrough_metadata=True)
    return resolve(translated, params)


def resolve(translated: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Keep what this environment gets: conditional resources and outputs decided, intrinsics evaluated."""
    evaluator = Evaluator(translated, params)

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
        "Description": translated.get("Description", ""),
        "Resources": kept(translated["Resources"]),
        "Outputs": kept(translated.get("Outputs", {})),
    }
