"""The real Firebase Auth emulator (firebase-tools, locked in firebase-emulator/), configured by
firebase-emulator/firebase.json and .firebaserc: the same files the compose service is built from."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from devstack import config, paths
from devstack.supervision import (
    LogSink,
    ManagedProcess,
    Parts,
    StartupError,
    free_port,
    http_ok,
    print_sink,
    require_free_port,
    running,
)

CLI = paths.FIREBASE_DIR / "node_modules" / "firebase-tools" / "lib" / "bin" / "firebase.js"
FAST_START = paths.FIREBASE_DIR / "fast-start.cjs"
"""Preloaded into the CLI: the same emulator, its validators compiled at first use (the file says why)."""
# ~2 s of CPU with FAST_START (12 s without), far more when the machine is busy.
READY_S = 90.0


def require_demo_project(firebase: config.FirebaseEmulator) -> None:
    if not firebase.project_id.startswith("demo-"):
        raise StartupError(
            f"firebase: project id {firebase.project_id!r} (firebase-emulator/.firebaserc) must start with "
            "'demo-': only a demo project keeps the emulator away from a real Firebase project."
        )


def emulator_command(
    firebase: config.FirebaseEmulator,
    port: int,
    config_dir: Path,
    data_dir: Path | None,
    stack_ports: Collection[int] = (),
    *,
    fast_start: bool = True,
) -> list[str]:
    """Writes firebase.json (the project's, on `port`) into `config_dir`; returns the command that runs it.

    With `data_dir`, users are imported at start and exported on exit, so they survive restarts. Without
    `fast_start`, firebase-tools runs as it ships (the bench's baseline).
    """
    require_demo_project(firebase)
    written = firebase.settings_on_port(port)
    # The emulator's own hub and logging ports default to 4400/4500, probed then bound: two emulators
    # starting together (make dev beside a test run) can pick the same one, and the loser dies after
    # reporting ready. Free ports of the OS's choosing never collide, unless the OS hands out again one the
    # stack chose but has not bound yet (the gateway's, seen in CI): `stack_ports` are not taken.
    # firebase.json's own choice wins.
    for service in ("hub", "logging"):
        written["emulators"].setdefault(service, {"host": "127.0.0.1", "port": free_port(avoid=stack_ports)})
    settings = config_dir / "firebase.json"
    settings.write_text(json.dumps(written, indent=2))
    argv = ["node", *(["--require", str(FAST_START)] if fast_start else []), str(CLI)]
    argv += ["emulators:start", "--only", "auth", "--project", firebase.project_id]
    argv += ["--config", str(settings)]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--import", str(data_dir), "--export-on-exit", str(data_dir)]
    return argv


class Booting(NamedTuple):
    host: str
    """host:port, the FIREBASE_AUTH_EMULATOR_HOST value (known before the emulator serves)."""
    wait_ready: Callable[[], None]
    """Returns once the emulator serves; raises StartupError, with its last lines, when it does not."""


@contextmanager
def firebase_auth_booting(
    firebase: config.FirebaseEmulator,
    port: int,
    *,
    data_dir: Path | None = None,
    sink: LogSink = print_sink,
    parts: Parts | None = None,
    stack_ports: Collection[int] = (),
    fast_start: bool = True,
) -> Iterator[Booting]:
    """The emulator on 127.0.0.1:`port`, started but not waited for: its boot (the longest of the local
    environment's, CPU-bound) overlaps whatever the caller starts before `wait_ready()`. Its process joins
    `parts`, when given; its own ports are none of `stack_ports` (the rest of the stack)."""
    require_demo_project(firebase)
    if not CLI.exists():
        raise StartupError("firebase: firebase-tools is not installed. Run `make install`.")
    require_free_port("firebase", port, "FIREBASE_AUTH_PORT")
    with tempfile.TemporaryDirectory(prefix="firebase-emulator-") as config_dir:
        settings_dir = Path(config_dir)
        argv = emulator_command(firebase, port, settings_dir, data_dir, stack_ports, fast_start=fast_start)
        env = {**os.environ, "FIREBASE_CLI_DISABLE_UPDATE_CHECK": "true", "CI": "true"}
        process = ManagedProcess("firebase", argv, env=env, cwd=settings_dir, sink=sink)
        host = f"127.0.0.1:{port}"

        def wait_ready() -> None:
            process.wait_ready(
                lambda: http_ok(f"http://{host}/"),
                deadline_s=READY_S,
                what="serving",
                fix="Check Node 20+ is installed, then `make install`.",
            )

        with running(process):
            if parts is not None:
                parts.add(process)
            yield Booting(host, wait_ready)


@contextmanager
def firebase_auth(
    firebase: config.FirebaseEmulator,
    port: int,
    *,
    data_dir: Path | None = None,
    sink: LogSink = print_sink,
    parts: Parts | None = None,
    stack_ports: Collection[int] = (),
    fast_start: bool = True,
) -> Iterator[str]:
    """The emulator on 127.0.0.1:`port`, serving; yields host:port (the FIREBASE_AUTH_EMULATOR_HOST value)."""
    with firebase_auth_booting(
        firebase,
        port,
        data_dir=data_dir,
        sink=sink,
        parts=parts,
        stack_ports=stack_ports,
        fast_start=fast_start,
    ) as booting:
        booting.wait_ready()
        yield booting.host
