"""The anchor our users would pick instead: SAM CLI's own `sam local start-api` and `sam local invoke`, as
SAM ships them (devstack.sam_local, what `make local` runs), on the same template.yml and the same built
artifact, on this machine's Docker engine (scripts/engine.sh: reused when one answers, else a private one
started and stopped here), against our chain (gateway -> RIE -> adapter -> uvicorn) in the same run, on the
same emulators.

SAM's base image `public.ecr.aws/lambda/python:3.13-x86_64` is, where no registry answers, the lambda-python
stand-in (tests/compose/stand-ins: Debian's CPython 3.13.5, not AWS's build) under SAM's tag.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

from bench import cold_start, latency
from bench.measure import Row, median, pytest_summary, quiet, rounds, uv_run
from devstack import config, paths
from devstack.apigw.event_builder import request_event
from devstack.deploy import aws_tools_environment
from devstack.environment import FUNCTION, SAM_START_API, Endpoints, local_environment
from devstack.sam_local import SAM_BASE_IMAGE, SamLocal, base_image, invoke, sam_local, start_api
from devstack.supervision import StartupError, free_port
from devstack.tools import tool

GROUP = "sam local"
WARM_REQUESTS = 200
HEALTH_REQUESTS = 60
HEALTH_RATE = 9.0
"""GET /health per second: under its route throttle (HealthThrottlingRateLimit, 10)."""
INVOKES = 5
"""`aws lambda invoke` and `sam local invoke` commands each (every sam local invoke creates a container)."""


# ----------------------------------------------------------------------------------------- the engine
def _docker(env: Mapping[str, str], *argv: str) -> str:
    result = subprocess.run(["docker", *argv], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StartupError(f"docker {' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout.strip()


@contextmanager
def docker_engine() -> Iterator[dict[str, str]]:
    """This process's environment aimed at an engine: one that answers, else a private one, stopped after."""
    engine = str(paths.SCRIPTS / "engine.sh")
    answering = subprocess.run([engine, "env"], capture_output=True, text=True, check=False)
    started = answering.returncode != 0
    exports = answering.stdout
    if started:
        starting = subprocess.run([engine, "start"], capture_output=True, text=True, check=False)
        if starting.returncode != 0:  # it names why (not Linux, not root, dockerd failed ...)
            raise StartupError(f"scripts/engine.sh start: {starting.stderr.strip()[-300:]}")
        exports = starting.stdout
    try:
        env = dict(os.environ)
        for line in exports.splitlines():  # export NAME=VALUE, quoted by printf %q
            name, _, value = shlex.split(line)[1].partition("=")
            env[name] = value
        yield env
    finally:
        if started:
            subprocess.run([engine, "stop"], capture_output=True, check=False)


@dataclass(frozen=True)
class BaseImage:
    ready_s: float
    """SAM's base image on the engine: there already, pulled, or the lambda-python stand-in (built when
    missing) under SAM's tag."""
    python: str
    """What `python3 --version` says in it (Debian's build in the stand-in, not AWS's)."""
    which: str


def sam_base_image(env: Mapping[str, str]) -> BaseImage:
    began = time.perf_counter()
    try:
        which = base_image(env, quiet)
    except StartupError:  # no registry and no stand-in yet: build it, as make up and make test-local do
        build = subprocess.run(
            [str(paths.REPO_ROOT / "tests/compose/stand-ins/build.sh"), "lambda-python"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if build.returncode != 0:
            raise StartupError(
                f"stand-ins/build.sh lambda-python failed: {build.stderr.strip()[-400:]}"
            ) from None
        which = base_image(env, quiet)
    ready_s = time.perf_counter() - began
    python = _docker(
        env, "run", "--rm", "--network", "none", "--entrypoint", "python3", SAM_BASE_IMAGE, "--version"
    )
    return BaseImage(ready_s, python, which)


@contextmanager
def sam_api(setup: SamLocal, *extra: str) -> Iterator[tuple[str, float]]:
    """`sam local start-api` on a free port; yields its URL and the seconds until it listened."""
    port = free_port()
    with start_api(setup, port, *extra, sink=quiet) as (_process, up_s):
        yield f"http://127.0.0.1:{port}", up_s


def timed_get(url: str, token: str | None = None) -> float:
    """Seconds for one GET answered 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    began = time.perf_counter()
    response = httpx.get(url, headers=headers, timeout=120)
    took = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
    return took


_FAILED = re.compile(r"^(FAILED|ERROR) tests/e2e/(.+?)(?: - (.*))?$")
"""pytest -rfE's lines; a test id may hold spaces (parametrised ids)."""


def e2e_against(api: str, endpoints: Endpoints) -> Row:
    """tests/e2e with BASE_URL = sam local; the emulators, table and bucket are found in a run file
    (conftest -> devstack.cli.running_endpoints), as for a running `make dev`."""
    with tempfile.TemporaryDirectory(prefix="bench-sam-e2e-") as state:
        run_file = Path(state) / paths.RUN_FILE.relative_to(paths.STATE_DIR)
        run_file.parent.mkdir(parents=True)
        # As make local's run file: SAM's API, and no Lambda API (our chain's would run our environments).
        sam = replace(endpoints, api=api, lambda_api="", served_by=SAM_START_API)
        run_file.write_text(json.dumps(asdict(sam)))
        began = time.perf_counter()
        result = uv_run(
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfE",
            "tests/e2e",
            # COLUMNS: pytest cuts its one-line failure reasons to the terminal's width.
            env={"BASE_URL": api, "DEVSTACK_STATE_DIR": state, "COLUMNS": "400"},
        )
        took = time.perf_counter() - began
    failures = [
        f"{match.group(2)}: {(match.group(3) or '')[:150]}"
        for match in map(_FAILED.match, result.stdout.splitlines())
        if match
    ]
    return Row(
        GROUP,
        "e2e suite (tests/e2e) against sam local start-api --warm-containers LAZY, SAM's differences "
        "from HTTP API skipped by name (docs/gateway.md)",
        took,
        "s",
        note=pytest_summary(result)
        + " (test_parity compares sam local with the app straight, uvicorn of our chain)",
        detail=failures,
    )


# ------------------------------------------------------------------------------------------- run
def warm_latency(api: str, endpoints: Endpoints) -> list[Row]:
    """p50 of one client over WARM_REQUESTS (split in rounds, ours and SAM's interleaved) after a warm-up.

    GET /health is paced under its route throttle, which our gateway plays from the template (10/s, burst
    20) and SAM does not: unpaced, most of ours would be 429s answered without an invoke."""
    binary = latency.hey()
    user = latency.user_with_notes(endpoints)
    targets = {"ours": endpoints.api, "sam": api}
    cases = [("/health", None, HEALTH_RATE, HEALTH_REQUESTS), ("/notes", user.id_token, None, WARM_REQUESTS)]
    rows = []
    for path, token, rate, requests in cases:
        for base in targets.values():
            latency.load(binary, f"{base}{path}", requests=10, clients=1, token=token, rate=rate)
        per_round = requests // rounds(3)
        samples: dict[str, list[latency.Load]] = {name: [] for name in targets}
        for _ in range(rounds(3)):
            for name, base in targets.items():
                samples[name].append(
                    latency.load(
                        binary,
                        f"{base}{path}",
                        requests=per_round,
                        clients=1,
                        token=token,
                        rate=rate,
                    )
                )
        p99 = {name: median([load.p99_ms for load in loads]) for name, loads in samples.items()}
        refused = {
            name: sum((load.refused for load in loads), Counter[str]()) for name, loads in samples.items()
        }
        rows.append(
            Row(
                GROUP,
                f"GET {path}{' (authenticated)' if token else ''}, 1 client, warm: p50",
                median([load.p50_ms for load in samples["ours"]]),
                "ms",
                median([load.p50_ms for load in samples["sam"]]),
                "sam local --warm-containers LAZY",
                note=f"{per_round * rounds(3)} requests each{f' at {rate:g}/s' if rate else ''}; "
                f"p99 ours {p99['ours']:.1f} ms, sam {p99['sam']:.1f} ms"
                + "".join(f"; {name} non-200: {dict(codes)}" for name, codes in refused.items() if codes),
            )
        )
    return rows


def invoke_latency(setup: SamLocal, endpoints: Endpoints, name: str, facts: config.LocalFacts) -> Row:
    """One HTTP API event for GET /health, as a user sends it: `aws lambda invoke` through our chain (make
    dev's Lambda API, the function warm) against `sam local invoke` (a container per invoke), each a
    command."""
    with tempfile.TemporaryDirectory(prefix="bench-invoke-") as scratch:
        event = Path(scratch) / "event.json"
        event.write_text(json.dumps(request_event("GET", "/health")))
        out = Path(scratch) / "response.json"
        aws = [tool("aws"), "lambda", "invoke", "--function-name", name, "--payload", f"fileb://{event}"]
        aws_env = {**setup.env, **aws_tools_environment(facts.aws, endpoints.aws)}
        aws_env["AWS_ENDPOINT_URL_LAMBDA"] = endpoints.lambda_api

        def timed(argv: list[str], env: Mapping[str, str]) -> float:
            began = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=180)
            took = time.perf_counter() - began
            if done.returncode != 0:
                raise RuntimeError(f"{shlex.join(argv[:3])} failed: {done.stderr.strip()[-300:]}")
            return took

        def sam_invoke() -> float:
            began = time.perf_counter()
            done = invoke(setup, event)
            took = time.perf_counter() - began
            if done.returncode != 0 or '"statusCode": 200' not in done.stdout:
                raise RuntimeError(f"sam local invoke failed: {(done.stdout + done.stderr)[-300:]}")
            return took

        timed([*aws, str(out)], aws_env)  # warm-up: the function's environment is warm after it
        ours, sams = [], []
        for _ in range(rounds(INVOKES, 2)):
            ours.append(timed([*aws, str(out)], aws_env))
            sams.append(sam_invoke())
    return Row(
        GROUP,
        "invoke of an HTTP API event (GET /health), one command: p50",
        median(ours) * 1000,
        "ms",
        median(sams) * 1000,
        "sam local invoke",
        note=f"{len(ours)} each, interleaved; ours: `aws lambda invoke` (AWS CLI v1, its own start included) "
        "through make dev's Lambda API, the function warm; SAM: `sam local invoke`, a new container "
        "(cold start) for each, as SAM CLI runs it",
    )


def run() -> list[Row]:
    began = time.perf_counter()
    facts = config.load().isolated()
    with ExitStack() as stack:
        engine = stack.enter_context(docker_engine())
        image = sam_base_image(engine)
        environment = stack.enter_context(local_environment(facts, sink=quiet))
        endpoints = environment.endpoints
        docker = {name: value for name, value in engine.items() if name.startswith("DOCKER_")}
        setup = stack.enter_context(sam_local(facts, endpoints, environment.stack, docker=docker, sink=quiet))
        ours_cold_s = [
            cold_start.chain_first_invoke(paths.BUILD_DIR / FUNCTION, cold_start.OUR_SETTINGS).wall_s
            for _ in range(rounds(3))
        ]
        # SAM's default: a new container for every request, so each is a cold start.
        with sam_api(setup) as (api, default_up_s):
            sam_cold_s = [timed_get(f"{api}/health") for _ in range(rounds(3))]
        function_name = dict(environment.stack.outputs)["FunctionName"]
        invoked = invoke_latency(setup, endpoints, function_name, facts)
        with sam_api(setup, "--warm-containers", "LAZY") as (api, lazy_up_s):
            lazy_first_s = timed_get(f"{api}/health")
            warm = warm_latency(api, endpoints)
            e2e = e2e_against(api, endpoints)
    return [
        Row(
            GROUP,
            "start-api up (process start -> listening)",
            median([default_up_s, lazy_up_s]),
            "s",
            note="SAM CLI as shipped (make local's setup: devstack.sam_local); "
            f"default {default_up_s:.1f} s, --warm-containers LAZY {lazy_up_s:.1f} s; "
            f"base image {image.which}, {image.python}, ready in {image.ready_s:.1f} s; "
            f"whole group {time.perf_counter() - began:.0f} s",
        ),
        Row(
            GROUP,
            "cold start: GET /health -> response",
            median(ours_cold_s) * 1000,
            "ms",
            median(sam_cold_s) * 1000,
            "sam local, default (a new container per request)",
            note="ours: a fresh chain's first invoke (as in 'cold start'); SAM: container create + RIE + "
            "adapter + app on every request, and with the layer in the template it rebuilds its image for "
            f"each; LAZY's first request {lazy_first_s * 1000:.0f} ms",
        ),
        invoked,
        *warm,
        e2e,
    ]
