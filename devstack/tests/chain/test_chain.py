"""The built artifact under the real RIE + Lambda Web Adapter: invoke, logs, stop and restart."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devstack.apigw.event_builder import request_event
from devstack.environment import adapter_knobs
from devstack.lambdafn.runtime import LambdaChain, part_of
from devstack.lambdafn.sandbox import Sandbox
from devstack.local_function import probe
from devstack.supervision import LogCapture, StartupError, port_is_free
from devstack.tools import LambdaTools, tool

from .chain_helpers import LOG_WAIT_S, eventually, new_chain

TOGETHER = 3
"""Environments starting together on a fresh clone (make dev's first requests)."""


def access_log(logs: LogCapture, request_id: str) -> dict[str, Any]:
    """The app's JSON access-log line for `request_id` (it logs one per request)."""
    deadline = time.monotonic() + LOG_WAIT_S
    while time.monotonic() < deadline:
        for line in logs.of("app"):
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "request" and record.get("request_id") == request_id:
                    return record  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(
        f"no access-log line for {request_id}; app said:\n" + "\n".join(logs.of("app")[-20:])
    )


def sam_sample_event() -> dict[str, Any]:
    """AWS's sample HTTP API event, as `sam local generate-event` prints it."""
    output = subprocess.run(
        [tool("sam"), "local", "generate-event", "apigateway", "http-api-proxy"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    event: dict[str, Any] = json.loads(output)
    return event


def test_health_through_the_chain(chain: LambdaChain, chain_logs: LogCapture) -> None:
    event = request_event("GET", "/health", request_id="chain-health-1")
    status, response = chain.invoke(event)

    assert status == 200
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"])["status"] == "healthy"
    # The app takes its request id from the x-amzn-request-context header the adapter adds.
    assert response["headers"]["x-request-id"] == "chain-health-1"
    record = access_log(chain_logs, "chain-health-1")
    assert record["lambda_request_context"] is True
    assert record["path"] == "/health"


def test_aws_sample_event(chain: LambdaChain, chain_logs: LogCapture) -> None:
    """AWS's own sample event (cookies, multi-value headers, base64 body, authorizer), aimed at /health."""
    event = sam_sample_event()
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/health"
    event["requestContext"]["http"]["method"] = "GET"
    event["requestContext"]["requestId"] = "chain-sample-1"

    status, response = chain.invoke(event)

    assert status == 200, response
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["status"] == "healthy"
    assert response["headers"]["x-request-id"] == "chain-sample-1"
    assert access_log(chain_logs, "chain-sample-1")["lambda_request_context"] is True


def test_unknown_route_is_the_apps_404(chain: LambdaChain) -> None:
    status, response = chain.invoke(request_event("GET", "/no-such-route"))
    assert status == 200  # RIE: the invoke worked; the HTTP status is in the payload
    assert response["statusCode"] == 404


@pytest.mark.parametrize(
    "routed_path",
    [
        "/x/../health",  # what HTTP API hands over for /x/..%2Fhealth (it decodes the path)
        "/notes/../../users",  # and for /notes/..%2F..%2Fusers
        "/x/..\\health",  # and for /x/..%5Chealth
    ],
)
def test_a_path_that_names_another_never_reaches_that_route(chain: LambdaChain, routed_path: str) -> None:
    """Issue 17 finding 6, as on AWS: HTTP API routes such a path as ANY /{proxy+} and passes it on; the
    Web Adapter resolves it (/x/../health became /health, 200; /notes/../../users became /users, 401).
    The app must refuse it, whatever the adapter made of it."""
    event = request_event("GET", routed_path)
    event["routeKey"] = event["requestContext"]["routeKey"] = "ANY /{proxy+}"
    event["pathParameters"] = {"proxy": routed_path[1:]}

    status, response = chain.invoke(event)

    assert status == 200, response
    assert response["statusCode"] == 404, response
    assert json.loads(response["body"])["error"]["code"] == "not_found"


def test_logs_are_split_by_part(chain: LambdaChain, chain_logs: LogCapture) -> None:
    """RIE reports every invoke and the app logs its start: both always print. The Web Adapter prints
    nothing when the app is ready quickly, so its lines are checked on samples of what it prints."""
    chain.invoke(request_event("GET", "/health"))
    eventually(
        lambda: any(line.startswith("REPORT RequestId:") for line in chain_logs.of("rie")),
        "RIE's REPORT line under `rie`",
        chain_logs,
    )
    eventually(
        lambda: any('"logger": "uvicorn.error"' in line for line in chain_logs.of("app")),
        "uvicorn's startup line under `app`",
        chain_logs,
    )
    assert not [line for line in chain_logs.of("app") if line.startswith(("START RequestId:", "REPORT "))]


def test_rust_log_from_the_shell_shows_each_request_the_adapter_forwards(
    artifact: Path, lambda_tools: LambdaTools
) -> None:
    """The documented debugging knob (`RUST_LOG=debug make dev`) reaches the adapter and works. The
    `AWS_LWA_LOG_LEVEL` documented before is no setting of the adapter's: it printed nothing more."""
    knobs = adapter_knobs({"RUST_LOG": "debug", "HOME": "/nowhere"})
    assert knobs == {"RUST_LOG": "debug"}  # the adapter's settings pass through, not the whole shell
    logs = LogCapture()
    with new_chain(artifact, lambda_tools, logs, extra=knobs) as chain:
        chain.wait_ready(probe())
        chain.invoke(request_event("GET", "/health"))
        eventually(
            lambda: any("sending request to app server" in line for line in logs.of("adapter")),
            "the adapter's debug line for the forwarded request",
            logs,
        )


@pytest.mark.parametrize(
    ("line", "part"),
    [
        ("START RequestId: 5f1c Version: $LATEST", "rie"),
        ("28 Nov 2026 11:02:03,456 [INFO] (rapid) exec '/var/runtime/bootstrap' (cwd=/var/task)", "rie"),
        ('time="2026-11-28T11:02:03Z" level=info msg="extension registered"', "rie"),
        ("[2026-11-28T11:02:03Z INFO  lambda_web_adapter] app is not ready after 2000ms", "adapter"),
        ("thread 'main' panicked at src/main.rs:10:5:", "adapter"),
        ("unshare: cannot change root filesystem propagation", "lambda"),
        ('{"logger": "uvicorn.error", "message": "Application startup complete."}', "app"),
        ("Traceback (most recent call last):", "app"),
    ],
)
def test_each_line_goes_to_the_part_that_printed_it(line: str, part: str) -> None:
    assert part_of(line) == part


def test_warm_invokes_reuse_the_running_app(chain: LambdaChain, chain_logs: LogCapture) -> None:
    """After the cold start, invokes go to the same uvicorn: no second init, as on a warm Lambda."""
    pid_before = _app_pid(chain)
    for _ in range(20):
        status, response = chain.invoke(request_event("GET", "/health"))
        assert (status, response["statusCode"]) == (200, 200)
    assert _app_pid(chain) == pid_before


def test_the_app_listens_on_loopback_only(chain: LambdaChain) -> None:
    """Locally the app trusts emulator tokens: it must not be reachable from other machines."""
    port_hex = f"{chain.app_port:04X}"
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{port_hex}") and line.split()[3] == "0A"  # 0A = LISTEN
    ]
    assert listening == [f"0100007F:{port_hex}"]  # 127.0.0.1


def _namespace_pids(chain: LambdaChain) -> set[int]:
    """The chain's processes: unshare and every descendant (RIE, adapter, run.sh/uvicorn)."""
    root = chain.pid
    assert root is not None
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found = {root}
    changed = True
    while changed:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        changed = bool(children)
    return found


def _app_pid(chain: LambdaChain) -> int:
    """The uvicorn process serving the function (run.sh execs python3 -m uvicorn)."""
    apps = [
        pid
        for pid in _namespace_pids(chain)
        if Path(f"/proc/{pid}/comm").read_text().strip() == "python3"
        and "uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
    assert len(apps) == 1, apps
    return apps[0]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stop_leaves_no_process_and_no_port(artifact: Path, lambda_tools: LambdaTools) -> None:
    logs = LogCapture()
    chain = new_chain(artifact, lambda_tools, logs)
    chain.start()
    try:
        cold = chain.wait_ready(probe())
        print(f"cold start (first invoke, init included): {cold * 1000:.0f} ms")
        pids = _namespace_pids(chain)
        commands = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in pids}
        assert {"aws-lambda-rie", "lambda-adapter", "python3"} <= commands, commands
    finally:
        chain.stop()
    deadline = time.monotonic() + 3
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]
    for port in (chain.invoke_port, chain.runtime_api_port, chain.app_port):
        assert port_is_free(port), f"port {port} still bound after stop"
    # The host's /opt never saw the layer: it was only mounted inside the chain's namespace.
    assert not Path("/opt/extensions/lambda-adapter").exists() or os.path.samefile(
        "/opt/extensions/lambda-adapter", lambda_tools.adapter
    )


def test_restart_gives_a_new_cold_start(artifact: Path, lambda_tools: LambdaTools) -> None:
    logs = LogCapture()
    chain = new_chain(artifact, lambda_tools, logs)
    chain.start()
    try:
        chain.wait_ready(probe())
        first_app = _app_pid(chain)
        chain.restart()
        chain.wait_ready(probe())
        status, response = chain.invoke(request_event("GET", "/health"))
        assert (status, response["statusCode"]) == (200, 200)
        assert _app_pid(chain) != first_app  # a new execution environment: init ran again
    finally:
        chain.stop()


def test_environments_starting_together_on_a_fresh_clone_all_start(
    artifact: Path, lambda_tools: LambdaTools, tmp_path: Path
) -> None:
    """What every environment shares (the adapter layer, the runtime's boto3) is not there yet, as on a
    fresh clone, and more environments start while the first one prepares it (requests arriving during
    the first cold start): here, while it compiles boto3. Before, each of them installed boto3 into the
    same directory, removing what the first was compiling ("Error compiling ... FileNotFoundError"), and
    an environment did not start."""
    sandbox = Sandbox(tmp_path / "lambda")
    first_logs = LogCapture()
    first = new_chain(artifact, lambda_tools, first_logs, sandbox=sandbox)
    others = [new_chain(artifact, lambda_tools, LogCapture(), sandbox=sandbox) for _ in range(TOGETHER - 1)]

    def start(chain: LambdaChain) -> tuple[int, Any]:
        chain.start()
        chain.wait_ready(probe())
        return chain.invoke(request_event("GET", "/health"))

    try:
        with ThreadPoolExecutor(TOGETHER) as pool:
            starts = [pool.submit(start, first)]
            eventually(lambda: _compiling(sandbox.root), "the first environment compiling boto3", first_logs)
            starts += [pool.submit(start, chain) for chain in others]
            answers = [started.result() for started in starts]
    finally:
        for chain in (first, *others):
            chain.stop()
    assert [(status, response["statusCode"]) for status, response in answers] == [(200, 200)] * TOGETHER


def _compiling(under: Path) -> bool:
    """A `python -m compileall` runs on files under `under`."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
            if "compileall" in argv and any(arg.startswith(str(under)) for arg in argv):
                return True
    return False


def test_missing_binaries_fail_with_the_install_command(artifact: Path, tmp_path: Path) -> None:
    absent = LambdaTools(rie=tmp_path / "aws-lambda-rie", adapter=tmp_path / "lambda-adapter")
    chain = new_chain(artifact, absent, LogCapture())
    with pytest.raises(StartupError, match=r"scripts/install-lambda-tools\.sh"):
        chain.start()
    assert not chain.running


def test_environment_is_the_templates_plus_overrides(artifact: Path, lambda_tools: LambdaTools) -> None:
    chain = new_chain(artifact, lambda_tools, LogCapture())
    env = chain.environment()
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert env["_HANDLER"] == "run.sh"
    assert env["PORT"] == str(chain.app_port)
    assert env["LAMBDA_TASK_ROOT"] == str(artifact.resolve())
    assert env["DYNAMODB_TABLE"] == "chain-test-table"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "30"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert "VIRTUAL_ENV" not in env  # RIE forwards its whole env: nothing leaks in from the host
