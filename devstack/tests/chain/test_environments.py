"""The function's execution environments on the real chain: parallel requests run in environments of their
own, and requests that arrive while new code is loaded are served (issue: a request during a reload used to
reach RIE together with the warm-up invoke, and RIE crashed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.apigw.gateway import HEALTH_PATH, Gateway
from devstack.environment import warm_up
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import LambdaChain
from devstack.supervision import LogCapture, ServerThread
from devstack.tools import LambdaTools

from .chain_helpers import new_chain

PARALLEL = 8


class Served:
    def __init__(self, pool: EnvironmentPool, server: ServerThread) -> None:
        self.pool, self.server = pool, server

    def started(self) -> int:
        started: int = httpx.get(self.server.url + HEALTH_PATH).json()["started"]
        return started


@pytest.fixture
def served(artifact: Path, lambda_tools: LambdaTools) -> Iterator[Served]:
    logs = LogCapture()

    def new_environment(_number: int) -> LambdaChain:
        return new_chain(artifact, lambda_tools, logs)

    pool = EnvironmentPool(new_environment, max_environments=4, throttle_at_max=False, function_timeout_s=30)
    with ServerThread(Gateway(pool)) as server:
        warm_up(pool)
        yield Served(pool, server)
    pool.stop_all()


def test_parallel_requests_run_in_environments_of_their_own(served: Served) -> None:
    async def together() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            calls = (client.get(f"{served.server.url}/health?n={n}") for n in range(PARALLEL))
            return [response.status_code for response in await asyncio.gather(*calls)]

    assert asyncio.run(together()) == [200] * PARALLEL
    assert served.started() >= 2, "parallel requests all waited for one environment"


def test_requests_during_a_reload_are_served(served: Served) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                statuses.append(client.get(served.server.url + "/health").status_code)
                stop.wait(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for _ in range(3):  # as `make dev` does after each rebuild
            served.pool.reload()
            warm_up(served.pool)
    finally:
        stop.set()
        poller.join()
    assert statuses, "no request was made during the reloads"
    assert set(statuses) == {200}, f"answers during reloads: {sorted(set(statuses))}"
    assert served.pool.generation == 3
