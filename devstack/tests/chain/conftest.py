"""Fixtures for the Lambda chain tests: a fresh `sam build` of template.yml and a running chain.

Nothing is mocked: the real RIE and Web Adapter (scripts/install-lambda-tools.sh) run the artifact
sam build produced. Missing binaries fail the session with the install command; nothing is skipped.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.lambdafn.runtime import LambdaChain
from devstack.local_function import probe
from devstack.paths import REPO_ROOT, TEMPLATE
from devstack.supervision import LogCapture
from devstack.tools import LambdaTools, tool

from .chain_helpers import FUNCTION, new_chain


@pytest.fixture(scope="session")
def lambda_tools() -> LambdaTools:
    tools = LambdaTools.pinned()
    tools.check()  # StartupError naming scripts/install-lambda-tools.sh: fails, never skips
    return tools


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of the real template into a private build dir (never races `make dev`'s .aws-sam)."""
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    started = time.monotonic()
    result = subprocess.run(
        [tool("sam"), "build", "--template", str(TEMPLATE), "--build-dir", str(build_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    print(f"sam build: {time.monotonic() - started:.1f}s")
    return build_dir / FUNCTION


@pytest.fixture(scope="session")
def chain_logs() -> LogCapture:
    return LogCapture()


@pytest.fixture(scope="session")
def chain(artifact: Path, lambda_tools: LambdaTools, chain_logs: LogCapture) -> Iterator[LambdaChain]:
    """One warmed-up chain shared by the invoke tests (a cold start costs ~3 s)."""
    running = new_chain(artifact, lambda_tools, chain_logs)
    running.start()
    try:
        running.wait_ready(probe())
        yield running
    finally:
        running.stop()
