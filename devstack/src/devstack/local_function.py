"""The function as the local environment runs it (the runner's half that knows both sides): execution
environments (LambdaChains) on one artifact, handed the function's config from the stack model and its probe
event from the gateway's event builder, and the switch to a new artifact that keeps the old code serving until
the new code has answered."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from devstack import config
from devstack.apigw.event_builder import request_event
from devstack.debugging import start_deadline
from devstack.lambdafn.invoke_api import InvocationLogs
from devstack.lambdafn.logs import LogShipper
from devstack.lambdafn.pool import EnvironmentPool, NoEnvironmentError, ThrottledError
from devstack.lambdafn.runtime import LambdaChain
from devstack.stack.function import FunctionConfig
from devstack.supervision import LogSink, StartupError, free_port
from devstack.tools import LambdaTools

PROBE_PATH = "/health"


def probe() -> bytes:
    """What every new environment must answer 200 before it serves: GET /health, as HTTP API sends it."""
    return json.dumps(request_event("GET", PROBE_PATH)).encode()


@dataclass(frozen=True)
class ChainFactory:
    """Makes the function's execution environment `number`: a LambdaChain on `artifact`, the first on the
    configured ports, the others on free ones, each with its output under its own name ("app.2")."""

    facts: config.LocalFacts
    artifact: Path
    variables: dict[str, str]
    """The function's environment (environment.function_variables)."""
    tools: LambdaTools
    sink: LogSink
    logs: InvocationLogs = field(default_factory=InvocationLogs)
    """Every environment's output is tapped here too, for Lambda's API (LogType Tail)."""
    shipper: LogShipper | None = None
    """Where every environment's function lines go to CloudWatch Logs (make dev); None ships nothing."""
    debugger: config.Debugger | None = None
    """make debug: every environment's app under debugpy on the debug port."""

    def __call__(self, number: int) -> LambdaChain:
        ports = self.facts.ports
        first = (ports.rie, ports.runtime_api, ports.app)
        rie, runtime_api, app = first if number == 0 else (free_port(), free_port(), free_port())
        sink = self.sink
        named: LogSink = sink if number == 0 else lambda part, line: sink(f"{part}.{number}", line)
        return LambdaChain(
            self.artifact,
            self.variables,
            invoke_port=rie,
            runtime_api_port=runtime_api,
            app_port=app,
            tools=self.tools,
            log_sink=self.logs.sink(number, self.shipper.tap(named) if self.shipper else named),
            debugger=self.debugger,
        )


class LocalFunction:
    """The function as the local environment runs it: its execution environments, on one artifact; while
    debugging (the factory's debugger), one environment at a time, on the debugger's port."""

    def __init__(self, factory: ChainFactory, function: FunctionConfig, max_environments: int) -> None:
        self.factory = factory
        debugging = factory.debugger is not None
        self.start_deadline_s = start_deadline(factory.debugger)
        self.environments = EnvironmentPool(
            factory,
            max_environments=1 if debugging else function.reserved_concurrency or max_environments,
            throttle_at_max=function.reserved_concurrency is not None,
            function_timeout_s=function.timeout,
            replace_in_place=debugging,
            sink=factory.sink,
        )

    @property
    def artifact(self) -> Path:
        return self.factory.artifact

    def warm_up(self) -> float:
        """GET /health through the environments (a cold start the first time); returns how long it took."""
        started = time.monotonic()
        try:
            invocation = self.environments.invoke_from_thread(probe(), timeout_s=self.start_deadline_s)
        except (NoEnvironmentError, ThrottledError) as error:
            raise StartupError(f"lambda chain: GET {PROBE_PATH} through the chain failed: {error}") from None
        if not invocation.answered_ok:
            raise StartupError(
                f"lambda chain: GET {PROBE_PATH} through the chain did not return 200 (RIE "
                f"{invocation.status}: {invocation.body[:300]!r}). Check the app's traceback above; "
                "debug hop by hop as in docs/lambda-chain.md."
            )
        return time.monotonic() - started

    def load(self, artifact: Path) -> float:
        """Serve `artifact` from now on, once an environment on it has answered GET /health; until then,
        and for good when it does not (NewCodeFailedError, NoEnvironmentError), the current one serves."""
        return self.serve(replace(self.factory, artifact=artifact))

    def serve(self, factory: ChainFactory) -> float:
        """`load` for any change of the environments (an artifact, the function's variables); returns how
        long the new environment took to answer (its cold start)."""
        started = time.monotonic()
        self.environments.promote(factory, probe(), timeout_s=self.start_deadline_s)
        self.factory = factory
        return time.monotonic() - started

    def process_roots(self) -> list[int]:
        """The root process of each running environment (RIE, the adapter and the app are below it)."""
        chains = [env for env in self.environments.environments if isinstance(env, LambdaChain)]
        return [chain.pid for chain in chains if chain.pid is not None]
