"""The function container's output, relayed to the process that ships it (compose's door).

On Lambda the platform reads what the runtime and the extensions print and writes it to CloudWatch Logs. Under
`make dev` devstack runs RIE itself and reads its output; in compose RIE runs in the function's container and
the LogShipper in the gateway's, and RIE has no way to hand its lines out (no LogType Tail). So the function's
container runs RIE under this relay, the platform's half there: it echoes every line to its own stdout
(`docker compose logs backend` keeps the live view) and serves the same lines on a TCP port of the compose
network to one reader, the gateway (`RelayReader`), which reconnects whenever the container restarts.

A reader that is slow or gone never holds RIE up: lines wait on a bounded queue and are dropped past it
(counted, said on stdout). Lines printed while no reader is connected are only echoed. Standard library only:
the function's image has Python but not devstack (compose copies this one file).

    python3 output_relay.py COMMAND [ARG...]     (the function's container: RIE and its handler)
"""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

#: Where the relay serves the lines: a port of the function's container on the compose network, unpublished.
PORT = 9010
#: Lines waiting for a slow reader; past it they are dropped (counted).
MAX_QUEUED = 10_000
#: A reader that takes no line for this long is given up (its queued lines are lost, counted).
SEND_TIMEOUT_S = 2.0
#: How often the gateway's reader tries again to reach a relay that is not there (yet).
RECONNECT_EVERY_S = 0.2


HELLO = b"output relay: the function's lines follow\n"
"""The relay's first line to a reader: from then on, every line the function prints reaches it."""
_END = b""
"""Queued for a reader that is replaced or closed: what was queued before it is still sent."""


@dataclass(eq=False)
class _Reader:
    connection: socket.socket
    lines: queue.Queue[bytes] = field(default_factory=lambda: queue.Queue(maxsize=MAX_QUEUED))
    thread: threading.Thread | None = None


class Relay:
    """Serves the lines given to `line` to the latest reader connected on `port` (0.0.0.0: the compose
    network, never published), echoing each to `out`."""

    def __init__(self, port: int, out: BinaryIO) -> None:
        self.out = out
        self._server = socket.create_server(("0.0.0.0", port))  # noqa: S104 (the compose network only)
        self._lock = threading.Lock()
        self._reader: _Reader | None = None
        self._lost = 0
        threading.Thread(target=self._accept, name="relay accept", daemon=True).start()

    @property
    def lost(self) -> int:
        """Lines a connected reader never got."""
        with self._lock:
            return self._lost

    def line(self, raw: bytes) -> None:
        self.out.write(raw)
        self.out.flush()
        with self._lock:
            reader = self._reader
        if reader is None:
            return
        try:
            reader.lines.put_nowait(raw)
        except queue.Full:
            self._lose(1, "its reader is too slow")

    def close(self) -> None:
        """Send what is queued (for a moment at most) and stop; say how many lines were lost."""
        with contextlib.suppress(OSError):  # wakes the accepting thread (close alone leaves it listening)
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            self._end(reader)
            if reader.thread is not None:
                reader.thread.join(SEND_TIMEOUT_S)
        if lost := self.lost:
            self.out.write(f"output relay: {lost} function log line(s) never reached the gateway\n".encode())
            self.out.flush()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            reader = _Reader(connection)
            reader.thread = threading.Thread(target=self._send, args=(reader,), daemon=True)
            with self._lock:
                previous, self._reader = self._reader, reader  # a new reader (the gateway restarted) wins
            if previous is not None:
                self._end(previous)
            reader.thread.start()

    def _send(self, reader: _Reader) -> None:
        with reader.connection as connection:
            connection.settimeout(SEND_TIMEOUT_S)
            try:
                connection.sendall(HELLO)
                while (raw := reader.lines.get()) != _END:
                    connection.sendall(raw)
            except OSError as error:
                with self._lock:
                    if self._reader is reader:
                        self._reader = None
                self._lose(1 + reader.lines.qsize(), f"its reader is gone or stuck ({error!r})")

    @staticmethod
    def _end(reader: _Reader) -> None:
        try:
            reader.lines.put(_END, timeout=SEND_TIMEOUT_S)
        except queue.Full:  # a reader that takes nothing: cut it off
            with contextlib.suppress(OSError):
                reader.connection.shutdown(socket.SHUT_RDWR)

    def _lose(self, count: int, why: str) -> None:
        with self._lock:
            first = self._lost == 0
            self._lost += count
        if first:
            self.out.write(f"output relay: WARNING: function log lines lost: {why}\n".encode())
            self.out.flush()


class RelayReader:
    """Reads a relay's lines at `host:port` in a thread, for as long as it is open: each connection is one run
    of the function's container, i.e. one execution environment, whose lines go to the callback that
    `new_environment()` returns for it. `connected` is set while the relay serves it."""

    def __init__(self, host: str, port: int, new_environment: Callable[[], Callable[[str], None]]) -> None:
        self.address = (host, port)
        self.new_environment = new_environment
        self.connected = threading.Event()
        self._closing = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="relay reader", daemon=True)

    def __enter__(self) -> RelayReader:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self._socket = socket.create_connection(self.address, timeout=1)
            except OSError:
                self._closing.wait(RECONNECT_EVERY_S)
                continue
            self._socket.settimeout(None)
            with self._socket, self._socket.makefile("rb") as lines, contextlib.suppress(OSError):
                if lines.readline() == HELLO:  # else not a relay: try again
                    self.connected.set()
                    on_line = self.new_environment()
                    for raw in lines:
                        on_line(raw.decode(errors="replace").rstrip("\r\n"))
            self.connected.clear()
            self._closing.wait(RECONNECT_EVERY_S)


def main(command: list[str], port: int = PORT) -> int:
    """Run `command` (RIE) with its output relayed on `port`; exit as it exits."""
    relay = Relay(port, sys.stdout.buffer)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # docker stop (SIGTERM) and Ctrl-C reach RIE, which stops the function as Lambda's shutdown does.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    output: BinaryIO = child.stdout  # type: ignore[assignment]  # stdout=PIPE: never None
    for raw in iter(output.readline, b""):
        relay.line(raw)
    code = child.wait()
    relay.close()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
