"""SAM CLI's own `sam local start-api` and `sam local invoke`, as SAM ships them, on template.yml and the
built artifact: `make local`, `make local-invoke`, and the bench's anchor. On any Docker engine, without AWS
credentials. What only a local run needs, prepared here and nowhere else:

- the Web Adapter layer: the template takes it from AWS's account by ARN (which needs credentials to
  download); a copy of the template takes it from a local directory instead, the adapter the project builds
  (sandbox.prepare_layer, the same /opt as make dev's), and its CodeUri is the built artifact;
- SAM's base image: an engine that can pull gets SAM's own; where no registry answers, the lambda-python
  stand-in built from Debian packages (tests/compose/stand-ins) is tagged with SAM's name;
- the emulators: they listen on 127.0.0.1, and SAM's containers run on the engine's default bridge, so a
  relay on the bridge's gateway address (this machine, as containers reach it) forwards to each;
- the function's variables: the template's, as the deployed stack resolves them, and the local settings
  (SAM's --env-vars sets only the variables the template declares: the local ones are declared too).
"""

from __future__ import annotations

import ipaddress
import json
import select
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from devstack import config, paths
from devstack.deploy import sam_environment
from devstack.environment import FUNCTION, Endpoints, local_settings
from devstack.lambdafn.sandbox import prepare_layer
from devstack.stack.model import Stack
from devstack.stack.template import load
from devstack.supervision import LogSink, ManagedProcess, StartupError, port_is_free, print_sink
from devstack.tools import LambdaTools, tool

SAM_BASE_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
"""The name SAM CLI gives the python3.13 x86_64 base image (it tags its `-rapid` image FROM it)."""
STAND_IN_IMAGE = "public.ecr.aws/lambda/python:3.13"
STAND_IN_LABEL = "org.devstack.stand-in.hash"
"""tests/compose/stand-ins/build.sh's label: the image was built here from Debian packages."""
STAND_IN_BUILD = "tests/compose/stand-ins/build.sh lambda-python"
LAYER = "WebAdapterLayer"
PULL_TIMEOUT_S = 600.0
START_DEADLINE_S = 120.0
"""start-api listening: with --warm-containers EAGER it first creates the function's container."""
ENGINE_FIX = (
    "Start one: `make engine` (Linux, as root: a private engine; nothing leaves the machine), or Docker "
    "Desktop; `make dev` runs the same chain without Docker."
)


# ----------------------------------------------------------------------------------------- the engine
def _docker(env: Mapping[str, str], *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [_docker_client(), *argv], env=env, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise StartupError(
            f"sam local: `docker {' '.join(argv)}` did not answer in {timeout:.0f}s."
        ) from None


def _docker_client() -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise StartupError(f"sam local: no `docker` client on PATH. {ENGINE_FIX}")
    return docker


def require_engine(env: Mapping[str, str]) -> None:
    answer = _docker(env, "info", "--format", "{{.ServerVersion}}", timeout=20)
    if answer.returncode != 0:
        where = f" at {env['DOCKER_HOST']}" if env.get("DOCKER_HOST") else ""
        raise StartupError(
            f"sam local runs the function in Docker, and no Docker engine answers{where}. {ENGINE_FIX}"
        )


def base_image(env: Mapping[str, str], sink: LogSink = print_sink) -> str:
    """SAM's python3.13 base image on the engine, so SAM never pulls (--skip-pull-image); says which it is."""
    if _docker(env, "image", "inspect", SAM_BASE_IMAGE).returncode == 0:
        return _which_image(env)
    sink("sam local", f"pulling {SAM_BASE_IMAGE} (SAM CLI's base image)")
    pulled = _docker(env, "pull", SAM_BASE_IMAGE, timeout=PULL_TIMEOUT_S)
    if pulled.returncode == 0:
        return _which_image(env)
    if _label(env, STAND_IN_IMAGE):
        sink("sam local", f"no registry answers: the lambda-python stand-in is {SAM_BASE_IMAGE} here")
        tagged = _docker(env, "tag", STAND_IN_IMAGE, SAM_BASE_IMAGE)
        if tagged.returncode != 0:
            raise StartupError(f"sam local: docker tag {STAND_IN_IMAGE}: {tagged.stderr.strip()}")
        return _which_image(env)
    raise StartupError(
        f"sam local: SAM CLI's base image {SAM_BASE_IMAGE} is not on the engine and cannot be pulled "
        f"({pulled.stderr.strip()[-200:]}). Where no registry answers, build its stand-in from Debian "
        f"packages: `{STAND_IN_BUILD}` (needs mmdebstrap and a Debian mirror), then run again."
    )


def _label(env: Mapping[str, str], image: str) -> str:
    found = _docker(
        env, "image", "inspect", "-f", f'{{{{ index .Config.Labels "{STAND_IN_LABEL}" }}}}', image
    )
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() != "<no value>" else ""


def _which_image(env: Mapping[str, str]) -> str:
    if _label(env, SAM_BASE_IMAGE):
        return f"{SAM_BASE_IMAGE} = the lambda-python stand-in (Debian's CPython 3.13, not AWS's build)"
    return f"{SAM_BASE_IMAGE} (AWS's)"


def bridge_gateway(env: Mapping[str, str]) -> str:
    """This machine's address on the engine's default bridge, where SAM creates its containers."""
    inspected = _docker(env, "network", "inspect", "bridge", "-f", "{{json .IPAM.Config}}")
    if inspected.returncode != 0:
        raise StartupError(
            "sam local: the engine has no default bridge network, on which SAM CLI creates its containers "
            f"({inspected.stderr.strip()}). Start the engine with one (scripts/engine.sh does)."
        )
    ipam = json.loads(inspected.stdout) or [{}]
    if ipam[0].get("Gateway"):
        return str(ipam[0]["Gateway"])
    # dockerd leaves Gateway out when it took the bridge's default: the subnet's first address.
    return str(next(ipaddress.ip_network(ipam[0]["Subnet"]).hosts()))


# ------------------------------------------------------------------------------------------ the relay
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

    try:
        server = socketserver.ThreadingTCPServer((host, 0), Forward)
    except OSError as error:
        raise StartupError(
            f"sam local: cannot listen on {host}, the engine's bridge address, to relay the emulators to its "
            f"containers ({error}). The engine must run on this machine (Docker Desktop's VM is not)."
        ) from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"relay-{target_port}", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------- the template
def local_template(workdir: Path, variables: Sequence[str]) -> Path:
    """template.yml with the adapter layer from a local directory, CodeUri = the built artifact, and the
    variables the function gets locally declared."""
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
    path = workdir / "template.json"  # JSON, which SAM reads as well: one module parses YAML templates
    path.write_text(json.dumps(document, indent=1))
    return path


@dataclass(frozen=True)
class SamLocal:
    """What `sam local start-api` and `sam local invoke` run with; `endpoints` are the emulators as this
    machine reaches them."""

    template: Path
    env_vars: Path
    parameters: dict[str, str]
    env: dict[str, str]
    """The SAM CLI's environment: the engine, the emulator's credentials and region (never an account's)."""
    image: str
    """Which base image the function runs on."""

    def save(self, path: Path) -> None:
        """For `make local-invoke` from another shell; the environment is left out (it is this shell's)."""
        saved = {"template": str(self.template), "env_vars": str(self.env_vars)}
        path.write_text(json.dumps({**saved, "parameters": self.parameters, "image": self.image}))

    @classmethod
    def saved(cls, path: Path, env: dict[str, str]) -> SamLocal:
        fields = json.loads(path.read_text())
        template, env_vars = Path(fields.pop("template")), Path(fields.pop("env_vars"))
        return cls(template=template, env_vars=env_vars, env=env, **fields)

    def _common(self) -> list[str]:
        argv = ["--template", str(self.template), "--env-vars", str(self.env_vars), "--skip-pull-image"]
        return [*argv, "--parameter-overrides", *(f"{k}={v}" for k, v in self.parameters.items())]

    def start_api_argv(self, port: int, *extra: str) -> list[str]:
        argv = [tool("sam"), "local", "start-api", "--host", "127.0.0.1", "--port", str(port)]
        return [*argv, *self._common(), *extra]

    def invoke_argv(self, event: Path) -> list[str]:
        return [tool("sam"), "local", "invoke", FUNCTION, "--event", str(event), *self._common()]


@contextmanager
def sam_local(
    facts: config.LocalFacts,
    endpoints: Endpoints,
    deployed: Stack,
    *,
    workdir: Path | None = None,
    docker: Mapping[str, str] | None = None,
    sink: LogSink = print_sink,
) -> Iterator[SamLocal]:
    """SAM's inputs for the stack `deployed` to the emulators at `endpoints`, in `workdir` (a temporary
    directory when None), and the relays its containers reach the emulators through. `docker`: DOCKER_*
    variables of another engine than this process's."""
    env = {**sam_environment(facts.aws, endpoints.aws), **(docker or {})}
    require_engine(env)
    artifact = paths.BUILD_DIR / FUNCTION
    if not artifact.exists():
        raise StartupError(f"No built function at {artifact}. Run `make build`.")
    image = base_image(env, sink)
    host = bridge_gateway(env)
    with ExitStack() as exits:
        aws_port = exits.enter_context(relay(host, int(endpoints.aws.rsplit(":", 1)[1])))
        auth_port = exits.enter_context(relay(host, int(endpoints.firebase_auth_host.rsplit(":", 1)[1])))
        seen_from_containers = replace(
            endpoints, aws=f"http://{host}:{aws_port}", firebase_auth_host=f"{host}:{auth_port}"
        )
        # SAM sets Lambda's own variables; the template's, as deployed, and the local settings are ours.
        variables = {
            **deployed.function(FUNCTION).environment,
            **local_settings(facts, seen_from_containers),
        }
        if workdir is None:
            workdir = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="sam-local-")))
        workdir.mkdir(parents=True, exist_ok=True)
        env_vars = workdir / "env.json"
        env_vars.write_text(json.dumps({FUNCTION: variables}))
        yield SamLocal(
            template=local_template(workdir, list(variables)),
            env_vars=env_vars,
            parameters=dict(deployed.parameter_overrides),
            env=env,
            image=image,
        )


@contextmanager
def start_api(
    setup: SamLocal, port: int, *extra: str, sink: LogSink = print_sink
) -> Iterator[tuple[ManagedProcess, float]]:
    """`sam local start-api` on 127.0.0.1:`port`; yields its process and the seconds until it listened.
    Stopped with SIGTERM: SAM removes its containers."""
    process = ManagedProcess("sam local", setup.start_api_argv(port, *extra), env=setup.env, sink=sink)
    began = time.perf_counter()
    process.start()
    try:
        process.wait_ready(
            lambda: not port_is_free(port),
            deadline_s=START_DEADLINE_S,
            what="listening",
            fix="See its output.",
        )
        yield process, time.perf_counter() - began
    finally:
        process.stop(grace=20)


def invoke(setup: SamLocal, event: Path) -> subprocess.CompletedProcess[str]:
    """`sam local invoke` of the function with `event`: its stdout is the function's answer."""
    return subprocess.run(
        setup.invoke_argv(event),
        env=setup.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=START_DEADLINE_S,
    )
