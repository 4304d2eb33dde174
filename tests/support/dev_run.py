"""`devstack dev` (what `make dev` runs) as a child process of a test, on free ports, with a state dir and a
temp dir of its own: it never meets the developer's `make dev`, their data or their run file (firebase-tools
keeps a per-project hub file in the temp dir)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import config
from devstack.environment import Endpoints
from devstack.paths import REPO_ROOT
from devstack.reaper import REAPER
from devstack.supervision import port_is_free
from tests.support.processes import Process, descendants

# Firebase alone may take 90 s to boot on a busy 2-core machine; it is ~20 s for everything when warm.
START_S = 240.0
STOP_S = 60.0
CTRL_C_STATUS = 130


class DevRun:
    """One developer's `make dev`: the same ports and state dir at every start."""

    def __init__(self, state_dir: Path, scratch: Path) -> None:
        self.state_dir = state_dir
        self.ports = config.load().ports.with_free_ports()
        self.log = scratch / "devstack-dev.log"
        temp = scratch / "tmp"
        temp.mkdir(exist_ok=True)
        self.environ = {
            **os.environ,
            **self.ports.environment(),
            "DEVSTACK_STATE_DIR": str(state_dir),
            "TMPDIR": str(temp),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._seen: frozenset[Process] = frozenset()

    @property
    def run_file(self) -> Path:
        return self.state_dir / "run" / "dev.json"

    def start(self) -> Endpoints:
        """Starts `devstack dev`; returns where its parts listen once it says it is up (its run file)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "devstack", "dev"],
                cwd=REPO_ROOT,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C and the test's own signals reach it only when sent
            )
        REAPER.watch(self._process.pid)  # a test run killed outright takes it along
        deadline = time.monotonic() + START_S
        while not self.run_file.exists():
            status = self._process.poll()
            if status is not None or time.monotonic() > deadline:
                problem = f"not up in {START_S:.0f}s" if status is None else f"exited with status {status}"
                raise AssertionError(f"devstack dev {problem}:\n{self.output()[-5000:]}")
            time.sleep(0.2)
        return Endpoints(**json.loads(self.run_file.read_text()))

    def processes(self) -> frozenset[Process]:
        """Every process `devstack dev` runs now (the parts run in sessions of their own); remembered, so
        that close() can find any of them that outlives it."""
        assert self._process is not None
        running = descendants(self._process.pid)
        self._seen |= running
        return running

    def wait(self, timeout: float = STOP_S) -> int:
        assert self._process is not None
        return self._process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or `kill -9` would: it stops nothing itself."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()

    def interrupt(self) -> int:
        """Ctrl-C; returns its exit status once every part has stopped."""
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)
        return self.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def bound_ports(self) -> list[int]:
        return [port for port in map(int, self.ports.environment().values()) if not port_is_free(port)]

    def leftovers(self) -> list[Process]:
        """Processes of this run still alive after `devstack dev` ended."""
        return [process for process in self._seen if process.alive()]

    def close(self) -> None:
        """Whatever a failed test left: `devstack dev` interrupted (killed if it hangs), then its parts."""
        if self._process is not None and self._process.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for process in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        if self._process is not None:
            REAPER.forget(self._process.pid)

    @contextmanager
    def running(self) -> Iterator[Endpoints]:
        """Started, then stopped with Ctrl-C, which must leave no process and no port behind."""
        endpoints = self.start()
        self.processes()
        yield endpoints
        self.processes()
        status = self.interrupt()
        assert status == CTRL_C_STATUS, self.output()[-3000:]
        assert self.leftovers() == []
        assert self.bound_ports() == []


@contextmanager
def dev_run(scratch: Path) -> Iterator[DevRun]:
    """A DevRun keeping its state and temp files under `scratch`; nothing of it left running at the end."""
    run = DevRun(scratch / "state", scratch)
    try:
        yield run
    finally:
        run.close()
