"""One deploy path to the emulator, and it is the command users type: `samlocal deploy --config-env local`.
`make dev`, `make deploy-local`, the tests and compose's `deploy` service all go through devstack.deploy;
compose is read here as written (no Docker)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from devstack import config
from devstack.deploy import deploy_command
from devstack.paths import REPO_ROOT
from devstack.stack.model import local_stack

COMPOSE_SERVICES = REPO_ROOT / "devstack" / "compose" / "services.yaml"
DOCKERFILE = REPO_ROOT / "devstack" / "compose" / "Dockerfile"


def test_devstack_deploys_with_the_command_users_type() -> None:
    argv = deploy_command(local_stack(config.load()))
    assert [Path(argv[0]).name, argv[1]] == ["samlocal", "deploy"]
    assert argv[argv.index("--config-env") + 1] == "local"


def _stage(dockerfile: str, name: str) -> str:
    """The instructions of build stage `name` (from its FROM to the next one)."""
    stages = re.split(r"(?m)^FROM ", dockerfile)
    (stage,) = [text for text in stages if re.match(rf"\S+ AS {name}\s", text)]
    return stage


def test_composes_deploy_service_runs_devstack_deploy_with_samlocal_installed() -> None:
    services: dict[str, Any] = yaml.safe_load(COMPOSE_SERVICES.read_text())["services"]
    deploy = services["deploy"]
    assert deploy["command"][0] == "deploy"
    assert "entrypoint" not in deploy
    image = _stage(DOCKERFILE.read_text(), deploy["build"]["target"])
    assert re.search(r'(?m)^ENTRYPOINT \["devstack"\]$', image)  # so the service runs `devstack deploy`
    assert re.search(r"--with-executables-from aws-sam-cli-local\b", image)  # samlocal on its PATH
