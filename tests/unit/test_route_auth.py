"""Every route needs a token unless it is on the public allow-list: a new unprotected route fails here."""

import re

import pytest
from fastapi.testclient import TestClient

from infrastructure.firebase import EMULATOR_HOST_VAR
from tests.support.fakes import make_settings
from tests.support.routes import protected_routes
from web import build_app

# The real composition root: no token means no verifier call and no AWS call, so nothing leaves the process.
# Built at collection, before conftest's fixture clears the emulator's variable that an app another suite
# built in this process may have left in os.environ (the verifier, built with the app, would refuse it).
with pytest.MonkeyPatch.context() as environment:
    environment.delenv(EMULATOR_HOST_VAR, raising=False)
    app = build_app(make_settings())


def _protected_endpoints() -> list[tuple[str, str]]:
    # A syntactically valid id, so the 401 cannot be a side effect of path validation.
    return [
        (method, re.sub(r"\{[^}]+\}", "01J00000000000000000000000", path))
        for method, path in protected_routes(app)
    ]


def test_the_walk_sees_every_api_route() -> None:
    assert len(_protected_endpoints()) == 13


@pytest.mark.parametrize(("method", "path"), _protected_endpoints())
def test_route_requires_a_token(method: str, path: str) -> None:
    with TestClient(app) as client:
        response = client.request(method, path)
    assert response.status_code == 401, f"{method} {path} answered without a token"
    assert response.headers["www-authenticate"] == "Bearer"
