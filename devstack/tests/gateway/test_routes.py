"""Route selection as HTTP API does it (rules and sources: docs/gateway.md, "Routes"). Pure: no server."""

from __future__ import annotations

import pytest

from devstack.apigw.routes import DEFAULT_ROUTE, Route, RouteKeyError, RouteTable

# template.yml's routes (tests/gateway/test_api_config.py reads them from the template).
TEMPLATE = RouteTable([Route("ANY /{proxy+}"), Route("ANY /"), Route("GET /health")])
# The example of AWS's "Routing API requests" (http-api-develop-routes), with its $default route.
AWS_EXAMPLE = RouteTable(
    [Route("GET /pets/dog/{id}"), Route("GET /pets/{proxy+}"), Route("ANY /{proxy+}"), DEFAULT_ROUTE]
)


def _selected(table: RouteTable, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    match = table.match(method, path)
    return None if match is None else (match.route.key, dict(match.path_parameters))


@pytest.mark.parametrize(
    ("method", "path", "selected"),
    [
        ("GET", "/pets/dog/1", ("GET /pets/dog/{id}", {"id": "1"})),  # full match
        ("GET", "/pets/cat/1", ("GET /pets/{proxy+}", {"proxy": "cat/1"})),  # the GET greedy route
        ("POST", "/test/5", ("ANY /{proxy+}", {"proxy": "test/5"})),  # ANY greedy before $default
        ("POST", "/", ("$default", {})),  # `{proxy+}` needs at least one character
    ],
)
def test_awss_routing_example(method: str, path: str, selected: tuple[str, dict[str, str]]) -> None:
    assert _selected(AWS_EXAMPLE, method, path) == selected


@pytest.mark.parametrize(
    ("method", "path", "selected"),
    [
        ("GET", "/", ("ANY /", {})),
        ("DELETE", "/", ("ANY /", {})),
        ("GET", "/health", ("GET /health", {})),
        ("POST", "/health", ("ANY /{proxy+}", {"proxy": "health"})),
        # HEAD is a method of its own: a GET route does not take it (docs/gateway.md says why).
        ("HEAD", "/health", ("ANY /{proxy+}", {"proxy": "health"})),
        ("GET", "/health/", ("ANY /{proxy+}", {"proxy": "health/"})),  # paths are matched as sent
        ("GET", "/Health", ("ANY /{proxy+}", {"proxy": "Health"})),  # and case-sensitively
        ("PATCH", "/notes/1", ("ANY /{proxy+}", {"proxy": "notes/1"})),
        ("GET", "/files/a%20b/caf%C3%A9%25", ("ANY /{proxy+}", {"proxy": "files/a b/café%"})),
        ("GET", "/notes/..x/a.b", ("ANY /{proxy+}", {"proxy": "notes/..x/a.b"})),  # dots in a segment
    ],
)
def test_template_routes(method: str, path: str, selected: tuple[str, dict[str, str]]) -> None:
    assert _selected(TEMPLATE, method, path) == selected


@pytest.mark.parametrize(
    "path",
    [
        "/x/..%2Fhealth",  # HTTP API decodes it to /x/../health; the Web Adapter resolves that to /health
        "/notes/..%2F..%2Fusers",
        "/x/../health",
        "/x/%2e%2E/health",  # URL parsers read %2e as a dot
        "/x/.%2e/health",
        "/./health",
        "/x/..",
        "/x/..%5Chealth",  # and a backslash as a slash
        "/x/..\\health",
        "/files/a%2Fb",  # an encoded slash, whatever it is next to
        "/x/%252e%252e/health",  # once more encoded: whether HTTP API decodes %25 is not known
    ],
)
def test_a_path_that_names_another_matches_no_route(path: str) -> None:
    assert _selected(TEMPLATE, "GET", path) is None
    assert _selected(AWS_EXAMPLE, "GET", path) is None  # $default included


def test_no_route_and_no_default_is_no_match() -> None:
    table = RouteTable([Route("GET /health"), Route("ANY /")])
    assert _selected(table, "GET", "/notes") is None
    assert _selected(table, "POST", "/health") is None


def test_literal_segments_before_variables_and_the_method_before_any() -> None:
    table = RouteTable(
        [Route("ANY /notes/{id}"), Route("GET /notes/{id}"), Route("GET /notes/mine"), Route("ANY /{proxy+}")]
    )
    assert _selected(table, "GET", "/notes/mine") == ("GET /notes/mine", {})
    assert _selected(table, "GET", "/notes/7") == ("GET /notes/{id}", {"id": "7"})
    assert _selected(table, "PUT", "/notes/7") == ("ANY /notes/{id}", {"id": "7"})
    assert _selected(table, "PUT", "/notes/7/tags") == ("ANY /{proxy+}", {"proxy": "notes/7/tags"})
    assert _selected(table, "PUT", "/notes/") == ("ANY /{proxy+}", {"proxy": "notes/"})  # {id} is not empty
    # The path's specificity comes before the method (docs/gateway.md: a choice, AWS does not say).
    literal_any = RouteTable([Route("GET /notes/{id}"), Route("ANY /notes/mine")])
    assert _selected(literal_any, "GET", "/notes/mine") == ("ANY /notes/mine", {})


def test_a_longer_greedy_prefix_wins() -> None:
    table = RouteTable([Route("ANY /{proxy+}"), Route("ANY /files/{key+}")])
    assert _selected(table, "GET", "/files/a/b") == ("ANY /files/{key+}", {"key": "a/b"})
    assert _selected(table, "GET", "/other/a") == ("ANY /{proxy+}", {"proxy": "other/a"})


@pytest.mark.parametrize(
    "key", ["GET notes", "FETCH /notes", "GET /{proxy+}/x", "GET /a//b", "GET /{bad", "get /notes"]
)
def test_route_keys_http_api_refuses(key: str) -> None:
    with pytest.raises(RouteKeyError):
        Route(key)


def test_a_route_declared_twice_is_refused() -> None:
    with pytest.raises(RouteKeyError, match="declared twice"):
        RouteTable([Route("GET /health"), Route("GET /health")])
