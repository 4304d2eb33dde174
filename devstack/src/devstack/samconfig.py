"""samconfig.toml: each config env's deploy parameters. The standard library only (tomllib): scripts/deploy.sh
asks it through devstack.for_shell in the deploy job, which installs nothing (template.py, which needs PyYAML,
re-exports these)."""

from __future__ import annotations

import tomllib
from typing import Any

from devstack.paths import SAMCONFIG


def deploy_parameters(config_env: str) -> dict[str, Any]:
    config = tomllib.loads(SAMCONFIG.read_text())
    parameters: dict[str, Any] = config.get(config_env, {}).get("deploy", {}).get("parameters", {})
    return parameters


def region_of(config_env: str) -> str | None:
    """The region samconfig.toml deploys `config_env` to (the local env takes the emulator's)."""
    region = deploy_parameters(config_env).get("region")
    return None if region is None else str(region)


def stack_name(config_env: str) -> str:
    return str(deploy_parameters(config_env).get("stack_name", f"stack-{config_env}"))


def parameter_overrides(config_env: str) -> dict[str, str]:
    overrides = deploy_parameters(config_env).get("parameter_overrides", [])
    if isinstance(overrides, str):
        overrides = overrides.split()
    return dict(item.split("=", 1) for item in overrides)


def placeholders(config_env: str) -> list[str]:
    """The deploy parameters of `config_env` still holding a `replace-me-*` placeholder (the Firebase project
    id, the account id in role_arn and s3_bucket): deploying with one fails late, at AWS."""
    return [key for key, value in deploy_parameters(config_env).items() if "replace-me" in str(value)]
