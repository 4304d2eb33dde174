"""The function's logs land where AWS puts them: in the emulator's CloudWatch Logs, in the log group the
template gives the function (FunctionLogGroupName), one stream per execution environment named as Lambda
names it — found with `aws logs filter-log-events` (boto3's filter_log_events), as the README's
troubleshooting does."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import httpx
import pytest

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.deploy import deployed_stack
from devstack.stack.model import local_stack
from tests.support.target import Target

pytestmark = pytest.mark.e2e

STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
SHIPPED_WAIT_S = 30.0
"""Shipping is asynchronous (batched in the background): the lines arrive soon after the answer."""


@pytest.fixture(scope="module")
def outputs(target: Target) -> dict[str, str]:
    if not target.endpoints.lambda_api:
        pytest.skip(
            "compose ships no function logs yet: the function's log group is filled under make dev only"
        )
    facts = config.load()
    return dict(deployed_stack(local_stack(facts), facts.aws, target.endpoints.aws).outputs)


@pytest.fixture(scope="module")
def logs_client(target: Target) -> Any:
    aws = config.load().aws
    return boto3.client(
        "logs",
        endpoint_url=target.endpoints.aws,
        region_name=aws.region,
        aws_access_key_id=aws.access_key_id,
        aws_secret_access_key=aws.secret_access_key,
    )


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


def _report_after(events: list[dict[str, Any]], marks: Any) -> dict[str, Any] | None:
    """The REPORT line that closes the invocation whose line `marks` names, in the same stream."""
    seen: set[str] = set()
    for event in events:
        stream = event["logStreamName"]
        if marks(event["message"]):
            seen.add(stream)
        elif stream in seen and event["message"].startswith("REPORT RequestId: "):
            return event
    return None


def _wait_for_report(client: Any, group: str, since_ms: int, marks: Any) -> dict[str, Any]:
    deadline = time.monotonic() + SHIPPED_WAIT_S
    while True:
        events = _events(client, group, since_ms)
        if report := _report_after(events, marks):
            return report
        if time.monotonic() > deadline:
            pytest.fail(f"no REPORT line after the request's in {group} within {SHIPPED_WAIT_S} s: {events}")
        time.sleep(0.2)


def _app_line_of(request_id: str) -> Any:
    def marks(message: str) -> bool:
        try:
            return bool(json.loads(message).get("request_id") == request_id)
        except (ValueError, AttributeError):
            return False

    return marks


def test_a_request_through_the_gateway_is_in_the_functions_log_group(
    api: httpx.Client, logs_client: Any, outputs: dict[str, str]
) -> None:
    since_ms = int(time.time() * 1000) - 1000
    response = api.get("/health")
    assert response.status_code == 200
    group = outputs["FunctionLogGroupName"]
    report = _wait_for_report(logs_client, group, since_ms, _app_line_of(response.headers["x-request-id"]))
    assert STREAM.match(report["logStreamName"]), report["logStreamName"]
    assert group == f"/aws/lambda/{outputs['FunctionName']}"


def test_an_invoke_through_lambdas_api_is_in_the_functions_log_group(
    target: Target, logs_client: Any, outputs: dict[str, str]
) -> None:
    aws = config.load().aws
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=target.endpoints.lambda_api,
        region_name=aws.region,
        aws_access_key_id=aws.access_key_id,
        aws_secret_access_key=aws.secret_access_key,
    )
    since_ms = int(time.time() * 1000) - 1000
    answer = lambda_client.invoke(
        FunctionName=outputs["FunctionName"], Payload=json.dumps(request_event("GET", "/health")).encode()
    )
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    report = _wait_for_report(
        logs_client,
        outputs["FunctionLogGroupName"],
        since_ms,
        lambda message: message.startswith(f"START RequestId: {request_id}"),
    )
    assert report["message"].startswith(f"REPORT RequestId: {request_id}")
    assert STREAM.match(report["logStreamName"]), report["logStreamName"]
