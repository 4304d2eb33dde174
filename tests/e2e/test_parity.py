"""The same requests through the Lambda chain and straight to uvicorn must look the same to a client.

Differences here are Lambda bugs a developer would otherwise meet only on AWS: bodies mangled by base64,
headers dropped or merged, paths and query strings re-encoded, status codes rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer, create_note

pytestmark = pytest.mark.e2e

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


def _send(client: httpx.Client, probe: Probe, user: AuthUser) -> httpx.Response:
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
            body.pop("created_at", None)
            body.pop("updated_at", None)
            if isinstance(body.get("error"), dict):
                body["error"].pop("request_id", None)
        return body
    return response.content


@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_chain_and_direct_answer_alike(
    probe: Probe, api: httpx.Client, direct: httpx.Client, new_user: AuthUser
) -> None:
    through_chain, straight = _send(api, probe, new_user), _send(direct, probe, new_user)
    assert through_chain.status_code == straight.status_code
    for name in COMPARED_HEADERS:
        assert _comparable_header(through_chain, name) == _comparable_header(straight, name), name
    assert _comparable_body(through_chain) == _comparable_body(straight)


def test_listing_is_identical(api: httpx.Client, direct: httpx.Client, new_user: AuthUser) -> None:
    for index in range(3):
        create_note(api, new_user, f"parity {index}")
    pages = [client.get("/notes", params={"limit": 2}, headers=bearer(new_user)) for client in (api, direct)]
    assert pages[0].json() == pages[1].json()
