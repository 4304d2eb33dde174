from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.fakes import FakeBackend, make_settings


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(), backend.services), raise_server_exceptions=False
    ) as test_client:
        yield test_client
