"""Shared by the chain fixtures and tests."""

from __future__ import annotations

from pathlib import Path

from devstack.lambda_chain import LambdaChain, LambdaTools
from devstack.procs import free_port
from support.target import LogCapture

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
