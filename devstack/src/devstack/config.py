"""Every local fact, read from the one file that defines it; nothing here repeats a value.

- devstack/devstack.env: the tool cache's name, the local ports, the Lambda tool and compose versions
- localstack/localstack.env: the AWS emulator's version, image, port, region and credentials
- firebase-emulator/firebase.json and .firebaserc: the Auth emulator's settings and demo project

A port moves with the environment variable of the same name as its key (GATEWAY_PORT=3100 make dev).
`load(root)` reads another checkout's files: tests show that editing a file changes what `make dev` runs.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.supervision import StartupError, free_port

LOCAL_ACCOUNT_ID = "123456789012"
"""The account id the local gateway reports and synth uses (AWS's documentation example); MiniStack reports
its own (000000000000), so ARNs of deployed resources are read from it, never built from this."""

FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/"
"""Firebase ID tokens' issuer is this and the project id (template.yml's authorizer says the same)."""

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped), as scripts/lib.sh sources them and compose reads
    them: a value may use ${KEY} of a line above."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, separator, value = text.partition("=")
        if not separator or not key.isidentifier():
            raise StartupError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        unknown = [name for name in _REFERENCE.findall(value) if name not in values]
        if unknown:
            raise StartupError(f"{path}:{number}: ${{{unknown[0]}}} is not defined on a line above")
        values[key] = _REFERENCE.sub(lambda match: values[match.group(1)], value)
    return values


PORT_VARIABLES = {
    "aws_emulator": "AWS_EMULATOR_PORT",
    "firebase": "FIREBASE_AUTH_PORT",
    "gateway": "GATEWAY_PORT",
    "app": "APP_PORT",
    "rie": "RIE_PORT",
    "runtime_api": "RUNTIME_API_PORT",
    "lambda_api": "LAMBDA_API_PORT",
    "debugger": "DEBUG_PORT",
    "local_api": "LOCAL_API_PORT",
}
"""Each port's key in its facts file, and the environment variable that moves it for one run."""


@dataclass(frozen=True)
class Ports:
    aws_emulator: int
    firebase: int
    gateway: int
    app: int
    rie: int
    runtime_api: int
    lambda_api: int
    debugger: int
    local_api: int
    """`make local`: SAM CLI's own `sam local start-api`."""

    def with_free_ports(self) -> Ports:
        """Fresh ports, so tests never collide with a running `make dev`."""
        chosen: list[int] = []
        for _ in PORT_VARIABLES:  # all different: none is bound before all are chosen
            chosen.append(free_port(avoid=chosen))
        return Ports(*chosen)

    def environment(self) -> dict[str, str]:
        """The variables that put another `devstack dev` on these ports."""
        return {variable: str(getattr(self, name)) for name, variable in PORT_VARIABLES.items()}


@dataclass(frozen=True)
class AwsEmulator:
    """How every local client reaches the AWS emulator (MiniStack, or LocalStack in compose)."""

    version: str
    sam_translator_version: str
    port: int
    region: str
    access_key_id: str
    secret_access_key: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_environment(self, endpoint: str | None = None) -> dict[str, str]:
        """AWS_* variables that aim an SDK or the SAM CLI at the emulator, never at AWS."""
        return {
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }


@dataclass(frozen=True)
class FirebaseEmulator:
    settings: dict[str, Any]
    """firebase-emulator/firebase.json as written."""
    project_id: str
    """.firebaserc's default project: a `demo-` id, which only the emulator accepts."""

    @property
    def token_issuer(self) -> str | None:
        """The `iss` of the emulator's ID tokens, as of every Firebase project's; None unless the project is a
        `demo-` one (no real project has such an id), so unsigned tokens are never taken for a real one."""
        return f"{FIREBASE_ISSUER_PREFIX}{self.project_id}" if self.project_id.startswith("demo-") else None

    def settings_on_port(self, port: int) -> dict[str, Any]:
        """The same settings with another port (tests run on free ports)."""
        settings: dict[str, Any] = copy.deepcopy(self.settings)
        settings["emulators"]["auth"]["port"] = port
        return settings


DEBUG_ENV = "DEBUG"
DEBUG_WAIT_ENV = "DEBUG_WAIT"


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "") not in ("", "0")


@dataclass(frozen=True)
class Debugger:
    """`make debug` (DEBUG=1 make dev): the function's app under debugpy, listening on `port`."""

    port: int
    wait: bool
    """DEBUG_WAIT=1: the app starts only once a debugger has attached (debugpy's --wait-for-client)."""


@dataclass(frozen=True)
class LocalFacts:
    root: Path
    chain: dict[str, str]
    """devstack/devstack.env as written (tool versions, the tool cache's name, ports)."""
    aws: AwsEmulator
    firebase: FirebaseEmulator
    ports: Ports
    max_environments: int
    """LAMBDA_MAX_ENVIRONMENTS: parallel execution environments when the function reserves no concurrency."""
    debugger: Debugger | None = None
    """Set by DEBUG=1 (make debug): the app under a debugger; None runs it as Lambda does."""

    def isolated(self) -> LocalFacts:
        """Free ports and a demo project of its own, so a test session never meets a running `make dev`
        (two Auth emulators of one project share firebase-tools' hub file and disturb each other)."""
        ports = self.ports.with_free_ports()
        return replace(
            self,
            ports=ports,
            aws=replace(self.aws, port=ports.aws_emulator),
            debugger=self.debugger and replace(self.debugger, port=ports.debugger),
            firebase=replace(self.firebase, project_id=f"{self.firebase.project_id}-{secrets.token_hex(3)}"),
        )


def _port(environ: Mapping[str, str], name: str, default: int | str) -> int:
    value = environ.get(name, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StartupError(f"{name}={value!r} is not a port number (1-65535).")
    return int(value)


def load(root: Path = paths.REPO_ROOT, environ: Mapping[str, str] = os.environ) -> LocalFacts:
    """The facts of the checkout at `root`, with the port overrides found in `environ`."""
    chain = read_env_file(root / "devstack" / "devstack.env")
    emulator = read_env_file(root / "localstack" / "localstack.env")
    firebase_dir = root / "firebase-emulator"
    firebase = FirebaseEmulator(
        settings=json.loads((firebase_dir / "firebase.json").read_text()),
        project_id=json.loads((firebase_dir / ".firebaserc").read_text())["projects"]["default"],
    )
    written = {**chain, **emulator}  # the AWS emulator's port is in localstack.env, the others here
    ports = Ports(
        **{name: _port(environ, variable, written[variable]) for name, variable in PORT_VARIABLES.items()}
    )
    aws = AwsEmulator(
        version=emulator["MINISTACK_VERSION"],
        sam_translator_version=emulator["AWS_SAM_TRANSLATOR_VERSION"],
        port=ports.aws_emulator,
        region=emulator["AWS_EMULATOR_REGION"],
        access_key_id=emulator["AWS_EMULATOR_ACCESS_KEY_ID"],
        secret_access_key=emulator["AWS_EMULATOR_SECRET_ACCESS_KEY"],
    )
    max_environments = environ.get("LAMBDA_MAX_ENVIRONMENTS", chain["LAMBDA_MAX_ENVIRONMENTS"])
    if not max_environments.isdigit() or int(max_environments) < 1:
        raise StartupError(f"LAMBDA_MAX_ENVIRONMENTS={max_environments!r} is not a count (1 or more).")
    debugger = Debugger(ports.debugger, _flag(environ, DEBUG_WAIT_ENV)) if _flag(environ, DEBUG_ENV) else None
    return LocalFacts(
        root=root,
        chain=chain,
        aws=aws,
        firebase=firebase,
        ports=ports,
        max_environments=int(max_environments),
        debugger=debugger,
    )
