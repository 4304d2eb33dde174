"""Process supervision shared by `make dev` and the test fixtures.

Every part runs in its own session (process group) so stopping it also stops whatever it spawned
(firebase-tools forks node workers, RIE forks the adapter and uvicorn), and no port stays bound. The
process's reaper (devstack.reaper) stops the groups left when the process ends without stopping them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from devstack.reaper import REAPER

LogSink = Callable[[str, str], None]
"""Receives (part name, one line of its output)."""


class StartupError(RuntimeError):
    """A part of the local environment could not start; the message says why and how to fix it."""


class PartExited(RuntimeError):
    """A part of the running environment stopped on its own; the message names it, says how it ended and
    shows its last output."""


RESTART_HINT = "Every other part is stopped with it; start again with `make dev`."


def describe_exit(status: int) -> str:
    """Popen's returncode in words: `-9` is "killed by SIGKILL (status -9)"."""
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-status).name} (status {status})"
    return f"exit status {status}"


def print_sink(part: str, line: str) -> None:
    print(f"{part:>10} | {line}", flush=True)


class LogCapture:
    """A sink that keeps every line, so a caller (a test) can read what each part printed."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, part: str, line: str) -> None:
        with self._lock:
            self.lines.append((part, line))

    def of(self, part: str) -> list[str]:
        with self._lock:
            return [line for name, line in self.lines if name == part]

    def of_every_environment(self, part: str) -> list[str]:
        """`part`'s lines from every execution environment ("app", "app.1", ...)."""
        with self._lock:
            return [line for name, line in self.lines if name.partition(".")[0] == part]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """No socket listens on `port`. SO_REUSEADDR, as the servers themselves use: connections a stopped
    part left in TIME_WAIT do not count (a plain bind would fail for a minute after a stop)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(part: str, port: int, env_var: str) -> None:
    if not port_is_free(port):
        raise StartupError(
            f"{part}: port {port} is already taken. Find the owner with `ss -ltnp 'sport = :{port}'` "
            f"and stop it (a previous `make dev`?), or pick another port: {env_var}=<port>."
        )


def free_port(avoid: Collection[int] = ()) -> int:
    """A port free now, of the OS's choosing; not one of `avoid` (chosen already, not bound yet: the OS may
    hand it out again)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in avoid:
            return port


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URLs only)
            status: int = response.status
            return 200 <= status < 300
    except (urllib.error.URLError, OSError):
        return False


class ManagedProcess:
    """A child process whose output goes line by line to a sink and which is stopped as a group."""

    def __init__(
        self,
        part: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        sink: LogSink = print_sink,
    ) -> None:
        self.part = part
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.sink = sink
        self.recent: deque[str] = deque(maxlen=40)
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        try:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError as missing:
            raise StartupError(f"{self.part}: {missing.filename} not found. Run `make install`.") from None
        REAPER.watch(self._proc.pid)  # its session's group id is its pid
        self._reader = threading.Thread(target=self._pump, name=f"log-{self.part}", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self._proc is not None  # noqa: S101 (types only: started before the thread)
        assert self._proc.stdout is not None  # noqa: S101 (types only: stdout=PIPE)
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.recent.append(line)
            self.sink(self.part, line)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The leader of the part's process group, while it runs."""
        return self._proc.pid if self._proc is not None and self.running else None

    @property
    def exit_status(self) -> int | None:
        """None while it runs, and after stop(); its returncode once it ended on its own."""
        return self._proc.poll() if self._proc is not None else None

    def exit_report(self) -> str | None:
        """Once it ended on its own: which part, how, and its last lines."""
        status = self.exit_status
        if status is None:
            return None
        return self.failure(f"exited on its own, {describe_exit(status)}", RESTART_HINT)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group (emulators save their state on it), then SIGKILL what is left."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.sink(self.part, f"did not stop within {grace:.0f}s; killing it")
        # Children that outlived the leader (or ignored SIGTERM) still share its group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        REAPER.forget(proc.pid)
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._proc = None

    def wait(self) -> int:
        """Wait for a one-shot command to end (its output fully read); returns its exit status."""
        assert self._proc is not None  # noqa: S101 (types only: None fails on the next line too)
        code = self._proc.wait()
        self.stop()
        return code

    def wait_ready(self, probe: Callable[[], bool], *, deadline_s: float, what: str, fix: str) -> float:
        """Poll `probe` until it holds; fail with the part's last log lines. Returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            if probe():
                return time.monotonic() - started
            if not self.running:
                raise StartupError(self.failure(f"exited before {what}", fix))
            time.sleep(0.1)
        raise StartupError(self.failure(f"not {what} after {deadline_s:.0f}s", fix))

    def failure(self, problem: str, fix: str) -> str:
        tail = "\n".join(f"    {line}" for line in self.recent) or "    (no output)"
        return f"{self.part}: {problem}. {fix}\n  last output:\n{tail}"


class Supervised(Protocol):
    """A long-running part: a process, or the Lambda chain (RIE, which runs the adapter and the app)."""

    @property
    def part(self) -> str: ...

    def exit_report(self) -> str | None: ...


class Parts:
    """The long-running parts of one environment, so whoever runs it learns when one of them dies."""

    def __init__(self) -> None:
        self._parts: list[Supervised] = []

    def add(self, part: Supervised) -> None:
        self._parts.append(part)

    def named(self, name: str) -> Supervised:
        return next(part for part in self._parts if part.part == name)

    def check(self) -> None:
        """Raise PartExited for the first part that ended on its own."""
        for part in self._parts:
            report = part.exit_report()
            if report is not None:
                raise PartExited(report)


def run_to_end(
    part: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    sink: LogSink,
    fix: str,
    cwd: Path | None = None,
) -> None:
    """Run a one-shot command (a build, a deploy) with its output on the sink; fail with its last lines."""
    process = ManagedProcess(part, argv, env=env, cwd=cwd, sink=sink)
    process.start()
    code = process.wait()
    if code != 0:
        raise StartupError(process.failure(f"exited with status {code}", fix))


@contextlib.contextmanager
def running(process: ManagedProcess) -> Iterator[ManagedProcess]:
    process.start()
    try:
        yield process
    finally:
        process.stop()


class ServerThread:
    """Serve an ASGI app with uvicorn in a background thread (127.0.0.1 and a free port by default)."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        part: str = "server",
    ) -> None:
        self.part = part
        import uvicorn

        # log_config=None: uvicorn's records go wherever the process's logging sends them (forward_logs).
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            log_config=None,
            lifespan="auto",
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"serve-{port}", daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise StartupError("uvicorn did not start serving within 10 s")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def exit_report(self) -> str | None:
        """Once its thread ended without being asked to (uvicorn gave up: it logged why)."""
        if self.thread.is_alive() or self.server.should_exit:
            return None
        return f"{self.part}: stopped serving on its own (see its output above). {RESTART_HINT}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class _SinkHandler(logging.Handler):
    def __init__(self, part: str, sink: LogSink) -> None:
        super().__init__()
        self.part, self.sink = part, sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink(self.part, self.format(record))


@contextlib.contextmanager
def forward_logs(
    loggers: Sequence[str], part: str, sink: LogSink, level: int = logging.INFO
) -> Iterator[None]:
    """Send the records of in-process `loggers` to `sink` as `part`'s lines, as a child process's would go."""
    handler = _SinkHandler(part, sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate
