"""The function's execution environments on the real chain, as `make dev` runs them: parallel requests run in
environments of their own; requests that arrive while new code loads are served (a request during a reload
used to reach RIE together with the warm-up invoke, and RIE crashed); a saved change is served, a change
that does not start is reported while the previous code keeps serving, and a dependency added to uv.lock is
built and served."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack import config
from devstack.apigw.gateway import HEALTH_PATH, Gateway
from devstack.environment import chain_variables
from devstack.local_function import ChainFactory, LocalFunction
from devstack.reload import KEEP, Reloader, copy_project
from devstack.stack.model import local_stack
from devstack.supervision import LogCapture, ServerThread
from devstack.tools import LambdaTools, tool

from .chain_helpers import FUNCTION, OVERRIDES

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
    facts = config.load().isolated()
    variables = chain_variables(facts, OVERRIDES)
    factory = ChainFactory(facts, artifact, variables, LambdaTools.pinned(), logs)
    function = LocalFunction(factory, local_stack(facts).function(FUNCTION), facts.max_environments)
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
def project(tmp_path: Path) -> Path:
    """A copy of what a reload reads (backend/, uv.lock, template.yml ...), to edit as a developer edits the
    checkout under `make dev`."""
    return copy_project(tmp_path / "project")


def test_a_saved_change_is_served_and_a_broken_one_never(
    served: Served, project: Path, tmp_path: Path
) -> None:
    reloader = Reloader(
        served.function, project_dir=project, artifacts_dir=tmp_path / "artifacts", sink=served.logs
    )
    route = project / "backend" / HEALTH_ROUTE
    route.write_text(route.read_text().replace('status="healthy"', 'status="healthy, reloaded"'))
    assert reloader.apply([route])
    assert served.health().json()["status"] == "healthy, reloaded"

    route.write_text(route.read_text() + "\ndef broken(:\n")
    assert not reloader.apply([route])
    response = served.health()
    assert (response.status_code, response.json()["status"]) == (200, "healthy, reloaded")
    assert any("previous code keeps serving" in line for line in served.logs.of("reload"))


def test_a_save_copies_our_code_and_links_the_dependencies(
    served: Served, project: Path, tmp_path: Path, artifact: Path
) -> None:
    """A save builds an artifact of our code alone: the dependencies stay the build's files, however many
    saves (older artifacts are pruned), and the saved code is what serves."""
    reloader = Reloader(
        served.function, project_dir=project, artifacts_dir=tmp_path / "artifacts", sink=served.logs
    )
    route = project / "backend" / HEALTH_ROUTE
    original = route.read_text()
    for save in range(KEEP + 1):
        route.write_text(original.replace('status="healthy"', f'status="healthy, save {save}"'))
        assert reloader.apply([route])
    serving = served.function.artifact
    assert (serving / "fastapi").resolve() == (artifact / "fastapi").resolve()
    assert not (serving / "api").is_symlink()
    assert served.health().json()["status"] == f"healthy, save {KEEP}"


class _Stop(Exception):
    pass


def _uv_add(project: Path, *args: str) -> None:
    """`uv add` as a developer runs it (the lock is resolved again: PyPI, or uv's cache)."""
    done = subprocess.run(
        [tool("uv"), "add", "--no-sync", *args], cwd=project, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_dependency_added_to_uv_lock_is_built_and_served(
    served: Served, project: Path, tmp_path: Path
) -> None:
    reloader = Reloader(
        served.function, project_dir=project, artifacts_dir=tmp_path / "artifacts", sink=served.logs
    )
    requirements = project / "backend" / "requirements.txt"
    _uv_add(project, "--dev", "iniconfig==2.3.1")  # a developer tool: the lock moves, the zip does not
    assert reloader.apply([project / "uv.lock"])
    assert (reloader.loaded, "iniconfig" in requirements.read_text()) == (0, False)

    # Code that imports it does not start: the function sees the zip, not the dev environment (it did).
    route = project / "backend" / HEALTH_ROUTE
    route.write_text(
        "import iniconfig\n"
        + route.read_text().replace('status="healthy"', 'status=f"healthy, with {iniconfig.__name__}"')
    )
    assert not reloader.apply([route])

    stop = threading.Event()

    def until_stopped() -> None:
        if stop.is_set():
            raise _Stop

    def watch() -> None:
        with contextlib.suppress(_Stop):
            reloader.watch(between_changes=until_stopped, every_ms=100)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        time.sleep(1.0)  # the watch is armed
        _uv_add(project, "--package", "backend", "iniconfig==2.3.1")
        deadline = time.monotonic() + 180
        while served.health().json()["status"] != "healthy, with iniconfig":
            assert time.monotonic() < deadline, "the new dependency was not served within 180 s"
            time.sleep(0.5)
    finally:
        stop.set()
        watcher.join(timeout=60)
    assert "iniconfig==2.3.1" in requirements.read_text().splitlines()  # re-exported from the lock
    assert any("sam build" in line for line in served.logs.of("reload"))
    # The export rewrote requirements.txt; that echo is not another build.
    loaded = reloader.loaded
    assert reloader.apply([requirements])
    assert reloader.loaded == loaded
