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
class JwtAuthorizer:
    """An HttpApi's JWT authorizer (AWS::ApiGatewayV2::Authorizer, type JWT): the issuer it trusts, the
    audiences it accepts, and the request header its token comes from (its identity source)."""

    issuer: str
    audience: tuple[str, ...]
    header: str = "authorization"


@dataclass(frozen=True)
class ApiConfig:
    """The HTTP API the gateway plays. The default is an API with only a `$default` route (every request
    goes to the function), no throttling and no CORS: what `devstack gateway` and compose had before the
    template's routes were read, and what tests that are not about the API use.

    `throttling` holds the limits of each throttled route key; `authorizers` the JWT authorizers routes name;
    `emulator_issuer` the one issuer whose unsigned tokens (the Firebase Auth emulator's) an authorizer may
    accept: set only for the local stack (stack.model.local_stack), never for a deployed one; `unemulated`
    one line per template property the gateway does not emulate."""

    cors: CorsConfiguration | None = None
    routes: tuple[Route, ...] = (DEFAULT_ROUTE,)
    throttling: Mapping[str, ThrottleLimits] = field(default_factory=dict)
    authorizers: Mapping[str, JwtAuthorizer] = field(default_factory=dict)
    emulator_issuer: str | None = None
    unemulated: tuple[str, ...] = ()

    def emulated(self) -> tuple[str, ...]:
        """What the gateway applies from the template, in a few lines (shown when it starts): its routes by
        the authorizer guarding them, each authorizer, the throttles and CORS."""
        guards: dict[str, list[str]] = {}
        for route in self.routes:
            scopes = f" (scopes {' '.join(route.scopes)})" if route.scopes else ""
            guards.setdefault(route.authorizer or "", []).append(route.key + scopes)
        lines = [
            f"routes {', '.join(keys)}: " + (f"JWT authorizer {name}" if name else "public")
            for name, keys in guards.items()
        ]
        lines += [
            f"JWT authorizer {name}: issuer {a.issuer}, audience {', '.join(a.audience)}, token from the "
            f"{a.header} header"
            + (", the Auth emulator's unsigned tokens accepted" if a.issuer == self.emulator_issuer else "")
            for name, a in self.authorizers.items()
        ]
        if self.throttling:
            limits = (f"{key} {t.rate:g}/s burst {t.burst}" for key, t in self.throttling.items())
            lines.append(f"throttles {', '.join(limits)}")
        if self.cors is not None:
            lines.append(f"CORS, origins {', '.join(self.cors.allow_origins) or '(none)'}")
        return tuple(lines)


def show_emulation(api: ApiConfig, sink: LogSink) -> None:
    """What the gateway emulates from the template, then one warning line per template property it does not
    (shown when it starts)."""
    for line in api.emulated():
        sink("gateway", f"emulates {line}")
    for line in api.unemulated:
        sink("gateway", f"warning: {line}")
