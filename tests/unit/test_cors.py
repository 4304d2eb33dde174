"""Who answers CORS: on AWS the HTTP API (template.yml CorsConfiguration) answers preflights itself and drops
any CORS header the function sends, so the deployed app adds none; locally nothing stands in front of the
app, so there it plays the HTTP API's part (tests/infra checks it answers as the template configures)."""

import pytest
from fastapi.testclient import TestClient

from tests.support.fakes import make_settings
from web import build_app

ORIGIN = "https://app.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization, content-type, if-match",
}


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_deployed_the_app_leaves_cors_to_the_http_api(environment: str) -> None:
    with TestClient(build_app(make_settings(environment=environment))) as client:
        simple = client.get("/health", headers={"Origin": ORIGIN})
        preflight = client.options("/notes/01J00000000000000000000000", headers=PREFLIGHT)
    for response in (simple, preflight):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert preflight.status_code == 405  # no route answers OPTIONS: on AWS the HTTP API does


@pytest.mark.parametrize("environment", ["local", "test"])
def test_locally_the_app_answers_cors_itself(environment: str) -> None:
    with TestClient(build_app(make_settings(environment=environment))) as client:
        simple = client.get("/health", headers={"Origin": ORIGIN})
        preflight = client.options("/notes/01J00000000000000000000000", headers=PREFLIGHT)
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "etag" in simple.headers["access-control-expose-headers"].lower().split(", ")
    assert preflight.status_code == 200
    assert "if-match" in preflight.headers["access-control-allow-headers"].lower().split(", ")
    assert "PATCH" in preflight.headers["access-control-allow-methods"].split(", ")
