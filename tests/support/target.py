"""What the e2e suites run against: the chain's URLs and, when they started it, its logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from devstack import config, paths
from devstack.deploy import deployed_stack
from devstack.environment import FUNCTION, SAM_START_API, Endpoints, function_variables
from devstack.lambdafn.runtime import LambdaChain
from devstack.local_function import probe
from devstack.stack.model import local_stack
from devstack.supervision import LogCapture, free_port
from devstack.tools import LambdaTools


def app_requests(logs: LogCapture) -> list[dict[str, object]]:
    """The app's one-JSON-line-per-request access logs, from every execution environment."""
    records = []
    for line in logs.of_every_environment("app"):
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict) and "status" in record and "path" in record:
            records.append(record)
    return records


@dataclass(frozen=True)
class Target:
    endpoints: Endpoints
    logs: LogCapture | None
    """None when the tests target a stack they did not start (BASE_URL)."""


SAM_DIFFERENCES = {
    "HEAD": "SAM's start-api answers HEAD on a GET-only route (GET /health) with 502: its Flask server adds "
    "HEAD to the GET route, for which SAM then finds no function; HTTP API routes it to ANY /{proxy+}",
    "non-UTF-8 body": "SAM's start-api answers a body that is not UTF-8 with 502 (it decodes every body as "
    "text unless its type is one of the template's BinaryMediaTypes); HTTP API base64-encodes it",
    "apigw-requestid": "SAM's start-api adds no apigw-requestid header and gives every event the same "
    "requestId ('id'), which the app echoes as x-request-id",
    "newline in the path": "SAM's start-api matches no route for a path with an encoded newline (%0A) and "
    "answers its own 403 Missing Authentication Token (its Flask {proxy+} pattern stops at a newline); HTTP "
    "API routes it to ANY /{proxy+}",
    "JWT authorizer": "SAM's start-api does not apply the API's JWT authorizer: a request without a valid "
    "token reaches the function, whose own check answers 401 with the app's error, not HTTP API's",
    "Lambda API and logs": "make local runs no Lambda API of its own (SAM's is `sam local start-lambda`; "
    "`make local-invoke` runs `sam local invoke`) and SAM's containers ship no lines to the emulator's "
    "CloudWatch Logs: on AWS, `aws lambda invoke` and the function's log group serve the same function",
    "undeclared method": "SAM's start-api answers TRACE (a method no route of its lists) with its own 403 "
    "Missing Authentication Token; HTTP API passes it to ANY /{proxy+}, where the app answers 405",
}
"""Where `sam local start-api` (make local) differs from HTTP API, by name, each with its reason: the e2e
suite skips exactly these against it (docs/gateway.md, "sam local start-api vs HTTP API")."""


def is_utf8(content: bytes) -> bool:
    """Whether a body is text SAM's start-api can decode (its "non-UTF-8 body" difference)."""
    try:
        content.decode()
    except UnicodeDecodeError:
        return False
    return True


def skip_where_sam_local_differs(target: Target, difference: str) -> None:
    if target.endpoints.served_by == SAM_START_API:
        pytest.skip(f"sam local start-api vs HTTP API, {difference}: {SAM_DIFFERENCES[difference]}")


@contextmanager
def app_straight(endpoints: Endpoints) -> Iterator[str]:
    """The built function's app called straight, on the emulators at `endpoints`: the same artifact under the
    chain (RIE + adapter + uvicorn) on free ports, its uvicorn's URL. For a target whose own app is out of
    reach (sam local runs it inside a container)."""
    facts = config.load()
    deployed = deployed_stack(local_stack(facts), facts.aws, endpoints.aws)
    app_port = free_port()
    invoke_port = free_port(avoid=[app_port])
    chain = LambdaChain(
        paths.BUILD_DIR / FUNCTION,
        function_variables(deployed.function(FUNCTION), facts, endpoints),
        invoke_port=invoke_port,
        runtime_api_port=free_port(avoid=[app_port, invoke_port]),
        app_port=app_port,
        tools=LambdaTools.pinned(),
        log_sink=lambda _part, _line: None,
    )
    with chain:
        chain.wait_ready(probe())
        yield f"http://127.0.0.1:{app_port}"
