"""The anchor our users would pick instead: `sam local start-api` on the same template.yml and the same built
artifact, on this machine's Docker engine (scripts/engine.sh: reused when one answers, else a private one
started and stopped here), against our chain (gateway -> RIE -> adapter -> uvicorn) in the same run.

What it takes here, none of it committed:
- SAM's base image `public.ecr.aws/lambda/python:3.13-x86_64` is the lambda-python stand-in
  (tests/compose/stand-ins: Debian's CPython 3.13.5, not AWS's build) under the tag SAM looks for;
- a copy of template.yml in a temporary directory whose function takes the adapter layer from a local
  directory (sandbox.prepare_layer) instead of AWS's published ARN, and CodeUri = the built artifact;
- the emulators of a devstack local environment; SAM's containers reach them through a relay on their
  network's gateway address (they listen on 127.0.0.1; containers reach nothing but this machine);
- SAM CLI's own start-api, with one change (SAM_ON_NETWORK): its containers are created on that network.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import shlex
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx
import yaml

from bench import cold_start, latency
from bench.measure import Row, median, not_run, pytest_summary, quiet, rounds, uv_run
from devstack import config, deploy, paths
from devstack.environment import FUNCTION, Endpoints, local_environment, local_settings
from devstack.lambdafn.sandbox import prepare_layer
from devstack.stack.template import load
from devstack.supervision import ManagedProcess, StartupError, free_port, port_is_free
from devstack.tools import LambdaTools, interpreter_of

GROUP = "sam local"
STAND_IN_IMAGE = "public.ecr.aws/lambda/python:3.13"
SAM_BASE_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
"""The name SAM CLI gives the python3.13 x86_64 base image (it tags its `-rapid` image FROM it)."""
LAYER = "WebAdapterLayer"
WARM_REQUESTS = 200
HEALTH_REQUESTS = 60
HEALTH_RATE = 9.0
"""GET /health per second: under its route throttle (HealthThrottlingRateLimit, 10)."""
START_DEADLINE_S = 120.0

SAM_ON_NETWORK = """
import os, sys
import docker.models.containers
from samcli.cli.main import cli

create = docker.models.containers.ContainerCollection.create


def create_on_network(self, image, command=None, **kwargs):
    kwargs.setdefault("network", os.environ["BENCH_SAM_NETWORK"])
    return create(self, image, command, **kwargs)


docker.models.containers.ContainerCollection.create = create_on_network
sys.argv[0] = "sam"
sys.exit(cli())
"""
"""`sam` as its entry point runs it, except that every container is created on BENCH_SAM_NETWORK. SAM CLI
creates a function's container on the engine's default network and connects it to --docker-network only
afterwards; an engine without a default bridge (ours: --bridge=none) leaves such a container with nothing
but lo, so no invoke ever reaches it."""

AS_SHIPPED = (
    "SAM CLI 1.170 creates each function container on the engine's default network and connects it to "
    "--docker-network only afterwards; this engine runs with --bridge=none (scripts/engine.sh: containers "
    "reach nothing outside this machine), so there is no default bridge, the container gets no interface "
    "but lo, and every request answers 502 ('No response from invoke container'); --docker-network host "
    "is the same create. The rows below run SAM CLI's own start-api with that one step changed (containers "
    "created on a user-defined network)"
)


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
    """stand-ins/build.sh lambda-python (a build, or nothing when up to date) and SAM's tag."""
    python: str
    """What `python3 --version` says in it (Debian's build in the stand-in, not AWS's)."""


def sam_base_image(env: Mapping[str, str]) -> BaseImage:
    """The lambda-python stand-in under the name SAM looks for. An image already carrying that name (pulled
    where a registry is reachable) is kept."""
    began = time.perf_counter()
    build = subprocess.run(
        [str(paths.REPO_ROOT / "tests/compose/stand-ins/build.sh"), "lambda-python"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        raise StartupError(f"stand-ins/build.sh lambda-python failed: {build.stderr.strip()[-400:]}")
    if subprocess.run(
        ["docker", "image", "inspect", SAM_BASE_IMAGE], env=env, capture_output=True
    ).returncode:
        _docker(env, "tag", STAND_IN_IMAGE, SAM_BASE_IMAGE)
    ready_s = time.perf_counter() - began
    python = _docker(
        env, "run", "--rm", "--network", "none", "--entrypoint", "python3", SAM_BASE_IMAGE, "--version"
    )
    return BaseImage(ready_s, python)


@contextmanager
def docker_network(env: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """A user-defined network of its own: (name, its gateway address, where containers reach this machine).
    Whatever is left on it is removed with it."""
    name = f"bench-sam-local-{secrets.token_hex(3)}"
    _docker(env, "network", "create", name)
    try:
        yield name, _docker(env, "network", "inspect", name, "-f", "{{(index .IPAM.Config 0).Gateway}}")
    finally:
        left = _docker(env, "ps", "-aq", "--filter", f"network={name}").split()
        if left:
            _docker(env, "rm", "-f", *left)
        _docker(env, "network", "rm", name)


# ------------------------------------------------------------------------------------- the emulators
def _pipe(one: socket.socket, other: socket.socket) -> None:
    """Bytes both ways until either side closes."""
    peers = {one: other, other: one}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 300)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


@contextmanager
def relay(host: str, target_port: int) -> Iterator[int]:
    """A TCP relay from `host` (a free port) to 127.0.0.1:target_port; yields the port."""

    class Forward(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with socket.create_connection(("127.0.0.1", target_port)) as upstream:
                _pipe(self.request, upstream)

    server = socketserver.ThreadingTCPServer((host, 0), Forward)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"relay-{target_port}", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# -------------------------------------------------------------------------------------- sam local
def local_template(workdir: Path, variables: Sequence[str]) -> Path:
    """template.yml with the adapter layer from a local directory, CodeUri = the built artifact, and the
    variables the function gets locally declared (SAM's --env-vars sets only declared ones)."""
    document = load()
    layer = prepare_layer(LambdaTools.pinned(), workdir / "layer")
    document["Resources"][LAYER] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {"ContentUri": str(layer), "CompatibleArchitectures": ["x86_64"]},
    }
    function = document["Resources"][FUNCTION]["Properties"]
    function["CodeUri"] = str(paths.BUILD_DIR / FUNCTION)
    function["Layers"] = [{"Ref": LAYER}]
    declared = function["Environment"]["Variables"]
    for name in variables:
        declared.setdefault(name, "")
    path = workdir / "template.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass(frozen=True)
class SamSetup:
    template: Path
    env_vars: Path
    parameters: dict[str, str]
    env: dict[str, str]
    """The SAM CLI's environment: the engine, the emulator's credentials and region, the network."""


@contextmanager
def start_api(setup: SamSetup, *extra: str) -> Iterator[tuple[str, float]]:
    """`sam local start-api` on a free port; yields its URL and the seconds until it listened."""
    port = free_port()
    argv = [interpreter_of("sam"), "-c", SAM_ON_NETWORK, "local", "start-api"]
    argv += ["--template", str(setup.template), "--env-vars", str(setup.env_vars)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--skip-pull-image", *extra]
    argv += ["--parameter-overrides", *(f"{name}={value}" for name, value in setup.parameters.items())]
    process = ManagedProcess("sam local", argv, env=setup.env, cwd=setup.template.parent, sink=quiet)
    began = time.perf_counter()
    process.start()
    try:
        process.wait_ready(
            lambda: not port_is_free(port),
            deadline_s=START_DEADLINE_S,
            what="listening",
            fix="See its output.",
        )
        yield f"http://127.0.0.1:{port}", time.perf_counter() - began
    finally:
        process.stop(grace=20)  # SIGTERM: SAM removes its containers


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
        run_file.write_text(json.dumps(asdict(replace(endpoints, api=api))))
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
        "e2e suite (tests/e2e) against sam local start-api --warm-containers LAZY",
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


def run() -> list[Row]:
    began = time.perf_counter()
    facts = config.load().isolated()
    with ExitStack() as stack:
        engine = stack.enter_context(docker_engine())
        base_image = sam_base_image(engine)
        network, gateway = stack.enter_context(docker_network(engine))
        environment = stack.enter_context(local_environment(facts, sink=quiet))
        endpoints = environment.endpoints
        aws_port = stack.enter_context(relay(gateway, int(endpoints.aws.rsplit(":", 1)[1])))
        auth_port = stack.enter_context(relay(gateway, int(endpoints.firebase_auth_host.rsplit(":", 1)[1])))
        seen_from_containers = replace(
            endpoints, aws=f"http://{gateway}:{aws_port}", firebase_auth_host=f"{gateway}:{auth_port}"
        )
        # SAM sets Lambda's own variables; the template's, as deployed, and the local settings are ours.
        deployed = environment.stack
        variables = {**deployed.function(FUNCTION).environment, **local_settings(facts, seen_from_containers)}
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sam-local-")))
        env_vars = workdir / "env.json"
        env_vars.write_text(json.dumps({FUNCTION: variables}))
        setup = SamSetup(
            template=local_template(workdir, list(variables)),
            env_vars=env_vars,
            parameters=dict(deployed.parameter_overrides),
            env={
                **deploy.sam_environment(facts.aws, endpoints.aws),
                **{name: engine[name] for name in ("DOCKER_HOST", "DOCKER_CONFIG") if name in engine},
                "BENCH_SAM_NETWORK": network,
            },
        )
        ours_cold_s = [
            cold_start.chain_first_invoke(paths.BUILD_DIR / FUNCTION, cold_start.OUR_SETTINGS).wall_s
            for _ in range(rounds(3))
        ]
        # SAM's default: a new container for every request, so each is a cold start.
        with start_api(setup) as (api, default_up_s):
            sam_cold_s = [timed_get(f"{api}/health") for _ in range(rounds(3))]
        with start_api(setup, "--warm-containers", "LAZY") as (api, lazy_up_s):
            lazy_first_s = timed_get(f"{api}/health")
            warm = warm_latency(api, endpoints)
            e2e = e2e_against(api, endpoints)
    return [
        not_run(GROUP, "sam local start-api as shipped", AS_SHIPPED),
        Row(
            GROUP,
            "start-api up (process start -> listening)",
            median([default_up_s, lazy_up_s]),
            "s",
            note=f"default {default_up_s:.1f} s, --warm-containers LAZY {lazy_up_s:.1f} s; base image: the "
            f"lambda-python stand-in ({base_image.python} on Debian trixie, boto3 at uv.lock's version; "
            f"AWS's is Amazon Linux 2023 with AWS's build), ready in {base_image.ready_s:.1f} s; "
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
        *warm,
        e2e,
    ]
