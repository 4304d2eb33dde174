"""The function's logs land where AWS puts them: in the emulator's CloudWatch Logs, in the log group the
template gives the function (FunctionLogGroupName), one stream per execution environment named as Lambda
names it — found with `aws logs filter-log-events` (boto3's filter_log_events), as the README's
troubleshooting does."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.deploy import deployed_stack, emulator_session
from devstack.stack.model import local_stack
from tests.support.target import Target, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e

STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
SHIPPED_WAIT_S = 30.0
"""Shipping is asynchronous (batched in the background): the lines arrive soon after the answer."""
QUIET_S = 3.0
"""Long enough for a once-a-second health check to have invoked the function more than once."""


@pytest.fixture(scope="module")
def outputs(target: Target) -> dict[str, str]:
    facts = config.load()
    return dict(deployed_stack(local_stack(facts), facts.aws, target.endpoints.aws).outputs)


@pytest.fixture(scope="module")
def logs_client(target: Target) -> Any:
    skip_where_sam_local_differs(target, "Lambda API and logs")
    return emulator_session(config.load().aws).client("logs", endpoint_url=target.endpoints.aws)


def _events(client: Any, group: str, since_ms: int) -> list[dict[str, Any]]:
    """Every event of `group` since `since_ms`, in each stream's order (FilterLogEvents, every page)."""
    events: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
    while True:
        page = client.filter_log_events(**arguments)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        arguments["nextToken"] = page["nextToken"]


def _wait_for(
    client: Any, group: str, since_ms: int, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first event of `group` since `since_ms` that is `wanted`, once shipped (a bounded wait)."""
    deadline = time.monotonic() + SHIPPED_WAIT_S
    while True:
        events = _events(client, group, since_ms)
        found = [event for event in events if wanted(event)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            pytest.fail(f"not in {group} within {SHIPPED_WAIT_S} s; it has: {[e['message'] for e in events]}")
        time.sleep(0.2)


def _is_report(event: dict[str, Any]) -> bool:
    return bool(event["message"].startswith("REPORT RequestId: "))


def _names_request(request_id: str) -> Callable[[dict[str, Any]], bool]:
    """The app's request line for `request_id` (one JSON object per line, backend/shared/logging.py)."""

    def names(event: dict[str, Any]) -> bool:
        try:
            return bool(json.loads(event["message"]).get("request_id") == request_id)
        except (ValueError, AttributeError):
            return False

    return names


def test_a_request_through_the_gateway_is_in_the_functions_log_group(
    api: httpx.Client, logs_client: Any, outputs: dict[str, str]
) -> None:
    """Its REPORT line (any REPORT since the request was sent: nothing else invokes the function meanwhile)
    and the app's line naming its request id, in the same stream, named as Lambda names it."""
    group = outputs["FunctionLogGroupName"]
    assert group == f"/aws/lambda/{outputs['FunctionName']}"
    since_ms = int(time.time() * 1000)
    response = api.get("/health")
    assert response.status_code == 200
    report = _wait_for(logs_client, group, since_ms, _is_report)
    app_line = _wait_for(logs_client, group, since_ms, _names_request(response.headers["x-request-id"]))
    assert STREAM.match(report["logStreamName"]), report["logStreamName"]
    assert app_line["logStreamName"] == report["logStreamName"]


def test_only_requests_invoke_the_function(
    api: httpx.Client, logs_client: Any, outputs: dict[str, str]
) -> None:
    """As on AWS, nothing of the local stack's own (a health check) invokes the function: a quiet moment
    leaves no REPORT line in its log group. Each end of the moment is a request whose line was shipped."""
    group = outputs["FunctionLogGroupName"]

    def shipped_request() -> int:
        since_ms = int(time.time() * 1000)
        response = api.get("/health")
        assert response.status_code == 200
        _wait_for(logs_client, group, since_ms, _names_request(response.headers["x-request-id"]))
        return int(time.time() * 1000)

    quiet_from_ms = shipped_request()
    time.sleep(QUIET_S)
    quiet_until_ms = int(time.time() * 1000)
    shipped_request()
    invoked = [
        event["message"]
        for event in _events(logs_client, group, quiet_from_ms)
        if _is_report(event) and event["timestamp"] < quiet_until_ms
    ]
    assert invoked == []


def test_an_invoke_through_lambdas_api_is_in_the_functions_log_group(
    target: Target, logs_client: Any, outputs: dict[str, str]
) -> None:
    lambda_client = emulator_session(config.load().aws).client(
        "lambda", endpoint_url=target.endpoints.lambda_api
    )
    since_ms = int(time.time() * 1000)
    answer = lambda_client.invoke(
        FunctionName=outputs["FunctionName"], Payload=json.dumps(request_event("GET", "/health")).encode()
    )
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    report = _wait_for(
        logs_client,
        outputs["FunctionLogGroupName"],
        since_ms,
        lambda event: bool(event["message"].startswith(f"REPORT RequestId: {request_id}")),
    )
    assert STREAM.match(report["logStreamName"]), report["logStreamName"]
