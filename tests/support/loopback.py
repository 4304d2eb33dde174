"""Local HTTP servers in a thread, on 127.0.0.1 only: a stand-in for an outside endpoint, an endpoint that
never answers, or the app itself served over real sockets for tests that need requests to overlap."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from starlette.types import ASGIApp

from devstack.supervision import ServerThread


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serves `handler` on a free port; yields the port, then shuts the server down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving_app(app: ASGIApp) -> Iterator[str]:
    """Serves an ASGI app with uvicorn on a free port, as run.sh serves it on Lambda: each connection its
    own, sync routes in uvicorn's thread pool. Yields the base URL, then stops the server."""
    with ServerThread(app) as server:
        yield server.url


class SilentEndpoint:
    """Listens on 127.0.0.1 and never accepts: the kernel completes each handshake into the backlog, the
    client sends its request and waits. connections() drains the backlog to count them."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepted: list[socket.socket] = []

    def connections(self) -> int:
        self._listener.setblocking(False)
        while True:
            try:
                self._accepted.append(self._listener.accept()[0])
            except BlockingIOError:
                return len(self._accepted)

    def close(self) -> None:
        """Closing resets what is still queued: a client still waiting (a failed test) gets an error."""
        for connection in self._accepted:
            connection.close()
        self._listener.close()
