"""The one walk of the app's routes: what needs a token (tests/unit/test_route_auth.py) and what the auth
matrix tries every kind of token on (tests/integration/test_auth_matrix.py)."""

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

# Answer without a token. Every other route must refuse one that is missing or bad.
PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})

# (method, path as declared, e.g. "/notes/{note_id}")
Route = tuple[str, str]


def protected_routes(app: FastAPI) -> list[Route]:
    """Every route of `app` off the public allow-list, one per method, in a stable order."""
    routes: list[Route] = []
    # iter_route_contexts also descends into included routers, which app.routes does not flatten.
    for route in iter_route_contexts(app.routes):
        assert route.path is not None, f"route without a path: {route!r}"
        if route.path not in PUBLIC_PATHS:
            routes.extend((method, route.path) for method in sorted(route.methods or {"GET"}))
    return routes
