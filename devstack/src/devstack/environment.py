"""The runner: the whole local environment, started the same way by `make dev` and by the e2e tests. The only
part of devstack that knows the stack model, the gateway and the execution environments together.

Order: the stack model (template.yml + samconfig.toml's local env, read once) -> the Firebase emulator
(started, not waited for: everything up to the warm-up overlaps its boot) -> MiniStack (+ its ready.d hooks)
-> deploy template.yml to it (skipped when unchanged since the last deploy to the kept state) -> the HTTP API
gateway, in this process, in front of the function's execution environments (each a Lambda chain running the
built artifact, started on demand) -> Lambda's API for the function, on the same environments -> a warm-up
request (the first cold start) -> the Firebase emulator serving.
Everything stops in reverse order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import astuple, dataclass, field, fields
from pathlib import Path
from typing import Any

from botocore.config import Config

from devstack import config, paths
from devstack.apigw.api_config import ApiConfig, show_emulation
from devstack.apigw.gateway import INTEGRATION_TIMEOUT_S, Gateway
from devstack.debugging import LIFTED_TIMEOUT_S, function_as_debugged
from devstack.deploy import deploy_to_emulator, deploy_unless_unchanged, deployed_stack, emulator_session
from devstack.emulators.firebase import Booting, firebase_auth_booting
from devstack.emulators.ministack import ministack
from devstack.lambdafn import output_relay
from devstack.lambdafn.invoke_api import FunctionNames, InvocationLogs, LambdaApi
from devstack.lambdafn.logs import LogShipper
from devstack.lambdafn.output_relay import RelayReader
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import invoke_url, part_of
from devstack.local_function import ChainFactory, LocalFunction
from devstack.stack.function import FunctionConfig
from devstack.stack.model import Stack, local_stack
from devstack.supervision import (
    LogSink,
    Parts,
    ServerThread,
    StartupError,
    forward_logs,
    print_sink,
    require_free_port,
)
from devstack.tools import LambdaTools

FUNCTION = "ApiFunction"
DEPLOY_RECORD = "deployed-stack.sha256"
"""Kept with MiniStack's state: the fingerprint of the stack it holds (deploy.deploy_unless_unchanged)."""

SAM_START_API = "sam local start-api"
"""SAM CLI's own local API (`make local`), which differs from HTTP API where docs/gateway.md says."""

AWS_TOOLS = "aws_tools"
"""An endpoint's metadata key: the variable that sends AWS's tools (CLI, SAM CLI, boto3) to it."""


@dataclass(frozen=True)
class Endpoints:
    api: str
    app: str
    aws: str = field(metadata={AWS_TOOLS: "AWS_ENDPOINT_URL"})
    """The AWS emulator, for every service that no other endpoint here claims (AWS_ENDPOINT_URL_<SERVICE>)."""
    firebase_auth_host: str
    project_id: str
    table: str
    bucket: str
    lambda_api: str = field(default="", metadata={AWS_TOOLS: "AWS_ENDPOINT_URL_LAMBDA"})
    """Lambda's API for the function the chain runs (the rest of Lambda's API goes on to `aws`); empty where
    nothing serves it (make local: SAM serves no Lambda API)."""
    served_by: str = "gateway"
    """What answers at `api`: devstack's gateway (make dev, compose), or SAM_START_API (make local)."""

    def for_aws_tools(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL[_<SERVICE>] of each endpoint that AWS's tools reach and that is set."""
        return {
            endpoint.metadata[AWS_TOOLS]: getattr(self, endpoint.name)
            for endpoint in fields(self)
            if AWS_TOOLS in endpoint.metadata and getattr(self, endpoint.name)
        }


@dataclass(frozen=True)
class RunningEnvironment:
    endpoints: Endpoints
    stack: Stack
    """The stack model as deployed (physical ids and outputs known)."""
    function: LocalFunction
    parts: Parts
    """MiniStack, the Firebase emulator, the gateway, the Lambda API: `parts.check()` raises PartExited once
    one of them has stopped on its own. The function's execution environments are not among them: as on
    Lambda, one that dies is replaced (the pool says so in the output)."""


def endpoints_for(
    facts: config.LocalFacts,
    *,
    aws: str,
    firebase_auth_host: str,
    outputs: dict[str, str],
    lambda_api: bool = False,
) -> Endpoints:
    """Where everything is, given the emulators' addresses and the deployed stack's outputs; with
    `lambda_api`, Lambda's API is served on its port (make dev's, compose's gateway)."""
    return Endpoints(
        api=f"http://127.0.0.1:{facts.ports.gateway}",
        app=f"http://127.0.0.1:{facts.ports.app}",
        lambda_api=f"http://127.0.0.1:{facts.ports.lambda_api}" if lambda_api else "",
        aws=aws,
        firebase_auth_host=firebase_auth_host,
        project_id=facts.firebase.project_id,
        table=outputs["TableName"],
        bucket=outputs["BucketName"],
    )


def adapter_knobs(environ: Mapping[str, str]) -> dict[str, str]:
    """The Web Adapter's own settings, passed through from the shell: its `AWS_LWA_*` knobs and `RUST_LOG`,
    its log filter (`RUST_LOG=debug make dev`; the adapter has no `AWS_LWA_LOG_LEVEL`)."""
    return {
        name: value for name, value in environ.items() if name == "RUST_LOG" or name.startswith("AWS_LWA_")
    }


def local_settings(facts: config.LocalFacts, endpoints: Endpoints) -> dict[str, str]:
    """What differs locally from what the deployed template gives the function: the emulators' endpoints and
    credentials (Lambda gives its role's), the `local` environment name that lets the app use them, and the
    Web Adapter's settings from the shell."""
    return {
        "ENVIRONMENT": "local",
        **facts.aws.client_environment(endpoints.aws),
        # Presigned URLs name the emulator as the host reaches it (in compose the app uses its service name).
        "S3_PRESIGN_ENDPOINT_URL": facts.aws.endpoint,
        "FIREBASE_AUTH_EMULATOR_HOST": endpoints.firebase_auth_host,
        **adapter_knobs(os.environ),
    }


def function_variables(
    function: FunctionConfig, facts: config.LocalFacts, endpoints: Endpoints, sink: LogSink = print_sink
) -> dict[str, str]:
    """The function's whole environment, assembled in this one place (make dev, compose, bench): Lambda's
    variables, the template's as the deployed stack resolves them, then the local settings."""
    variables = function.variables(local_settings(facts, endpoints))
    missing = [key for key in function.unresolved if key not in variables]
    if missing:
        sink("lambda", f"WARNING: {', '.join(missing)} only known in a deployed stack: left unset")
    return variables


def chain_variables(facts: config.LocalFacts, overrides: Mapping[str, str]) -> dict[str, str]:
    """The function's variables for a chain run on its own (`devstack chain`, the chain tests, bench): the
    template's, the emulator's credentials, then `overrides` (what only a deployed stack knows is theirs)."""
    declared = local_stack(facts).function(FUNCTION)
    return declared.variables({**facts.aws.client_environment(), **overrides})


def deployed_function(stack: Stack, aws: config.AwsEmulator, endpoint: str) -> dict[str, Any]:
    """The deployed function's configuration as the emulator holds it (get-function-configuration), found by
    its physical name (the Ref the deployed stack resolved)."""
    client: Any = emulator_session(aws).client("lambda", endpoint_url=endpoint)
    configuration: dict[str, Any] = client.get_function_configuration(
        FunctionName=str(stack.parameters[FUNCTION])
    )
    return configuration


def log_shipper(
    configuration: Mapping[str, Any], aws: config.AwsEmulator, endpoint: str, sink: LogSink
) -> LogShipper:
    """Ships the function's lines to the emulator's CloudWatch Logs where Lambda would write them: the group
    and format of the deployed function's LoggingConfig (Lambda's default group when it has none). A slow
    emulator costs lines, not requests: each call gives up soon and is not retried."""
    logging_config = configuration.get("LoggingConfig") or {}
    client = emulator_session(aws).client(
        "logs",
        endpoint_url=endpoint,
        config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1}),
    )
    return LogShipper(
        client,
        logging_config.get("LogGroup") or f"/aws/lambda/{configuration['FunctionName']}",
        log_format=logging_config.get("LogFormat", "Text"),
        where=f"the AWS emulator's CloudWatch Logs at {endpoint}",
        sink=sink,
    )


@dataclass(frozen=True)
class Emulators:
    aws: str
    """The AWS emulator's endpoint."""
    firebase: Booting
    """The Firebase Auth emulator, booting: its host is known, `wait_ready()` before anything calls it."""
    deployed: Stack
    """The stack model as deployed to the AWS emulator (physical ids and outputs known)."""


@contextmanager
def emulators(
    facts: config.LocalFacts,
    stack: Stack,
    parts: Parts,
    *,
    data_dir: Path | None = None,
    sink: LogSink = print_sink,
) -> Iterator[Emulators]:
    """MiniStack with `stack` deployed to it, and the Firebase Auth emulator: what the function calls, the
    same for `make dev` and `make local` (sam local). Their processes join `parts`.

    The Firebase emulator boots first and longest (CPU-bound): MiniStack, the deploy and whatever the caller
    starts before `firebase.wait_ready()` (make dev: the gateway and the first cold start) overlap it. With a
    `data_dir` (kept state), a deploy whose stack is unchanged and still there is skipped."""
    with ExitStack() as exits:
        firebase = exits.enter_context(
            firebase_auth_booting(
                facts.firebase,
                facts.ports.firebase,
                data_dir=data_dir and data_dir / "firebase-auth",
                sink=sink,
                parts=parts,
                stack_ports=astuple(facts.ports),
            )
        )
        aws = exits.enter_context(
            ministack(
                facts.aws,
                stack.template_path,
                state_dir=data_dir and data_dir / "ministack",
                sink=sink,
                parts=parts,
            )
        )
        deployed = (
            deploy_unless_unchanged(
                stack, facts.aws, aws, record=data_dir / "ministack" / DEPLOY_RECORD, sink=sink
            )
            if data_dir is not None
            else deploy_to_emulator(stack, facts.aws, aws, sink=sink)
        )
        yield Emulators(aws, firebase, deployed)


@contextmanager
def local_environment(
    facts: config.LocalFacts,
    *,
    data_dir: Path | None = None,
    api_template: Path = paths.TEMPLATE,
    sink: LogSink = print_sink,
) -> Iterator[RunningEnvironment]:
    """Start every part, each checked healthy within its deadline; yields them with their URLs.

    The gateway plays the HttpApi of `api_template` (a test gives it another template's API); the stack
    deployed to the emulator is always the built template.yml."""
    artifact = paths.BUILD_DIR / FUNCTION
    if not artifact.exists():
        raise StartupError(f"No built function at {artifact}. Run `make build`.")
    stack = local_stack(facts)  # read once, refused before anything starts
    api = stack.api if api_template == paths.TEMPLATE else local_stack(facts, template_path=api_template).api
    show_emulation(api, sink)
    tools = LambdaTools.pinned()
    ports = facts.ports
    for part, port, var in (
        # First: a second `make debug` (native or compose) is named by the debugger's port.
        *([("debugger", ports.debugger, "DEBUG_PORT")] if facts.debugger else []),
        ("gateway", ports.gateway, "GATEWAY_PORT"),
        ("app", ports.app, "APP_PORT"),
        ("lambda api", ports.lambda_api, "LAMBDA_API_PORT"),
    ):
        require_free_port(part, port, var)
    parts = Parts()
    with ExitStack() as exits:
        running = exits.enter_context(emulators(facts, stack, parts, data_dir=data_dir, sink=sink))
        aws, deployed_stack = running.aws, running.deployed
        endpoints = endpoints_for(
            facts,
            aws=aws,
            firebase_auth_host=running.firebase.host,
            outputs=dict(deployed_stack.outputs),
            lambda_api=True,
        )
        declared = deployed_stack.function(FUNCTION)
        if facts.debugger:
            declared = function_as_debugged(declared)
        variables = function_variables(declared, facts, endpoints, sink)
        configuration = deployed_function(deployed_stack, facts.aws, aws)
        # Stops after the environments (an ExitStack unwinds in reverse): their last lines are shipped too.
        shipper = exits.enter_context(log_shipper(configuration, facts.aws, aws, sink))
        function = LocalFunction(
            ChainFactory(facts, artifact, variables, tools, sink, shipper=shipper, debugger=facts.debugger),
            declared,
            facts.max_environments,
        )
        exits.callback(function.environments.stop_all)  # in case the gateway could not stop them itself
        exits.enter_context(forward_logs(["uvicorn", "devstack.gateway"], "gateway", sink))
        integration_timeout_s = LIFTED_TIMEOUT_S if facts.debugger else INTEGRATION_TIMEOUT_S
        gateway = exits.enter_context(
            ServerThread(
                Gateway(function.environments, api=api, integration_timeout_s=integration_timeout_s),
                port=ports.gateway,
                log_level="info",
                part="gateway",
            )
        )
        parts.add(gateway)
        # Lambda's API for the deployed function, through the same environments; every other Lambda call goes
        # on to the emulator.
        names = FunctionNames.of_arn(configuration["FunctionArn"])
        lambda_api = LambdaApi(function.environments, names, aws, logs=function.factory.logs, sink=sink)
        parts.add(exits.enter_context(ServerThread(lambda_api, port=ports.lambda_api, part="lambda api")))
        if facts.debugger and facts.debugger.wait:
            sink("debugger", f"the first request waits for a debugger on 127.0.0.1:{facts.debugger.port}")
        function.warm_up()
        running.firebase.wait_ready()
        yield RunningEnvironment(endpoints, deployed_stack, function, parts)


RELAY_WAIT_S = 10.0
"""How long the gateway waits for the function container's output relay before it serves anyway."""


@contextmanager
def running_rie_front(
    facts: config.LocalFacts,
    rie: str,
    *,
    api: ApiConfig,
    host: str,
    port: int,
    timeout_s: float,
    function_timeout_s: float,
    log_events: bool | None,
    log_level: str,
    emulator: str,
    lambda_api_port: int | None = None,
    function_output: str | None = None,
    sink: LogSink = print_sink,
) -> Iterator[Parts]:
    """The gateway in front of an RIE that runs already at `rie` (HOST:PORT: compose's function container),
    requests taking turns on it; yields its parts once they serve. Compose's door adds what `make dev` has:

    - `lambda_api_port`: Lambda's API for the deployed function (its name and ARN from the AWS emulator at
      `emulator`) on the same RIE and its bound, every other call proxied to the emulator;
    - `function_output` (the host of the function's container, whose output relay serves its lines): the
      function's lines shipped to the emulator's CloudWatch Logs by the same LogShipper, and kept for
      LogType Tail."""
    rie_host, _, rie_port = rie.rpartition(":")
    pool = EnvironmentPool.of_running_rie(
        invoke_url(rie_host, int(rie_port)), function_timeout_s=function_timeout_s
    )
    logs = InvocationLogs()
    parts = Parts()
    with ExitStack() as exits:
        configuration: dict[str, Any] = {}
        if lambda_api_port is not None or function_output is not None:
            deployed = deployed_stack(local_stack(facts), facts.aws, emulator)
            configuration = deployed_function(deployed, facts.aws, emulator)
        if function_output is not None:
            shipper = exits.enter_context(log_shipper(configuration, facts.aws, emulator, sink))

            def new_environment() -> Callable[[str], None]:
                # The container's lines are in its own logs already: here they are only shipped and kept.
                tap = logs.sink(0, shipper.tap(lambda _part, _line: None))
                return lambda line: tap(part_of(line), line)

            reader = exits.enter_context(RelayReader(function_output, output_relay.PORT, new_environment))
            # Before the first invocation, so its START and cold-start REPORT are shipped too.
            if not reader.connected.wait(RELAY_WAIT_S):
                sink(
                    "logs",
                    f"WARNING: no output relay answers at {function_output} yet: lines before it do are lost",
                )
        gateway = Gateway(pool, api=api, integration_timeout_s=timeout_s, log_events=log_events)
        parts.add(
            exits.enter_context(
                ServerThread(gateway, host=host, port=port, log_level=log_level, part="gateway")
            )
        )
        if lambda_api_port is not None:
            names = FunctionNames.of_arn(configuration["FunctionArn"])
            lambda_api = LambdaApi(pool, names, emulator, logs=logs, sink=sink)
            parts.add(
                exits.enter_context(
                    ServerThread(
                        lambda_api, host=host, port=lambda_api_port, log_level=log_level, part="lambda api"
                    )
                )
            )
        yield parts
