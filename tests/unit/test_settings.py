import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from bootstrap import build_app
from shared.settings import get_settings
from tests.support.fakes import make_settings


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("aws_endpoint_url", "http://127.0.0.1:4599"),
        ("s3_presign_endpoint_url", "http://127.0.0.1:4599"),
        ("firebase_auth_emulator_host", "127.0.0.1:9199"),
    ],
)
def test_prod_refuses_to_start_with_an_emulator_variable(variable: str, value: str) -> None:
    with pytest.raises(ValidationError, match=r"refusing to start: ENVIRONMENT=prod with emulator"):
        make_settings(environment="prod", **{variable: value})


def test_prod_guard_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENVIRONMENT": "prod",
        "DYNAMODB_TABLE": "t",
        "S3_BUCKET": "b",
        "FIREBASE_PROJECT_ID": "p",
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9199",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="FIREBASE_AUTH_EMULATOR_HOST"):
            build_app(get_settings())
    finally:
        get_settings.cache_clear()


def test_emulators_are_allowed_outside_prod() -> None:
    settings = make_settings(environment="dev", aws_endpoint_url="http://127.0.0.1:4599")
    assert settings.aws_endpoint_url == "http://127.0.0.1:4599"


def test_blank_emulator_variables_count_as_unset() -> None:
    assert make_settings(environment="prod", aws_endpoint_url="").aws_endpoint_url is None


def test_cors_origins_are_comma_separated() -> None:
    settings = make_settings(cors_allowed_origins="https://a.example, https://b.example")
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]


def test_prod_hides_docs_and_keeps_cors_to_the_allowed_origins() -> None:
    app = build_app(make_settings(environment="prod", cors_allowed_origins="https://app.example"))
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        allowed = client.get("/health", headers={"Origin": "https://app.example"})
        foreign = client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in foreign.headers


def test_outside_prod_docs_are_served_and_cors_is_open() -> None:
    with TestClient(build_app(make_settings(environment="dev"))) as client:
        assert client.get("/docs").status_code == 200
        response = client.get("/health", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "config",
    ['{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"}', "not json", "[]"],
    ids=["a service-account key", "not JSON", "not an object"],
)
def test_only_workload_identity_federation_is_accepted_for_revocation_checks(config: str) -> None:
    with pytest.raises(ValidationError, match="workload identity federation config with an AWS source"):
        make_settings(google_credentials_config=config)
