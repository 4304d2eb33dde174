"""Route selection as API Gateway HTTP API does it: which declared route a request goes to, with its path
parameters. See docs/gateway.md ("Routes") for the rules and their sources.

A route key is `$default` or `METHOD /path`, the path's segments literal, `{name}` (one segment) or, last,
`{name+}` (greedy: one or more segments). The most specific match wins: routes without a greedy variable
before greedy ones (longer greedy prefixes first), literal segments before variables from left to right,
then a route of the request's method before `ANY`; `$default` catches the rest; no match is a 404. A path
that a URL parser behind the gateway would resolve to another path matches no route, `$default` included.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_ROUTE_KEY = "$default"
#: The methods a route key may name (AWS::ApiGatewayV2::Route RouteKey).
ROUTE_METHODS = frozenset({"ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
_VARIABLE = re.compile(r"\{([A-Za-z0-9._-]+)(\+?)\}")
_ENCODED_SEPARATORS = ("%2f", "%5c")


def names_another_path(raw_path: str) -> bool:
    """Whether `raw_path` (as sent) could reach the function as another path: HTTP API hands it over
    percent-decoded, and the Web Adapter's URL parser resolves `.`/`..` segments (`%2e` is a dot to it) and
    reads `\\` as `/`. So a dot segment, a backslash or an encoded `/` or `\\`, as sent or once decoded
    (whether HTTP API decodes `%25` is not known). The app refuses the same paths (backend/api/
    canonical_paths.py): each side of the Lambda boundary defends itself. docs/gateway.md says why."""

    def suspicious(path: str) -> bool:
        lowered = path.lower()
        return (
            "\\" in path
            or any(separator in lowered for separator in _ENCODED_SEPARATORS)
            or any(segment.replace("%2e", ".") in (".", "..") for segment in lowered.split("/"))
        )

    return suspicious(raw_path) or suspicious(urllib.parse.unquote(raw_path))


class RouteKeyError(ValueError):
    """A route key HTTP API would not accept."""


def _parse(key: str) -> tuple[str, tuple[str, ...], str | None]:
    if key == DEFAULT_ROUTE_KEY:
        return "", (), None
    method, _, path = key.partition(" ")
    if method not in ROUTE_METHODS or not path.startswith("/"):
        methods = ", ".join(sorted(ROUTE_METHODS))
        raise RouteKeyError(f"route key {key!r} is not `$default` or `METHOD /path` (METHOD: {methods})")
    segments = tuple(path[1:].split("/")) if path != "/" else ()
    greedy = None
    for index, segment in enumerate(segments):
        variable = _VARIABLE.fullmatch(segment)
        if variable and variable.group(2):
            if index != len(segments) - 1:
                raise RouteKeyError(f"route key {key!r}: a greedy path variable must end the path")
            greedy = variable.group(1)
        elif not segment or ("{" in segment and not variable):
            raise RouteKeyError(f"route key {key!r}: empty segment or malformed path variable {segment!r}")
    return method, segments[:-1] if greedy else segments, greedy


@dataclass(frozen=True)
class Route:
    """One declared route. `timeout_s` is its integration's TimeoutInMillis, if the template sets one;
    `authorizer` names the API's JWT authorizer that guards it (None: public) and `scopes` its
    AuthorizationScopes (a token needs one of them)."""

    key: str
    timeout_s: float | None = None
    authorizer: str | None = None
    scopes: tuple[str, ...] = ()
    method: str = field(init=False, compare=False)
    segments: tuple[str, ...] = field(init=False, compare=False)
    greedy: str | None = field(init=False, compare=False)  # the greedy variable's name

    def __post_init__(self) -> None:
        method, segments, greedy = _parse(self.key)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "greedy", greedy)

    @property
    def is_default(self) -> bool:
        return self.key == DEFAULT_ROUTE_KEY


DEFAULT_ROUTE = Route(DEFAULT_ROUTE_KEY)


@dataclass(frozen=True)
class RouteMatch:
    """The route a request goes to and the event's `pathParameters` (empty: the event has none)."""

    route: Route
    path_parameters: Mapping[str, str] = field(default_factory=dict)


def _variable(segment: str) -> str | None:
    found = _VARIABLE.fullmatch(segment)
    return found.group(1) if found else None


def _bind(route: Route, request: list[str]) -> dict[str, str] | None:
    """The route's path parameters for the request's (still percent-encoded) segments, or None: no match."""
    fixed = len(route.segments)
    if len(request) < fixed or (route.greedy is None and len(request) != fixed):
        return None
    parameters: dict[str, str] = {}
    for pattern, segment in zip(route.segments, request, strict=False):
        name = _variable(pattern)
        if name is None:
            if urllib.parse.unquote(segment) != pattern:
                return None
        elif not segment:
            return None
        else:
            parameters[name] = urllib.parse.unquote(segment)
    if route.greedy is not None:
        rest = "/".join(request[fixed:])
        if not rest:
            return None
        parameters[route.greedy] = urllib.parse.unquote(rest)
    return parameters


def _specificity(route: Route) -> tuple[bool, int, tuple[bool, ...], bool]:
    """Sort key, most specific first."""
    literal_first = tuple(_variable(segment) is not None for segment in route.segments)
    greedy = route.greedy is not None
    return (greedy, -len(route.segments) if greedy else 0, literal_first, route.method == "ANY")


class RouteTable:
    """The API's routes, in the order HTTP API prefers them."""

    def __init__(self, routes: Iterable[Route]) -> None:
        routes = list(routes)
        keys = [route.key for route in routes]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise RouteKeyError(f"routes declared twice: {duplicates}")
        self.default = next((route for route in routes if route.is_default), None)
        self.routes = sorted((route for route in routes if not route.is_default), key=_specificity)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route for a request (`raw_path` as sent, percent-encoded, without the query), or None."""
        if names_another_path(raw_path):
            return None
        request = raw_path[1:].split("/") if raw_path not in ("", "/") else []
        for route in self.routes:
            if route.method in (method, "ANY"):
                parameters = _bind(route, request)
                if parameters is not None:
                    return RouteMatch(route, parameters)
        return None if self.default is None else RouteMatch(self.default)
