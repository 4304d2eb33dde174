"""The gateway's line to one execution environment's RIE: a keep-alive HTTP/1.1 connection, used by one
invocation at a time (an environment runs one at a time; the pool holds it meanwhile), parsed with h11.

httpx's connection pool cost 0.65 ms a request here, a third of the gateway's own share of the chain's
overhead over calling the app directly (make bench, latency); one connection per environment costs ~0.1 ms.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

READ_SIZE = 64 * 1024
REQUEST_ID_HEADER = "x-amzn-requestid"
"""The invocation's request id, as Lambda's frontend hands it to RIE."""


class RieError(Exception):
    """RIE could not be reached, closed the connection, or did not answer within the hold limit."""


@dataclass(frozen=True)
class RieAnswer:
    status: int
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    @property
    def function_error(self) -> bool:
        """Lambda's X-Amz-Function-Error: the function failed (Unhandled) or its runtime did. RIE drops that
        header and answers 200 with the runtime's error document: see `is_error_document`."""
        return "x-amz-function-error" in self.headers

    @property
    def answered_ok(self) -> bool:
        """The function ran and answered HTTP 200 (a payload-2.0 answer with statusCode 200)."""
        if self.status != 200 or self.function_error:
            return False
        try:
            answer = json.loads(self.body)
        except ValueError:
            return False
        return isinstance(answer, dict) and answer.get("statusCode") == 200


def is_error_document(payload: Any) -> bool:
    """A runtime's error document (what it posts to the Runtime API's /error: `{"errorType": ...,
    "errorMessage": ...}`), which Lambda marks X-Amz-Function-Error: Unhandled; never an HTTP answer."""
    return (
        isinstance(payload, dict)
        and "statusCode" not in payload
        and {"errorType", "errorMessage"} <= set(payload)
    )


class RieConnection:
    """POSTs invocations to `invoke_url`, one at a time, on a connection kept open between them."""

    def __init__(self, invoke_url: str, *, connect_timeout_s: float, hold_limit_s: float) -> None:
        url = urlsplit(invoke_url)
        if url.scheme != "http" or url.hostname is None or url.port is None:
            raise ValueError(f"not an http://host:port/... URL: {invoke_url}")
        self.host, self.port, self.netloc = url.hostname, url.port, url.netloc
        self.target = url.path + (f"?{url.query}" if url.query else "")
        self.connect_timeout_s = connect_timeout_s
        self.hold_limit_s = hold_limit_s
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection] | None = None

    async def post(self, payload: bytes, *, request_id: str | None = None) -> RieAnswer:
        """One invocation, under `request_id` when given (RIE's START/END/REPORT lines name it; else RIE
        makes one up). Any failure closes the connection (the next invocation opens a new one): a half-read
        answer must never be taken for the next one's."""
        try:
            return await asyncio.wait_for(self._exchange(payload, request_id), self.hold_limit_s)
        except TimeoutError as exc:
            self.close()
            raise RieError(f"RIE at {self.netloc} did not answer within {self.hold_limit_s:.0f} s") from exc
        except (OSError, h11.ProtocolError, RieError) as exc:
            self.close()
            raise RieError(f"RIE at {self.netloc}: {exc!r}") from exc
        except BaseException:  # cancelled mid-exchange: the connection's state is unknown
            self.close()
            raise

    async def _exchange(self, payload: bytes, request_id: str | None) -> RieAnswer:
        reader, writer, connection = await self._connected()
        request_headers = [("host", self.netloc), ("content-length", str(len(payload)))]
        if request_id is not None:
            request_headers.append((REQUEST_ID_HEADER, request_id))
        request = h11.Request(method="POST", target=self.target, headers=request_headers)
        sent = [connection.send(event) for event in (request, h11.Data(data=payload), h11.EndOfMessage())]
        writer.write(b"".join(filter(None, sent)))
        await writer.drain()
        status, headers, body = 0, dict[str, str](), bytearray()
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(READ_SIZE))  # b"": the peer closed
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise RieError("closed the connection before answering")
        if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
            connection.start_next_cycle()
        else:  # the answer said `Connection: close`
            self.close()
        return RieAnswer(status, headers, bytes(body))

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]:
        if self._streams is not None and self._streams[0].at_eof():
            self.close()  # RIE closed it while idle
        if self._streams is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.connect_timeout_s
                )
            except TimeoutError as exc:
                raise RieError(f"no connection within {self.connect_timeout_s:.0f} s") from exc
            self._streams = (reader, writer, h11.Connection(h11.CLIENT))
        return self._streams

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
