"""A part of `make dev` dies (killed, as a crash or the OOM killer would): `devstack dev` names it and how
it ended, stops every other part and exits non-zero, leaving no process and no port behind. Before, it went
on serving without the part, silently (a dead MiniStack only showed up as 503s). An execution environment of
the function is the exception, as on Lambda: it is named and replaced, and the next request is served."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from devstack.paths import REPO_ROOT
from devstack.supervision import port_is_free
from tests.support.dev_run import START_S, dev_run
from tests.support.processes import Process, descendants

pytestmark = pytest.mark.e2e

REAPED_S = 60.0
"""Far more than the parts take to stop (they get 10 s to save their data, then SIGKILL)."""

# The part, how to tell its process, and how `devstack dev` names it.
PARTS: dict[str, tuple[Callable[[Process], bool], str]] = {
    "ministack": (lambda process: process.runs("ministack"), "ministack:"),
    # node runs firebase-tools' CLI script after its preload (firebase-emulator/fast-start.cjs).
    "firebase": (lambda process: process.runs("node") and "emulators:start" in process.argv, "firebase:"),
}


def _rie(process: Process) -> bool:
    return process.runs("aws-lambda-rie")


def _the(is_part: Callable[[Process], bool], processes: frozenset[Process]) -> Process:
    (found,) = [process for process in processes if is_part(process)]
    return found


@pytest.mark.parametrize("part", PARTS)
def test_a_killed_part_stops_dev_which_names_it(part: str, tmp_path: Path) -> None:
    with dev_run(tmp_path) as dev:
        dev.start()
        is_part, name = PARTS[part]
        victim = _the(is_part, dev.processes())
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.monotonic()
        status = dev.wait()
        print(f"{part} killed: devstack dev exited {time.monotonic() - killed:.1f} s later")

        error = dev.output().rpartition("\nerror: ")[2]
        assert status == 1, dev.output()[-3000:]
        assert error.startswith(f"{name} exited on its own, killed by SIGKILL (status -9)."), error
        assert dev.leftovers() == []
        assert dev.bound_ports() == []


def test_dev_killed_outright_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    """SIGKILL gives `devstack dev` (or a test session: the same code starts the same parts) no chance to
    stop its parts, each in a session of its own: its reaper does. Before, MiniStack, the Firebase emulator,
    RIE, the adapter and the app went on running, holding their ports."""
    with dev_run(tmp_path) as dev:
        dev.start()
        parts = dev.processes()
        assert all(any(is_part(process) for process in parts) for is_part, _ in PARTS.values())
        assert any(_rie(process) for process in parts)
        dev.kill()
        killed = time.monotonic()
        while dev.leftovers() or dev.bound_ports():
            assert time.monotonic() < killed + REAPED_S, (
                f"{REAPED_S:.0f} s after devstack dev was killed, still running: "
                f"{[process.argv[:3] for process in dev.leftovers()]}, ports bound: {dev.bound_ports()}"
            )
            time.sleep(0.2)
        print(f"devstack dev killed: its parts gone {time.monotonic() - killed:.1f} s later")


def test_a_killed_execution_environment_is_named_and_replaced(tmp_path: Path) -> None:
    with dev_run(tmp_path) as dev, dev.running() as endpoints:
        victim = _the(_rie, dev.processes())
        os.kill(victim.pid, signal.SIGKILL)
        response = httpx.get(endpoints.api + "/health", timeout=60)
        assert response.status_code == 200, response.text
        replacement = _the(_rie, dev.processes())
        assert replacement.pid != victim.pid
        assert (
            "environment 0: lambda chain: RIE exited on its own, killed by SIGKILL (status -9)"
            in dev.output()
        )


_SESSION_HOLDING_A_STACK = """
import json, os, time
from dataclasses import asdict

from devstack import config
from devstack.environment import local_environment
from devstack.supervision import LogCapture


def test_hold(tmp_path):
    facts = config.load().isolated()
    with local_environment(facts, data_dir=tmp_path / "data", sink=LogCapture()):
        held = os.environ["HELD_PORTS_FILE"]
        with open(held + ".tmp", "w") as ports:
            json.dump(asdict(facts.ports), ports)
        os.replace(held + ".tmp", held)
        time.sleep(3600)
"""


def test_a_pytest_session_killed_outright_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    """A test session starts the same parts through the same code (local_environment): SIGKILLed while its
    whole stack runs, as CI's timeout or a developer's `kill -9` would, it leaves nothing running."""
    (tmp_path / "test_hold.py").write_text(_SESSION_HOLDING_A_STACK)
    ports_file = tmp_path / "ports.json"
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path / "test_hold.py")],
        cwd=REPO_ROOT,
        env={**os.environ, "HELD_PORTS_FILE": str(ports_file), "TMPDIR": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    parts: frozenset[Process] = frozenset()
    try:
        deadline = time.monotonic() + START_S
        while not ports_file.exists():
            assert session.poll() is None, f"the session ended ({session.returncode}) before its stack was up"
            assert time.monotonic() < deadline, f"the session's stack not up in {START_S:.0f} s"
            time.sleep(0.2)
        ports = [int(port) for port in json.loads(ports_file.read_text()).values()]
        parts = descendants(session.pid)
        assert any(_rie(process) for process in parts)
        session.kill()
        session.wait()
        killed = time.monotonic()
        while True:
            left = [process for process in parts if process.alive()]
            bound = [port for port in ports if not port_is_free(port)]
            if not left and not bound:
                break
            assert time.monotonic() < killed + REAPED_S, (
                f"{REAPED_S:.0f} s after the session was killed, still running: "
                f"{[process.argv[:3] for process in left]}, ports bound: {bound}"
            )
            time.sleep(0.2)
        print(f"pytest killed: its parts gone {time.monotonic() - killed:.1f} s later")
    finally:
        if session.poll() is None:
            session.kill()
        for process in parts:
            if process.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
