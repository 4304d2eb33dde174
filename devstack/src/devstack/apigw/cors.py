"""CORS as API Gateway HTTP API applies an API's CorsConfiguration (docs/gateway.md, "CORS", has the rules
and their sources).

With CORS configured, HTTP API answers preflights itself (the function is not invoked), adds the configured
headers to the other responses of an allowed origin, and ignores the CORS headers the function returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack.apigw.api_config import CorsConfiguration
from devstack.apigw.event_builder import request_header
from devstack.apigw.response_mapper import GatewayResponse

ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_CREDENTIALS = "access-control-allow-credentials"
ALLOW_METHODS = "access-control-allow-methods"
ALLOW_HEADERS = "access-control-allow-headers"
EXPOSE_HEADERS = "access-control-expose-headers"
MAX_AGE = "access-control-max-age"
CORS_RESPONSE_HEADERS = frozenset(
    {ALLOW_ORIGIN, ALLOW_CREDENTIALS, ALLOW_METHODS, ALLOW_HEADERS, EXPOSE_HEADERS, MAX_AGE}
)
WILDCARD = "*"


def is_preflight(scope: Mapping[str, Any]) -> bool:
    """OPTIONS with Origin and Access-Control-Request-Method; any other OPTIONS goes to the routes."""
    return (
        scope["method"] == "OPTIONS"
        and request_header(scope, "origin") is not None
        and request_header(scope, "access-control-request-method") is not None
    )


def _allow_origin(cors: CorsConfiguration, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
    if origin is None:
        return None
    if WILDCARD in cors.allow_origins:
        return WILDCARD
    return origin if origin in cors.allow_origins else None


def _preflight_allows(cors: CorsConfiguration, method: str, requested_headers: str | None) -> bool:
    if WILDCARD not in cors.allow_methods and method not in cors.allow_methods:
        return False
    if WILDCARD in cors.allow_headers:
        return True
    names = {name.strip().lower() for name in (requested_headers or "").split(",")} - {""}
    return names <= set(cors.allow_headers)


def preflight_response(cors: CorsConfiguration, scope: Mapping[str, Any]) -> GatewayResponse:
    """HTTP API's own answer to a preflight: 204, with the CORS headers only when everything asked for
    (origin, method, headers) is allowed; a refused preflight gets none, so the browser stops there."""
    allow_origin = _allow_origin(cors, request_header(scope, "origin"))
    method = request_header(scope, "access-control-request-method") or ""
    requested_headers = request_header(scope, "access-control-request-headers")
    if allow_origin is None or not _preflight_allows(cors, method.strip(), requested_headers):
        return GatewayResponse(204)
    headers = [(ALLOW_ORIGIN, allow_origin)]
    if cors.allow_credentials:
        headers.append((ALLOW_CREDENTIALS, "true"))
    if cors.allow_methods:
        headers.append((ALLOW_METHODS, ",".join(cors.allow_methods)))
    if cors.allow_headers:
        headers.append((ALLOW_HEADERS, ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append((MAX_AGE, str(cors.max_age)))
    return GatewayResponse(204, headers)


def with_cors_headers(
    cors: CorsConfiguration, scope: Mapping[str, Any], response: GatewayResponse
) -> GatewayResponse:
    """Any other response: the function's CORS headers dropped, the configured ones added for an allowed
    origin (Allow-Origin, Allow-Credentials when true, Expose-Headers when listed)."""
    headers = [(name, value) for name, value in response.headers if name not in CORS_RESPONSE_HEADERS]
    allow_origin = _allow_origin(cors, request_header(scope, "origin"))
    if allow_origin is not None:
        headers.append((ALLOW_ORIGIN, allow_origin))
        if cors.allow_credentials:
            headers.append((ALLOW_CREDENTIALS, "true"))
        if cors.expose_headers:
            headers.append((EXPOSE_HEADERS, ",".join(cors.expose_headers)))
    return GatewayResponse(response.status, headers, response.body)
