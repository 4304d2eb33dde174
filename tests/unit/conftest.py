from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.firebase import EMULATOR_HOST_VAR
from tests.support.fakes import FakeBackend, make_settings


@pytest.fixture(autouse=True)
def no_emulator_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests run no emulator. An app an earlier suite built in this process (e2e, integration) left the
    Firebase emulator's variable in os.environ, where the token verifier, built with an app, refuses it."""
    monkeypatch.delenv(EMULATOR_HOST_VAR, raising=False)


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(), backend.services), raise_server_exceptions=False
    ) as test_client:
        yield test_client
