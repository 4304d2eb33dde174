"""The template's HTTP API as the local gateway plays it (like SAM CLI's API provider).

Read from the template's one `AWS::Serverless::HttpApi`, its intrinsics evaluated for one config env: its
CORS configuration, its JWT authorizers, its routes (the functions' `HttpApi` events on it), which
authorizer guards each, and their throttling. Anything that
cannot be resolved to plain values is refused, naming the property, rather than guessed; every property the
gateway does not emulate is listed in `ApiConfig.unemulated`, shown when the gateway starts (an allow-list:
nothing is ignored silently).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from devstack.apigw.api_config import ApiConfig, CorsConfiguration, JwtAuthorizer
from devstack.apigw.routes import DEFAULT_ROUTE_KEY, Route, RouteKeyError, RouteTable
from devstack.apigw.throttle import ThrottleLimits
from devstack.stack.function import FUNCTION_TYPE
from devstack.stack.intrinsics import Evaluator
from devstack.stack.template import resource_of_type
from devstack.supervision import StartupError

HTTP_API_TYPE = "AWS::Serverless::HttpApi"
#: What the local gateway emulates; every other property is listed as not emulated.
EMULATED_API_PROPERTIES = frozenset({"Auth", "CorsConfiguration", "DefaultRouteSettings", "RouteSettings"})
EMULATED_EVENT_PROPERTIES = frozenset(
    {"ApiId", "Auth", "Method", "Path", "PayloadFormatVersion", "RouteSettings", "TimeoutInMillis"}
)
#: SAM's route-level value for a public route on an API with a DefaultAuthorizer.
NO_AUTHORIZER = "NONE"
#: The one identity source form emulated: a request header (what JWT authorizers read).
_HEADER_SOURCE = "$request.header."
EMULATED_ROUTE_SETTINGS = ("ThrottlingRateLimit", "ThrottlingBurstLimit")
#: API Gateway's account-level throttle per Region: what a route gets for a limit its settings leave unset.
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000
#: HTTP API's integration timeout: 30 s by default and at most (TimeoutInMillis 50..30000).
MAX_INTEGRATION_TIMEOUT_MS = 30_000


class ApiConfigError(StartupError):
    """The template declares something about the API the local gateway cannot honour exactly."""


_CORS_LISTS = {
    "AllowOrigins": "allow_origins",
    "AllowMethods": "allow_methods",
    "AllowHeaders": "allow_headers",
    "ExposeHeaders": "expose_headers",
}


def _is_intrinsic(node: Any) -> bool:
    """What the template reader leaves unevaluated: {"Ref": ...} or {"Fn::...": ...}."""
    return isinstance(node, dict) and len(node) == 1 and any(k == "Ref" or k.startswith("Fn::") for k in node)


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiConfigError(f"CorsConfiguration.{name} must resolve to a list of strings, got {value!r}")
    return tuple(value)


def cors_configuration(node: Any) -> CorsConfiguration:
    """A resolved `CorsConfiguration` mapping -> CorsConfiguration, refusing what HTTP API refuses."""
    if _is_intrinsic(node):
        raise ApiConfigError(f"CorsConfiguration does not resolve without a deployed stack: {node!r}")
    if not isinstance(node, dict):
        # SAM also takes `CorsConfiguration: true`; its meaning is not reproduced here, so it is refused.
        raise ApiConfigError(f"CorsConfiguration must resolve to a mapping, got {node!r}")
    unknown = set(node) - {*_CORS_LISTS, "AllowCredentials", "MaxAge"}
    if unknown:
        raise ApiConfigError(f"CorsConfiguration has properties HTTP API does not know: {sorted(unknown)}")
    lists = {field: _string_list(key, node[key]) for key, field in _CORS_LISTS.items() if key in node}
    lists["allow_headers"] = tuple(name.lower() for name in lists.get("allow_headers", ()))
    lists["expose_headers"] = tuple(name.lower() for name in lists.get("expose_headers", ()))
    credentials = node.get("AllowCredentials", False)
    if not isinstance(credentials, bool):
        raise ApiConfigError(f"CorsConfiguration.AllowCredentials must be true or false, got {credentials!r}")
    max_age = node.get("MaxAge")
    if max_age is not None and (isinstance(max_age, bool) or not str(max_age).lstrip("-").isdigit()):
        raise ApiConfigError(f"CorsConfiguration.MaxAge must be a number of seconds, got {max_age!r}")
    cors = CorsConfiguration(
        allow_credentials=credentials, max_age=None if max_age is None else int(max_age), **lists
    )
    if cors.allow_credentials and "*" in cors.allow_origins:
        # API Gateway rejects this configuration when it is deployed; so does the local gateway.
        raise ApiConfigError("CorsConfiguration: AllowCredentials true is not allowed with a '*' origin")
    return cors


def _plain(name: str, value: Any) -> Any:
    if _is_intrinsic(value) or (isinstance(value, dict) and any(_is_intrinsic(v) for v in value.values())):
        raise ApiConfigError(f"{name} does not resolve without a deployed stack: {value!r}")
    return value


def _number(name: str, value: Any, *, integer: bool) -> float:
    _plain(name, value)
    try:
        number = -1.0 if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0 or (integer and not number.is_integer()):
        raise ApiConfigError(f"{name} must be a {'whole ' if integer else ''}number >= 0, got {value!r}")
    return number


def _route_settings(name: str, settings: Any) -> tuple[dict[str, float], list[str]]:
    """A RouteSettings object -> (its throttling limits present, the names of its other properties)."""
    settings = _plain(name, settings)
    if not isinstance(settings, dict):
        raise ApiConfigError(f"{name} must be a mapping, got {settings!r}")
    limits = {
        key: _number(f"{name}.{key}", settings[key], integer=key == "ThrottlingBurstLimit")
        for key in EMULATED_ROUTE_SETTINGS
        if key in settings
    }
    return limits, [f"{name}.{key}" for key in settings if key not in EMULATED_ROUTE_SETTINGS]


@dataclass(frozen=True)
class _Auth:
    """An HttpApi's `Auth`: its JWT authorizers, their AuthorizationScopes, and the default one."""

    authorizers: dict[str, JwtAuthorizer] = field(default_factory=dict)
    scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: str | None = None


def _jwt_authorizer(name: str, node: Any) -> tuple[JwtAuthorizer, tuple[str, ...]]:
    node = _plain(name, node)
    if not isinstance(node, dict) or "JwtConfiguration" not in node:
        # A Lambda authorizer (FunctionArn) would run a function the gateway does not have: refused, since
        # skipping it would let every request through.
        raise ApiConfigError(f"{name}: only JWT authorizers (JwtConfiguration) are emulated, got {node!r}")
    config = _plain(f"{name}.JwtConfiguration", node["JwtConfiguration"])
    issuer, audience = config.get("issuer"), config.get("audience")
    if not isinstance(issuer, str) or not issuer:
        raise ApiConfigError(f"{name}.JwtConfiguration.issuer must resolve to a string, got {issuer!r}")
    audience = _string_list(f"{name}.JwtConfiguration.audience", audience)
    source = node.get("IdentitySource", "$request.header.Authorization")
    if not isinstance(source, str) or not source.startswith(_HEADER_SOURCE):
        raise ApiConfigError(f"{name}.IdentitySource: only a request header is emulated, got {source!r}")
    scopes = _string_list(f"{name}.AuthorizationScopes", node.get("AuthorizationScopes", []))
    header = source.removeprefix(_HEADER_SOURCE).lower()
    return JwtAuthorizer(issuer=issuer, audience=audience, header=header), scopes


def _auth(node: Any) -> _Auth:
    """An HttpApi's evaluated `Auth`, refusing what the gateway cannot apply (it must not let through what
    API Gateway would refuse)."""
    node = _plain("HttpApi.Auth", node)
    if not isinstance(node, dict):
        raise ApiConfigError(f"HttpApi.Auth must be a mapping, got {node!r}")
    unknown = set(node) - {"Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"}
    if unknown or node.get("EnableIamAuthorizer"):
        raise ApiConfigError(f"HttpApi.Auth: only JWT authorizers are emulated, got {sorted(node)}")
    read = {
        name: _jwt_authorizer(f"HttpApi.Auth.Authorizers.{name}", spec)
        for name, spec in (node.get("Authorizers") or {}).items()
    }
    default = node.get("DefaultAuthorizer")
    if default is not None and default not in read:
        raise ApiConfigError(f"HttpApi.Auth.DefaultAuthorizer {default!r} is not one of its Authorizers")
    return _Auth(
        {name: a for name, (a, _) in read.items()}, {name: s for name, (_, s) in read.items()}, default
    )


def _route_auth(name: str, auth: _Auth, node: Any) -> tuple[str | None, tuple[str, ...]]:
    """The authorizer guarding an event's route and its scopes (the event's, else its authorizer's)."""
    node = _plain(f"{name}.Auth", node or {})
    authorizer = node.get("Authorizer", auth.default)
    if authorizer == NO_AUTHORIZER:
        if auth.default is None:  # SAM refuses NONE without a DefaultAuthorizer
            raise ApiConfigError(f"{name}.Auth: Authorizer NONE needs a DefaultAuthorizer on the API")
        return None, ()
    if authorizer is None:
        return None, ()
    if authorizer not in auth.authorizers:
        raise ApiConfigError(f"{name}.Auth.Authorizer {authorizer!r} is not one of the API's Authorizers")
    scopes = node.get("AuthorizationScopes")
    scopes = (
        auth.scopes[authorizer]
        if scopes is None
        else _string_list(f"{name}.Auth.AuthorizationScopes", scopes)
    )
    return str(authorizer), scopes


@dataclass
class _Reading:
    """What api_config collects while it walks the template."""

    auth: _Auth = field(default_factory=_Auth)
    routes: list[Route] = field(default_factory=list)
    route_settings: dict[str, dict[str, float]] = field(default_factory=dict)
    unemulated: list[str] = field(default_factory=list)


def _http_api_events(document: dict[str, Any], api_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, raw properties) of every function event of Type HttpApi, with ApiId on API `api_id` or none."""
    for function_id, resource in document["Resources"].items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        for event_id, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") == "HttpApi":
                yield f"{function_id}.Events.{event_id}", event.get("Properties") or {}


def _read_event(reading: _Reading, name: str, properties: dict[str, Any]) -> None:
    path, method = properties.get("Path"), properties.get("Method")
    if path is None and method is None:
        key = DEFAULT_ROUTE_KEY  # SAM: an event with neither Path nor Method is the API's $default route
    else:
        path, method = _plain(f"{name}.Path", path), _plain(f"{name}.Method", method or "ANY")
        key = f"{str(method).upper()} {path}"
    version = str(properties.get("PayloadFormatVersion", "2.0"))
    if version != "2.0":
        raise ApiConfigError(f"{name}.PayloadFormatVersion {version!r}: only payload format 2.0 is emulated")
    timeout_s = None
    if "TimeoutInMillis" in properties:
        millis = _number(f"{name}.TimeoutInMillis", properties["TimeoutInMillis"], integer=True)
        if not 50 <= millis <= MAX_INTEGRATION_TIMEOUT_MS:
            limit = MAX_INTEGRATION_TIMEOUT_MS
            raise ApiConfigError(f"{name}.TimeoutInMillis must be 50..{limit} (ms), got {millis:g}")
        timeout_s = millis / 1000
    authorizer, scopes = _route_auth(name, reading.auth, properties.get("Auth"))
    try:
        reading.routes.append(Route(key, timeout_s=timeout_s, authorizer=authorizer, scopes=scopes))
    except RouteKeyError as error:
        raise ApiConfigError(f"{name}: {error}") from error
    if "RouteSettings" in properties:
        limits, others = _route_settings(f"{name}.RouteSettings", properties["RouteSettings"])
        reading.route_settings.setdefault(key, {}).update(limits)
        reading.unemulated += others
    reading.unemulated += [f"{name}.{prop}" for prop in properties if prop not in EMULATED_EVENT_PROPERTIES]


def _throttling(
    routes: list[Route], defaults: dict[str, float], per_route: dict[str, dict[str, float]]
) -> dict[str, ThrottleLimits]:
    """Each route's limits: its own settings, else DefaultRouteSettings, field by field; a limit neither
    sets is the account's. A route that neither sets any limit for is not throttled."""
    throttling = {}
    for route in routes:
        limits = defaults | per_route.get(route.key, {})
        if limits:
            throttling[route.key] = ThrottleLimits(
                rate=limits.get("ThrottlingRateLimit", ACCOUNT_RATE_LIMIT),
                burst=int(limits.get("ThrottlingBurstLimit", ACCOUNT_BURST_LIMIT)),
            )
    return throttling


def read_api(evaluator: Evaluator) -> ApiConfig:
    """The API of the evaluator's template."""
    document = evaluator.template
    api_id, properties = resource_of_type(document, HTTP_API_TYPE)
    evaluated = evaluator.value(properties)
    reading = _Reading(
        auth=_auth(evaluated["Auth"]) if "Auth" in evaluated else _Auth(),
        unemulated=[f"HttpApi.{p}" for p in evaluated if p not in EMULATED_API_PROPERTIES],
    )
    for name, event in _http_api_events(document, api_id):
        if event.get("ApiId") in ({"Ref": api_id}, api_id):
            _read_event(reading, name, evaluator.value(event))
        else:  # SAM puts it on an implicit API (ServerlessHttpApi), which the gateway does not play
            reading.unemulated.append(f"{name} (on an API other than {api_id})")
    defaults: dict[str, float] = {}
    if "DefaultRouteSettings" in evaluated:
        defaults, others = _route_settings("HttpApi.DefaultRouteSettings", evaluated["DefaultRouteSettings"])
        reading.unemulated += others
    declared = {route.key for route in reading.routes}
    route_settings = _plain("HttpApi.RouteSettings", evaluated.get("RouteSettings", {}))
    if not isinstance(route_settings, dict):
        raise ApiConfigError(f"HttpApi.RouteSettings must map route keys to settings, got {route_settings!r}")
    for key, settings in route_settings.items():
        if key not in declared:  # API Gateway refuses settings for a route the API does not have
            raise ApiConfigError(f"HttpApi.RouteSettings names {key!r}, which is not a route of the API")
        limits, others = _route_settings(f"HttpApi.RouteSettings.{key}", settings)
        reading.route_settings[key] = limits | reading.route_settings.get(key, {})
        reading.unemulated += others
    try:
        RouteTable(reading.routes)  # refuses a route declared twice, as SAM does
    except RouteKeyError as error:
        raise ApiConfigError(str(error)) from error
    cors = evaluated.get("CorsConfiguration")
    return ApiConfig(
        cors=None if cors is None else cors_configuration(cors),
        routes=tuple(reading.routes),
        throttling=_throttling(reading.routes, defaults, reading.route_settings),
        authorizers=reading.auth.authorizers,
        unemulated=tuple(f"{name} is not emulated by the local gateway" for name in reading.unemulated),
    )
