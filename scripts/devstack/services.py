"""The two emulators as context managers: MiniStack (AWS) and the Firebase Auth emulator."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from devstack.paths import FIREBASE_CLI, tool
from devstack.procs import (
    LogSink,
    ManagedProcess,
    StartupError,
    http_ok,
    print_sink,
    require_free_port,
    running,
)

MINISTACK_READY_S = 20.0
# The emulator compiles its schemas at start: 13-18 s of CPU on 2 cores, more when the machine is busy.
FIREBASE_READY_S = 90.0


@contextmanager
def ministack(
    port: int = 4566, *, state_dir: Path | None = None, sink: LogSink = print_sink
) -> Iterator[str]:
    """MiniStack on 127.0.0.1:`port`; yields its endpoint URL. With `state_dir`, state survives restarts."""
    require_free_port("ministack", port, "MINISTACK_PORT")
    with ExitStack() as cleanup:
        if state_dir is None:
            # Its S3 keeps object bytes on disk even without persistence: each run gets its own folder.
            state_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ministack-")))
            persist = "0"
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            persist = "1"
        env = {
            **os.environ,
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "PERSIST_STATE": persist,
            "STATE_DIR": str(state_dir / "state"),
            "S3_PERSIST": persist,
            "S3_DATA_DIR": str(state_dir / "s3"),
        }
        process = cleanup.enter_context(
            running(ManagedProcess("ministack", [tool("ministack")], env=env, sink=sink))
        )
        endpoint = f"http://127.0.0.1:{port}"
        process.wait_ready(
            lambda: http_ok(f"{endpoint}/_ministack/health"),
            deadline_s=MINISTACK_READY_S,
            what="healthy",
            fix="Reinstall it with `make install`.",
        )
        yield endpoint


@contextmanager
def firebase_auth(
    port: int = 9099,
    project_id: str = "demo-fastapi-lambda",
    *,
    data_dir: Path | None = None,
    sink: LogSink = print_sink,
) -> Iterator[str]:
    """The real Firebase Auth emulator; yields host:port (the FIREBASE_AUTH_EMULATOR_HOST value).

    With `data_dir`, users are imported at start and exported on exit, so they survive restarts.
    """
    if not project_id.startswith("demo-"):
        raise StartupError(f"firebase: project id {project_id!r} must start with 'demo-' (emulator-only).")
    if not FIREBASE_CLI.exists():
        raise StartupError("firebase: firebase-tools is not installed. Run `make install`.")
    require_free_port("firebase", port, "FIREBASE_AUTH_PORT")
    with tempfile.TemporaryDirectory(prefix="firebase-emulator-") as config_dir:
        config = Path(config_dir) / "firebase.json"
        # Same settings as firebase-emulator/firebase.json, with the port of this run.
        config.write_text(
            json.dumps(
                {
                    "emulators": {
                        "auth": {"host": "127.0.0.1", "port": port},
                        "ui": {"enabled": False},
                        "singleProjectMode": True,
                    }
                }
            )
        )
        argv = [str(FIREBASE_CLI), "emulators:start", "--only", "auth", "--project", project_id]
        argv += ["--config", str(config)]
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            argv += ["--import", str(data_dir), "--export-on-exit", str(data_dir)]
        env = {**os.environ, "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true", "CI": "true"}
        process = ManagedProcess("firebase", argv, env=env, cwd=Path(config_dir), sink=sink)
        host = f"127.0.0.1:{port}"
        with running(process):
            process.wait_ready(
                lambda: http_ok(f"http://{host}/"),
                deadline_s=FIREBASE_READY_S,
                what="serving",
                fix="Check Node 20+ is installed, then `make install`.",
            )
            yield host
