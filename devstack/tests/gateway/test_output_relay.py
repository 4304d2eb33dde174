"""Compose's function container runs RIE under the output relay: its lines reach the gateway's reader, one
execution environment per connection, and a reader that is slow or gone never holds the function up."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import devstack.lambdafn.output_relay
from devstack.lambdafn.output_relay import HELLO, MAX_QUEUED, Relay, RelayReader
from devstack.supervision import free_port

RELAY = Path(devstack.lambdafn.output_relay.__file__)
WAIT_S = 10.0


class Environments:
    """What the gateway's reader hands the lines to: one list of lines per connection."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = []
        self.changed = threading.Condition()

    def new(self) -> Callable[[str], None]:
        with self.changed:
            self.lines.append([])
            mine = self.lines[-1]

        def on_line(line: str) -> None:
            with self.changed:
                mine.append(line)
                self.changed.notify_all()

        return on_line

    def wait_for(self, wanted: Callable[[list[list[str]]], bool]) -> list[list[str]]:
        with self.changed:
            assert self.changed.wait_for(lambda: wanted(self.lines), WAIT_S), self.lines
            return [list(lines) for lines in self.lines]


def relay_process(port: int, script: str) -> subprocess.Popen[bytes]:
    """The relay as the function's container runs it (its file alone, no devstack on the path) around
    `sh -c script`, on `port` instead of its own (tests run side by side)."""
    program = (
        f"import sys; sys.path.insert(0, {str(RELAY.parent)!r}); import output_relay; "
        f"raise SystemExit(output_relay.main(['sh', '-c', {script!r}], port={port}))"
    )
    return subprocess.Popen([sys.executable, "-I", "-c", program], stdout=subprocess.PIPE)


def test_the_function_lines_reach_the_reader_and_the_containers_log(tmp_path: Path) -> None:
    port = free_port()
    environments = Environments()
    go = tmp_path / "go"
    # The function prints once the reader is there (the test creates the file then).
    script = f"while [ ! -e {go} ]; do sleep 0.05; done; echo 'START RequestId: 1'; echo 'app line'; exit 3"
    relay = relay_process(port, script)
    with RelayReader("127.0.0.1", port, environments.new) as reader:
        assert reader.connected.wait(WAIT_S)
        go.touch()
        seen = environments.wait_for(lambda lines: bool(lines) and len(lines[-1]) == 2)
        output, _ = relay.communicate(timeout=WAIT_S)
    assert seen == [["START RequestId: 1", "app line"]]
    assert output.decode().splitlines() == ["START RequestId: 1", "app line"]  # docker logs keep them
    assert relay.returncode == 3  # the container ends as RIE ends


def test_a_signal_to_the_relay_reaches_the_function() -> None:
    """docker stop sends SIGTERM to the container's first process, the relay: RIE must get it."""
    script = "trap 'echo stopping; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    relay = relay_process(free_port(), script)
    assert relay.stdout is not None
    assert relay.stdout.readline() == b"ready\n"
    relay.send_signal(signal.SIGTERM)
    output, _ = relay.communicate(timeout=WAIT_S)
    assert (output, relay.returncode) == (b"stopping\n", 0)


def test_each_run_of_the_container_is_a_new_execution_environment() -> None:
    """The container restarted (compose watch): the reader reconnects, and its lines go to a new stream."""
    port = free_port()
    environments = Environments()
    with RelayReader("127.0.0.1", port, environments.new) as reader:
        for number in range(2):
            relay = Relay(port, io.BytesIO())
            try:
                assert reader.connected.wait(WAIT_S)
                relay.line(f"line of run {number}\n".encode())
                environments.wait_for(all)  # every run has its line
            finally:
                relay.close()
            assert _wait(lambda: not reader.connected.is_set())
    assert environments.lines == [["line of run 0"], ["line of run 1"]]


def test_a_reader_that_takes_nothing_costs_lines_never_the_function() -> None:
    port = free_port()
    out = io.BytesIO()
    relay = Relay(port, out)
    with socket.create_connection(("127.0.0.1", port)) as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert stuck.recv(len(HELLO), socket.MSG_WAITALL) == HELLO  # served from now on; then reads nothing
        for number in range(3 * MAX_QUEUED):  # a tap that waited for room would hang here
            relay.line(f"{number:08d} {'x' * 100}\n".encode())
        relay.close()
    assert relay.lost > 0
    echoed = out.getvalue().splitlines()
    assert sum(line.endswith(b"x" * 100) for line in echoed) == 3 * MAX_QUEUED  # each echoed all the same
    assert echoed[-1] == f"output relay: {relay.lost} function log line(s) never reached the gateway".encode()


def _wait(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
