"""A Debug Adapter Protocol client over TCP, as an editor is one (VS Code attaching to debugpy): the messages
of the protocol's base (Content-Length framing, JSON), requests answered by `seq`, events queued in order.
Enough for the debugging tests: attach, breakpoints, stopped, stack, evaluate, continue; attached as
VS Code's configurations in .vscode/launch.json attach."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from devstack.emulators.firebase_accounts import AuthUser
from devstack.paths import REPO_ROOT

CONNECT_S = 60.0
"""A debugger port answers once the app's interpreter has started: a cold start, on a busy machine."""
ANSWER_S = 60.0
NOTES_HANDLER = Path("backend/api/routes/notes.py")
"""GET /notes's handler, and the line of it the tests stop at (the caller is a local variable there)."""
NOTES_BREAKPOINT = "page = services.notes.list(caller, limit, cursor)"
LAUNCH_JSON = REPO_ROOT / ".vscode" / "launch.json"
NATIVE = "Attach to the local Lambda"
COMPOSE = "Attach to the local Lambda (compose)"


class DapError(AssertionError):
    pass


class DapClient:
    def __init__(self, host: str, port: int) -> None:
        self._socket = _connect(host, port)
        self._file = self._socket.makefile("rb")
        self._seq = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="dap-reader", daemon=True)
        self._reader.start()

    # -- the protocol ------------------------------------------------------------------------------
    def send(self, command: str, **arguments: Any) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._responses[seq] = queue.Queue()
            body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments})
            data = body.encode()
            self._socket.sendall(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        return seq

    def response(self, seq: int, timeout_s: float = ANSWER_S) -> dict[str, Any]:
        try:
            answer = self._responses[seq].get(timeout=timeout_s)
        except queue.Empty:
            raise DapError(f"no answer to request {seq} within {timeout_s:.0f}s") from None
        if not answer.get("success"):
            raise DapError(f"{answer.get('command')} failed: {answer.get('message')} {answer.get('body')}")
        body: dict[str, Any] = answer.get("body") or {}
        return body

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        return self.response(self.send(command, **arguments))

    def event(self, name: str, timeout_s: float = ANSWER_S) -> dict[str, Any]:
        """The next event called `name` (others before it are passed over)."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self.events.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise DapError(f"no {name!r} event within {timeout_s:.0f}s") from None
            if message.get("event") == name:
                body: dict[str, Any] = message.get("body") or {}
                return body

    # -- what an editor does -----------------------------------------------------------------------
    def attach(self, path_mappings: list[dict[str, str]], breakpoints: dict[Path, list[int]]) -> DapClient:
        """initialize, attach (justMyCode on, as VS Code's default), setBreakpoints, configurationDone;
        fails unless every breakpoint is verified."""
        self.request("initialize", clientID="devstack-tests", adapterID="debugpy", pathFormat="path")
        attach = self.send("attach", justMyCode=True, pathMappings=path_mappings)
        self.event("initialized")
        for source, lines in breakpoints.items():
            body = self.request(
                "setBreakpoints",
                source={"path": str(source)},
                breakpoints=[{"line": line} for line in lines],
            )
            unverified = [point for point in body["breakpoints"] if not point.get("verified")]
            if unverified:
                raise DapError(f"breakpoints not verified in {source}: {unverified}")
        self.request("configurationDone")
        self.response(attach)
        return self

    def top_frame(self, thread_id: int) -> dict[str, Any]:
        frames: list[dict[str, Any]] = self.request("stackTrace", threadId=thread_id, levels=1)["stackFrames"]
        return frames[0]

    def evaluate(self, expression: str, frame_id: int) -> str:
        result: str = self.request("evaluate", expression=expression, frameId=frame_id, context="watch")[
            "result"
        ]
        return result

    def close(self) -> None:
        with contextlib.suppress(DapError, OSError):  # the debuggee may be gone already
            self.request("disconnect", terminateDebuggee=False)
        self._socket.close()

    def _read(self) -> None:
        try:
            while True:
                length = 0
                while (line := self._file.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if not line:
                    return  # closed
                message: dict[str, Any] = json.loads(self._file.read(length))
                if message["type"] == "response":
                    self._responses[message["request_seq"]].put(message)
                elif message["type"] == "event":
                    self.events.put(message)
        except (OSError, ValueError):
            return


def _connect(host: str, port: int) -> socket.socket:
    deadline = time.monotonic() + CONNECT_S
    while True:
        try:
            connection = socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise DapError(f"no debugger answers at {host}:{port} within {CONNECT_S:.0f}s") from None
            time.sleep(0.2)
            continue
        connection.settimeout(None)  # a paused debuggee says nothing for as long as it likes
        return connection


def path_mappings(configuration: str, *, sources: Path) -> list[dict[str, str]]:
    """The pathMappings of launch.json's `configuration` as VS Code sends them: ${workspaceFolder} is the
    checkout where the chain runs in a remote root, and `sources` (the editor's open copy) in a local one."""
    text = "\n".join(
        line for line in LAUNCH_JSON.read_text().splitlines() if not line.strip().startswith("//")
    )
    (found,) = [c for c in json.loads(text)["configurations"] if c["name"] == configuration]
    return [
        {
            "localRoot": mapping["localRoot"].replace("${workspaceFolder}", str(sources)),
            "remoteRoot": mapping["remoteRoot"].replace("${workspaceFolder}", str(REPO_ROOT)),
        }
        for mapping in found["pathMappings"]
    ]


def get_notes_paused(
    client: DapClient, api: str, user: AuthUser, source: Path, line: int, *, pause_s: float = 0.0
) -> None:
    """GET /notes through the gateway with `user`'s token stops at the breakpoint at `source`:`line` (the
    frame says so, in the editor's paths), where the caller's uid is the token's; paused `pause_s`, then
    continued, the request completes with 200."""
    headers = {"Authorization": f"Bearer {user.id_token}"}
    with ThreadPoolExecutor(max_workers=1) as background:
        request = background.submit(httpx.get, f"{api}/notes", headers=headers, timeout=pause_s + 120)
        stopped = client.event("stopped")
        assert stopped["reason"] == "breakpoint", stopped
        frame = client.top_frame(stopped["threadId"])
        assert (Path(frame["source"]["path"]), frame["line"]) == (source, line)
        assert client.evaluate("caller.uid", frame["id"]) == repr(user.uid)
        time.sleep(pause_s)
        assert not request.done(), "the request completed while paused"
        client.request("continue", threadId=stopped["threadId"])
        assert request.result().status_code == 200


def line_of(source: Path, text: str) -> int:
    return next(n for n, line in enumerate(source.read_text().splitlines(), start=1) if text in line)
