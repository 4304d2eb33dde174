"""Run the built function (.aws-sam/build/ApiFunction, the bytes `sam deploy` zips) the way Lambda runs it.

    invoke (HTTP API v2 event) -> RIE (the real AWS Runtime Interface Emulator)
        -> extension /opt/extensions/lambda-adapter (the real Lambda Web Adapter; it polls the Runtime API)
        -> runtime bootstrap (stand-in for the python3.13 runtime's /var/runtime/bootstrap)
        -> AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap (the adapter layer's wrapper) -> $LAMBDA_TASK_ROOT/run.sh
        -> uvicorn main:app on PORT

RIE only looks for extensions in the hard-coded /opt/extensions, so RIE runs in a private mount namespace
(`unshare --mount`, plus `--map-root-user` when not root) in which .local/lambda/opt is bind-mounted on
/opt: the host's /opt is never touched. The namespace is also a PID namespace: stopping RIE (its init)
makes the kernel kill the adapter and uvicorn too, even though RIE puts each of them in its own process
group. See docs/lambda-chain.md.

Use: `LambdaChain(artifact_dir, env_overrides).start(); chain.wait_ready(); ...; chain.stop()`, or
`python -m devstack.lambda_chain --artifact .aws-sam/build/ApiFunction` to debug it alone.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.paths import LOCAL_STATE, REPO_ROOT, TOOLS_CACHE
from devstack.procs import LogSink, ManagedProcess, StartupError, port_is_free, print_sink, require_free_port
from devstack.template import PSEUDO_PARAMETERS, Evaluator, load, parameter_values

VERSIONS_FILE = REPO_ROOT / "scripts" / "versions.env"
RUNTIME_DIR = REPO_ROOT / "scripts" / "lambda-runtime"
"""Stand-ins for the runtime's /var/runtime/bootstrap and the adapter layer's /opt/bootstrap."""
LAMBDA_STATE = LOCAL_STATE / "lambda"
OPT_DIR = LAMBDA_STATE / "opt"
"""Bind-mounted on /opt inside the chain's namespace: the adapter layer's contents."""
RUNTIME_PYTHON = LAMBDA_STATE / "runtime" / "python"
"""boto3 as the python3.13 runtime provides it (the zip leaves it out); put on PYTHONPATH."""
INSTALL_HINT = "Run `scripts/install-lambda-tools.sh` (part of `make install`)."
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
DEFAULT_REGION = "us-east-1"

_RIE_LINE = re.compile(
    r"^(\d{2} \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\)|(START|END|REPORT) RequestId:|time=\")"
)
_ADAPTER_LINE = re.compile(r"lambda_web_adapter|^thread '.*' panicked|^note: run with `RUST_BACKTRACE")


# ---------------------------------------------------------------------------------------------- tools
def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.lstrip().startswith("#")}


@dataclass(frozen=True)
class LambdaTools:
    rie: Path
    adapter: Path

    @classmethod
    def pinned(cls) -> LambdaTools:
        """The binaries scripts/install-lambda-tools.sh installs for the versions in scripts/versions.env."""
        versions = read_versions()
        rie = TOOLS_CACHE / f"aws-lambda-rie-{versions['RIE_VERSION'].rsplit('-', 1)[-1]}" / "aws-lambda-rie"
        adapter = TOOLS_CACHE / f"lambda-adapter-{versions['LWA_VERSION']}" / "bin" / "lambda-adapter"
        return cls(rie=rie, adapter=adapter)

    def check(self) -> None:
        missing = [str(binary) for binary in (self.rie, self.adapter) if not os.access(binary, os.X_OK)]
        if missing:
            raise StartupError(f"lambda chain: missing {', '.join(missing)}. {INSTALL_HINT}")


def python313_bin_dir() -> Path | None:
    """The bin dir of a CPython 3.13 (what the runtime has at /var/lang/bin), newest patch first."""
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    if shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            roots.insert(
                0,
                subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip(),
            )

    def patch(path: Path) -> int:
        tail = path.name.split(".")[2] if path.name.count(".") >= 2 else ""
        return int(tail) if tail.isdigit() else -1

    for root in filter(None, roots):
        candidates = sorted(Path(root).glob("versions/3.13.*"), key=patch, reverse=True)
        for candidate in candidates:
            if (candidate / "bin" / "python3").exists() and patch(candidate) >= 0:
                return candidate / "bin"
    found = shutil.which("python3.13")
    return Path(found).parent if found else None


def locked_version(package: str) -> str:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    for entry in lock.get("package", []):
        if entry.get("name") == package:
            version: str = entry["version"]
            return version
    raise StartupError(f"lambda chain: {package} is not in uv.lock")


# ------------------------------------------------------------------------------------ the template
@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about the function, with the intrinsics resolved where possible."""

    logical_id: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    unresolved: list[str] = field(default_factory=list)
    """Environment keys whose value only a deployed stack knows (pass them as overrides)."""


def function_config(
    artifact_dir: Path,
    template_path: Path | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    stack_name: str = "local",
) -> FunctionConfig:
    """Read the function from the built template next to the artifact (else template.yml).

    The logical id is the artifact directory's name (sam build writes .aws-sam/build/<LogicalId>).
    """
    if template_path is None:
        built = artifact_dir.parent / "template.yaml"
        template_path = built if built.exists() else REPO_ROOT / "template.yml"
    template = load(template_path)
    logical_id = artifact_dir.name
    resource = template.get("Resources", {}).get(logical_id)
    if resource is None:
        raise StartupError(f"lambda chain: {template_path} declares no resource {logical_id!r}")
    evaluator = Evaluator(template, parameter_values(template, parameters or {}, stack_name))
    globals_ = template.get("Globals", {}).get("Function", {})
    props = evaluator.value({**globals_, **resource.get("Properties", {})})
    variables = evaluator.value(
        {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
        }
    )
    # Still an intrinsic after evaluation: only a deployed stack knows it (a table name, a bucket...).
    resolved = {key: str(value) for key, value in variables.items() if not isinstance(value, (dict, list))}

    def number(key: str, default: int) -> int:
        value = props.get(key, default)
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else default

    return FunctionConfig(
        logical_id=logical_id,
        handler=str(props.get("Handler", "run.sh")),
        timeout=number("Timeout", 3),
        memory_size=number("MemorySize", 128),
        environment=resolved,
        unresolved=sorted(set(variables) - set(resolved)),
    )


# ---------------------------------------------------------------------------------------- events
def http_api_v2_event(
    method: str = "GET",
    path: str = "/health",
    *,
    headers: Mapping[str, str] | None = None,
    query: str = "",
    body: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A minimal API Gateway HTTP API (payload 2.0) event, as the gateway sends it (for warm-up and tests)."""
    now = time.time()
    request_id = request_id or str(uuid.uuid4())
    all_headers = {
        "host": "localhost",
        "user-agent": "lambda-chain",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": PSEUDO_PARAMETERS["AWS::AccountId"],
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": all_headers["user-agent"],
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


# ----------------------------------------------------------------------------------------- chain
def _sync_file(source: Path, target: Path) -> None:
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    shutil.copy2(source, temporary)
    temporary.chmod(0o755)
    temporary.replace(target)


def prepare_layer(tools: LambdaTools, opt_dir: Path = OPT_DIR) -> Path:
    """The adapter layer as Lambda unpacks it in /opt: bootstrap + extensions/lambda-adapter."""
    _sync_file(RUNTIME_DIR / "opt-bootstrap", opt_dir / "bootstrap")
    _sync_file(tools.adapter, opt_dir / "extensions" / "lambda-adapter")
    return opt_dir


def prepare_runtime_python(target: Path = RUNTIME_PYTHON, sink: LogSink = print_sink) -> Path:
    """boto3 (uv.lock's version) for cp313, standing in for the one the python3.13 runtime ships."""
    version = locked_version("boto3")
    marker = target / f".boto3-{version}"
    if marker.exists():
        return target
    uv = shutil.which("uv") or str(TOOLS_CACHE / "bin" / "uv")
    sink("lambda", f"installing boto3 {version} as the runtime-provided SDK into {target}")
    shutil.rmtree(target, ignore_errors=True)
    argv = [uv, "pip", "install", "--quiet", "--no-config", "--python-platform", "x86_64-manylinux2014"]
    argv += [
        "--python-version",
        "3.13",
        "--only-binary",
        ":all:",
        "--target",
        str(target),
        f"boto3=={version}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StartupError(f"lambda chain: could not install boto3 for the runtime:\n{result.stderr}")
    marker.touch()
    return target


class LambdaChain:
    """RIE + Web Adapter + run.sh on the built artifact, in a private mount/PID namespace.

    `log_sink(part, line)` gets every output line, part being "rie", "adapter", "app" or "lambda"
    (this module's own messages).
    """

    def __init__(
        self,
        artifact_dir: Path,
        env_overrides: Mapping[str, str] | None = None,
        *,
        invoke_port: int = 9000,
        runtime_api_port: int = 9001,
        app_port: int = 8000,
        log_sink: LogSink = print_sink,
        template_path: Path | None = None,
        tools: LambdaTools | None = None,
        rie_log_level: str = "info",
    ) -> None:
        self.artifact_dir = Path(artifact_dir).resolve()
        self.env_overrides = dict(env_overrides or {})
        self.invoke_port = invoke_port
        self.runtime_api_port = runtime_api_port
        self.app_port = app_port
        self.log_sink = log_sink
        self.template_path = template_path
        self.tools = tools or LambdaTools.pinned()
        self.rie_log_level = rie_log_level
        self._process: ManagedProcess | None = None
        self.cold_start_s: float | None = None
        """Seconds the first successful invoke took (init included), set by wait_ready()."""

    # -- public API
    @property
    def invoke_url(self) -> str:
        return f"http://127.0.0.1:{self.invoke_port}{INVOKE_PATH}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def pid(self) -> int | None:
        """PID of the chain's root process (unshare); RIE, the adapter and the app are its descendants."""
        proc = self._process._proc if self._process else None  # procs.ManagedProcess keeps the Popen
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def recent_logs(self) -> list[str]:
        return list(self._process.recent) if self._process else []

    def environment(self) -> dict[str, str]:
        """The environment RIE starts with; RIE hands all of it to the runtime and the extension."""
        config = function_config(self.artifact_dir, self.template_path)
        python_bin = python313_bin_dir()
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
            "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
            "_HANDLER": config.handler,
            # The runtime's own SDK (not in the zip); the artifact's packages still come first (cwd).
            "PYTHONPATH": str(RUNTIME_PYTHON),
            # /var/task is read-only on Lambda: keep __pycache__ out of the artifact sam deploy would zip.
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_FUNCTION_NAME": config.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_REGION": DEFAULT_REGION,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            **config.environment,
            **self.env_overrides,
        }
        env["PORT"] = str(self.app_port)
        env["BIND_HOST"] = "127.0.0.1"  # run.sh: loopback only, unlike Lambda's private sandbox
        if "AWS_LWA_PORT" in env:
            env["AWS_LWA_PORT"] = str(self.app_port)
        missing = [key for key in config.unresolved if key not in env]
        if missing:
            self.log_sink(
                "lambda",
                f"WARNING: {', '.join(missing)} only known in a deployed stack and not "
                "overridden: left unset",
            )
        return env

    def start(self) -> None:
        """Start RIE (it execs nothing yet: Lambda's init runs inside the first invoke; see wait_ready)."""
        if self.running:
            return
        self._preflight()
        env = self.environment()
        prepare_layer(self.tools)
        prepare_runtime_python(sink=self.log_sink)
        unshare = _unshare_argv()
        mount = 'mount --bind "$0" /opt && exec "$@"'
        rie = [
            str(self.tools.rie),
            "--log-level",
            self.rie_log_level,  # else RIE obeys the function's LOG_LEVEL
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.invoke_port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_api_port}",
            str(RUNTIME_DIR / "bootstrap"),
        ]
        argv = [*unshare, "/bin/sh", "-c", mount, str(OPT_DIR), *rie]
        self._process = ManagedProcess("lambda", argv, env=env, cwd=self.artifact_dir, sink=self._route)
        self.cold_start_s = None
        self._process.start()
        deadline = time.monotonic() + 10
        while not _listening(self.invoke_port):
            if not self._process.running or time.monotonic() > deadline:
                self.stop()
                raise StartupError(self._failure("RIE did not start listening", "See its output above."))
            time.sleep(0.02)

    def wait_ready(self, deadline_s: float = 60.0, path: str = "/health") -> float:
        """Invoke GET `path` until the app answers 200 (the first invoke runs init); returns its duration."""
        started = time.monotonic()
        last = "no answer"
        while time.monotonic() - started < deadline_s:
            if not self.running:
                raise StartupError(self._failure("RIE exited during warm-up", "See its output above."))
            attempt = time.monotonic()
            try:
                status, payload = self.invoke(http_api_v2_event("GET", path), timeout=deadline_s)
            except (urllib.error.URLError, OSError, ValueError) as error:
                last = f"invoke failed: {error}"
            else:
                if status == 200 and isinstance(payload, dict) and payload.get("statusCode") == 200:
                    took = time.monotonic() - attempt
                    if self.cold_start_s is None:
                        self.cold_start_s = took
                    return took
                last = f"RIE {status}: {json.dumps(payload)[:300]}"
            time.sleep(0.2)
        raise StartupError(
            self._failure(
                f"GET {path} through the chain did not return 200 within {deadline_s:.0f}s (last: {last})",
                "Check the app's traceback above; debug hop by hop as in docs/lambda-chain.md.",
            )
        )

    def invoke(self, event: Mapping[str, Any], timeout: float = 30.0) -> tuple[int, Any]:
        """POST an event to RIE; returns (RIE's HTTP status, the decoded function response)."""
        request = urllib.request.Request(  # noqa: S310 (loopback)
            self.invoke_url,
            data=json.dumps(event).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, (json.loads(raw) if raw.strip() else None)

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

    # -- internals
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

    def _route(self, _part: str, line: str) -> None:
        if _RIE_LINE.search(line):
            part = "rie"
        elif _ADAPTER_LINE.search(line):
            part = "adapter"
        elif line.startswith(("unshare:", "mount:", "sh:")):
            part = "lambda"
        else:
            part = "app"
        self.log_sink(part, line)

    def _failure(self, problem: str, fix: str) -> str:
        tail = "\n".join(f"    {line}" for line in self.recent_logs[-25:]) or "    (no output)"
        return f"lambda chain: {problem}. {fix}\n  last output:\n{tail}"


def _unshare_argv() -> list[str]:
    """A private mount + PID namespace; without root, as root of a new user namespace."""
    unshare = ["unshare", "--mount", "--pid", "--fork", "--kill-child=SIGKILL"]
    if os.geteuid() != 0:
        unshare.insert(1, "--map-root-user")
    return [*unshare, "--"]


def _listening(port: int) -> bool:
    return not port_is_free(port)


@contextlib.contextmanager
def running_chain(
    artifact_dir: Path, env_overrides: Mapping[str, str] | None = None, **options: Any
) -> Iterator[LambdaChain]:
    """Start, warm up, yield, stop."""
    chain = LambdaChain(artifact_dir, env_overrides, **options)
    try:
        chain.start()
        chain.wait_ready()
        yield chain
    finally:
        chain.stop()


# ------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.lambda_chain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--artifact", type=Path, default=REPO_ROOT / ".aws-sam" / "build" / "ApiFunction")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="override (repeatable)"
    )
    parser.add_argument("--invoke-port", type=int, default=9000)
    parser.add_argument("--runtime-api-port", type=int, default=9001)
    parser.add_argument("--app-port", type=int, default=8000)
    parser.add_argument("--rie-log-level", default="info", help="debug shows every Runtime API call")
    parser.add_argument("--get", metavar="PATH", help="invoke GET PATH once, print the response, stop")
    parser.add_argument("--print-env", action="store_true", help="print the function's environment and exit")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.env)
    chain = LambdaChain(
        args.artifact,
        overrides,
        invoke_port=args.invoke_port,
        runtime_api_port=args.runtime_api_port,
        app_port=args.app_port,
        rie_log_level=args.rie_log_level,
    )
    if args.print_env:
        for key, value in sorted(chain.environment().items()):
            print(f"{key}={value}")
        return 0
    try:
        chain.start()
        cold = chain.wait_ready()
        print_sink("lambda", f"ready: first invoke (cold start, init included) {cold * 1000:.0f} ms")
        if args.get:
            started = time.monotonic()
            status, payload = chain.invoke(http_api_v2_event("GET", args.get))
            print(
                json.dumps(
                    {
                        "rie_status": status,
                        "ms": round((time.monotonic() - started) * 1000, 1),
                        "response": payload,
                    },
                    indent=2,
                )
            )
            return 0
        event = json.dumps(http_api_v2_event("GET", "/health"))
        print_sink("lambda", f"invoke: curl -s {chain.invoke_url} -d '{event}'")
        print_sink(
            "lambda", f"app directly: curl -s http://127.0.0.1:{args.app_port}/health   (Ctrl-C stops)"
        )
        while chain.running:
            time.sleep(0.5)
        return 1
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        chain.stop()


if __name__ == "__main__":
    sys.exit(main())
