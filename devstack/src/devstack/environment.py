"""The whole local environment, started the same way by `make dev` and by the e2e tests.

Order: MiniStack (+ its ready.d hooks) -> (deploy template.yml to it, while the Firebase emulator boots) ->
the HTTP API gateway, in this process, in front of the function's execution environments (each a Lambda
chain running the built artifact, started on demand) -> a warm-up request (the first cold start).
Everything stops in reverse order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path

from devstack import config, paths
from devstack.apigw.api_config import local_api_config, warn_unemulated
from devstack.apigw.gateway import Gateway
from devstack.deploy import deploy_to_emulator
from devstack.emulators.firebase import firebase_auth
from devstack.emulators.ministack import ministack
from devstack.lambdafn.local_function import ChainFactory, LocalFunction
from devstack.supervision import (
    LogSink,
    Parts,
    ServerThread,
    StartupError,
    forward_logs,
    print_sink,
    require_free_port,
)

FUNCTION = "ApiFunction"


@dataclass(frozen=True)
class Endpoints:
    api: str
    app: str
    aws: str
    firebase_auth_host: str
    project_id: str
    table: str
    bucket: str


@dataclass(frozen=True)
class RunningEnvironment:
    endpoints: Endpoints
    function: LocalFunction
    parts: Parts
    """MiniStack, the Firebase emulator and the gateway: `parts.check()` raises PartExited once one of them
    has stopped on its own. The function's execution environments are not among them: as on Lambda, one
    that dies is replaced (the pool says so in the output)."""


def endpoints_for(
    facts: config.LocalFacts, *, aws: str, firebase_auth_host: str, outputs: dict[str, str]
) -> Endpoints:
    """Where everything is, given the emulators' addresses and the deployed stack's outputs."""
    return Endpoints(
        api=f"http://127.0.0.1:{facts.ports.gateway}",
        app=f"http://127.0.0.1:{facts.ports.app}",
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


def function_environment(facts: config.LocalFacts, endpoints: Endpoints) -> dict[str, str]:
    """What the template's values become locally: emulator endpoints, the deployed names, a demo project,
    and the Web Adapter's settings from the shell."""
    return {
        "ENVIRONMENT": "local",
        # As the template sets it everywhere; the app keeps tokens and bodies out of its logs at any level.
        "LOG_LEVEL": "INFO",
        **facts.aws.client_environment(endpoints.aws),
        # Presigned URLs name the emulator as the host reaches it (in compose the app uses its service name).
        "S3_PRESIGN_ENDPOINT_URL": facts.aws.endpoint,
        "FIREBASE_AUTH_EMULATOR_HOST": endpoints.firebase_auth_host,
        "FIREBASE_PROJECT_ID": endpoints.project_id,
        "DYNAMODB_TABLE": endpoints.table,
        "S3_BUCKET": endpoints.bucket,
        **adapter_knobs(os.environ),
    }


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
    api = local_api_config(facts, api_template)  # refused before anything starts
    warn_unemulated(api, sink)
    ports = facts.ports
    for part, port, var in (("gateway", ports.gateway, "GATEWAY_PORT"), ("app", ports.app, "APP_PORT")):
        require_free_port(part, port, var)
    parts = Parts()
    with ExitStack() as stack:
        aws = stack.enter_context(
            ministack(facts.aws, state_dir=data_dir and data_dir / "ministack", sink=sink, parts=parts)
        )
        # Deploying (~10 s) overlaps the Firebase emulator's boot (~15-30 s, CPU-bound).
        outputs: dict[str, str] = {}
        failures: list[BaseException] = []

        def deploy() -> None:
            try:
                outputs.update(deploy_to_emulator(facts, aws, sink=sink))
            except BaseException as error:  # re-raised in the main thread below
                failures.append(error)

        deployer = threading.Thread(target=deploy, name="deploy")
        deployer.start()
        try:
            auth_host = stack.enter_context(
                firebase_auth(
                    facts.firebase,
                    ports.firebase,
                    data_dir=data_dir and data_dir / "firebase-auth",
                    sink=sink,
                    parts=parts,
                    stack_ports=astuple(ports),
                )
            )
        finally:
            deployer.join()
        if failures:
            raise failures[0]
        endpoints = endpoints_for(facts, aws=aws, firebase_auth_host=auth_host, outputs=outputs)
        function = LocalFunction(ChainFactory(facts, artifact, function_environment(facts, endpoints), sink))
        stack.callback(function.environments.stop_all)  # in case the gateway could not stop them itself
        stack.enter_context(forward_logs(["uvicorn", "devstack.gateway"], "gateway", sink))
        gateway = stack.enter_context(
            ServerThread(
                Gateway(function.environments, api=api), port=ports.gateway, log_level="info", part="gateway"
            )
        )
        parts.add(gateway)
        function.warm_up()
        yield RunningEnvironment(endpoints, function, parts)
