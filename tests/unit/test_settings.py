import os
from collections.abc import Iterator
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.settings import Environment, get_settings
from tests.support.fakes import make_settings
from web import build_app

EMULATOR_VARIABLES = [
    ("aws_endpoint_url", "http://127.0.0.1:4599"),
    ("s3_presign_endpoint_url", "http://127.0.0.1:4599"),
    ("firebase_auth_emulator_host", "127.0.0.1:9199"),
]
# Where the emulators run: the local chain (`local`) and the test suites (`test`). Every other value is
# deployed on AWS, where an emulated auth backend would accept unsigned (`alg: none`) tokens.
EMULATED = {"local", "test"}
DEPLOYED = sorted(set(get_args(Environment)) - EMULATED)


def test_every_environment_is_either_emulated_or_deployed() -> None:
    assert set(get_args(Environment)) == EMULATED | set(DEPLOYED)
    assert DEPLOYED == ["dev", "prod", "staging"]


@pytest.mark.parametrize("environment", DEPLOYED)
@pytest.mark.parametrize(("variable", "value"), EMULATOR_VARIABLES)
def test_deployed_environments_refuse_to_start_with_an_emulator_variable(
    environment: str, variable: str, value: str
) -> None:
    with pytest.raises(
        ValidationError, match=rf"refusing to start: ENVIRONMENT={environment} with emulator variable"
    ):
        make_settings(environment=environment, **{variable: value})


@pytest.mark.parametrize("environment", sorted(EMULATED))
@pytest.mark.parametrize(("variable", "value"), EMULATOR_VARIABLES)
def test_emulators_are_allowed_only_where_they_run(environment: str, variable: str, value: str) -> None:
    settings = make_settings(environment=environment, **{variable: value})
    assert getattr(settings, variable) == value


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_a_developers_endpoint_variables_do_not_reach_the_unit_tests_settings(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """`make test` exports the emulators' AWS_ENDPOINT_URL (scripts/lib.sh): the unit tests' deployed settings
    are the ones they spell out, not refused for the shell's variables."""
    monkeypatch.setenv(variable, "http://127.0.0.1:4599")
    assert make_settings(environment="prod").is_production


def _set_required_variables(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    endpoint_variables = [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]
    for name in ("ENVIRONMENT", "FIREBASE_AUTH_EMULATOR_HOST", *endpoint_variables):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"DYNAMODB_TABLE": "t", "S3_BUCKET": "b", "FIREBASE_PROJECT_ID": "p", **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """get_settings() reads the environment once per process: read it again in this test, and after it."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
@pytest.mark.parametrize("environment", DEPLOYED)
def test_the_guard_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch, environment: str) -> None:
    _set_required_variables(
        monkeypatch, ENVIRONMENT=environment, FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9199"
    )
    with pytest.raises(ValidationError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        build_app(get_settings())


# boto3 reads each of these from the process environment (a service's own overrides the general one): a
# staging app started with AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:... would keep its data on a laptop.
AWS_ENDPOINT_VARIABLES = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
]


@pytest.mark.usefixtures("fresh_settings")
@pytest.mark.parametrize("environment", DEPLOYED)
@pytest.mark.parametrize("variable", AWS_ENDPOINT_VARIABLES)
def test_deployed_environments_refuse_every_aws_endpoint_variable(
    monkeypatch: pytest.MonkeyPatch, environment: str, variable: str
) -> None:
    _set_required_variables(monkeypatch, ENVIRONMENT=environment, **{variable: "http://127.0.0.1:4599"})
    with pytest.raises(
        ValidationError,
        match=rf"refusing to start: ENVIRONMENT={environment} with emulator .*: {variable} \(",
    ):
        get_settings()


@pytest.mark.usefixtures("fresh_settings")
@pytest.mark.parametrize("environment", sorted(EMULATED))
@pytest.mark.parametrize("variable", AWS_ENDPOINT_VARIABLES)
def test_aws_endpoint_variables_are_allowed_where_the_emulators_run(
    monkeypatch: pytest.MonkeyPatch, environment: str, variable: str
) -> None:
    _set_required_variables(monkeypatch, ENVIRONMENT=environment, **{variable: "http://127.0.0.1:4599"})
    assert get_settings().environment == environment


@pytest.mark.usefixtures("fresh_settings")
def test_environment_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_required_variables(monkeypatch)
    with pytest.raises(ValidationError, match=r"environment\n  Field required"):
        get_settings()


@pytest.mark.parametrize("environment", ["", "production", "Prod"])
def test_environment_must_be_a_known_value(environment: str) -> None:
    with pytest.raises(ValidationError, match="environment"):
        make_settings(environment=environment)


def test_blank_emulator_variables_count_as_unset() -> None:
    assert make_settings(environment="prod", aws_endpoint_url="").aws_endpoint_url is None


def test_prod_hides_the_docs() -> None:
    with TestClient(build_app(make_settings(environment="prod"))) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404


def test_outside_prod_the_docs_are_served() -> None:
    with TestClient(build_app(make_settings(environment="dev"))) as client:
        assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "config",
    ['{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"}', "not json", "[]"],
    ids=["a service-account key", "not JSON", "not an object"],
)
def test_only_workload_identity_federation_is_accepted_for_revocation_checks(config: str) -> None:
    with pytest.raises(ValidationError, match="workload identity federation config with an AWS source"):
        make_settings(google_credentials_config=config)
