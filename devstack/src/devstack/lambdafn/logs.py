"""The function's lines shipped to CloudWatch Logs, as Lambda ships them: RIE's START/END/REPORT, the
adapter's and the app's lines, into the function's log group, one stream per execution environment named as
Lambda names it (`YYYY/MM/DD/[$LATEST]<32 hex>`).

Shipping never blocks nor slows an invocation: a tap only puts the line on a bounded queue, and one
background thread sends batches with PutLogEvents. When the queue is full or the logs service is down or slow,
lines are lost — counted, said once when it starts and again at `close` — never requests.

LogFormat Text ships every line as printed. LogFormat JSON turns Lambda's system lines into its JSON platform
events; the app's lines stay as printed, as on Lambda for a function run by its own bootstrap (run.sh): only a
managed runtime's logging library writes JSON application logs, and Lambda never wraps a line twice.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from devstack.supervision import LogSink

#: Lines waiting to be sent; past it new lines are dropped (counted).
MAX_QUEUED = 10_000
#: Events per PutLogEvents call (CloudWatch Logs takes 10,000).
MAX_BATCH = 1_000
#: A call's bytes: CloudWatch Logs takes 1,048,576, counting each event's message plus 26 bytes.
MAX_BATCH_BYTES = 1_000_000
EVENT_OVERHEAD_BYTES = 26
#: How long a line may wait for others to join its batch.
BATCH_WAIT_S = 0.2
#: Under load, batches go at most this often: each PutLogEvents costs ~2 ms of CPU in boto3, which 8 clients
#: on 2 cores paid 5 times a second per environment (0.3-0.5 ms a request; make bench, latency). A line
#: printed after a quiet second still goes within BATCH_WAIT_S; CloudWatch Logs shows lines seconds after.
SEND_EVERY_S = 1.0
#: How long `close` lets the thread send what is queued.
CLOSE_WAIT_S = 5.0
_SYSTEM = re.compile(r"^(?P<kind>START|END|REPORT) RequestId: (?P<id>\S+)")
_METRIC = re.compile(r"^(?P<name>[A-Za-z ]+): (?P<value>[\d.]+) (?:ms|MB)$")
_METRIC_NAMES = {
    "Duration": "durationMs",
    "Billed Duration": "billedDurationMs",
    "Memory Size": "memorySizeMB",
    "Max Memory Used": "maxMemoryUsedMB",
    "Init Duration": "initDurationMs",
}
_PLATFORM_TYPES = {"START": "platform.start", "END": "platform.runtimeDone", "REPORT": "platform.report"}


class LogsClient(Protocol):
    """The two CloudWatch Logs calls shipping needs (boto3's `logs` client has them)."""

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> object: ...

    def put_log_events(
        self, *, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]
    ) -> object: ...


def stream_name(now: datetime, version: str = "$LATEST") -> str:
    """An execution environment's stream, as Lambda names it."""
    return f"{now:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def is_function_line(part: str, line: str) -> bool:
    """What Lambda writes to the function's log: the adapter's and the app's lines and RIE's START/END/REPORT,
    not RIE's own diagnostics nor the local sandbox's (unshare, mount)."""
    return part in ("app", "adapter") or (part == "rie" and _SYSTEM.match(line) is not None)


def as_json(line: str, timestamp_ms: int) -> str:
    """A line as LogFormat JSON writes it: a system line as Lambda's platform event, any other as it is."""
    system = _SYSTEM.match(line)
    if system is None:
        return line
    kind, request_id = system.group("kind"), system.group("id")
    record: dict[str, Any] = {"requestId": request_id}
    if kind == "START":
        record["version"] = "$LATEST"
    else:
        record["status"] = "success"
    if kind == "REPORT":
        fields = (_METRIC.match(field.strip()) for field in line.split("\t")[1:])
        record["metrics"] = {
            _METRIC_NAMES[found.group("name")]: float(found.group("value"))
            for found in fields
            if found and found.group("name") in _METRIC_NAMES
        }
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return json.dumps({"time": when.replace("+00:00", "Z"), "type": _PLATFORM_TYPES[kind], "record": record})


@dataclass(frozen=True)
class _Line:
    stream: str
    timestamp_ms: int
    message: str


class LogShipper:
    """Ships the lines of every tapped execution environment to `group`, through `client`, in the background.

    `where` names the logs service in what is said about lost lines; `sink` is where that is said."""

    def __init__(
        self,
        client: LogsClient,
        group: str,
        *,
        log_format: str = "Text",
        where: str,
        sink: LogSink,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.client = client
        self.group = group
        self.json = log_format == "JSON"
        self.where = where
        self.sink = sink
        self._queue: queue.Queue[_Line] = queue.Queue(maxsize=max_queued)
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._lost = 0
        self._created: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="log shipper", daemon=True)
        self._thread.start()

    @property
    def lost(self) -> int:
        """Lines that never reached the logs service."""
        with self._lock:
            return self._lost

    def tap(self, downstream: LogSink) -> LogSink:
        """A new execution environment's output: passed on to `downstream`, and its function lines queued for
        a stream of its own."""
        stream = stream_name(datetime.now(UTC))

        def tap(part: str, line: str) -> None:
            downstream(part, line)
            if line and is_function_line(part, line):  # CloudWatch Logs refuses an empty message
                try:
                    self._queue.put_nowait(_Line(stream, int(time.time() * 1000), line))
                except queue.Full:
                    self._lose(1, "the queue is full")

        return tap

    def close(self) -> None:
        """Send what is queued (for a moment at most), stop, and say how many lines were lost."""
        self._closing.set()
        self._thread.join(CLOSE_WAIT_S)
        # A thread still stuck on a dead logs service is a daemon: it goes with the process. What it has not
        # taken from the queue is lost now.
        unsent = 0
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
                unsent += 1
        if unsent:
            self._lose(unsent, "stopped before they were sent")
        if lost := self.lost:
            self.sink(
                "logs", f"{lost} function log line(s) never reached {self.where} (log group {self.group})"
            )

    def __enter__(self) -> LogShipper:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        sent = -SEND_EVERY_S
        while not (self._closing.is_set() and self._queue.empty()):
            batch: list[_Line] = []
            deadline = max(time.monotonic() + BATCH_WAIT_S, sent + SEND_EVERY_S)
            while len(batch) < MAX_BATCH:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._closing.is_set() and self._queue.empty()):
                    break  # closing: what is queued goes now
                try:  # in slices of BATCH_WAIT_S, so that closing is seen as soon as before
                    batch.append(self._queue.get(timeout=min(remaining, BATCH_WAIT_S)))
                except queue.Empty:
                    continue
            if batch:
                self._send(batch)
                sent = time.monotonic()

    def _send(self, batch: list[_Line]) -> None:
        by_stream: dict[str, list[_Line]] = {}
        for line in batch:
            by_stream.setdefault(line.stream, []).append(line)
        for stream, lines in by_stream.items():
            events = [
                {
                    "timestamp": line.timestamp_ms,
                    "message": as_json(line.message, line.timestamp_ms) if self.json else line.message,
                }
                for line in lines
            ]
            for chunk in _within_call_size(events):
                try:
                    if stream not in self._created:
                        self._create(stream)
                    self.client.put_log_events(logGroupName=self.group, logStreamName=stream, logEvents=chunk)
                except Exception as error:  # any failure of the logs service loses these lines, nothing else
                    self._lose(len(chunk), repr(error))

    def _create(self, stream: str) -> None:
        try:
            self.client.create_log_stream(logGroupName=self.group, logStreamName=stream)
        except Exception as error:
            if "ResourceAlreadyExists" not in repr(error):
                raise
        self._created.add(stream)

    def _lose(self, count: int, why: str) -> None:
        with self._lock:
            first = self._lost == 0
            self._lost += count
        if first:
            self.sink(
                "logs",
                f"WARNING: function log lines are not reaching {self.where} ({why}); requests are "
                "unaffected. Lost lines are counted and reported at stop.",
            )


def _within_call_size(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """`events` in order, in chunks that one PutLogEvents call takes."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if chunk and size + event_size > MAX_BATCH_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(event)
        size += event_size
    if chunk:
        yield chunk
