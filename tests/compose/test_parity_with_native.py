"""The compose chain and the native chain (`make dev`'s) answer the same requests the same way."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devstack import config
from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from devstack.environment import Endpoints, local_environment
from devstack.supervision import LogCapture
from tests.support.probes import PROBES, Probe, assert_alike, send

EMAIL = "parity@example.com"


@pytest.fixture(scope="module")
def native() -> Iterator[Endpoints]:
    with local_environment(config.load().isolated(), sink=LogCapture()) as environment:
        yield environment.endpoints


def _client_and_user(endpoints: Endpoints) -> tuple[httpx.Client, AuthUser]:
    return httpx.Client(base_url=endpoints.api, timeout=30), firebase_accounts.sign_in_or_up(
        endpoints.firebase_auth_host, EMAIL
    )


@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_compose_and_native_answer_alike(probe: Probe, stack: Endpoints, native: Endpoints) -> None:
    (compose_api, compose_user), (native_api, native_user) = _client_and_user(stack), _client_and_user(native)
    with compose_api, native_api:
        assert_alike(send(compose_api, probe, compose_user), send(native_api, probe, native_user))
