"""`make local` (devstack local): what SAM CLI is handed, and what is refused before anything starts, named
with its fix. The runs themselves (start-api, invoke, the e2e suite) are tests/samlocal's, under
scripts/test-local.sh."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import config
from devstack.environment import FUNCTION
from devstack.paths import BUILD_DIR, REPO_ROOT
from devstack.sam_local import SAM_BASE_IMAGE, STAND_IN_BUILD, base_image, local_template
from devstack.supervision import StartupError


def _devstack_local(environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ports = config.load().ports.with_free_ports().environment()
    return subprocess.run(
        [sys.executable, "-m", "devstack", "local"],
        cwd=REPO_ROOT,
        env={**os.environ, **ports, **environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_named_with_the_variable_that_moves_it(taken_port: int) -> None:
    done = _devstack_local({"LOCAL_API_PORT": str(taken_port)})
    assert done.returncode == 1
    assert f"port {taken_port} is already taken" in done.stderr
    assert "LOCAL_API_PORT=<port>" in done.stderr


def test_no_engine_is_named_with_its_fix(tmp_path: Path) -> None:
    nowhere = f"unix://{tmp_path}/no-engine.sock"
    done = _devstack_local({"DOCKER_HOST": nowhere})
    assert done.returncode == 1
    assert f"no Docker engine answers at {nowhere}" in done.stderr
    assert "make engine" in done.stderr


@pytest.fixture
def docker_without_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `docker` client whose engine has no image and reaches no registry."""
    client = tmp_path / "bin" / "docker"
    client.parent.mkdir()
    client.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "image inspect") echo "Error: No such image" >&2 ;;\n'
        '  "pull "*) echo "Error response from daemon: Get https://public.ecr.aws/v2/: no such host" >&2 ;;\n'
        "esac\n"
        "exit 1\n"
    )
    client.chmod(0o755)
    monkeypatch.setenv("PATH", f"{client.parent}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.usefixtures("docker_without_registry")
def test_no_base_image_and_no_registry_names_the_stand_in_build() -> None:
    with pytest.raises(StartupError) as refused:
        base_image(dict(os.environ), lambda *_: None)
    assert SAM_BASE_IMAGE in str(refused.value)
    assert "no such host" in str(refused.value)
    assert STAND_IN_BUILD in str(refused.value)


def test_the_adapter_layer_is_the_local_build_not_aws_account(tmp_path: Path) -> None:
    """The deployed template names the layer by ARN, which SAM downloads with AWS credentials; the local copy
    takes it from the adapter the project builds, laid out as Lambda unpacks it in /opt."""
    template = json.loads(local_template(tmp_path, ["FIREBASE_AUTH_EMULATOR_HOST"]).read_text())
    function = template["Resources"][FUNCTION]["Properties"]
    (layer,) = function["Layers"]
    content = Path(template["Resources"][layer["Ref"]]["Properties"]["ContentUri"])
    assert (content / "bootstrap").is_file()
    assert (content / "extensions" / "lambda-adapter").is_file()
    assert "arn:aws" not in json.dumps(template)
    assert function["CodeUri"] == str(BUILD_DIR / FUNCTION)
    # declared, so that SAM's --env-vars sets it (it sets only declared variables)
    assert function["Environment"]["Variables"]["FIREBASE_AUTH_EMULATOR_HOST"] == ""
