"""Session fixtures: MiniStack and the Firebase Auth emulator on free ports, template.yml deployed to the
emulator as `make dev` deploys it, and the real app (real token verification, real AWS clients) in front."""

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack import config
from devstack.deploy import deploy_to_emulator
from devstack.emulators import firebase_accounts
from devstack.emulators.firebase import firebase_auth
from devstack.emulators.firebase_accounts import AuthUser
from devstack.emulators.ministack import ministack
from devstack.paths import TEMPLATE
from devstack.stack.model import local_stack
from devstack.stack.template import load, resource_of_type
from infrastructure.aws import dynamodb_client, s3_client
from shared.settings import Settings
from tests.support.gate import Gate
from tests.support.loopback import serving_app
from web import build_app

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@pytest.fixture(scope="session")
def local_facts() -> config.LocalFacts:
    """The local environment's facts on free ports: never in the way of a running `make dev`."""
    return config.load().isolated()


@pytest.fixture(scope="session")
def aws_endpoint(local_facts: config.LocalFacts) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env, ministack(local_facts.aws, TEMPLATE) as endpoint_url:
        # The app's boto3 clients read their credentials and region from the environment, as on Lambda.
        for name, value in local_facts.aws.client_environment(endpoint_url).items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        yield endpoint_url


@pytest.fixture(scope="session")
def stack_outputs(local_facts: config.LocalFacts, aws_endpoint: str) -> dict[str, str]:
    """template.yml deployed to the emulator: the table and bucket the app uses come from its outputs."""
    stack = deploy_to_emulator(
        local_stack(local_facts), local_facts.aws, aws_endpoint, sink=lambda _p, _l: None
    )
    return dict(stack.outputs)


@pytest.fixture
def new_table(dynamodb: "DynamoDBClient") -> Callable[[], str]:
    """Makes an empty table shaped as template.yml declares it (keys, GSI1), for tests that need a table
    of their own; the rest use the deployed stack's."""

    def create() -> str:
        _, declared = resource_of_type(load(), "AWS::DynamoDB::Table")
        shape = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
        name = f"test-{uuid.uuid4().hex[:12]}"
        dynamodb.create_table(TableName=name, **{key: declared[key] for key in shape})
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        return name

    return create


@pytest.fixture(scope="session")
def auth_emulator_host(local_facts: config.LocalFacts) -> Iterator[str]:
    with (
        pytest.MonkeyPatch.context() as env,
        firebase_auth(local_facts.firebase, local_facts.ports.firebase) as emulator_host,
    ):
        # Restored at the end of the session: the verifier exports the host for firebase-admin.
        env.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
        yield emulator_host


@pytest.fixture(scope="session")
def settings(
    local_facts: config.LocalFacts, aws_endpoint: str, stack_outputs: dict[str, str], auth_emulator_host: str
) -> Settings:
    return Settings(
        environment="test",
        log_level="INFO",
        dynamodb_table=stack_outputs["TableName"],
        s3_bucket=stack_outputs["BucketName"],
        firebase_project_id=local_facts.firebase.project_id,
        aws_endpoint_url=aws_endpoint,
        aws_region=local_facts.aws.region,
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


@pytest.fixture(scope="session")
def sign_up(auth_emulator_host: str, settings: Settings) -> Callable[..., AuthUser]:
    """A new emulator user (unique email) with a fresh ID token; role="admin" sets the custom claim."""

    def create(role: str | None = None) -> AuthUser:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        user = firebase_accounts.sign_up(auth_emulator_host, email)
        if role is None:
            return user
        firebase_accounts.set_claims(
            auth_emulator_host, settings.firebase_project_id, user.uid, {"role": role}
        )
        # Claims reach ID tokens only on the next sign-in.
        return firebase_accounts.sign_in(auth_emulator_host, email)

    return create


@pytest.fixture
def sign_up_as(auth_emulator_host: str, settings: Settings) -> Callable[[str], AuthUser]:
    """A new emulator user with the uid given (as custom auth or an import can make one), signed in."""

    def create(uid: str) -> AuthUser:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = httpx.post(
            f"http://{auth_emulator_host}/identitytoolkit.googleapis.com/v1/projects/"
            f"{settings.firebase_project_id}/accounts",
            json={"localId": uid, "email": email, "password": firebase_accounts.DEV_PASSWORD},
            headers={"Authorization": "Bearer owner"},  # the emulator's admin bypass
            timeout=10,
        )
        response.raise_for_status()
        return firebase_accounts.sign_in(auth_emulator_host, email)

    return create


@pytest.fixture(scope="session")
def versioned_bucket(settings: Settings, s3: "S3Client") -> str:
    """The stack's bucket with versioning on, whatever template.yml says: a delete must remove every
    version, and only a versioned bucket keeps the versions that show whether it did."""
    s3.put_bucket_versioning(Bucket=settings.s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    return settings.s3_bucket


@pytest.fixture(scope="session")
def served_app(settings: Settings) -> Iterator[tuple[str, Gate]]:
    """The real app under uvicorn on a free port (real sockets, uvicorn's own thread pool), behind a Gate
    that concurrency tests arm so their requests enter together. Yields the base URL and the gate."""
    gate = Gate(build_app(settings))
    with serving_app(gate) as base_url:
        yield base_url, gate
