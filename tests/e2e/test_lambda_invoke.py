"""`aws lambda invoke` against the local stack, as the README's troubleshooting tells a user to run it: the
deployed function, by the name the stack gives it, runs in the local chain (make dev's environments, compose's
function container); the rest of Lambda's API answers from the emulator (MiniStack), which holds the deployed
function but cannot run it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.deploy import deployed_stack, emulator_session
from devstack.stack.model import local_stack
from tests.support.target import Target, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lambda_client(target: Target) -> Any:
    skip_where_sam_local_differs(target, "Lambda API and logs")
    return emulator_session(config.load().aws).client(
        "lambda",
        endpoint_url=target.endpoints.lambda_api,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


@pytest.fixture(scope="module")
def function_name(target: Target) -> str:
    facts = config.load()
    return deployed_stack(local_stack(facts), facts.aws, target.endpoints.aws).outputs["FunctionName"]


def test_invoke_of_the_deployed_function_runs_in_the_chain(lambda_client: Any, function_name: str) -> None:
    """By its name, and by the ARN the emulator gives it (get-function-configuration's FunctionArn)."""
    arn = lambda_client.get_function_configuration(FunctionName=function_name)["FunctionArn"]
    event = json.dumps(request_event("GET", "/health")).encode()
    for name in (function_name, arn):
        answer = lambda_client.invoke(FunctionName=name, Payload=event)
        payload = json.loads(answer["Payload"].read())
        assert (answer["StatusCode"], answer.get("FunctionError"), payload["statusCode"]) == (200, None, 200)


def test_an_empty_event_is_no_missing_module(lambda_client: Any, function_name: str) -> None:
    """MiniStack answered `Worker init failed: No module named 'run'` (FunctionError: Unhandled)."""
    answer = lambda_client.invoke(FunctionName=function_name, Payload=b"{}")
    assert (answer["StatusCode"], answer.get("FunctionError")) == (200, None)


def test_log_type_tail_returns_the_invocations_lines(lambda_client: Any, function_name: str) -> None:
    """`aws lambda invoke --log-type Tail`: RIE has no Tail of its own; the local chain reads the function's
    output (compose: through the backend container's output relay)."""
    event = json.dumps(request_event("GET", "/health")).encode()
    answer = lambda_client.invoke(FunctionName=function_name, Payload=event, LogType="Tail")
    request_id = answer["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(answer["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {request_id}"), log
    assert f"REPORT RequestId: {request_id}" in log, log


def test_the_rest_of_lambdas_api_answers_from_the_emulator(lambda_client: Any, function_name: str) -> None:
    configuration = lambda_client.get_function_configuration(FunctionName=function_name)
    assert (configuration["Runtime"], configuration["Handler"]) == ("python3.13", "run.sh")
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=f"{function_name}-none", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
