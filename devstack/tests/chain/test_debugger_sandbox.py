"""`make debug`'s debugger lives in the execution environment's sandbox, never in the zip: the built artifact
holds no debugpy, and an environment that is not debugging cannot import it (only `make debug` puts it on the
function's path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack import config
from devstack.environment import chain_variables
from devstack.lambdafn.runtime import LambdaChain
from devstack.supervision import free_port
from devstack.tools import LambdaTools

from .chain_helpers import OVERRIDES


def test_the_built_artifact_holds_no_debugger(artifact: Path) -> None:
    found = [
        path.relative_to(artifact)
        for path in artifact.rglob("*")
        if path.name.split("-")[0] == "debugpy" or path.stem == "sitecustomize"
    ]
    assert found == []


@pytest.mark.parametrize("debugging", [False, True], ids=["make dev", "make debug"])
def test_only_a_debugging_environment_can_import_debugpy(
    artifact: Path, lambda_tools: LambdaTools, debugging: bool
) -> None:
    chain = LambdaChain(
        artifact,
        chain_variables(config.load(), OVERRIDES),
        invoke_port=free_port(),
        runtime_api_port=free_port(),
        app_port=free_port(),
        tools=lambda_tools,
        debugger=config.Debugger(free_port(), wait=False) if debugging else None,
    )
    chain.sandbox.prepare(lambda_tools, debugger=debugging)
    # The function's interpreter as run.sh starts it: the environment RIE passes on, in the artifact. The
    # hook's listen address is left out: the question is only whether debugpy is on the path.
    environment = {k: v for k, v in chain.environment().items() if k != "DEVSTACK_DEBUG_LISTEN"}
    imported = subprocess.run(
        ["python3", "-c", "import debugpy"], env=environment, cwd=artifact, capture_output=True, text=True
    )
    if debugging:
        assert imported.returncode == 0, imported.stderr
    else:
        assert "No module named 'debugpy'" in imported.stderr
