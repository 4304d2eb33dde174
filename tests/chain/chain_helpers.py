"""Shared by the chain fixtures and tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from devstack.lambda_chain import LambdaChain, LambdaTools
from devstack.procs import free_port

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


@dataclass
class LogCapture:
    """Thread-safe list of (part, line) the chain reports."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, part: str, line: str) -> None:
        with self._lock:
            self.lines.append((part, line))

    def of(self, part: str) -> list[str]:
        with self._lock:
            return [line for p, line in self.lines if p == part]


def new_chain(artifact: Path, tools: LambdaTools, logs: LogCapture) -> LambdaChain:
    return LambdaChain(
        artifact,
        OVERRIDES,
        invoke_port=free_port(),
        runtime_api_port=free_port(),
        app_port=free_port(),
        log_sink=logs,
        tools=tools,
    )
