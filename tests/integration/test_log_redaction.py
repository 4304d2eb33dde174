"""What the app logs carries no token, no note text and no email, even at LOG_LEVEL=DEBUG: the real app on
the emulators, its JSON log lines read off stdout as CloudWatch would get them."""

import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.emulators.firebase_accounts import AuthUser
from devstack.paths import BACKEND
from devstack.supervision import LogCapture, ManagedProcess, free_port, http_ok, running
from shared.logging import configure_logging
from shared.settings import Settings
from tests.support.flows import bearer
from web import build_app

pytestmark = pytest.mark.integration


@pytest.fixture
def debug_client(settings: Settings) -> Iterator[TestClient]:
    app = build_app(settings.model_copy(update={"log_level": "DEBUG"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    configure_logging(settings.log_level)  # logging is process-wide: back to the suite's level


def test_debug_logs_carry_no_token_note_text_or_email(
    debug_client: TestClient, sign_up: Callable[..., AuthUser], capsys: pytest.CaptureFixture[str]
) -> None:
    user = sign_up()
    malformed_token = f"not-a-jwt-{uuid.uuid4().hex}"
    note_text = f"dear diary {uuid.uuid4().hex}"
    capsys.readouterr()  # from here on: what these requests make the app log

    rejected = debug_client.get("/users/me", headers={"Authorization": f"Bearer {malformed_token}"})
    profile = debug_client.get("/users/me", headers=bearer(user))  # stores the profile, email included
    created = debug_client.post("/notes", json={"title": "t", "body": note_text}, headers=bearer(user))

    assert (rejected.status_code, profile.status_code, created.status_code) == (401, 200, 201)
    logged = capsys.readouterr().out
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    # Not vacuous: the app logs at DEBUG, and every request was logged.
    assert logging.getLogger().level == logging.DEBUG
    assert [line["status"] for line in lines if line["logger"] == "api.access"] == [401, 200, 201]
    for secret in (malformed_token, user.id_token, note_text, user.email):
        assert secret not in logged
    # What identifies the rejected token instead: its length and a short fingerprint.
    (rejection,) = [line for line in lines if line["message"] == "token rejected"]
    assert rejection["token_length"] == len(malformed_token)
    assert len(rejection["token_sha256"]) == 12


def test_run_sh_logs_each_request_once_and_never_its_query_string() -> None:
    """backend/run.sh as the Web Adapter starts it (uvicorn --no-access-log), on this venv's Python: a token
    sent in the query string (some clients do, e.g. for a download link) must not reach the logs, and each
    request is one line, the app's own."""
    port, secret = free_port(), f"secret-{uuid.uuid4().hex}"
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",  # run.sh runs `python3 -m uvicorn`
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "ENVIRONMENT": "test",
        "DYNAMODB_TABLE": "table",
        "S3_BUCKET": "bucket",
        "FIREBASE_PROJECT_ID": "demo-logs",
    }
    logs = LogCapture()
    app = ManagedProcess("app", ["bash", str(BACKEND / "run.sh")], env=environment, sink=logs)
    with running(app):
        app.wait_ready(
            lambda: http_ok(f"http://127.0.0.1:{port}/health"), deadline_s=60, what="serving", fix="see below"
        )
        answer = httpx.get(f"http://127.0.0.1:{port}/users/me", params={"access_token": secret}, timeout=10)
    # Stopped: uvicorn finished the request (and its log line) before exiting.
    assert answer.status_code == 401
    lines = logs.of("app")
    assert not [line for line in lines if secret in line]
    about_it = [line for line in lines if "/users/me" in line]
    assert len(about_it) == 1, about_it
    logged = json.loads(about_it[0])
    assert (logged["logger"], logged["path"], logged["status"]) == ("api.access", "/users/me", 401)
