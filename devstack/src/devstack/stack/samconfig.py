"""samconfig.toml: the one module that opens it. A config env's deploy parameters, as `sam deploy
--config-env` reads them. The standard library only: scripts/deploy.sh asks it through devstack.for_shell in
the deploy job, which installs nothing."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import paths

LOCAL = "local"
"""The config env of the local emulator (`make dev`, compose, the tests)."""


@dataclass(frozen=True)
class ConfigEnv:
    name: str
    deploy_parameters: dict[str, Any]
    """`[<name>.deploy.parameters]` as written (stack_name, region, s3_bucket, role_arn ...)."""

    @property
    def stack_name(self) -> str:
        return str(self.deploy_parameters.get("stack_name", f"stack-{self.name}"))

    @property
    def region(self) -> str | None:
        """The region it deploys to; None for the local env, which takes the emulator's."""
        region = self.deploy_parameters.get("region")
        return None if region is None else str(region)

    @property
    def parameter_overrides(self) -> dict[str, str]:
        overrides = self.deploy_parameters.get("parameter_overrides", [])
        if isinstance(overrides, str):
            overrides = overrides.split()
        return dict(item.split("=", 1) for item in overrides)

    def placeholders(self) -> list[str]:
        """The parameters still set to a replace-me-* placeholder (the Firebase project id, the account id in
        role_arn and s3_bucket): deploying with one fails late, at AWS; refused before."""
        return [key for key, value in self.deploy_parameters.items() if "replace-me" in str(value)]


def config_env(name: str, path: Path = paths.SAMCONFIG) -> ConfigEnv:
    document = tomllib.loads(path.read_text())
    parameters: dict[str, Any] = document.get(name, {}).get("deploy", {}).get("parameters", {})
    return ConfigEnv(name, parameters)
