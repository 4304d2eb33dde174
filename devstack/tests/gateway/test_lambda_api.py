"""Lambda's API in front of a fake RIE: what RIE answers that the real chain rarely does (a relayed error
document, RIE's own failure, no answer at all) becomes what Lambda answers. The real chain:
tests/chain/test_lambda_api.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.apigw.gateway import Gateway
from devstack.lambdafn.invoke_api import FunctionNames, InvocationLogs, LambdaApi
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import LogCapture, ServerThread

from .gateway_fakes import FakeEnvironment, FakeRie

NAME = "fake-api"
FUNCTION_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Served:
    url: str
    rie: FakeRie


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    rie = FakeRie()
    with ServerThread(rie) as rie_server:
        pool = EnvironmentPool.of_running_rie(
            rie_server.url + INVOKE_PATH, function_timeout_s=FUNCTION_TIMEOUT_S
        )
        names = FunctionNames(NAME, config.load().aws.region, config.LOCAL_ACCOUNT_ID)
        api = LambdaApi(pool, names, "http://127.0.0.1:9", logs=InvocationLogs(), sink=LogCapture())
        with ServerThread(Gateway(pool)), ServerThread(api) as server:
            yield Served(server.url, rie)


@pytest.fixture(scope="module")
def client(served: Served) -> Any:
    return _client(served.url)


def _client(url: str) -> Any:
    facts = config.load()
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=facts.aws.region,
        aws_access_key_id=facts.aws.access_key_id,
        aws_secret_access_key=facts.aws.secret_access_key,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def _invoke(client: Any, path: str) -> tuple[int, str | None, bytes]:
    answer = client.invoke(FunctionName=NAME, Payload=json.dumps(request_event("GET", path)).encode())
    return answer["StatusCode"], answer.get("FunctionError"), answer["Payload"].read()


@pytest.mark.parametrize("path", ["/error", "/error-header"])
def test_a_function_error_is_unhandled_with_or_without_rie_saying_so(client: Any, path: str) -> None:
    status, function_error, payload = _invoke(client, path)
    assert (status, function_error, json.loads(payload)["errorMessage"]) == (200, "Unhandled", "boom")


def test_rie_failing_the_invocation_is_a_function_error(client: Any) -> None:
    assert _invoke(client, "/rie-status/502") == (200, "Unhandled", b"RIE says no")


def test_a_client_that_leaves_mid_payload_invokes_nothing(served: Served, client: Any) -> None:
    """It read as an empty payload, which runs the function with {}."""
    before = served.rie.invocations
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            f"POST /2015-03-31/functions/{NAME}/invocations HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Length: 100\r\n\r\n".encode()
        )
    # An invocation after it: the one left behind, had it been invoked, was handed to RIE first.
    assert _invoke(client, "/health")[0] == 200
    assert served.rie.invocations == before + 1


def test_an_invocation_rie_never_answers_ends_with_a_service_error(client: Any) -> None:
    """RIE ends an invocation at the function's Timeout; one it never answers is given up after the pool's
    grace, never left hanging."""
    with pytest.raises(ClientError) as raised:
        _invoke(client, "/sleep/8")
    error = raised.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, "ServiceException")


def test_past_the_reserved_concurrency_an_invoke_is_throttled() -> None:
    """A function with ReservedConcurrentExecutions: 1, one invocation running: Lambda's 429."""
    pool = EnvironmentPool(FakeEnvironment, max_environments=1, throttle_at_max=True, function_timeout_s=5)
    names = FunctionNames(NAME, config.load().aws.region, config.LOCAL_ACCOUNT_ID)
    api = LambdaApi(pool, names, "http://127.0.0.1:9", logs=InvocationLogs(), sink=LogCapture())
    try:
        with ServerThread(Gateway(pool)), ServerThread(api) as server:
            lambda_client = _client(server.url)
            running = threading.Thread(target=_invoke, args=(lambda_client, "/sleep/3"))
            running.start()
            while pool.busy == 0 and running.is_alive():  # until the first one holds the environment
                time.sleep(0.01)
            with pytest.raises(ClientError) as raised:
                _invoke(lambda_client, "/health")
            running.join()
    finally:
        pool.stop_all()
    error = raised.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
        429,
        "TooManyRequestsException",
    )
