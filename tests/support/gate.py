"""An ASGI wrapper that lets requests into the app together, so a concurrency test's requests are in flight
at once by construction, not by luck of thread scheduling."""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class Gate:
    """Once armed for `count` requests of a method, holds each at the app's door until all `count` are
    there, then lets them all in. Other requests pass freely. If they do not all come within timeout_s,
    it opens anyway and records it in `timed_out` (the test then fails on it rather than hanging)."""

    def __init__(self, app: ASGIApp, timeout_s: float = 30) -> None:
        self._app = app
        self._method = ""
        self._timeout_s = timeout_s
        self._expected = 0
        self._arrived = 0
        self._all_in = asyncio.Event()
        self.timed_out = False

    def arm(self, method: str, count: int) -> None:
        """Before the requests are sent: the next `count` requests of `method` wait for each other."""
        self._method, self._expected, self._arrived = method, count, 0
        self._all_in = asyncio.Event()  # bound to the server's loop when first awaited there

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == self._method and self._arrived < self._expected:
            self._arrived += 1  # only the server's event loop thread counts: no lock needed
            if self._arrived == self._expected:
                self._all_in.set()
            else:
                try:
                    await asyncio.wait_for(self._all_in.wait(), self._timeout_s)
                except TimeoutError:
                    self.timed_out = True
        await self._app(scope, receive, send)
