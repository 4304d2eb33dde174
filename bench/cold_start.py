"""Cold start: first invoke -> first response, ours against a hello-world FastAPI under the same chain and
against the same hello-world under Mangum (a zip handler run by awslambdaric under the same RIE).

Split for ours and the hello-world: interpreter start, imports, app startup (each timed in a fresh CPython
3.13 with the function's environment), adapter readiness (RIE's Init Duration minus those three: run.sh,
uvicorn's start and the adapter's polling) and the first request (RIE's Duration for that invoke).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import hello
from bench.measure import Row, median, quiet, rounds
from devstack import config, paths
from devstack.apigw.event_builder import request_event
from devstack.environment import chain_variables
from devstack.lambdafn.runtime import LambdaChain, invoke_url
from devstack.lambdafn.sandbox import RUNTIME_PYTHON, prepare_runtime_python
from devstack.supervision import LogSink, ManagedProcess, StartupError, free_port, port_is_free
from devstack.tools import LambdaTools, lambda_python_bin_dir

GROUP = "cold start"
# Settings our app requires (values only a deployed stack knows are local names; nothing listens on AWS:
# /health needs neither AWS nor Firebase).
OUR_SETTINGS = {
    "ENVIRONMENT": "test",
    "DYNAMODB_TABLE": "bench-table",
    "S3_BUCKET": "bench-bucket",
    "FIREBASE_PROJECT_ID": "demo-bench",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}
_INIT_MS = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
_INVOKE_MS = re.compile(r"INVOKE RTDONE\(.*duration: ([\d.]+)ms\)")


class StampedLog:
    """A log sink that notes when each line arrived, to place the chain's milestones in time."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []

    def __call__(self, _part: str, line: str) -> None:
        self.lines.append((time.perf_counter(), line))

    def first(self, marker: str, deadline_s: float = 10.0) -> tuple[float, str]:
        """The first line containing `marker` and when it came (waits: a reader thread forwards lines)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            found = next(((at, line) for at, line in list(self.lines) if marker in line), None)
            if found:
                return found
            time.sleep(0.02)
        raise RuntimeError(f"bench: no line with {marker!r} in the function's output")


@dataclass(frozen=True)
class FirstInvoke:
    wall_s: float
    """Client side: the first invoke's POST to its response."""
    init_s: float
    """RIE's INIT REPORT: runtime + extension start until the runtime asks for the event."""
    request_s: float
    """RIE's INVOKE RTDONE duration: the first event itself."""
    loaded_s: float | None = None
    """INIT START -> uvicorn's "Started server process" (app imported and built)."""
    ready_s: float | None = None
    """uvicorn's "Uvicorn running on" -> INIT RTDONE (the adapter saw the app answer)."""


def _milestones(log: StampedLog, wall_s: float, *, uvicorn: bool) -> FirstInvoke:
    init = float(_INIT_MS.search(log.first("INIT REPORT")[1]).group(1))  # type: ignore[union-attr]
    request = float(_INVOKE_MS.search(log.first("INVOKE RTDONE")[1]).group(1))  # type: ignore[union-attr]
    if not uvicorn:
        return FirstInvoke(wall_s, init / 1000, request / 1000)
    init_start = log.first("INIT START")[0]
    loaded = log.first("Started server process")[0]
    listening = log.first("Uvicorn running on")[0]
    init_done = log.first("INIT RTDONE")[0]
    return FirstInvoke(wall_s, init / 1000, request / 1000, loaded - init_start, init_done - listening)


def _invoke_health(url: str) -> float:
    """POST a GET /health event; returns the seconds until its (200) response."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=json.dumps(request_event("GET", "/health")).encode(), method="POST"
    )
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        answer = json.loads(response.read())
    took = time.perf_counter() - began
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"GET /health answered {answer}")
    return took


def _chain(
    artifact: Path, logs: LogSink, settings: dict[str, str], debugger: config.Debugger | None = None
) -> LambdaChain:
    return LambdaChain(
        artifact,
        chain_variables(config.load(), settings),
        invoke_port=free_port(),
        runtime_api_port=free_port(),
        app_port=free_port(),
        log_sink=logs,
        tools=LambdaTools.pinned(),
        debugger=debugger,
    )


def chain_first_invoke(
    artifact: Path, settings: dict[str, str], debugger: config.Debugger | None = None
) -> FirstInvoke:
    """A fresh chain (RIE + adapter + run.sh) and its first GET /health; with `debugger`, as `make debug`
    runs it (debugpy listening, nobody attached)."""
    log = StampedLog()
    with _chain(artifact, log, settings, debugger) as chain:
        return _milestones(log, _invoke_health(chain.invoke_url), uvicorn=True)


def _python() -> str:
    bin_dir = lambda_python_bin_dir()
    if bin_dir is None:
        raise StartupError("bench: no CPython 3.13 on this machine (devstack.tools.lambda_python found none)")
    return str(bin_dir / "python3")


def mangum_first_invoke(artifact: Path, runtime: Path) -> FirstInvoke:
    """RIE running awslambdaric on handler main.handler, as the python3.13 runtime runs a zip handler."""
    log = StampedLog()
    port = free_port()
    rie = [str(LambdaTools.pinned().rie), "--log-level", "info"]
    rie += ["--runtime-interface-emulator-address", f"127.0.0.1:{port}"]
    rie += [
        "--runtime-api-address",
        f"127.0.0.1:{free_port()}",
        _python(),
        "-m",
        "awslambdaric",
        "main.handler",
    ]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(artifact),
        "PYTHONPATH": f"{artifact}:{runtime}:{RUNTIME_PYTHON}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "_HANDLER": "main.handler",
        "AWS_LAMBDA_FUNCTION_NAME": hello.FUNCTION,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    }
    process = ManagedProcess("mangum", rie, env=env, cwd=artifact, sink=log)
    process.start()
    try:
        deadline = time.monotonic() + 10
        while port_is_free(port):
            if time.monotonic() > deadline or not process.running:
                raise StartupError(f"bench: RIE for Mangum did not listen: {list(process.recent)}")
            time.sleep(0.02)
        return _milestones(log, _invoke_health(invoke_url("127.0.0.1", port)), uvicorn=False)
    finally:
        process.stop(grace=3)


def _fresh_python(artifact: Path, env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [_python(), "-c", code], cwd=artifact, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout + result.stderr


_SPLIT = """import json, time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{startup}
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1]))
"""


@dataclass(frozen=True)
class Split:
    interpreter_s: float
    imports_s: float
    startup_s: float


def process_split(artifact: Path, env: dict[str, str], imports: str, startup: str, times: int) -> Split:
    """Medians over fresh interpreters: `python -c pass`, then `imports`, then `startup` (the app)."""
    interpreter, imported, started = [], [], []
    for _ in range(times):
        began = time.perf_counter()
        _fresh_python(artifact, env, "pass")
        interpreter.append(time.perf_counter() - began)
        first, second = json.loads(
            _fresh_python(artifact, env, _SPLIT.format(imports=imports, startup=startup))
        )
        imported.append(first)
        started.append(second)
    return Split(median(interpreter), median(imported), median(started))


def import_top10(artifact: Path, env: dict[str, str]) -> list[str]:
    """`python -X importtime -c "import main"`: the ten top-level packages taking longest (cumulative)."""
    result = subprocess.run(
        [_python(), "-X", "importtime", "-c", "import main"],
        cwd=artifact,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, int] = {}
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if "." not in name and name != "main":  # main is the whole: its parts are the rows
            cumulative[name] = max(cumulative.get(name, 0), int(parts[1]))
    top = sorted(cumulative.items(), key=lambda item: item[1], reverse=True)[:10]
    return [f"{name} {micros / 1000:.0f} ms" for name, micros in top]


def _medians(samples: list[FirstInvoke]) -> FirstInvoke:
    def of(value: Callable[[FirstInvoke], float | None]) -> float | None:
        values = [v for v in map(value, samples) if v is not None]
        return median(values) if values else None

    return FirstInvoke(
        median([s.wall_s for s in samples]),
        median([s.init_s for s in samples]),
        median([s.request_s for s in samples]),
        of(lambda s: s.loaded_s),
        of(lambda s: s.ready_s),
    )


def run() -> list[Row]:
    ours = paths.BUILD_DIR / hello.FUNCTION
    prepare_runtime_python()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        hello_world = hello.hello_world_artifact(Path(scratch))
        mangum, runtime = hello.mangum_artifact(Path(scratch))
        variants: dict[str, Callable[[], FirstInvoke]] = {
            "ours": lambda: chain_first_invoke(ours, OUR_SETTINGS),
            "hello": lambda: chain_first_invoke(hello_world, {}),
            "mangum": lambda: mangum_first_invoke(mangum, runtime),
            "debug": lambda: chain_first_invoke(ours, OUR_SETTINGS, config.Debugger(free_port(), wait=False)),
        }
        samples: dict[str, list[FirstInvoke]] = {name: [] for name in variants}
        for _ in range(rounds(3)):
            for name, first_invoke in variants.items():
                samples[name].append(first_invoke())
        first = {name: _medians(values) for name, values in samples.items()}
        env_ours = _chain(ours, quiet, OUR_SETTINGS).environment()
        env_hello = _chain(hello_world, quiet, {}).environment()
        split_ours = process_split(
            ours,
            env_ours,
            "import uvicorn, web, shared.settings",
            "web.build_app(shared.settings.get_settings())",
            rounds(5, 2),
        )
        split_hello = process_split(
            hello_world, env_hello, "import uvicorn, fastapi", "import main", rounds(5, 2)
        )
        top10 = import_top10(ours, env_ours)
        mangum_version = hello.installed_version(mangum, "mangum")
    return _rows(first, split_ours, split_hello, top10, mangum_version)


def _rows(
    first: dict[str, FirstInvoke], ours: Split, hello_world: Split, top10: list[str], mangum_version: str
) -> list[Row]:
    hw = "hello-world, same chain"
    mg = f"hello-world, Mangum {mangum_version}"
    o, h, m, d = first["ours"], first["hello"], first["mangum"], first["debug"]

    def ms(value: float | None) -> float | None:
        return None if value is None else value * 1000

    return [
        Row(GROUP, "first invoke -> response (GET /health)", ms(o.wall_s), "ms", ms(h.wall_s), hw),
        Row(
            GROUP,
            "first invoke -> response (GET /health)",
            ms(o.wall_s),
            "ms",
            ms(m.wall_s),
            mg,
            note="Mangum: the zip handler run by awslambdaric (PyPI) under the same RIE, no extension",
        ),
        Row(
            GROUP,
            "hello-world: adapter chain vs Mangum",
            ms(h.wall_s),
            "ms",
            ms(m.wall_s),
            mg,
            note="what the adapter route itself costs a cold start",
        ),
        Row(GROUP, "init (RIE INIT REPORT)", ms(o.init_s), "ms", ms(h.init_s), hw),
        Row(GROUP, "init (RIE INIT REPORT)", ms(o.init_s), "ms", ms(m.init_s), mg),
        Row(
            GROUP,
            "  INIT START -> app loaded (uvicorn started)",
            ms(o.loaded_s),
            "ms",
            ms(h.loaded_s),
            hw,
            note="of which, each in a fresh CPython 3.13 with the function's environment:",
        ),
        Row(GROUP, "    interpreter start", ms(ours.interpreter_s), "ms", ms(hello_world.interpreter_s), hw),
        Row(
            GROUP,
            "    imports",
            ms(ours.imports_s),
            "ms",
            ms(hello_world.imports_s),
            hw,
            note="python -X importtime -c 'import main', top 10 top-level packages (cumulative):",
            detail=top10,
        ),
        Row(GROUP, "    app startup (build_app)", ms(ours.startup_s), "ms", ms(hello_world.startup_s), hw),
        Row(
            GROUP,
            "  adapter readiness (uvicorn listening -> INIT RTDONE)",
            ms(o.ready_s),
            "ms",
            ms(h.ready_s),
            hw,
        ),
        Row(GROUP, "first request (RIE INVOKE RTDONE)", ms(o.request_s), "ms", ms(h.request_s), hw),
        Row(GROUP, "first request (RIE INVOKE RTDONE)", ms(o.request_s), "ms", ms(m.request_s), mg),
        Row(
            GROUP,
            "make debug: first invoke -> response (GET /health)",
            ms(d.wall_s),
            "ms",
            ms(o.wall_s),
            "ours, make dev",
            note="debugpy listening, nobody attached (make dev's own cold start: the first row)",
        ),
    ]
