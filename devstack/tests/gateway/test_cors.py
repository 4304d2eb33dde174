"""CORS as HTTP API applies an API's CorsConfiguration: the gateway (over HTTP, in front of the fake RIE)
answers preflights itself and owns the CORS headers of every other response. Rules: docs/gateway.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from devstack.apigw.api_config import ApiConfig, CorsConfiguration
from devstack.apigw.gateway import Gateway
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

from .gateway_fakes import FakeRie

RieFixture = tuple[FakeRie, ServerThread]
PAGE = "http://127.0.0.1:8080"
# template.yml's configuration outside prod (tests/gateway/test_api_config.py reads it from the template).
OPEN = CorsConfiguration(
    allow_origins=("*",),
    allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
    allow_headers=("authorization", "content-type", "if-match", "idempotency-key"),
    expose_headers=("etag", "location", "x-request-id"),
    max_age=600,
)
LISTED = CorsConfiguration(
    allow_origins=(PAGE,), allow_methods=("GET", "PATCH"), allow_headers=("authorization",)
)
# The backend answers with CORS headers of its own, as the app does when emulated.
BACKEND_CORS = {"access-control-allow-origin": "https://backend.example", "access-control-max-age": "5"}


@contextmanager
def _gateway(fake_rie: RieFixture, cors: CorsConfiguration | None) -> Iterator[str]:
    _, rie_server = fake_rie
    environments = EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH)
    with ServerThread(Gateway(environments, api=ApiConfig(cors=cors))) as server:
        yield server.url


@pytest.fixture(scope="module")
def open_api(fake_rie: RieFixture) -> Iterator[str]:
    with _gateway(fake_rie, OPEN) as url:
        yield url


@pytest.fixture(scope="module")
def listed_api(fake_rie: RieFixture) -> Iterator[str]:
    with _gateway(fake_rie, LISTED) as url:
        yield url


def _preflight(url: str, method: str, headers: str | None = None, origin: str = PAGE) -> httpx.Response:
    asked = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        asked["access-control-request-headers"] = headers
    return httpx.options(url + "/notes/1", headers=asked)


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def _answer_with_backend_cors(url: str, headers: dict[str, str]) -> httpx.Response:
    """The function (fake RIE path /raw) answers 200 with its own CORS headers."""
    answer: dict[str, Any] = {"statusCode": 200, "headers": {**BACKEND_CORS, "etag": '"1"'}, "body": "{}"}
    return httpx.post(
        url + "/raw", content=json.dumps(answer), headers={"content-type": "application/json", **headers}
    )


def test_allowed_preflight_is_answered_by_the_gateway(open_api: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    response = _preflight(open_api, "PATCH", "authorization,content-type,if-match")
    assert (response.status_code, response.content) == (204, b"")
    assert _cors_headers(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE",
        "access-control-allow-headers": "authorization,content-type,if-match,idempotency-key",
        "access-control-max-age": "600",
    }
    assert rie.invocations == before
    assert len(response.headers["apigw-requestid"]) == 16


def test_listed_origin_is_echoed(listed_api: str) -> None:
    response = _preflight(listed_api, "GET")
    assert response.headers["access-control-allow-origin"] == PAGE
    assert "access-control-max-age" not in response.headers  # no MaxAge configured: none sent


@pytest.mark.parametrize(
    ("method", "headers", "origin"),
    [
        ("GET", None, "http://127.0.0.1:9999"),  # origin not listed (another port is another origin)
        ("DELETE", None, PAGE),  # method not allowed
        ("PATCH", "authorization,if-match", PAGE),  # one header not allowed: the whole preflight fails
    ],
    ids=["origin", "method", "header"],
)
def test_refused_preflight_gets_no_cors_headers_and_no_invoke(
    listed_api: str, fake_rie: RieFixture, method: str, headers: str | None, origin: str
) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    response = _preflight(listed_api, method, headers, origin)
    assert response.status_code == 204
    assert _cors_headers(response) == {}
    assert rie.invocations == before


def test_requested_header_names_match_case_insensitively(listed_api: str) -> None:
    assert _preflight(listed_api, "GET", "Authorization").headers["access-control-allow-origin"] == PAGE


def test_wildcard_methods_and_headers_allow_any(fake_rie: RieFixture) -> None:
    anything = CorsConfiguration(allow_origins=(PAGE,), allow_methods=("*",), allow_headers=("*",))
    with _gateway(fake_rie, anything) as url:
        response = _preflight(url, "PURGE", "x-anything,if-match")
    assert response.headers["access-control-allow-origin"] == PAGE
    assert response.headers["access-control-allow-headers"] == "*"


def test_allowed_origin_gets_the_configured_headers_not_the_backends(open_api: str) -> None:
    response = _answer_with_backend_cors(open_api, {"origin": PAGE})
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert _cors_headers(response) == {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": "etag,location,x-request-id",
    }


@pytest.mark.parametrize(
    "headers", [{"origin": "http://127.0.0.1:9999"}, {}], ids=["other-origin", "no-origin"]
)
def test_other_requests_are_invoked_without_any_cors_header(
    listed_api: str, fake_rie: RieFixture, headers: dict[str, str]
) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    response = _answer_with_backend_cors(listed_api, headers)
    assert response.status_code == 200
    assert rie.invocations == before + 1
    assert _cors_headers(response) == {}


def test_credentials_allowed_are_said_on_preflight_and_response(fake_rie: RieFixture) -> None:
    with_credentials = CorsConfiguration(
        allow_origins=(PAGE,), allow_methods=("GET",), allow_credentials=True
    )
    with _gateway(fake_rie, with_credentials) as url:
        preflight = _preflight(url, "GET")
        response = _answer_with_backend_cors(url, {"origin": PAGE})
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-origin"] == PAGE


def test_options_that_is_not_a_preflight_goes_to_the_function(open_api: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    response = httpx.options(open_api + "/notes", headers={"origin": PAGE})
    assert response.status_code == 200
    assert rie.events[response.headers["apigw-requestid"]]["requestContext"]["http"]["method"] == "OPTIONS"


def test_without_cors_configuration_the_backend_answers_cors(fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    with _gateway(fake_rie, None) as url:
        before = rie.invocations
        preflight = _preflight(url, "PATCH", "if-match")
        response = _answer_with_backend_cors(url, {"origin": PAGE})
    assert rie.invocations == before + 2  # the preflight too: no CORS configured, nothing answers it
    assert preflight.status_code == 200
    assert _cors_headers(response) == BACKEND_CORS
