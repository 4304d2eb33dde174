"""compose.yaml as compose resolves it: pinned images, 127.0.0.1 only, a healthcheck on every long-running
part, and LocalStack only with a token."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devstack import config
from devstack.paths import REPO_ROOT

ONE_SHOT = {"deploy", "devstack"}


def resolved(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    return subprocess.run(
        ["docker", "compose", "--profile", "tools", "config", "--format", "json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    done = resolved()
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)["services"]
    return found


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag not in ("", "latest"), (name, image)


def test_ports_are_published_on_loopback_only(services: dict[str, Any]) -> None:
    published = [(name, port) for name, service in services.items() for port in service.get("ports", [])]
    assert published
    assert all(port["host_ip"] == "127.0.0.1" for _, port in published), published


def test_every_long_running_part_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), name


def test_localstack_needs_its_token() -> None:
    missing = resolved(AWS_EMULATOR="localstack", LOCALSTACK_AUTH_TOKEN="")
    assert missing.returncode != 0
    assert "AWS_EMULATOR=localstack needs LOCALSTACK_AUTH_TOKEN" in missing.stderr

    given = resolved(AWS_EMULATOR="localstack", LOCALSTACK_AUTH_TOKEN="a-token")
    assert given.returncode == 0, given.stderr
    emulator = json.loads(given.stdout)["services"]["localstack"]
    pinned = config.read_env_file(REPO_ROOT / "localstack" / "localstack.env")["LOCALSTACK_IMAGE"]
    assert emulator["image"] == pinned
    assert emulator["environment"]["LOCALSTACK_AUTH_TOKEN"] == "a-token"


def test_ministack_is_the_version_make_dev_runs(services: dict[str, Any]) -> None:
    assert services["localstack"]["image"].split(":")[-1].startswith(config.load().aws.version)


@pytest.mark.parametrize(
    "emulator",
    [{}, {"AWS_EMULATOR": "localstack", "LOCALSTACK_AUTH_TOKEN": "a-token"}],
    ids=["ministack", "localstack"],
)
def test_the_emulator_reads_the_repos_template(emulator: dict[str, str]) -> None:
    """Its ready.d check derives the services to check from the template STACK_TEMPLATE names: that path is
    template.yml, mounted read-only."""
    done = resolved(**emulator)
    assert done.returncode == 0, done.stderr
    service = json.loads(done.stdout)["services"]["localstack"]
    mounted = {volume["target"]: volume for volume in service["volumes"]}
    template = mounted[service["environment"]["STACK_TEMPLATE"]]
    assert (template["type"], template["source"], template["read_only"]) == (
        "bind",
        str(REPO_ROOT / "template.yml"),
        True,
    )


@contextmanager
def _ministack_ready_answering(state: dict[str, Any]) -> Iterator[int]:
    """A loopback stand-in for MiniStack's /_ministack/ready: 200 once its hooks ran, failed or not."""

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(state).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("failed", [0, 1])
def test_ministack_is_healthy_only_when_no_ready_hook_failed(failed: int) -> None:
    """A failing ready.d check (the template needs a service the emulator lacks) keeps `up --wait` from
    going on: the healthcheck's own command, run here against MiniStack's answer."""
    state = {"status": "completed", "total": 1, "completed": 1, "failed": failed}
    with _ministack_ready_answering(state) as port:
        done = resolved(AWS_EMULATOR_PORT=str(port))
        assert done.returncode == 0, done.stderr
        command = json.loads(done.stdout)["services"]["localstack"]["healthcheck"]["test"]
        assert command[:2] == ["CMD", "python3"]
        check = subprocess.run(["python3", *command[2:]], capture_output=True, check=False, timeout=10)
    assert (check.returncode == 0) == (failed == 0)
