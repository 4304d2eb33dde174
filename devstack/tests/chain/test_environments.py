"""The function's execution environments on the real chain, as `make dev` runs them: parallel requests run in
environments of their own; requests that arrive while new code loads are served (a request during a reload
used to reach RIE together with the warm-up invoke, and RIE crashed); a saved change is served, and a change
that does not start is reported while the previous code keeps serving."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack import config, paths
from devstack.apigw.gateway import HEALTH_PATH, Gateway
from devstack.lambdafn.local_function import ChainFactory, LocalFunction
from devstack.reload import Reloader
from devstack.supervision import LogCapture, ServerThread

from .chain_helpers import OVERRIDES

PARALLEL = 8
HEALTH_ROUTE = Path("api/routes/health.py")


class Served:
    def __init__(self, function: LocalFunction, server: ServerThread, logs: LogCapture) -> None:
        self.function, self.server, self.logs = function, server, logs

    def started(self) -> int:
        started: int = httpx.get(self.server.url + HEALTH_PATH).json()["started"]
        return started

    def health(self) -> httpx.Response:
        return httpx.get(self.server.url + "/health", timeout=60)


@pytest.fixture
def served(artifact: Path) -> Iterator[Served]:
    logs = LogCapture()
    function = LocalFunction(ChainFactory(config.load().isolated(), artifact, OVERRIDES, logs))
    try:
        with ServerThread(Gateway(function.environments)) as server:
            function.warm_up()
            yield Served(function, server, logs)
    finally:
        function.environments.stop_all()


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
        for _ in range(3):
            served.function.load(served.function.artifact)
    finally:
        stop.set()
        poller.join()
    assert statuses, "no request was made during the reloads"
    assert set(statuses) == {200}, f"answers during reloads: {sorted(set(statuses))}"
    assert served.function.environments.generation == 3


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of backend/ to edit, as a developer edits backend/ under `make dev`."""
    copy = tmp_path / "backend"
    shutil.copytree(paths.BACKEND, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_saved_change_is_served_and_a_broken_one_never(
    served: Served, source: Path, tmp_path: Path
) -> None:
    reloader = Reloader(
        served.function, source_dir=source, artifacts_dir=tmp_path / "artifacts", sink=served.logs
    )
    route = source / HEALTH_ROUTE
    route.write_text(route.read_text().replace('status="healthy"', 'status="healthy, reloaded"'))
    assert reloader.apply([route])
    assert served.health().json()["status"] == "healthy, reloaded"

    route.write_text(route.read_text() + "\ndef broken(:\n")
    assert not reloader.apply([route])
    response = served.health()
    assert (response.status_code, response.json()["status"]) == (200, "healthy, reloaded")
    assert any("previous code keeps serving" in line for line in served.logs.of("reload"))
