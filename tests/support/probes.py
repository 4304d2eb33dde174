"""Requests a client sends, and how two answers to them are compared: the parity tests send each to two
targets (the chain and the app directly; the compose chain and the native one) and require alike answers."""

from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer

# Headers a client acts on. Excluded on purpose: date/server (per hop), content-length (re-computed),
# x-request-id (the chain takes API Gateway's id), apigw-requestid (only the gateway adds it).
COMPARED_HEADERS = ("content-type", "etag", "www-authenticate", "allow", "location", "cache-control")


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str
    authenticated: bool = False
    params: list[tuple[str, str | int | float | bool | None]] = field(default_factory=list)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


PROBES = [
    Probe("health", "GET", "/health"),
    Probe("head", "HEAD", "/health"),
    Probe("openapi (large json)", "GET", "/openapi.json"),
    Probe("docs (html)", "GET", "/docs"),
    Probe("unknown unicode path", "GET", "/n\u00f6tes/\u00fcber caf\u00e9"),
    Probe("method not allowed", "PUT", "/health"),
    Probe("no token", "GET", "/notes"),
    Probe("cookies are not credentials", "GET", "/notes", headers={"cookie": "session=abc; theme=dark"}),
    Probe("profile", "GET", "/users/me", authenticated=True),
    Probe("repeated query keys", "GET", "/notes", True, params=[("limit", "1"), ("limit", "2")]),
    Probe("encoded query", "GET", "/notes", True, params=[("cursor", "a b&c=d/\u00e9")]),
    Probe("validation error", "POST", "/notes", True, json={"title": ""}),
    Probe("unicode body", "POST", "/notes", True,
          json={"title": "\u65e5\u672c \U0001f680", "body": "\u00e9" * 5000}),
    Probe("binary body is rejected the same", "POST", "/notes", True, content=bytes(range(256)),
          headers={"content-type": "application/octet-stream"}),
    Probe("note not found", "GET", "/notes/01ARZ3NDEKTSV4RRFFQ69G5FAV", authenticated=True),
]  # fmt: skip


def send(client: httpx.Client, probe: Probe, user: AuthUser) -> httpx.Response:
    headers = {**probe.headers, **(bearer(user) if probe.authenticated else {})}
    return client.request(
        probe.method, probe.path, params=probe.params, json=probe.json, content=probe.content, headers=headers
    )


def _comparable_header(response: httpx.Response, name: str) -> str | None:
    value: str | None = response.headers.get(name)
    if name == "location" and value is not None:
        return value.rsplit("/", 1)[0] + "/<generated id>"
    return value


def _comparable_body(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json") and response.content:
        body = response.json()
        # Fields that differ per request by design: generated ids and timestamps.
        if isinstance(body, dict):
            body.pop("id", None)
            body.pop("uid", None)  # a user of another Auth emulator has another uid
            body.pop("created_at", None)
            body.pop("updated_at", None)
            if isinstance(body.get("error"), dict):
                body["error"].pop("request_id", None)
        return body
    return response.content


def assert_alike(first: httpx.Response, second: httpx.Response) -> None:
    """Same status, the same headers a client acts on, the same body but for per-request values."""
    assert first.status_code == second.status_code
    for name in COMPARED_HEADERS:
        assert _comparable_header(first, name) == _comparable_header(second, name), name
    assert _comparable_body(first) == _comparable_body(second)
