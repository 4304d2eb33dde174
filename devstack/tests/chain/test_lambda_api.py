"""`aws lambda invoke` (boto3's lambda client) against the Lambda API of the local chain: the real RIE + Web
Adapter + app run the invocation in an environment of the pool the gateway serves; what is not an Invoke of
that function reaches the AWS emulator (a recording stand-in on loopback here; tests/e2e/test_lambda_invoke.py
has MiniStack)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.apigw.gateway import Gateway
from devstack.environment import chain_variables
from devstack.lambdafn.invoke_api import FunctionNames, LambdaApi
from devstack.lambdafn.pool import MAX_INVOKE_PAYLOAD_BYTES
from devstack.local_function import ChainFactory, LocalFunction
from devstack.stack.model import local_stack
from devstack.supervision import LogCapture, ServerThread
from devstack.tools import LambdaTools

from .chain_helpers import FUNCTION, OVERRIDES

NAME = "chain-test-api"
# The adapter turns these app answers into a function error (its AWS_LWA_ERROR_STATUS_CODES): a way to make
# the real function fail on demand (DELETE /health is 405).
ERROR_STATUS = "405"


@dataclass
class FakeEmulator:
    """The AWS emulator's Lambda, as far as these tests need it: it records what reaches it."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.seen.append((scope["method"], scope["path"]))
        if scope["method"] == "GET":
            status, headers, body = 200, [], {"FunctionName": "from-the-emulator", "Runtime": "python3.13"}
        else:
            status, headers = 404, [(b"x-amzn-errortype", b"ResourceNotFoundException")]
            body = {"Type": "User", "Message": "Function not found (the emulator)"}
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@dataclass
class Served:
    function: LocalFunction
    client: Any
    emulator: FakeEmulator
    names: FunctionNames
    logs: LogCapture


@pytest.fixture(scope="module")
def served(artifact: Path) -> Iterator[Served]:
    logs = LogCapture()
    facts = config.load().isolated()
    variables = chain_variables(facts, {**OVERRIDES, "AWS_LWA_ERROR_STATUS_CODES": ERROR_STATUS})
    factory = ChainFactory(facts, artifact, variables, LambdaTools.pinned(), logs)
    function = LocalFunction(factory, local_stack(facts).function(FUNCTION), facts.max_environments)
    names = FunctionNames(NAME, facts.aws.region, config.LOCAL_ACCOUNT_ID)
    emulator = FakeEmulator()
    try:
        with (
            ServerThread(Gateway(function.environments)),
            ServerThread(emulator) as aws,
            ServerThread(
                LambdaApi(function.environments, names, aws.url, logs=factory.logs, sink=logs)
            ) as lambda_api,
        ):
            function.warm_up()
            client = boto3.client(
                "lambda",
                endpoint_url=lambda_api.url,
                region_name=facts.aws.region,
                aws_access_key_id=facts.aws.access_key_id,
                aws_secret_access_key=facts.aws.secret_access_key,
                config=Config(retries={"max_attempts": 0}, read_timeout=120),
            )
            yield Served(function, client, emulator, names, logs)
    finally:
        function.environments.stop_all()


def _health_event() -> bytes:
    return json.dumps(request_event("GET", "/health")).encode()


def test_invoke_by_name_arn_and_partial_arn_runs_the_function_in_the_pool(served: Served) -> None:
    arn = served.names.arn
    partial = arn.split(":", 4)[4]  # 123456789012:function:NAME
    before = served.function.environments.invocations
    for name, qualifier in (
        (NAME, None),
        (arn, None),
        (partial, None),
        (NAME, "$LATEST"),
        (f"{arn}:$LATEST", None),
    ):
        extra = {"Qualifier": qualifier} if qualifier else {}
        answer = served.client.invoke(FunctionName=name, Payload=_health_event(), **extra)
        payload = json.loads(answer["Payload"].read())
        assert (answer["StatusCode"], answer.get("FunctionError"), answer["ExecutedVersion"]) == (
            200,
            None,
            "$LATEST",
        )
        assert (payload["statusCode"], json.loads(payload["body"])["status"]) == (200, "healthy"), name
    assert served.function.environments.invocations - before == 5, "not run by the gateway's pool"
    assert served.emulator.seen == []


def test_an_empty_event_gets_what_the_adapter_passes_through(served: Served) -> None:
    """The Web Adapter (the pinned LWA_VERSION) POSTs a non-HTTP event to AWS_LWA_PASS_THROUGH_PATH
    (/events) and returns the app's JSON answer as the payload, its status dropped: the app's 404 document
    for a path it does not serve."""
    answer = served.client.invoke(FunctionName=NAME, Payload=b"{}")
    assert (answer["StatusCode"], answer.get("FunctionError")) == (200, None)
    error = json.loads(answer["Payload"].read())["error"]
    assert (error["code"], error["message"]) == ("not_found", "Not Found")


def test_a_failing_function_is_a_function_error(served: Served) -> None:
    event = json.dumps(request_event("DELETE", "/health")).encode()
    answer = served.client.invoke(FunctionName=NAME, Payload=event)
    payload = json.loads(answer["Payload"].read())
    assert (answer["StatusCode"], answer.get("FunctionError")) == (200, "Unhandled")
    assert f"status code: {ERROR_STATUS}" in payload["errorMessage"]


def test_log_type_tail_returns_this_invocations_lines(served: Served) -> None:
    answer = served.client.invoke(FunctionName=NAME, Payload=_health_event(), LogType="Tail")
    request_id = answer["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(answer["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {request_id}"), log
    assert f"REPORT RequestId: {request_id}" in log, log
    assert "(rapid)" not in log, log  # RIE's own diagnostics are not the function's log
    assert len(base64.b64decode(answer["LogResult"])) <= 4096


def test_event_is_accepted_and_dry_run_runs_nothing(served: Served) -> None:
    before = served.function.environments.invocations
    dry = served.client.invoke(FunctionName=NAME, Payload=_health_event(), InvocationType="DryRun")
    assert (dry["StatusCode"], served.function.environments.invocations) == (204, before)
    queued = served.client.invoke(FunctionName=NAME, Payload=_health_event(), InvocationType="Event")
    assert queued["StatusCode"] == 202


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        (b"x" * (MAX_INVOKE_PAYLOAD_BYTES + 1), 413, "RequestEntityTooLargeException"),
        (b'{"not": json', 400, "InvalidRequestContentException"),
    ],
)
def test_aws_errors_for_bad_payloads(served: Served, payload: bytes, status: int, error: str) -> None:
    with pytest.raises(ClientError) as raised:
        served.client.invoke(FunctionName=NAME, Payload=payload)
    response = raised.value.response
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (status, error)


def test_everything_else_goes_to_the_emulator(served: Served) -> None:
    seen = len(served.emulator.seen)
    configuration = served.client.get_function_configuration(FunctionName=NAME)
    assert configuration["FunctionName"] == "from-the-emulator"
    with pytest.raises(ClientError) as raised:
        served.client.invoke(FunctionName="another-function", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        served.client.invoke(FunctionName=NAME, Qualifier="1", Payload=b"{}")
    assert [path for _, path in served.emulator.seen[seen:]] == [
        f"/2015-03-31/functions/{NAME}/configuration",
        "/2015-03-31/functions/another-function/invocations",
        f"/2015-03-31/functions/{NAME}/invocations",
    ]
