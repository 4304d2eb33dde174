"""Every route needs a token unless it is on the public allow-list: a new unprotected route fails here."""

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from bootstrap import build_app
from tests.support.fakes import make_settings

PUBLIC_PATHS = {"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}

# The real composition root: no token means no verifier call and no AWS call, so nothing leaves the process.
app = build_app(make_settings())


def _protected_endpoints() -> list[tuple[str, str]]:
    endpoints: list[tuple[str, str]] = []
    # iter_route_contexts also descends into included routers, which app.routes does not flatten.
    for route in iter_route_contexts(app.routes):
        assert route.path is not None, f"route without a path: {route!r}"
        if route.path not in PUBLIC_PATHS:
            # A syntactically valid id, so the 401 cannot be a side effect of path validation.
            path = re.sub(r"\{[^}]+\}", "01J00000000000000000000000", route.path)
            endpoints.extend((method, path) for method in sorted(route.methods or {"GET"}))
    return endpoints


def test_the_walk_sees_every_api_route() -> None:
    assert len(_protected_endpoints()) == 13


@pytest.mark.parametrize(("method", "path"), _protected_endpoints())
def test_route_requires_a_token(method: str, path: str) -> None:
    with TestClient(app) as client:
        response = client.request(method, path)
    assert response.status_code == 401, f"{method} {path} answered without a token"
    assert response.headers["www-authenticate"] == "Bearer"
