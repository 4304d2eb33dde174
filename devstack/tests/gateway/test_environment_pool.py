"""The gateway over an EnvironmentPool of fake environments: Lambda's concurrency, as HTTP API shows it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from devstack.apigw.event_builder import request_event
from devstack.apigw.gateway import HEALTH_PATH, Gateway
from devstack.lambdafn.pool import EnvironmentPool, NewCodeFailedError
from devstack.supervision import ServerThread

from .gateway_fakes import FakeEnvironment

ANSWER_BOUND_S = 10.0
"""Far longer than any answer here takes: past it, the gateway is waiting for something that never comes."""


class Pool:
    """A gateway over a pool of fake environments, and every environment it made."""

    def __init__(
        self,
        *,
        integration_timeout_s: float = 10.0,
        may_start: threading.Event | None = None,
        **options: object,
    ) -> None:
        self.made: list[FakeEnvironment] = []
        self.may_start = may_start
        settings: dict[str, object] = {
            "max_environments": 4,
            "throttle_at_max": False,
            "function_timeout_s": 10,
        }
        settings.update(options)
        self.pool = EnvironmentPool(self.make, sink=lambda _part, _line: None, **settings)  # type: ignore[arg-type]
        self.server = ServerThread(Gateway(self.pool, integration_timeout_s=integration_timeout_s))

    def make(self, number: int) -> FakeEnvironment:
        environment = FakeEnvironment(number, self.may_start)
        self.made.append(environment)
        return environment

    def get_all(self, paths: list[str]) -> list[httpx.Response]:
        async def gather() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as client:
                return await asyncio.gather(*(client.get(self.server.url + path) for path in paths))

        return asyncio.run(gather())

    def health(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(self.server.url + HEALTH_PATH).json()
        return stats

    def never_overlapped(self) -> bool:
        return all(env.rie.rejected == 0 and env.rie.max_in_flight <= 1 for env in self.made)

    def invoked_queries(self) -> list[str]:
        """The query string of every request that reached an environment, environment by environment."""
        return [str(event["rawQueryString"]) for env in self.made for event in env.rie.events.values()]


@pytest.fixture
def pool() -> Iterator[Pool]:
    gateway = Pool()
    with gateway.server:
        yield gateway
    assert all(env.stopped for env in gateway.made), "the gateway's shutdown left an environment running"


def test_parallel_requests_run_in_separate_environments(pool: Pool) -> None:
    responses = pool.get_all([f"/sleep/0.5?n={n}" for n in range(8)])
    assert [r.status_code for r in responses] == [200] * 8
    used = [env for env in pool.made if env.rie.invocations]
    assert 2 <= len(used) <= 4, "8 parallel requests, at most 4 environments"
    assert pool.health()["started"] == len(pool.made)
    assert pool.never_overlapped()


def test_a_warm_environment_is_reused(pool: Pool) -> None:
    for n in range(5):
        assert pool.get_all([f"/hello?n={n}"])[0].status_code == 200
    assert len(pool.made) == 1
    assert pool.made[0].rie.invocations == 5


def test_past_reserved_concurrency_lambda_throttles() -> None:
    gateway = Pool(max_environments=2, throttle_at_max=True)
    with gateway.server:
        responses = gateway.get_all([f"/sleep/1.0?n={n}" for n in range(4)])
    assert sorted(r.status_code for r in responses) == [200, 200, 500, 500]
    assert [r.json() for r in responses if r.status_code == 500] == [{"message": "Internal Server Error"}] * 2
    assert len(gateway.made) == 2


def test_new_code_serves_once_it_answered(pool: Pool) -> None:
    assert pool.get_all(["/hello"])[0].status_code == 200
    old = pool.made[0]
    pool.pool.promote(pool.make, _probe("/hello"), timeout_s=5)
    assert pool.get_all(["/hello"])[0].status_code == 200
    assert len(pool.made) == 2
    assert pool.made[1].rie.invocations == 2  # the probe, then the request
    _eventually(lambda: old.stopped)


def test_new_code_that_fails_is_never_served(pool: Pool) -> None:
    assert pool.get_all(["/hello"])[0].status_code == 200
    with pytest.raises(NewCodeFailedError):
        pool.pool.promote(pool.make, _probe("/error"), timeout_s=5)
    _eventually(lambda: pool.made[1].stopped)
    assert pool.get_all(["/hello"])[0].status_code == 200
    assert pool.made[0].rie.invocations == 2, "the old code stopped serving"
    assert not pool.made[0].stopped


def test_an_environment_that_died_is_replaced(pool: Pool) -> None:
    assert pool.get_all(["/hello"])[0].status_code == 200
    pool.made[0].stop()
    assert pool.get_all(["/hello"])[0].status_code == 200
    assert len(pool.made) == 2


def test_a_cold_start_counts_toward_the_integration_timeout() -> None:
    """A request whose environment is still starting at its deadline gets its 503 then, and is never
    invoked; the environment still finishes starting and serves the next request warm (Lambda keeps an
    environment whose init finished). Before, the 503 waited for the cold start, and the request was
    invoked with no time left."""
    may_start = threading.Event()
    gateway = Pool(integration_timeout_s=1.0, may_start=may_start)
    with gateway.server:
        try:
            # The start cannot finish before this answer: only the deadline can end the wait.
            late = httpx.get(gateway.server.url + "/hello?late=1", timeout=ANSWER_BOUND_S)
        finally:
            may_start.set()
        _eventually(lambda: gateway.health()["started"] == 1)
        after = httpx.get(gateway.server.url + "/hello?after=1", timeout=ANSWER_BOUND_S)
    assert (late.status_code, late.json()) == (503, {"message": "Service Unavailable"})
    assert after.status_code == 200
    assert len(gateway.made) == 1, "the next request started another environment"
    assert gateway.invoked_queries() == ["after=1"]


def test_a_request_whose_client_left_during_a_cold_start_is_not_invoked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="devstack.gateway")
    may_start = threading.Event()
    gateway = Pool(may_start=may_start)
    with gateway.server:
        try:
            with pytest.raises(httpx.ReadTimeout):
                httpx.get(gateway.server.url + "/hello?left=1", timeout=0.3)
            _eventually(lambda: "the client left while waiting for an environment" in caplog.text)
        finally:
            may_start.set()
        _eventually(lambda: gateway.health()["started"] == 1)
        after = httpx.get(gateway.server.url + "/hello?after=1", timeout=ANSWER_BOUND_S)
    assert after.status_code == 200
    assert len(gateway.made) == 1
    assert gateway.invoked_queries() == ["after=1"]


def test_idle_environments_stop_but_the_first_stays_warm() -> None:
    gateway = Pool(idle_s=0.2)
    with gateway.server:
        gateway.get_all([f"/sleep/0.3?n={n}" for n in range(3)])
        assert len(gateway.made) >= 2
        _eventually(lambda: all(env.stopped for env in gateway.made if env.number != 0))
        first = next(env for env in gateway.made if env.number == 0)
        assert not first.stopped
        assert gateway.get_all(["/hello"])[0].status_code == 200


def _eventually(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _probe(path: str) -> bytes:
    return json.dumps(request_event("GET", path)).encode()
