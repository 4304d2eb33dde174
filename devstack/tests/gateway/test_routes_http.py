"""The gateway plays the API's routes (over HTTP, in front of the fake RIE): the event names the matched
route and its path parameters; a request no route matches is HTTP API's 404 and is not invoked."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from devstack.apigw.api_config import ApiConfig
from devstack.apigw.gateway import Gateway
from devstack.apigw.routes import Route
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

from .gateway_fakes import FakeRie

RieFixture = tuple[FakeRie, ServerThread]
# template.yml's routes, plus one with an integration timeout of its own (the fake RIE's /sleep/<s>).
ROUTES = (
    Route("ANY /{proxy+}"),
    Route("ANY /"),
    Route("GET /health"),
    Route("GET /sleep/{s}", timeout_s=0.3),
)


@pytest.fixture(scope="module")
def routed_api(fake_rie: RieFixture) -> Iterator[str]:
    _, rie_server = fake_rie
    gateway = Gateway(
        EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH),
        api=ApiConfig(routes=ROUTES),
        integration_timeout_s=10.0,
    )
    with ServerThread(gateway) as server:
        yield server.url


@pytest.mark.parametrize(
    ("method", "path", "route_key", "path_parameters"),
    [
        ("GET", "/notes/1", "ANY /{proxy+}", {"proxy": "notes/1"}),
        ("PATCH", "/notes/a%20b", "ANY /{proxy+}", {"proxy": "notes/a b"}),
        ("GET", "/", "ANY /", None),
        ("GET", "/health", "GET /health", None),
        ("HEAD", "/health", "ANY /{proxy+}", {"proxy": "health"}),
    ],
)
def test_the_event_names_the_matched_route(
    routed_api: str,
    fake_rie: RieFixture,
    method: str,
    path: str,
    route_key: str,
    path_parameters: dict[str, str] | None,
) -> None:
    rie, _ = fake_rie
    response = httpx.request(method, routed_api + path)
    assert response.status_code == 200
    event = rie.events[response.headers["apigw-requestid"]]
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == (route_key, route_key)
    assert event.get("pathParameters") == path_parameters


def test_a_request_no_route_matches_is_404_and_not_invoked(fake_rie: RieFixture) -> None:
    rie, rie_server = fake_rie
    api = ApiConfig(routes=(Route("GET /health"), Route("ANY /")))
    with ServerThread(Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), api=api)) as gw:
        before = rie.invocations
        responses = [httpx.get(gw.url + "/notes"), httpx.post(gw.url + "/health", content=b"x" * 100_000)]
    assert [(r.status_code, r.json()) for r in responses] == [(404, {"message": "Not Found"})] * 2
    assert all(r.headers["apigw-requestid"] for r in responses)
    assert rie.invocations == before


@pytest.mark.parametrize(
    "path", ["/x/..%2Fhealth", "/notes/..%2F..%2Fusers", "/x/../health", "/x/%2e%2e/health", "/x/..%5Chealth"]
)
def test_a_path_that_names_another_is_404_and_not_invoked(
    routed_api: str, fake_rie: RieFixture, path: str
) -> None:
    """Issue 17 finding 6: such a path would reach the app as another route's (/health, /users) past the
    route HTTP API matched. Sent as is: HTTP clients such as httpx resolve `..` before sending."""
    rie, _ = fake_rie
    url = urllib.parse.urlsplit(routed_api)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    before = rie.invocations
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        answer = (response.status, json.loads(response.read()))
        request_id = response.getheader("apigw-requestid")
    finally:
        connection.close()
    assert answer == (404, {"message": "Not Found"})
    assert request_id
    assert rie.invocations == before


def test_the_routes_integration_timeout_applies(routed_api: str, fake_rie: RieFixture) -> None:
    """GET /sleep/{s} has TimeoutInMillis 300: a 2 s answer is HTTP API's 503, within the gateway's 10 s."""
    rie, _ = fake_rie
    response = httpx.get(routed_api + "/sleep/2", timeout=30)
    while rie.in_flight:  # the timed-out invocation runs on; the next test's gateway shares this fake RIE
        time.sleep(0.05)
    assert (response.status_code, response.json()) == (503, {"message": "Service Unavailable"})


def test_without_a_template_every_request_takes_the_default_route(
    gateway_url: str, fake_rie: RieFixture
) -> None:
    rie, _ = fake_rie
    response = httpx.get(gateway_url + "/any/path")
    event = rie.events[response.headers["apigw-requestid"]]
    assert (event["routeKey"], "pathParameters" in event) == ("$default", False)
