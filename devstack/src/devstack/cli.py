"""`devstack`: the local environment's commands (the Makefile's targets call these).

devstack dev                      everything, until Ctrl-C (make dev)
devstack local                    the emulators + SAM CLI's `sam local start-api`, until Ctrl-C (make local)
devstack local-invoke [--event F] `sam local invoke` of an HTTP API event on the running `devstack local`
devstack token EMAIL [--admin]    an ID token for a dev user of the running `devstack dev` (make token)
devstack env                      export lines that point AWS's tools at the running stack (make env)
devstack deploy [--delete]        deploy template.yml to the emulator that answers (make deploy-local)
devstack gateway --rie HOST:PORT  the HTTP API gateway alone (template.yml's API), in front of a running RIE
                                  (compose: with Lambda's API and the function's logs)
devstack chain [--get PATH]       the built function under RIE + the Web Adapter alone, to debug it
devstack synth --env ENV          template.yml as one environment gets it (SAM transform, conditions)

The shell entry points (scripts/, the Makefile) ask devstack what the tool chain is (tool paths from the pins,
Lambda's interpreter, the requirements export, a config env's stack name ...) with
`python -m devstack.for_shell QUESTION` (standard library only: it answers before the venv exists).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

from devstack import config, debugging, paths
from devstack.apigw.api_config import show_emulation
from devstack.apigw.event_builder import request_event
from devstack.apigw.gateway import INTEGRATION_TIMEOUT_S, LOG_EVENTS_ENV
from devstack.deploy import (
    REAL_ACCOUNT_VARIABLES,
    aws_tools_environment,
    delete_from_emulator,
    deploy_to_emulator,
    deployed_stack,
    sam_environment,
    write_env_file,
)
from devstack.emulators import firebase_accounts
from devstack.environment import (
    FUNCTION,
    SAM_START_API,
    Endpoints,
    chain_variables,
    emulators,
    endpoints_for,
    function_variables,
    local_environment,
    running_rie_front,
)
from devstack.lambdafn.runtime import LambdaChain, on_port
from devstack.local_function import probe
from devstack.reload import Reloader
from devstack.sam_local import SamLocal, require_engine, sam_local, start_api
from devstack.stack.model import local_stack
from devstack.supervision import (
    PartExited,
    Parts,
    StartupError,
    http_ok,
    print_sink,
    require_free_port,
)
from devstack.tools import LambdaTools, tool

DEV_EMAIL = "dev@example.com"
PART_CHECK_MS = 500


def _banner(endpoints: Endpoints, token: str, max_environments: int) -> str:
    return f"""
  Local Lambda chain is up.
    API (HTTP API v2 gateway -> RIE -> Web Adapter -> uvicorn)  {endpoints.api}
    App (uvicorn directly, for debugging)                        {endpoints.app}
    AWS emulator (MiniStack)                                      {endpoints.aws}
    Lambda API (Invoke of this function -> the same environments) {endpoints.lambda_api or "-"}
    Firebase Auth emulator                                        http://{endpoints.firebase_auth_host}
    Table {endpoints.table}   Bucket {endpoints.bucket}

  Try it (token for {DEV_EMAIL}; `make token EMAIL=...` for others):
    curl -s -H "Authorization: Bearer {token}" {endpoints.api}/users/me

  AWS's own tools (aws, sam, samlocal, boto3) on this stack, in another shell of this directory:
    eval "$(make env)"

  Parallel requests get execution environments of their own (up to {max_environments}, each with its cold
  start). A file saved under backend/ is served as soon as the new code has answered; until then, and if
  it fails to start, the previous code serves.
  Ctrl-C stops everything.
"""


def _stop_on_signals() -> None:
    """Ctrl-C, a closed terminal and a plain `kill` all unwind the same way, stopping every part.

    Without this, SIGTERM/SIGHUP would end this process at once and orphan the parts (each runs in
    its own session), and SIGINT stays ignored when `make dev` was started in the background.
    """

    def interrupt(signum: int, _frame: object) -> None:
        # A second Ctrl-C must not cut the shutdown short (emulators export their data on the way out).
        for again in signals:
            signal.signal(again, lambda *_: print_sink("devstack", "still stopping, one moment..."))
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in signals:
        signal.signal(signum, interrupt)


def dev(_: argparse.Namespace) -> int:
    _stop_on_signals()
    facts = config.load()
    with local_environment(facts, data_dir=paths.DATA_DIR) as environment:
        endpoints, function = environment.endpoints, environment.function
        user = firebase_accounts.sign_in_or_up(endpoints.firebase_auth_host, DEV_EMAIL)
        # Written once everything answers, the dev user included: whoever reads it finds the parts serving.
        paths.RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
        paths.RUN_FILE.write_text(json.dumps(asdict(endpoints)))
        try:
            print(_banner(endpoints, user.id_token, function.environments.max_environments), flush=True)
            if facts.debugger:
                print(debugging.banner(facts.debugger), flush=True)
            # Checked between changes (every PART_CHECK_MS): `make dev` never goes on with a piece missing.
            Reloader(function).watch(between_changes=environment.parts.check, every_ms=PART_CHECK_MS)
        finally:
            paths.RUN_FILE.unlink(missing_ok=True)
    return 0


SAM_LOCAL_DIR = paths.STATE_DIR / "sam-local"
"""What the running `make local` hands SAM: its template, the function's variables, setup.json (for
`make local-invoke`)."""


def _local_banner(endpoints: Endpoints, token: str, setup: SamLocal, invoke_line: str) -> str:
    return f"""
  sam local start-api is up (SAM CLI's own, the function in Docker on {setup.image}).
    API (sam local start-api, --warm-containers EAGER)  {endpoints.api}
    AWS emulator (MiniStack)                            {endpoints.aws}
    Firebase Auth emulator                              http://{endpoints.firebase_auth_host}

  Try it (token for {DEV_EMAIL}; `make token EMAIL=...` for others):
    curl -s -H "Authorization: Bearer {token}" {endpoints.api}/users/me

  sam local invoke of an HTTP API event (GET /health), in another shell: make local-invoke, which runs
    {invoke_line}

  How SAM's start-api differs from HTTP API (and from `make dev`): docs/gateway.md. Ctrl-C stops everything.
"""


def local(_: argparse.Namespace) -> int:
    _stop_on_signals()
    facts = config.load()
    port = facts.ports.local_api
    require_free_port("sam local start-api", port, "LOCAL_API_PORT")
    require_engine(os.environ)  # before the emulators' 20 s
    stack = local_stack(facts)
    parts = Parts()
    with emulators(facts, stack, parts, data_dir=paths.DATA_DIR) as running:
        outputs = dict(running.deployed.outputs)
        endpoints = endpoints_for(
            facts, aws=running.aws, firebase_auth_host=running.firebase.host, outputs=outputs
        )
        # No gateway and no app of ours: SAM serves the API, the app runs inside its container.
        endpoints = replace(endpoints, api=f"http://127.0.0.1:{port}", app="", served_by=SAM_START_API)
        with (
            sam_local(facts, endpoints, running.deployed, workdir=SAM_LOCAL_DIR) as setup,
            start_api(setup, port, "--warm-containers", "EAGER") as (process, _up_s),
        ):
            parts.add(process)
            running.firebase.wait_ready()  # booted while SAM started its containers; the banner says it is up
            setup.save(SAM_LOCAL_DIR / "setup.json")
            user = firebase_accounts.sign_in_or_up(endpoints.firebase_auth_host, DEV_EMAIL)
            paths.RUN_FILE.parent.mkdir(parents=True, exist_ok=True)
            paths.RUN_FILE.write_text(json.dumps(asdict(endpoints)))
            try:
                invoke_line = shlex.join(setup.invoke_argv(SAM_LOCAL_DIR / "event.json"))
                print(_local_banner(endpoints, user.id_token, setup, invoke_line), flush=True)
                while True:
                    parts.check()
                    time.sleep(PART_CHECK_MS / 1000)
            finally:
                paths.RUN_FILE.unlink(missing_ok=True)
                (SAM_LOCAL_DIR / "setup.json").unlink(missing_ok=True)


def local_invoke(args: argparse.Namespace) -> int:
    saved = SAM_LOCAL_DIR / "setup.json"
    endpoints = running_endpoints() if paths.RUN_FILE.exists() else None
    if endpoints is None or endpoints.served_by != SAM_START_API or not saved.exists():
        raise StartupError("No running `make local`: sam local invoke uses its emulators. Start it first.")
    setup = SamLocal.saved(saved, sam_environment(config.load().aws, endpoints.aws))
    event = args.event
    if event is None:
        event = SAM_LOCAL_DIR / "event.json"
        generate = [tool("sam"), "local", "generate-event", "apigateway", "http-api-proxy"]
        generate += ["--method", "GET", "--path", "health"]
        generated = subprocess.run(generate, env=setup.env, capture_output=True, text=True, check=True)
        event.write_text(generated.stdout)
    print(shlex.join(setup.invoke_argv(event)), file=sys.stderr)  # stdout: the answer alone, as sam prints it
    return subprocess.run(setup.invoke_argv(event), env=setup.env, check=False).returncode


AWS_ENDPOINT_ENV = "DEVSTACK_AWS_ENDPOINT"
FIREBASE_HOST_ENV = "DEVSTACK_FIREBASE_HOST"
"""Where the emulators are when they are not on 127.0.0.1 (compose sets both for its containers)."""


def emulator_addresses(facts: config.LocalFacts) -> tuple[str, str]:
    """The AWS emulator's endpoint and the Auth emulator's host:port, as this process reaches them."""
    aws = os.environ.get(AWS_ENDPOINT_ENV) or facts.aws.endpoint
    firebase = os.environ.get(FIREBASE_HOST_ENV) or f"127.0.0.1:{facts.ports.firebase}"
    return aws, firebase


def running_endpoints(api: str | None = None) -> Endpoints:
    """Where the parts of the running local environment listen: `make dev`'s, else the compose stack's
    (the emulators and Lambda's API where the facts say, the table and bucket from the deployed stack). With
    `api`, the one whose gateway that is."""
    if paths.RUN_FILE.exists():
        running = Endpoints(**json.loads(paths.RUN_FILE.read_text()))
        if api in (None, running.api):
            return running
    facts = config.load()
    aws, firebase = emulator_addresses(facts)
    if not http_ok(f"{aws}/_localstack/health"):
        raise StartupError(
            f"No running local environment found (no `make dev`, and no AWS emulator answers at {aws}). "
            "Start one first: `make dev`, or `make up` / `docker compose up --wait`."
        )
    outputs = deployed_stack(local_stack(facts), facts.aws, aws).outputs
    # Compose's gateway serves Lambda's API on its port, passing on what it does not serve to the emulator:
    # the emulator's health through it is this stack's Lambda API answering (two hops: more than a second on
    # a loaded machine, and a miss would leave Lambda's API out of the endpoints for the whole session).
    lambda_api = http_ok(f"http://127.0.0.1:{facts.ports.lambda_api}/_localstack/health", timeout=10)
    endpoints = endpoints_for(
        facts, aws=aws, firebase_auth_host=firebase, outputs=dict(outputs), lambda_api=lambda_api
    )
    return replace(endpoints, api=api) if api else endpoints


def token(args: argparse.Namespace) -> int:
    endpoints = running_endpoints()
    user = firebase_accounts.sign_in_or_up(endpoints.firebase_auth_host, args.email)
    if args.admin:
        firebase_accounts.set_claims(
            endpoints.firebase_auth_host, endpoints.project_id, user.uid, {"role": "admin"}
        )
        user = firebase_accounts.sign_in(endpoints.firebase_auth_host, args.email)
    print(user.id_token)
    return 0


def aws_tools_exports(
    endpoints: Endpoints, aws: config.AwsEmulator, environ: Mapping[str, str]
) -> tuple[str, str | None]:
    """`export`/`unset` lines for a shell that point AWS's tools at the stack at `endpoints`, and a warning
    (None without one) naming what they replace of `environ`: a profile, a session or other credentials."""
    exports = {**aws_tools_environment(aws, endpoints.aws), **endpoints.for_aws_tools()}
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(exports.items())]
    lines.append(f"unset {' '.join(REAL_ACCOUNT_VARIABLES)}")
    replaced = [name for name in REAL_ACCOUNT_VARIABLES if environ.get(name)]
    replaced += [
        name
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        if environ.get(name) and environ[name] != exports[name]
    ]
    warning = None
    if replaced:
        warning = (
            f"note: this shell sets {', '.join(replaced)}: evaluated here, these lines unset or replace them "
            "with the emulator's (AWS's tools then reach the local stack only; a new shell, your account)."
        )
    return "\n".join(lines) + "\n", warning


def env(_: argparse.Namespace) -> int:
    endpoints = running_endpoints()
    if not http_ok(f"{endpoints.aws}/_localstack/health"):
        raise StartupError(
            f"The local environment's AWS emulator does not answer at {endpoints.aws} (`make dev` stopped?). "
            "Start one first: `make dev`, or `make up` / `docker compose up --wait`."
        )
    exports, warning = aws_tools_exports(endpoints, config.load().aws, os.environ)
    if warning:
        print(warning, file=sys.stderr)
    sys.stdout.write(exports)
    return 0


def deploy(args: argparse.Namespace) -> int:
    facts = config.load()
    aws, firebase = emulator_addresses(facts)
    endpoint = args.endpoint or aws
    if not http_ok(f"{endpoint}/_localstack/health"):
        raise StartupError(
            f"No AWS emulator answers at {endpoint}. Start one (`make dev`) or pass --endpoint."
        )
    stack = local_stack(facts)
    if args.delete:
        delete_from_emulator(stack, facts.aws, endpoint)
        return 0
    stack = deploy_to_emulator(stack, facts.aws, endpoint)
    for key, value in stack.outputs.items():
        print(f"{key:24} {value}")
    if args.function_env:
        outputs = dict(stack.outputs)
        endpoints = endpoints_for(facts, aws=endpoint, firebase_auth_host=firebase, outputs=outputs)
        declared = stack.function(FUNCTION)
        if facts.debugger:  # compose's debug override: the function container's RIE gets the lifted Timeout
            declared = debugging.function_as_debugged(declared)
        variables = function_variables(declared, facts, endpoints)
        write_env_file(args.function_env, on_port(variables, facts.ports.app))
        print(f"the function's environment: {args.function_env}")
    return 0


def gateway(args: argparse.Namespace) -> int:
    facts = config.load()
    stack = local_stack(facts, template_path=args.template)
    integration_timeout, function_timeout = args.timeout or INTEGRATION_TIMEOUT_S, args.function_timeout
    if facts.debugger:  # compose's debug override (DEBUG=1): a paused request is never cut
        integration_timeout = function_timeout = debugging.LIFTED_TIMEOUT_S
    function_timeout = function_timeout or stack.function(FUNCTION).timeout
    show_emulation(stack.api, print_sink)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _stop_on_signals()
    aws, _ = emulator_addresses(facts)
    with running_rie_front(
        facts,
        args.rie,
        api=stack.api,
        host=args.host,
        port=args.port or facts.ports.gateway,
        timeout_s=integration_timeout,
        function_timeout_s=function_timeout,
        log_events=args.log_events,
        log_level=args.log_level,
        emulator=aws,
        lambda_api_port=args.lambda_api_port,
        function_output=args.function_output,
    ) as parts:
        while True:
            parts.check()
            time.sleep(PART_CHECK_MS / 1000)


def chain(args: argparse.Namespace) -> int:
    facts = config.load()
    ports = facts.ports
    overrides = dict(item.split("=", 1) for item in args.env)
    lambda_chain = LambdaChain(
        paths.BUILD_DIR / FUNCTION,
        chain_variables(facts, overrides),
        invoke_port=ports.rie,
        runtime_api_port=ports.runtime_api,
        app_port=ports.app,
        tools=LambdaTools.pinned(),
        rie_log_level=args.rie_log_level,
    )
    if args.print_env:
        for key, value in sorted(lambda_chain.environment().items()):
            print(f"{key}={value}")
        return 0
    with lambda_chain:
        cold = lambda_chain.wait_ready(probe())
        print_sink("lambda", f"ready: first invoke (cold start, init included) {cold * 1000:.0f} ms")
        if args.get:
            status, payload = lambda_chain.invoke(request_event("GET", args.get))
            print(json.dumps({"rie_status": status, "response": payload}, indent=2))
            return 0
        event = json.dumps(request_event("GET", "/health"))
        print_sink("lambda", f"invoke: curl -s {lambda_chain.invoke_url} -d '{event}'")
        print_sink("lambda", f"app directly: curl -s http://127.0.0.1:{ports.app}/health   (Ctrl-C stops)")
        while lambda_chain.running:
            time.sleep(0.5)
    return 1


def synth(args: argparse.Namespace) -> int:
    from devstack.stack.synth import synthesize

    text = json.dumps(synthesize(args.env, dict(item.split("=", 1) for item in args.overrides)), indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run the whole local chain until Ctrl-C").set_defaults(run=dev)
    commands.add_parser(
        "local", help="the emulators + SAM CLI's sam local start-api until Ctrl-C"
    ).set_defaults(run=local)
    invoke_parser = commands.add_parser(
        "local-invoke", help="sam local invoke of an event on the running `devstack local`"
    )
    invoke_parser.add_argument(
        "--event", type=Path, help="the event (default: an HTTP API event for GET /health, SAM's sample)"
    )
    invoke_parser.set_defaults(run=local_invoke)

    token_parser = commands.add_parser("token", help="print an ID token for a dev user")
    token_parser.add_argument("email")
    token_parser.add_argument("--admin", action="store_true", help="give the user the admin role first")
    token_parser.set_defaults(run=token)

    commands.add_parser(
        "env", help='print the exports that point AWS\'s tools at the running stack: eval "$(make env)"'
    ).set_defaults(run=env)

    deploy_parser = commands.add_parser("deploy", help="deploy template.yml to the running emulator")
    deploy_parser.add_argument("--endpoint", help="the emulator's URL (default: localstack/localstack.env)")
    deploy_parser.add_argument("--delete", action="store_true", help="delete the stack instead")
    deploy_parser.add_argument(
        "--function-env",
        type=Path,
        metavar="FILE",
        help="also write the function's environment there (KEY='value')",
    )
    deploy_parser.set_defaults(run=deploy)

    gateway_parser = commands.add_parser("gateway", help="the HTTP API gateway in front of a running RIE")
    gateway_parser.add_argument(
        "--rie", required=True, metavar="HOST:PORT", help="where RIE's invoke API listens"
    )
    gateway_parser.add_argument(
        "--template",
        type=Path,
        default=paths.TEMPLATE,
        help="the template whose HttpApi to play (CORS), with the local parameters (default: template.yml)",
    )
    gateway_parser.add_argument("--host", default="127.0.0.1")
    gateway_parser.add_argument("--port", type=int, help="default: GATEWAY_PORT (devstack/devstack.env)")
    gateway_parser.add_argument(
        "--timeout",
        type=float,
        help="integration timeout, waiting included (503 past it; default 30 s, none with DEBUG=1)",
    )
    gateway_parser.add_argument(
        "--function-timeout",
        type=float,
        help="the function's Timeout, which RIE enforces (default: the template's)",
    )
    gateway_parser.add_argument(
        "--log-events", action="store_true", default=None, help=f"log each event (or {LOG_EVENTS_ENV}=1)"
    )
    gateway_parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    gateway_parser.add_argument(
        "--lambda-api-port",
        type=int,
        help="also serve Lambda's API for the deployed function there, on the same RIE (the rest of "
        f"Lambda's API goes on to the AWS emulator: {AWS_ENDPOINT_ENV}, else the facts' endpoint)",
    )
    gateway_parser.add_argument(
        "--function-output",
        metavar="HOST",
        help="the function's container, whose output relay serves its lines: shipped to the deployed "
        "function's log group",
    )
    gateway_parser.set_defaults(run=gateway)

    chain_parser = commands.add_parser("chain", help="the built function under RIE + the Web Adapter alone")
    chain_parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="override")
    chain_parser.add_argument("--rie-log-level", default="info", help="debug shows every Runtime API call")
    chain_parser.add_argument("--get", metavar="PATH", help="invoke GET PATH once, print the answer, stop")
    chain_parser.add_argument("--print-env", action="store_true", help="print the function's environment")
    chain_parser.set_defaults(run=chain)

    synth_parser = commands.add_parser("synth", help="template.yml as one environment gets it (offline)")
    synth_parser.add_argument("--env", required=True, help="a config env of samconfig.toml")
    synth_parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    synth_parser.add_argument("overrides", nargs="*", help="Name=Value parameter overrides")
    synth_parser.set_defaults(run=synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (StartupError, PartExited) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped; no process left behind.", file=sys.stderr)
        return 130
    return status
