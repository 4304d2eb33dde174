"""Shared by the chain fixtures and tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from devstack import config
from devstack.environment import chain_variables
from devstack.lambdafn.runtime import LambdaChain
from devstack.lambdafn.sandbox import Sandbox
from devstack.supervision import LogCapture, free_port
from devstack.tools import LambdaTools

FUNCTION = "ApiFunction"
# Settings the app requires; values only a deployed stack knows (table, bucket) are local names here.
OVERRIDES = {
    "ENVIRONMENT": "test",
    "LOG_LEVEL": "INFO",
    "DYNAMODB_TABLE": "chain-test-table",
    "S3_BUCKET": "chain-test-bucket",
    "FIREBASE_PROJECT_ID": "demo-chain-test",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: /health must not need AWS
}
LOG_WAIT_S = 10.0
"""A part's line reaches the sink through a reader thread: wait for it, however slow the machine."""


def new_chain(
    artifact: Path,
    tools: LambdaTools,
    logs: LogCapture,
    extra: Mapping[str, str] | None = None,
    sandbox: Sandbox | None = None,
) -> LambdaChain:
    return LambdaChain(
        artifact,
        chain_variables(config.load(), {**OVERRIDES, **(extra or {})}),
        invoke_port=free_port(),
        runtime_api_port=free_port(),
        app_port=free_port(),
        log_sink=logs,
        tools=tools,
        sandbox=sandbox,
    )


def eventually(condition: Callable[[], bool], what: str, logs: LogCapture) -> None:
    """Wait until `condition` holds (it must, eventually); fail naming `what`, with the lines seen."""
    deadline = time.monotonic() + LOG_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            seen = "\n".join(f"{part}: {line}" for part, line in logs.lines[-30:])
            raise AssertionError(f"{what} within {LOG_WAIT_S:.0f}s; last lines:\n{seen}")
        time.sleep(0.05)
