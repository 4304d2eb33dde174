"""Session fixtures: MiniStack and the Firebase Auth emulator on free ports, a fresh table and bucket,
and the real app (real token verification, real AWS clients) in front of them."""

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from bootstrap import build_app
from devstack import auth_emulator, provision, services
from devstack.auth_emulator import AuthUser
from devstack.procs import free_port
from infrastructure.aws import dynamodb_client, s3_client
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

PROJECT_ID = "demo-fastapi-lambda"
TABLE = "integration-main"
BUCKET = "integration-uploads"


@pytest.fixture(scope="session")
def aws_test_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session")
def aws_endpoint(aws_test_credentials: None) -> Iterator[str]:
    with services.ministack(free_port()) as endpoint_url:
        provision.create_data_plane(endpoint_url, TABLE, BUCKET)
        yield endpoint_url


@pytest.fixture(scope="session")
def auth_emulator_host() -> Iterator[str]:
    with (
        pytest.MonkeyPatch.context() as env,
        services.firebase_auth(free_port(), PROJECT_ID) as emulator_host,
    ):
        # Restored at the end of the session: the verifier exports the host for firebase-admin.
        env.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
        yield emulator_host


@pytest.fixture(scope="session")
def settings(aws_endpoint: str, auth_emulator_host: str) -> Settings:
    return Settings(
        environment="test",
        log_level="INFO",
        dynamodb_table=TABLE,
        s3_bucket=BUCKET,
        firebase_project_id=PROJECT_ID,
        aws_endpoint_url=aws_endpoint,
        firebase_auth_emulator_host=auth_emulator_host,
    )


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def dynamodb(settings: Settings) -> "DynamoDBClient":
    return dynamodb_client(settings.aws_region, settings.aws_endpoint_url)


@pytest.fixture(scope="session")
def s3(settings: Settings) -> "S3Client":
    return s3_client(settings.aws_region, settings.aws_endpoint_url)


@pytest.fixture
def sign_up(auth_emulator_host: str) -> Callable[..., AuthUser]:
    """A new emulator user (unique email) with a fresh ID token; role="admin" sets the custom claim."""

    def create(role: str | None = None) -> AuthUser:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        user = auth_emulator.sign_up(auth_emulator_host, email)
        if role is None:
            return user
        auth_emulator.set_claims(auth_emulator_host, PROJECT_ID, user.uid, {"role": role})
        # Claims reach ID tokens only on the next sign-in.
        return auth_emulator.sign_in(auth_emulator_host, email)

    return create
