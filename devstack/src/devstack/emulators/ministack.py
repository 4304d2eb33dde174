"""The AWS emulator on the host: MiniStack at the version localstack/localstack.env pins, then the
LocalStack-style init hooks in localstack/init/ready.d, as the emulator's container runs them in compose."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from devstack import config, paths
from devstack.supervision import (
    LogSink,
    ManagedProcess,
    Parts,
    StartupError,
    http_ok,
    print_sink,
    require_free_port,
    running,
)
from devstack.tools import interpreter_of, require_pinned, tool

MINISTACK_READY_S = 20.0
MINISTACK_PORT_VARIABLE = "GATEWAY_PORT"
"""MiniStack's own name for the port it listens on. Ours is AWS_EMULATOR_PORT; GATEWAY_PORT of ours is the
local HTTP API gateway's port, so MiniStack's variable is named only where it is handed over."""
HOOK_TIMEOUT_S = 120.0
READY_HOOKS = paths.LOCALSTACK_DIR / "init" / "ready.d"
"""Mounted on /etc/localstack/init/ready.d in compose; MiniStack and LocalStack run them once ready."""


def run_ready_hooks(
    aws: config.AwsEmulator, endpoint: str, template: Path, hooks_dir: Path = READY_HOOKS
) -> list[str]:
    """Run the hooks in name order (.py with the emulator's Python, .sh with sh), with the environment the
    emulator gives them and, in STACK_TEMPLATE, the template whose services they check (compose mounts it);
    the first failure stops the start, naming the hook. Returns the hooks run."""
    hooks = sorted(path for path in hooks_dir.glob("*") if path.suffix in {".py", ".sh"})
    env = {**os.environ, **aws.client_environment(endpoint), "STACK_TEMPLATE": str(template)}
    for hook in hooks:
        interpreter = interpreter_of("ministack") if hook.suffix == ".py" else "sh"
        try:
            done = subprocess.run(
                [interpreter, str(hook)], env=env, capture_output=True, text=True, timeout=HOOK_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise StartupError(f"ministack: init hook {hook} ran over {HOOK_TIMEOUT_S:.0f}s") from None
        if done.returncode != 0:
            raise StartupError(
                f"ministack: init hook {hook} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
            )
    return [hook.name for hook in hooks]


@contextmanager
def ministack(
    aws: config.AwsEmulator,
    template: Path,
    *,
    state_dir: Path | None = None,
    sink: LogSink = print_sink,
    parts: Parts | None = None,
) -> Iterator[str]:
    """MiniStack on 127.0.0.1:`aws.port`, its ready.d hooks run for `template`; yields its endpoint. With
    `state_dir`, state survives restarts (MiniStack saves it when stopped: SIGTERM). Its process joins
    `parts`, when given."""
    require_free_port("ministack", aws.port, "AWS_EMULATOR_PORT")
    require_pinned("ministack", "ministack", aws.version, "localstack/localstack.env")
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
            MINISTACK_PORT_VARIABLE: str(aws.port),
            "MINISTACK_REGION": aws.region,
            "LOG_LEVEL": "WARNING",
            "PERSIST_STATE": persist,
            "STATE_DIR": str(state_dir / "state"),
            "S3_PERSIST": persist,
            "S3_DATA_DIR": str(state_dir / "s3"),
        }
        process = cleanup.enter_context(
            running(ManagedProcess("ministack", [tool("ministack")], env=env, sink=sink))
        )
        if parts is not None:
            parts.add(process)
        endpoint = aws.endpoint
        process.wait_ready(
            lambda: http_ok(f"{endpoint}/_ministack/health"),
            deadline_s=MINISTACK_READY_S,
            what="healthy",
            fix="Reinstall it with `make install`.",
        )
        for hook in run_ready_hooks(aws, endpoint, template):
            sink("ministack", f"init hook {hook}: done")
        yield endpoint
