"""Run the built function (.aws-sam/build/ApiFunction, the bytes `sam deploy` zips) the way Lambda runs it.

    invoke (HTTP API v2 event) -> RIE (the real AWS Runtime Interface Emulator)
        -> extension /opt/extensions/lambda-adapter (the real Lambda Web Adapter; it polls the Runtime API)
        -> runtime bootstrap (stand-in for the python3.13 runtime's /var/runtime/bootstrap)
        -> AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap (the adapter layer's wrapper) -> $LAMBDA_TASK_ROOT/run.sh
        -> uvicorn main:app on PORT

RIE only looks for extensions in the hard-coded /opt/extensions, so RIE runs in a private mount namespace
(`unshare --mount`, plus `--map-root-user` when not root) in which .local/lambda/opt is bind-mounted on
/opt: the host's /opt is never touched. The namespace is also a PID namespace, whose init (the `sh` that
mounts /opt, then runs RIE and exits with its status) ends when RIE does: the kernel then kills the adapter
and uvicorn too, even though RIE puts each of them in its own process group. See docs/lambda-chain.md.
Debug it alone with `devstack chain`.

With a `debugger` (make debug), the app's interpreter starts debugpy (the sandbox's hook) on the debug port,
and the artifact is bind-mounted on the sandbox's task root, one path for every artifact (docs/debugging.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from devstack import paths
from devstack.lambdafn.rie_client import RieAnswer, RieConnection, RieError
from devstack.lambdafn.sandbox import Sandbox
from devstack.supervision import (
    LogSink,
    ManagedProcess,
    StartupError,
    describe_exit,
    port_is_free,
    print_sink,
    require_free_port,
)
from devstack.tools import LambdaTools, lambda_python_bin_dir

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
"""Lambda's Invoke API path, which RIE serves."""

_RIE_LINE = re.compile(
    r"^(\d{2} \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\)|(START|END|REPORT) RequestId:|time=\")"
)
_ADAPTER_LINE = re.compile(r"lambda_web_adapter|^thread '.*' panicked|^note: run with `RUST_BACKTRACE")


class Debugger(Protocol):
    """make debug: where the app's debugpy listens, and whether the app waits for a client (the runner
    hands config.Debugger; the chain reads no facts)."""

    @property
    def port(self) -> int: ...

    @property
    def wait(self) -> bool: ...


def invoke_url(host: str, port: int) -> str:
    """RIE's invoke URL at an address."""
    return f"http://{host}:{port}{INVOKE_PATH}"


def on_port(variables: Mapping[str, str], app_port: int) -> dict[str, str]:
    """The function's variables for an execution environment whose app listens on `app_port`: PORT, and the
    adapter's AWS_LWA_PORT when the function sets it."""
    moved = {**variables, "PORT": str(app_port)}
    if "AWS_LWA_PORT" in moved:
        moved["AWS_LWA_PORT"] = str(app_port)
    return moved


def part_of(line: str) -> str:
    """Which part of the chain printed `line`: "rie", "adapter", "lambda" (unshare/mount) or "app"."""
    if _RIE_LINE.search(line):
        return "rie"
    if _ADAPTER_LINE.search(line):
        return "adapter"
    if line.startswith(("unshare:", "mount:", "sh:")):
        return "lambda"
    return "app"


class LambdaChain:
    """RIE + Web Adapter + run.sh on the built artifact, in a private mount/PID namespace.

    `variables` is the function's environment as the runner assembled it (Lambda's variables, the template's,
    the local ones); the chain adds the runtime's own settings and its app port. `log_sink(part, line)` gets
    every output line, part as `part_of` names it.
    """

    part = "lambda chain"

    def __init__(
        self,
        artifact_dir: Path,
        variables: Mapping[str, str],
        *,
        invoke_port: int,
        runtime_api_port: int,
        app_port: int,
        tools: LambdaTools,
        log_sink: LogSink = print_sink,
        rie_log_level: str = "info",
        sandbox: Sandbox | None = None,
        debugger: Debugger | None = None,
    ) -> None:
        self.artifact_dir = Path(artifact_dir).resolve()
        self.variables = dict(variables)
        self.invoke_port = invoke_port
        self.runtime_api_port = runtime_api_port
        self.app_port = app_port
        self.log_sink = log_sink
        self.tools = tools
        self.rie_log_level = rie_log_level
        self.sandbox = sandbox or Sandbox()
        self.debugger = debugger
        self._process: ManagedProcess | None = None

    @property
    def invoke_url(self) -> str:
        return invoke_url("127.0.0.1", self.invoke_port)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        """PID of the chain's root process (unshare); RIE, the adapter and the app are its descendants."""
        return self._process.pid if self._process else None

    @property
    def recent_logs(self) -> list[str]:
        return list(self._process.recent) if self._process else []

    def exit_report(self) -> str | None:
        """Once RIE ended on its own (the adapter and the app end with it): how, and its last lines.
        A crashed app alone does not end RIE: as Lambda does, RIE fails that invoke and starts the function
        again for the next one."""
        status = self._process.exit_status if self._process else None
        if status is None:
            return None
        rie_status = 128 - status if status > 128 else status  # the namespace's sh: 128+N is signal N
        return self._failure(f"RIE exited on its own, {describe_exit(rie_status)}", "")

    def environment(self) -> dict[str, str]:
        """The environment RIE starts with; RIE hands all of it to the runtime and the extension."""
        python_bin = lambda_python_bin_dir()
        if python_bin is None:
            self.log_sink(
                "lambda",
                "WARNING: no CPython 3.13 found (pyenv or python3.13 on PATH): "
                "run.sh gets the default python3, unlike the python3.13 runtime",
            )
        path = ":".join(
            filter(None, [str(python_bin) if python_bin else None, "/usr/local/bin", "/usr/bin", "/bin"])
        )
        env = {
            # What the python3.13 runtime sets (/var/lang/bin first on PATH, UTC, UTF-8).
            "PATH": path,
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.artifact_dir),
            "LAMBDA_RUNTIME_DIR": str(paths.LAMBDA_RUNTIME_DIR),
            # The runtime's own SDK (not in the zip); the artifact's packages still come first (cwd).
            "PYTHONPATH": str(self.sandbox.runtime_python),
            # /var/task is read-only on Lambda: keep __pycache__ out of the artifact sam deploy would zip.
            "PYTHONDONTWRITEBYTECODE": "1",
            **on_port(self.variables, self.app_port),
            "BIND_HOST": "127.0.0.1",  # run.sh: loopback only, unlike Lambda's private sandbox
        }
        if self.debugger:
            env |= {
                "LAMBDA_TASK_ROOT": str(self.sandbox.task_root),
                "PYTHONPATH": f"{self.sandbox.debugger_python}:{env['PYTHONPATH']}",
                "DEVSTACK_DEBUG_LISTEN": f"127.0.0.1:{self.debugger.port}",
                "DEVSTACK_DEBUG_WAIT": "1" if self.debugger.wait else "",
            }
        return env

    def start(self) -> None:
        """Start RIE (it execs nothing yet: Lambda's init runs inside the first invoke; see wait_ready)."""
        if self.running:
            return
        self._preflight()
        env = self.environment()
        self.sandbox.prepare(self.tools, self.log_sink, debugger=self.debugger is not None)
        # Not `exec`: the sh waits for RIE and exits with its status (128+N for signal N), which unshare
        # passes on; RIE as the namespace's init, killed by SIGKILL, left unshare unable to say so (status 1).
        mount = 'mount --bind "$0" /opt && "$@"'
        mounts = [str(self.sandbox.opt_dir)]
        if self.debugger:
            mount = 'mount --bind "$0" /opt && mount --bind "$1" "$2" && cd "$2" && shift 2 && "$@"'
            mounts += [str(self.artifact_dir), str(self.sandbox.task_root)]
        rie = [
            str(self.tools.rie),
            "--log-level",
            self.rie_log_level,  # else RIE obeys the function's LOG_LEVEL
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.invoke_port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_api_port}",
            str(paths.LAMBDA_RUNTIME_DIR / "bootstrap"),
        ]
        argv = [*_unshare_argv(), "/bin/sh", "-c", mount, *mounts, *rie]
        self._process = ManagedProcess(
            "lambda",
            argv,
            env=env,
            cwd=self.artifact_dir,
            sink=lambda _, line: self.log_sink(part_of(line), line),
        )
        self._process.start()
        deadline = time.monotonic() + 10
        while port_is_free(self.invoke_port):
            if not self._process.running or time.monotonic() > deadline:
                self.stop()
                raise StartupError(self._failure("RIE did not start listening", "See its output above."))
            time.sleep(0.02)

    def wait_ready(self, probe: bytes, deadline_s: float = 60.0) -> float:
        """Invoke `probe` once (the first invoke runs init, as on Lambda) and require a 200; returns how long
        it took (the cold start)."""
        started = time.monotonic()
        try:
            answer = self.post(probe, timeout_s=deadline_s)
        except RieError as error:
            raise StartupError(
                self._failure(f"the warm-up invoke failed: {error}", "See the output.")
            ) from None
        if not answer.answered_ok:
            raise StartupError(
                self._failure(
                    f"the warm-up invoke did not answer 200 (RIE {answer.status}: {answer.body[:300]!r})",
                    "Check the app's traceback above; debug hop by hop as in docs/lambda-chain.md.",
                )
            )
        return time.monotonic() - started

    def invoke(self, event: Mapping[str, Any], timeout: float = 30.0) -> tuple[int, Any]:
        """POST an event to RIE; returns (RIE's HTTP status, the decoded function response)."""
        answer = self.post(json.dumps(event).encode(), timeout_s=timeout)
        return answer.status, (json.loads(answer.body) if answer.body.strip() else None)

    def post(self, payload: bytes, *, timeout_s: float) -> RieAnswer:
        """One invocation on a connection of its own, with the gateway's RIE client."""

        async def once() -> RieAnswer:
            connection = RieConnection(self.invoke_url, connect_timeout_s=timeout_s, hold_limit_s=timeout_s)
            try:
                return await connection.post(payload)
            finally:
                connection.close()

        return asyncio.run(once())

    def stop(self, grace_s: float = 3.0) -> None:
        """Stop RIE (its PID namespace takes the adapter and uvicorn along); waits until ports are free."""
        if self._process is None:
            return
        self._process.stop(grace=grace_s)
        self._process = None
        deadline = time.monotonic() + 5
        ports = (self.invoke_port, self.runtime_api_port, self.app_port)
        while not all(port_is_free(port) for port in ports):
            if time.monotonic() > deadline:
                busy = [port for port in ports if not port_is_free(port)]
                self.log_sink("lambda", f"WARNING: port(s) {busy} still bound 5 s after stop")
                return
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again (new code in the artifact dir); the next invoke is a cold start."""
        self.stop()
        self.start()

    def __enter__(self) -> LambdaChain:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _preflight(self) -> None:
        self.tools.check()
        handler = self.artifact_dir / "run.sh"
        if not self.artifact_dir.is_dir():
            raise StartupError(f"lambda chain: no built function at {self.artifact_dir}. Run `make build`.")
        if not os.access(handler, os.X_OK):
            raise StartupError(f"lambda chain: {handler} is missing or not executable. Run `make build`.")
        if shutil.which("unshare") is None:
            raise StartupError("lambda chain: `unshare` (util-linux) not found; install util-linux.")
        probe = subprocess.run([*_unshare_argv(), "true"], capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            raise StartupError(
                "lambda chain: cannot create the private mount namespace that puts the adapter on /opt "
                f"({probe.stderr.strip()}). Unprivileged user namespaces are off on this host; on Ubuntu "
                "24.04+: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` "
                "(see docs/lambda-chain.md)."
            )
        if not Path("/opt").is_dir():
            raise StartupError(
                "lambda chain: /opt does not exist; it is the mount point for the adapter layer "
                "(create it once: sudo mkdir /opt)."
            )
        for part, port, var in (
            ("RIE", self.invoke_port, "RIE_PORT"),
            ("Runtime API", self.runtime_api_port, "RUNTIME_API_PORT"),
            ("app", self.app_port, "APP_PORT"),
        ):
            require_free_port(f"lambda chain: {part}", port, var)
        if self.debugger:
            require_free_port("lambda chain: debugger", self.debugger.port, "DEBUG_PORT")

    def _failure(self, problem: str, fix: str) -> str:
        tail = "\n".join(f"    {line}" for line in self.recent_logs[-25:]) or "    (no output)"
        return f"lambda chain: {problem}. {fix}\n  last output:\n{tail}"


def _unshare_argv() -> list[str]:
    """A private mount + PID namespace; without root, as root of a new user namespace."""
    unshare = ["unshare", "--mount", "--pid", "--fork", "--kill-child=SIGKILL"]
    if os.geteuid() != 0:
        unshare.insert(1, "--map-root-user")
    return [*unshare, "--"]
