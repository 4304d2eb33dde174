"""`devstack env` / `make env`: export lines, and nothing else, that point AWS's tools at the running stack;
an error and an empty stdout when no stack runs; a note on stderr when the shell had other credentials."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack import config
from devstack.cli import _banner, aws_tools_exports
from devstack.environment import Endpoints
from devstack.paths import REPO_ROOT
from devstack.supervision import free_port

DEVSTACK = str(Path(sys.executable).with_name("devstack"))
LINE = re.compile(r"(export [A-Z_]+=\S.*|unset [A-Z_ ]+)")


def endpoints(aws: str) -> Endpoints:
    return Endpoints(
        api="http://127.0.0.1:3901",
        app="http://127.0.0.1:3902",
        aws=aws,
        firebase_auth_host="127.0.0.1:3903",
        project_id="demo-unit-test",
        table="fastapi-backend-local-main",
        bucket="fastapi-backend-local-files",
    )


def evaluated(exports: str, environ: dict[str, str]) -> dict[str, str]:
    """The environment a bash gets from `eval "$(make env)"`, starting from `environ`."""
    shown = subprocess.run(
        ["bash", "-c", 'eval "$EXPORTS" && env -0'],
        env={**environ, "EXPORTS": exports, "PATH": os.environ["PATH"]},
        capture_output=True,
        check=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in shown.split("\0") if item)


def test_the_exports_aim_every_aws_tool_at_the_emulator_and_drop_the_shells_account() -> None:
    # A credential a shell must not split or expand: quoting is what keeps it whole.
    aws = replace(config.load().aws, secret_access_key="it's $HOME; `id`")
    exports, _ = aws_tools_exports(endpoints("http://127.0.0.1:4599"), aws, {})

    assert all(LINE.fullmatch(line) for line in exports.splitlines()), exports
    shell = evaluated(exports, {"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "FwoG-real"})
    assert shell["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert shell["AWS_REGION"] == shell["AWS_DEFAULT_REGION"] == aws.region
    assert shell["AWS_ACCESS_KEY_ID"] == aws.access_key_id
    assert shell["AWS_SECRET_ACCESS_KEY"] == "it's $HOME; `id`"
    assert "AWS_PROFILE" not in shell
    assert "AWS_SESSION_TOKEN" not in shell
    # samlocal's deprecation banner stays off, and the SAM CLI sends no telemetry from the local stack.
    assert shell["DISABLE_DEPRECATION_NOTICE"] == "1"
    assert shell["SAM_CLI_TELEMETRY"] == "0"


def test_an_endpoint_of_a_service_is_exported_for_that_service_once_it_is_set() -> None:
    aws = config.load().aws
    base = endpoints("http://127.0.0.1:4599")

    unset, _ = aws_tools_exports(base, aws, {})
    assert "AWS_ENDPOINT_URL_LAMBDA" not in unset

    exports, _ = aws_tools_exports(replace(base, lambda_api="http://127.0.0.1:9123"), aws, {})
    shell = evaluated(exports, {})
    assert shell["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:9123"
    assert shell["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"


@pytest.mark.parametrize(
    ("shell", "named"),
    [
        ({"AWS_PROFILE": "prod"}, ["AWS_PROFILE"]),
        ({"AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}, ["AWS_ACCESS_KEY_ID"]),
        ({"AWS_SESSION_TOKEN": "FwoG-real"}, ["AWS_SESSION_TOKEN"]),
    ],
)
def test_a_shell_with_an_account_is_told_on_stderr_what_the_exports_replace(
    shell: dict[str, str], named: list[str]
) -> None:
    _, warning = aws_tools_exports(endpoints("http://127.0.0.1:4599"), config.load().aws, shell)
    assert warning is not None
    for name in named:
        assert name in warning
    assert all(value not in warning for value in shell.values() if value != "prod")  # no secret echoed


def test_a_shell_already_on_the_emulator_gets_no_note() -> None:
    aws = config.load().aws
    exports, warning = aws_tools_exports(endpoints("http://127.0.0.1:4599"), aws, {})
    assert warning is None
    _, again = aws_tools_exports(endpoints("http://127.0.0.1:4599"), aws, evaluated(exports, {}))
    assert again is None


class _Health(BaseHTTPRequestHandler):
    """An emulator's health endpoint, nothing more: `devstack env` only asks whether the stack answers."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def answering_emulator() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def user_shell(state_dir: Path, **extra: str) -> dict[str, str]:
    """A user's shell (no parent make) whose `make dev` keeps its run file under `state_dir`, and where no
    AWS emulator answers on the default port."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAKE")) and k != "MFLAGS"}
    return {**inherited, "DEVSTACK_STATE_DIR": str(state_dir), "AWS_EMULATOR_PORT": str(free_port()), **extra}


def write_run_file(state_dir: Path, aws: str) -> None:
    """What a running `make dev` writes (devstack.cli.dev)."""
    run_file = state_dir / "run" / "dev.json"
    run_file.parent.mkdir(parents=True)
    run_file.write_text(json.dumps(asdict(endpoints(aws))))


@pytest.mark.parametrize("command", [[DEVSTACK, "env"], ["make", "env"]], ids=["devstack env", "make env"])
def test_the_running_make_dev_is_found_and_only_exports_reach_stdout(
    command: list[str], tmp_path: Path, answering_emulator: str
) -> None:
    write_run_file(tmp_path, answering_emulator)
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=user_shell(tmp_path), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert all(LINE.fullmatch(line) for line in done.stdout.splitlines()), done.stdout
    assert evaluated(done.stdout, {})["AWS_ENDPOINT_URL"] == answering_emulator


@pytest.mark.parametrize("command", [[DEVSTACK, "env"], ["make", "env"]], ids=["devstack env", "make env"])
def test_a_shell_with_a_profile_hears_it_on_stderr(
    command: list[str], tmp_path: Path, answering_emulator: str
) -> None:
    write_run_file(tmp_path, answering_emulator)
    shell = user_shell(tmp_path, AWS_PROFILE="prod")
    done = subprocess.run(command, cwd=REPO_ROOT, env=shell, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "AWS_PROFILE" in done.stderr
    assert "unset AWS_PROFILE" in done.stdout


@pytest.mark.parametrize("command", [[DEVSTACK, "env"], ["make", "env"]], ids=["devstack env", "make env"])
def test_no_running_stack_is_an_error_naming_how_to_start_one_and_prints_no_export(
    command: list[str], tmp_path: Path
) -> None:
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=user_shell(tmp_path), capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert "`make dev`" in done.stderr
    assert "docker compose up" in done.stderr


def test_a_make_dev_that_stopped_without_cleaning_up_is_not_exported(tmp_path: Path) -> None:
    write_run_file(tmp_path, f"http://127.0.0.1:{free_port()}")  # its emulator is gone (kill -9)
    shell = user_shell(tmp_path)
    done = subprocess.run(
        [DEVSTACK, "env"], cwd=REPO_ROOT, env=shell, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert "does not answer" in done.stderr
    assert "`make dev`" in done.stderr


def test_make_devs_banner_says_how_to_point_aws_tools_at_it() -> None:
    assert 'eval "$(make env)"' in _banner(endpoints("http://127.0.0.1:4599"), "a-token", 4)
