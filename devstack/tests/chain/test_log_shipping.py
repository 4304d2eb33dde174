"""The function's lines shipped to CloudWatch Logs (lambdafn/logs.py): what is shipped where, and that a logs
service that is down or never answers costs log lines — counted and said — never requests. The first tests
use a recording stand-in for the logs client; the last run the real chain (RIE + Web Adapter + app) behind the
gateway, shipping through the runner's own client to a dead port (tests/e2e/test_function_logs.py ships to
MiniStack)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack import config
from devstack.apigw.gateway import Gateway
from devstack.environment import chain_variables, log_shipper
from devstack.lambdafn import logs
from devstack.lambdafn.logs import LogShipper
from devstack.local_function import ChainFactory, LocalFunction
from devstack.stack.model import local_stack
from devstack.supervision import LogCapture, ServerThread, free_port
from devstack.tools import LambdaTools

from .chain_helpers import FUNCTION, LOG_WAIT_S, OVERRIDES

GROUP = "/aws/lambda/chain-test-api"
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
REPORT = (
    "REPORT RequestId: 8f5ec5a0-7c3e-4e4f-9c55-1b1f3a0c2d11\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 1503.02 ms\t"
)


@dataclass
class RecordingLogs:
    """CloudWatch Logs as far as shipping needs it: it records the streams and events it gets."""

    streams: list[str] = field(default_factory=list)
    events: dict[str, list[str]] = field(default_factory=dict)
    put: threading.Event = field(default_factory=threading.Event)
    calls: list[int] = field(default_factory=list)
    """Each PutLogEvents call's size, as CloudWatch Logs counts it."""

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> object:
        assert logGroupName == GROUP
        self.streams.append(logStreamName)
        return {}

    def put_log_events(
        self, *, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]
    ) -> object:
        assert logGroupName == GROUP
        self.calls.append(sum(len(event["message"]) + logs.EVENT_OVERHEAD_BYTES for event in logEvents))
        self.events.setdefault(logStreamName, []).extend(event["message"] for event in logEvents)
        self.put.set()
        return {}


@dataclass
class StuckLogs(RecordingLogs):
    """A logs service that takes every call and never answers (until the test ends)."""

    release: threading.Event = field(default_factory=threading.Event)

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> object:
        self.release.wait()
        raise ConnectionError("never answered")


def _ship(shipper: LogShipper, lines: list[tuple[str, str]], printed: LogCapture) -> None:
    sink = shipper.tap(printed)
    for part, line in lines:
        sink(part, line)


def test_each_environment_gets_a_stream_named_as_lambda_names_it_and_only_the_functions_lines() -> None:
    client, printed = RecordingLogs(), LogCapture()
    with LogShipper(client, GROUP, where="the stand-in", sink=printed) as shipper:
        first = [
            ("rie", "INFO[0000] exec '/var/runtime/bootstrap' (cwd=/var/task, handler=)"),
            ("rie", "START RequestId: 8f5ec5a0-7c3e-4e4f-9c55-1b1f3a0c2d11 Version: $LATEST"),
            ("adapter", "INFO lambda_web_adapter: app is ready"),
            ("app", '{"message": "request", "request_id": "abc"}'),
            ("lambda", "unshare: the sandbox's own line"),
            ("rie", "END RequestId: 8f5ec5a0-7c3e-4e4f-9c55-1b1f3a0c2d11"),
            ("rie", REPORT),
        ]
        _ship(shipper, first, printed)
        _ship(shipper, [("app", "second environment")], printed)
    assert len(client.streams) == 2
    assert all(STREAM.match(name) for name in client.streams), client.streams
    assert client.events[client.streams[0]] == [
        line for _, line in first if not line.startswith(("INFO[", "unshare"))
    ]
    assert client.events[client.streams[1]] == ["second environment"]
    assert len(printed.lines) == len(first) + 1  # the terminal keeps every line
    assert shipper.lost == 0


def test_a_batch_too_large_for_one_call_goes_in_several_and_empty_lines_are_not_shipped() -> None:
    client = RecordingLogs()
    big = "x" * 200_000
    with LogShipper(client, GROUP, where="the stand-in", sink=LogCapture()) as shipper:
        _ship(shipper, [("app", big)] * 12 + [("app", "")], LogCapture())
    assert len(client.calls) >= 3
    assert max(client.calls) <= logs.MAX_BATCH_BYTES
    assert sum(len(messages) for messages in client.events.values()) == 12
    assert shipper.lost == 0


def test_lines_arriving_without_pause_go_in_about_one_call_a_second_all_of_them() -> None:
    """Each PutLogEvents costs CPU that requests under load need (boto3, ~2 ms): a stream that gets a line
    every 20 ms gets its lines in a call about once a second (SEND_EVERY_S), not every BATCH_WAIT_S, all."""
    client = RecordingLogs()
    began = time.monotonic()
    with LogShipper(client, GROUP, where="the stand-in", sink=LogCapture()) as shipper:
        sink = shipper.tap(LogCapture())
        for number in range(120):
            sink("app", f"request {number}")
            time.sleep(0.02)
    elapsed = time.monotonic() - began
    assert client.events[client.streams[0]] == [f"request {number}" for number in range(120)]
    # One call a second, plus the first one (a line after a quiet second goes at once) and the one at close.
    assert len(client.calls) <= elapsed / logs.SEND_EVERY_S + 2, (len(client.calls), elapsed)
    assert shipper.lost == 0


def test_log_format_json_makes_lambdas_system_lines_platform_events_and_leaves_the_apps_lines() -> None:
    client = RecordingLogs()
    with LogShipper(client, GROUP, log_format="JSON", where="the stand-in", sink=LogCapture()) as shipper:
        _ship(shipper, [("app", "plain line"), ("rie", REPORT)], LogCapture())
    (messages,) = client.events.values()
    assert messages[0] == "plain line"
    report = json.loads(messages[1])
    assert (report["type"], report["record"]["requestId"]) == (
        "platform.report",
        "8f5ec5a0-7c3e-4e4f-9c55-1b1f3a0c2d11",
    )
    assert report["record"]["metrics"] == {
        "durationMs": 12.34,
        "billedDurationMs": 13.0,
        "memorySizeMB": 512.0,
        "maxMemoryUsedMB": 80.0,
        "initDurationMs": 1503.02,
    }


def test_a_logs_service_that_never_answers_loses_counted_lines_and_never_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs, "CLOSE_WAIT_S", 0.5)
    lines = logs.MAX_BATCH + 2000
    client, printed = StuckLogs(), LogCapture()
    shipper = LogShipper(client, GROUP, where="the stand-in", sink=printed, max_queued=10)
    try:
        # More lines than a batch and the queue hold: a tap that waited for room would never return.
        _ship(shipper, [("app", f"line {n}") for n in range(lines)], printed)
    finally:
        shipper.close()
        client.release.set()  # the stuck call fails now: the lines it held are lost too
    deadline = time.monotonic() + LOG_WAIT_S
    while shipper.lost < lines and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shipper.lost == lines
    warnings = [line for line in printed.of("logs") if line.startswith("WARNING")]
    assert len(warnings) == 1, printed.of("logs")
    assert any("never reached the stand-in" in line for line in printed.of("logs"))


@pytest.fixture(params=["refuses", "never answers"])
def dead_logs_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """A logs endpoint that is down: nothing listens on its port, or it accepts and never answers."""
    if request.param == "refuses":
        yield f"http://127.0.0.1:{free_port()}"
        return
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(64)  # the kernel completes the handshakes; nobody reads or answers
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


def test_a_dead_logs_service_costs_no_request(artifact: Path, dead_logs_endpoint: str) -> None:
    printed = LogCapture()
    facts = config.load().isolated()
    shipper = log_shipper({"FunctionName": "chain-test-api"}, facts.aws, dead_logs_endpoint, printed)
    factory = ChainFactory(
        facts, artifact, chain_variables(facts, OVERRIDES), LambdaTools.pinned(), printed, shipper=shipper
    )
    function = LocalFunction(factory, local_stack(facts).function(FUNCTION), facts.max_environments)
    try:
        with (
            ServerThread(Gateway(function.environments)) as gateway,
            httpx.Client(base_url=gateway.url, timeout=60) as api,
        ):
            statuses = [api.get("/health").status_code for _ in range(5)]
    finally:
        function.environments.stop_all()
        shipper.close()
    assert statuses == [200] * 5
    assert shipper.lost > 0
    said = printed.of("logs")
    assert len([line for line in said if line.startswith("WARNING")]) == 1, said
    assert any(line.startswith(f"{shipper.lost} function log line(s) never reached") for line in said), said
