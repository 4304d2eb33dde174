"""The HTTP API the local gateway plays: what it is handed (stack/api.py reads it from the template)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from devstack.apigw.routes import DEFAULT_ROUTE, Route
from devstack.apigw.throttle import ThrottleLimits
from devstack.supervision import LogSink


@dataclass(frozen=True)
class CorsConfiguration:
    """An HttpApi's `CorsConfiguration` (AWS::ApiGatewayV2::Api Cors). Header names are lower-cased
    (HTTP header names are case-insensitive); methods and origins are kept as written."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class ApiConfig:
    """The HTTP API the gateway plays. The default is an API with only a `$default` route (every request
    goes to the function), no throttling and no CORS: what `devstack gateway` and compose had before the
    template's routes were read, and what tests that are not about the API use.

    `throttling` holds the limits of each throttled route key; `unemulated` one line per template property
    the gateway does not emulate."""

    cors: CorsConfiguration | None = None
    routes: tuple[Route, ...] = (DEFAULT_ROUTE,)
    throttling: Mapping[str, ThrottleLimits] = field(default_factory=dict)
    unemulated: tuple[str, ...] = ()


def warn_unemulated(api: ApiConfig, sink: LogSink) -> None:
    """One warning line per template property the gateway does not emulate (shown when it starts)."""
    for line in api.unemulated:
        sink("gateway", f"warning: {line}")
