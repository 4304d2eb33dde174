"""Route throttling as HTTP API applies DefaultRouteSettings/RouteSettings: a token bucket per route; a
refused request gets 429 {"message":"Too Many Requests"} and is not invoked. Rules: docs/gateway.md."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.apigw.api_config import ApiConfig
from devstack.apigw.gateway import Gateway
from devstack.apigw.routes import Route
from devstack.apigw.throttle import ThrottleLimits, TokenBucket
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

from .gateway_fakes import FakeRie

RieFixture = tuple[FakeRie, ServerThread]
RATE, BURST = 1.0, 3


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_starts_full_and_refills_at_the_rate() -> None:
    clock = _Clock()
    bucket = TokenBucket(ThrottleLimits(rate=RATE, burst=BURST), clock)
    assert [bucket.take() for _ in range(BURST + 1)] == [True] * BURST + [False]
    clock.now += 1.5  # 1.5 tokens back: one request, not two
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # never more than the burst
    assert [bucket.take() for _ in range(BURST + 1)] == [True] * BURST + [False]


def test_a_zero_limit_refuses_everything() -> None:
    assert not TokenBucket(ThrottleLimits(rate=0, burst=0)).take()


@pytest.fixture(scope="module")
def throttled_api(fake_rie: RieFixture) -> Iterator[str]:
    """ANY /{proxy+} and GET /health each limited to 1 request/s with a burst of 3."""
    _, rie_server = fake_rie
    api = ApiConfig(
        routes=(Route("ANY /{proxy+}"), Route("GET /health")),
        throttling={key: ThrottleLimits(rate=RATE, burst=BURST) for key in ("ANY /{proxy+}", "GET /health")},
    )
    gateway = Gateway(EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), api=api)
    with ServerThread(gateway) as server:
        yield server.url


def test_a_burst_past_the_limit_is_429_and_not_invoked(throttled_api: str, fake_rie: RieFixture) -> None:
    rie, _ = fake_rie
    before = rie.invocations
    attempts = 10

    async def burst() -> tuple[list[httpx.Response], float]:
        async with httpx.AsyncClient(timeout=30) as client:
            started = time.monotonic()
            responses = await asyncio.gather(
                *(client.get(f"{throttled_api}/notes/{n}") for n in range(attempts))
            )
            return list(responses), time.monotonic() - started

    responses, elapsed = asyncio.run(burst())
    passed = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    # The bucket guarantees the burst; past it, at most one more request per second elapsed.
    assert BURST <= len(passed) <= BURST + math.floor(RATE * elapsed)
    assert all((r.status_code, r.json()) == (429, {"message": "Too Many Requests"}) for r in refused)
    assert all(r.headers["apigw-requestid"] for r in refused)
    assert rie.invocations - before == len(passed)


def test_each_route_has_its_own_bucket(throttled_api: str) -> None:
    drained = [httpx.get(f"{throttled_api}/drain/{n}").status_code for n in range(BURST + 5)]
    assert 429 in drained
    assert httpx.get(f"{throttled_api}/health").status_code == 200
    assert httpx.get(f"{throttled_api}/again").status_code == 429
