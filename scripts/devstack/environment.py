"""The whole local environment, started the same way by `make dev` and by the e2e tests.

Order: MiniStack -> (deploy template.yml to it, while the Firebase emulator boots) -> the Lambda chain
running the built artifact -> the HTTP API gateway in front of it. Everything stops in reverse order.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devstack import services, template
from devstack.lambda_chain import LambdaChain
from devstack.paths import REPO_ROOT, tool
from devstack.procs import (
    LogSink,
    ManagedProcess,
    StartupError,
    free_port,
    http_ok,
    print_sink,
    require_free_port,
    run_to_end,
    running,
)
from devstack.provision import emulator_session

PROJECT_ID = "demo-fastapi-lambda"
ARTIFACT = REPO_ROOT / ".aws-sam" / "build" / "ApiFunction"
GATEWAY_READY_S = 15.0


@dataclass(frozen=True)
class Ports:
    ministack: int = 4566
    firebase: int = 9099
    gateway: int = 3000
    app: int = 8000
    rie: int = 9000
    runtime_api: int = 9001

    @classmethod
    def from_env(cls) -> Ports:
        """Defaults, each overridable (MINISTACK_PORT, FIREBASE_AUTH_PORT, GATEWAY_PORT, ...)."""
        names = {
            "ministack": "MINISTACK_PORT",
            "firebase": "FIREBASE_AUTH_PORT",
            "gateway": "GATEWAY_PORT",
            "app": "APP_PORT",
            "rie": "RIE_PORT",
            "runtime_api": "RUNTIME_API_PORT",
        }
        defaults = asdict(cls())
        return cls(**{field: int(os.environ.get(var, defaults[field])) for field, var in names.items()})

    @classmethod
    def free(cls) -> Ports:
        """Fresh ports, so tests never collide with a running `make dev`."""
        return cls(*(free_port() for _ in range(6)))


@dataclass(frozen=True)
class Endpoints:
    api: str
    app: str
    aws: str
    firebase_auth_host: str
    project_id: str
    table: str
    bucket: str


def deploy_template(aws_endpoint: str, sink: LogSink) -> dict[str, str]:
    """`sam deploy --config-env local` to the emulator: the same template as AWS gets. Returns its outputs."""
    env = {**os.environ, "AWS_ENDPOINT_URL": aws_endpoint, "AWS_ACCESS_KEY_ID": "test"}
    env |= {"AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    # samconfig.toml [local] sets fail_on_empty_changeset = false: a restart redeploys as a no-op.
    argv = [tool("sam"), "deploy", "--config-env", "local", "--no-progressbar"]
    run_to_end("deploy", argv, env=env, sink=sink, fix="See the deploy output above; `make build` first.")
    cloudformation: Any = emulator_session().client("cloudformation", endpoint_url=aws_endpoint)
    stack = cloudformation.describe_stacks(StackName=template.stack_name("local"))["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def function_environment(endpoints: Endpoints) -> dict[str, str]:
    """What the template's values become locally: emulator endpoints, the deployed names, a demo project.

    The Web Adapter's own knobs pass through from the shell (`AWS_LWA_LOG_LEVEL=debug make dev`).
    """
    adapter_knobs = {name: value for name, value in os.environ.items() if name.startswith("AWS_LWA_")}
    return {
        "ENVIRONMENT": "local",
        # The template says DEBUG outside prod; locally that buries the request lines under botocore's.
        "LOG_LEVEL": "INFO",
        "AWS_ENDPOINT_URL": endpoints.aws,
        "FIREBASE_AUTH_EMULATOR_HOST": endpoints.firebase_auth_host,
        "FIREBASE_PROJECT_ID": endpoints.project_id,
        "DYNAMODB_TABLE": endpoints.table,
        "S3_BUCKET": endpoints.bucket,
        **adapter_knobs,
    }


@contextmanager
def local_environment(
    ports: Ports, *, data_dir: Path | None = None, sink: LogSink = print_sink
) -> Iterator[tuple[Endpoints, LambdaChain]]:
    """Start every part, each checked healthy within its deadline; yields the URLs and the chain."""
    if not ARTIFACT.exists():
        raise StartupError(f"No built function at {ARTIFACT}. Run `make build`.")
    for part, port, var in (("gateway", ports.gateway, "GATEWAY_PORT"), ("app", ports.app, "APP_PORT")):
        require_free_port(part, port, var)
    with ExitStack() as stack:
        aws = stack.enter_context(
            services.ministack(ports.ministack, state_dir=data_dir and data_dir / "ministack", sink=sink)
        )
        # Deploying (~10 s) overlaps the Firebase emulator's boot (~15-30 s, CPU-bound).
        outputs: dict[str, str] = {}
        failures: list[BaseException] = []

        def deploy() -> None:
            try:
                outputs.update(deploy_template(aws, sink))
            except BaseException as error:  # re-raised in the main thread below
                failures.append(error)

        deployer = threading.Thread(target=deploy, name="deploy")
        deployer.start()
        try:
            auth_host = stack.enter_context(
                services.firebase_auth(
                    ports.firebase, PROJECT_ID, data_dir=data_dir and data_dir / "firebase-auth", sink=sink
                )
            )
        finally:
            deployer.join()
        if failures:
            raise failures[0]
        endpoints = Endpoints(
            api=f"http://127.0.0.1:{ports.gateway}",
            app=f"http://127.0.0.1:{ports.app}",
            aws=aws,
            firebase_auth_host=auth_host,
            project_id=PROJECT_ID,
            table=outputs["TableName"],
            bucket=outputs["BucketName"],
        )
        chain = LambdaChain(
            ARTIFACT,
            env_overrides=function_environment(endpoints),
            invoke_port=ports.rie,
            runtime_api_port=ports.runtime_api,
            app_port=ports.app,
            log_sink=sink,
        )
        stack.callback(chain.stop)
        chain.start()
        chain.wait_ready()
        gateway_argv = ["--invoke-url", chain.invoke_url, "--host", "127.0.0.1", "--port", str(ports.gateway)]
        gateway = ManagedProcess(
            "gateway",
            [sys.executable, "-m", "devstack.gateway", *gateway_argv],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")},
            sink=sink,
        )
        stack.enter_context(running(gateway))
        gateway.wait_ready(
            lambda: http_ok(f"{endpoints.api}/__gateway/health"),
            deadline_s=GATEWAY_READY_S,
            what="serving",
            fix="See its output above.",
        )
        yield endpoints, chain
