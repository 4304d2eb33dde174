"""Lambda's API for the function the local chain runs: `aws lambda invoke` (boto3's `invoke`) reaches an
execution environment of the same pool the gateway uses (its concurrency bound, its cold starts), and every
other call — another function, another qualifier, `get-function-configuration`, `list-functions` ... — goes on
to the AWS emulator unchanged, which records the deployed function but cannot run it.

Invoke answers as Lambda does (POST /2015-03-31/functions/{FunctionName}/invocations, the function named by
its name, its ARN or its partial ARN, with or without `:$LATEST`):
- RequestResponse: 200, the function's answer as the payload, X-Amz-Executed-Version, X-Amz-Function-Error:
  Unhandled when the function failed, and with LogType Tail X-Amz-Log-Result: the last 4 KB of this
  invocation's lines (RIE's START to REPORT, the adapter's and the app's), base64.
- Event: 202 at once; the invocation runs in the background (a failure is said in the output).
- DryRun: 204, nothing runs.
- AWS's errors, as botocore reads them (x-amzn-ErrorType): a payload over 6 MB is 413
  RequestEntityTooLargeException, a payload that is not JSON 400 InvalidRequestContentException, a throttle
  429 TooManyRequestsException. An invocation never outlives the function's Timeout plus the pool's grace.
A function the chain does not run is the emulator's to answer (ResourceNotFoundException when it has none).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from devstack.lambdafn.pool import (
    INVOCATION_GRACE_S,
    MAX_INVOKE_PAYLOAD_BYTES,
    EnvironmentPool,
    Invocation,
    NoEnvironmentError,
    ThrottledError,
)
from devstack.lambdafn.rie_client import is_error_document
from devstack.supervision import LogSink

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
LATEST = "$LATEST"
#: X-Amz-Log-Result carries the last 4 KB of the invocation's log.
TAIL_BYTES = 4096
#: RIE writes REPORT before it answers; its line reaches the sink through a reader thread, soon after.
REPORT_WAIT_S = 2.0
#: Headers that belong to one hop, not to the request or answer passed on.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"})
_START = re.compile(r"^START RequestId: (\S+)")
_END_OR_REPORT = re.compile(r"^(END|REPORT) RequestId: ")


@dataclass(frozen=True)
class FunctionNames:
    """The deployed function the chain runs, as Lambda's API may name it."""

    name: str
    """Its physical name (FunctionName), e.g. fastapi-backend-local-api."""
    region: str
    account: str

    @classmethod
    def of_arn(cls, arn: str) -> FunctionNames:
        """From the function's ARN, as the AWS emulator reports it (its account: MiniStack's is all zeros)."""
        parts = arn.split(":")
        if len(parts) != 7 or parts[:3] != ["arn", "aws", "lambda"] or parts[5] != "function":
            raise ValueError(f"not an unqualified Lambda function ARN: {arn}")
        return cls(name=parts[6], region=parts[3], account=parts[4])

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    def names(self, function_name: str, qualifier: str | None) -> bool:
        """Whether `function_name` (a name, an ARN or a partial ARN, maybe ending in `:qualifier`) with the
        Qualifier parameter is this function's $LATEST, the only version the chain runs."""
        parts = function_name.split(":")
        region = account = None
        if parts[0] == "arn" and len(parts) in (7, 8) and parts[2] == "lambda" and parts[5] == "function":
            region, account, parts = parts[3], parts[4], parts[6:]
        elif len(parts) in (3, 4) and parts[1] == "function":
            account, parts = parts[0], parts[2:]
        if len(parts) > 2:
            return False
        name, embedded = parts[0], (parts[1] if len(parts) == 2 else None)
        if embedded is not None and qualifier is not None and embedded != qualifier:
            return False  # Lambda refuses the mismatch: the emulator says so
        return (
            name == self.name
            and region in (None, self.region)
            and account in (None, self.account)
            and (embedded or qualifier or LATEST) == LATEST
        )


@dataclass
class _Capture:
    lines: deque[str] = field(default_factory=deque)
    size: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line.encode()) + 1
        while self.size - len(self.lines[0].encode()) - 1 >= TAIL_BYTES:  # older lines cannot be in the tail
            self.size -= len(self.lines.popleft().encode()) + 1


class InvocationLogs:
    """Each asked-for invocation's lines, from RIE's START to its REPORT, as the environment that ran it
    printed them: what LogType Tail returns. Tap every environment's output with `sink(number, ...)`; only the
    invocations someone `expect`s are kept, the last 4 KB of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: dict[str, _Capture] = {}
        self._running: dict[int, _Capture | None] = {}
        """Per environment: the capture of the invocation it runs, when one was expected."""

    def sink(self, number: int, downstream: LogSink) -> LogSink:
        """Environment `number`'s output: passed on to `downstream`, and kept for an expected invocation."""

        def tap(part: str, line: str) -> None:
            downstream(part, line)
            self._see(number, part, line)

        return tap

    def _see(self, number: int, part: str, line: str) -> None:
        with self._lock:
            if started := _START.match(line):
                self._running[number] = self._expected.get(started.group(1))
            capture = self._running.get(number)
            if capture is None or (part == "rie" and not (started or _END_OR_REPORT.match(line))):
                return  # RIE's own diagnostics are not the function's log
            capture.add(line)
            if line.startswith("REPORT RequestId: "):
                capture.done.set()
                self._running[number] = None

    def expect(self, request_id: str) -> None:
        with self._lock:
            self._expected[request_id] = _Capture()

    async def tail(self, request_id: str) -> bytes:
        """The last 4 KB of `request_id`'s lines (waiting a moment for its REPORT line), and forgets them."""
        with self._lock:
            capture = self._expected[request_id]
        await asyncio.to_thread(capture.done.wait, REPORT_WAIT_S)
        with self._lock:
            self._expected.pop(request_id, None)
            text = "".join(f"{line}\n" for line in capture.lines)
        return text.encode()[-TAIL_BYTES:]

    def forget(self, request_id: str) -> None:
        with self._lock:
            self._expected.pop(request_id, None)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


def aws_error(status: int, error_type: str, message: str) -> _Answer:
    """An error as Lambda's API sends it: botocore reads the type from x-amzn-ErrorType."""
    body = json.dumps({"Type": "User", "Message": message}).encode()
    return _Answer(status, [("content-type", "application/json"), ("x-amzn-errortype", error_type)], body)


def function_answer(invocation: Invocation) -> tuple[bytes, bool]:
    """The payload Lambda returns for what RIE answered, and whether it is a function error (Lambda's
    X-Amz-Function-Error: Unhandled). RIE drops the runtime's error header: its error document is one too."""
    body, status = invocation.body, invocation.status
    if status != 200:  # RIE could not run the invocation (init failed, the runtime crashed)
        document = {"errorType": "Runtime.Unknown", "errorMessage": f"RIE answered HTTP {status}"}
        return body.strip() or json.dumps(document).encode(), True
    try:
        error = invocation.function_error or is_error_document(json.loads(body))
    except ValueError:
        error = False
    return body, error


class LambdaApi:
    """The ASGI app serving Lambda's API for `function` on `pool`, and proxying the rest to `emulator_url`.

    The pool lives on the gateway's event loop; this app has a loop of its own (its own ServerThread), so it
    invokes through `EnvironmentPool.invoke_from_another_loop`."""

    def __init__(
        self,
        pool: EnvironmentPool,
        function: FunctionNames,
        emulator_url: str,
        *,
        logs: InvocationLogs,
        sink: LogSink,
    ) -> None:
        self.pool = pool
        self.function = function
        self.emulator_url = emulator_url.rstrip("/")
        self.logs = logs
        self.sink = sink
        self.timeout_s = pool.function_timeout_s + INVOCATION_GRACE_S
        # The emulator may take as long as a function: the proxy waits as long as an invocation.
        self._client = httpx.AsyncClient(timeout=self.timeout_s)
        self._background: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            try:
                answer = await self._answer(scope, receive)
            except _ClientGone:
                return
            headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
            headers.append((b"content-length", str(len(answer.body)).encode()))
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            await send({"type": "http.response.body", "body": answer.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in list(self._background):
                    task.cancel()
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: Scope, receive: Receive) -> _Answer:
        invoke = INVOKE.match(scope["path"]) if scope["method"] == "POST" else None
        qualifier = parse_qs(scope["query_string"].decode("latin-1")).get("Qualifier", [None])[0]
        if invoke is None or not self.function.names(invoke.group("name"), qualifier):
            return await self._proxy(scope, receive)
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        payload = await _read_body(receive, MAX_INVOKE_PAYLOAD_BYTES)
        if payload is None:
            return aws_error(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_INVOKE_PAYLOAD_BYTES} bytes for the InvokeFunction "
                "operation",
            )
        payload = payload or b"{}"  # no payload: the function gets {}, as from Lambda
        try:
            json.loads(payload)
        except ValueError as error:
            return aws_error(
                400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            )
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return _Answer(204, [])
        request_id = str(uuid.uuid4())
        if invocation_type == "Event":
            self._in_background(payload, request_id)
            return _Answer(202, [("x-amzn-requestid", request_id)])
        if invocation_type != "RequestResponse":
            return aws_error(
                400,
                "InvalidParameterValueException",
                f"InvocationType {invocation_type!r} is not one of RequestResponse, Event, DryRun",
            )
        return await self._run(payload, request_id, tail=headers.get("x-amz-log-type") == "Tail")

    async def _run(self, payload: bytes, request_id: str, *, tail: bool) -> _Answer:
        if tail:
            self.logs.expect(request_id)
        try:
            invocation = await self.pool.invoke_from_another_loop(
                payload, timeout_s=self.timeout_s, request_id=request_id
            )
        except ThrottledError:
            self.logs.forget(request_id)
            return aws_error(429, "TooManyRequestsException", "Rate Exceeded.")
        except NoEnvironmentError as error:
            self.logs.forget(request_id)
            self.sink("lambda api", f"{request_id}: {error}")
            return aws_error(500, "ServiceException", f"The function could not be invoked: {error}")
        body, failed = function_answer(invocation)
        headers = [
            ("content-type", "application/json"),
            ("x-amzn-requestid", request_id),
            ("x-amz-executed-version", LATEST),
        ]
        if failed:
            headers.append(("x-amz-function-error", "Unhandled"))
        if tail:
            headers.append(("x-amz-log-result", base64.b64encode(await self.logs.tail(request_id)).decode()))
        return _Answer(200, headers, body)

    def _in_background(self, payload: bytes, request_id: str) -> None:
        async def run() -> None:
            try:
                invocation = await self.pool.invoke_from_another_loop(
                    payload, timeout_s=self.timeout_s, request_id=request_id
                )
            except (ThrottledError, NoEnvironmentError) as error:
                self.sink("lambda api", f"Event {request_id}: not run: {error or 'throttled'}")
                return
            body, failed = function_answer(invocation)
            if failed:
                self.sink("lambda api", f"Event {request_id}: the function failed: {body[:300]!r}")

        task = asyncio.ensure_future(run())
        self._background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)

    async def _proxy(self, scope: Scope, receive: Receive) -> _Answer:
        """The request as it came (its Host header too: a SigV4 signature covers it), to the emulator."""
        body = await _read_body(receive) or b""
        target = self.emulator_url + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        request = self._client.build_request(scope["method"], target, headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            return aws_error(502, "ServiceException", f"The AWS emulator at {self.emulator_url}: {error!r}")
        kept = [(name, value) for name, value in response.headers.items() if name.lower() not in _HOP_BY_HOP]
        return _Answer(response.status_code, kept, content)


class _ClientGone(Exception):
    """The client left before its request was whole: nothing runs, nobody is answered."""


async def _read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The request's body; None when it is over `limit` (read to its end, so the client gets the answer)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is None or size <= limit:
            chunks.append(chunk)
        else:
            chunks.clear()
        if not message.get("more_body", False):
            return None if limit is not None and size > limit else b"".join(chunks)
