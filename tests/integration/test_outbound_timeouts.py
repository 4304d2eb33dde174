"""A dependency that hangs costs a request at most the outbound budget (infrastructure/outbound.py), then 503.

Each test points one outbound call of the real adapters at a local endpoint (127.0.0.1 only) that accepts
connections and never answers, or answers 503 with a one-hour Retry-After, and sends a request through the
app. It must end in the app's 503 within the budget the adapters are configured with, after exactly the
configured number of attempts; firebase-admin's defaults (120 s per attempt, up to four retries that honour
Retry-After) failed each of these. No emulator is involved.
"""

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from firebase_admin import _token_gen

from api.app import create_app
from bootstrap import wire_services
from domain.ports import TokenVerifier
from infrastructure.aws import dynamodb_client
from infrastructure.dynamodb import DynamoRepository
from infrastructure.firebase import EMULATOR_HOST_VAR, FirebaseTokenVerifier
from infrastructure.outbound import ATTEMPTS, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, WORST_CASE_CALL_S
from tests.support.fakes import FakeBackend, make_settings
from tests.support.loopback import SilentEndpoint, serving

pytestmark = pytest.mark.integration

# Above the configured budget: the test machinery, botocore's jittered backoff (< 1 s), a slow machine.
# What the tests tell apart is that budget (seconds) from firebase-admin's default (120 s per attempt).
SLACK_S = 5.0
ONE_ATTEMPT_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S


@pytest.fixture
def silent() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def unavailable() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers every request 503 with Retry-After: 3600; yields host:port and the
    paths it was asked for."""
    requests: list[str] = []

    class Unavailable(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"error": {"code": 503, "message": "UNAVAILABLE"}}).encode()
            self.send_response(503)
            self.send_header("Retry-After", "3600")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Unavailable) as port:
        yield f"127.0.0.1:{port}", requests


def _within(seconds: float, call: Callable[[], httpx.Response]) -> httpx.Response:
    """call()'s response if it came within `seconds`; else the test fails without waiting any longer: the
    call runs in a daemon thread that nothing joins, and ends when the endpoint's teardown resets its
    connection (or with the process)."""
    outcome: list[httpx.Response | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the test below
            outcome.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        pytest.fail(f"no response within {seconds:.0f} s: the outbound budget is not applied")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    print(f"answered in {time.monotonic() - started:.2f} s")  # shown with -s: the measured figure
    return outcome[0]


def _app_on_fakes(
    backend: FakeBackend, *, verifier: TokenVerifier | None = None, repository: DynamoRepository | None = None
) -> TestClient:
    """The app on fakes, except the one real adapter under test. Used without `with`: each request then runs
    an event loop of its own in the calling thread, so one that never returns holds up nothing else."""
    store = repository or backend.repository
    services = wire_services(
        token_verifier=verifier or backend.identity,
        accounts=backend.identity,
        deleted_accounts=store,
        users=store,
        notes=store,
        storage=backend.storage,
    )
    return TestClient(create_app(make_settings(), services), raise_server_exceptions=False)


def _token(header: dict[str, str], project_id: str) -> str:
    """A token whose header and claims pass firebase-admin's checks; its signature is never reached."""
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "sub": "user-1",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "role": "admin",
    }

    def segment(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(claims)}.c2lnbmF0dXJl"


def test_certificates_from_a_silent_endpoint(silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production path: verifying any token first fetches Google's certificates (one attempt)."""
    monkeypatch.delenv(EMULATOR_HOST_VAR, raising=False)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", f"http://{silent.host}/certificates")
    project_id = "timeout-certificates"
    client = _app_on_fakes(FakeBackend(), verifier=FirebaseTokenVerifier(project_id, emulator_host=None))
    token = _token({"alg": "RS256", "kid": "key-1", "typ": "JWT"}, project_id)

    response = _within(
        ONE_ATTEMPT_S + SLACK_S,
        lambda: client.get("/users/me", headers={"Authorization": f"Bearer {token}"}),
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert silent.connections() == 1


def _revocation_checked(
    monkeypatch: pytest.MonkeyPatch, emulator_host: str
) -> tuple[TestClient, dict[str, str]]:
    """The app and the headers of a GET /users, which checks revocation: one Admin API call
    (accounts:lookup), here to the emulator host."""
    monkeypatch.setenv(EMULATOR_HOST_VAR, emulator_host)  # restored after the test; the verifier sets it too
    project_id = f"demo-timeout-{emulator_host.rpartition(':')[2]}"
    client = _app_on_fakes(
        FakeBackend(), verifier=FirebaseTokenVerifier(project_id, emulator_host=emulator_host)
    )
    token = _token({"alg": "none", "typ": "JWT"}, project_id)  # the emulator's unsigned kind
    return client, {"Authorization": f"Bearer {token}"}


def test_revocation_check_against_a_silent_endpoint(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, headers = _revocation_checked(monkeypatch, silent.host)

    response = _within(WORST_CASE_CALL_S + SLACK_S, lambda: client.get("/users", headers=headers))

    assert response.status_code == 503
    assert silent.connections() == ATTEMPTS


def test_revocation_check_against_an_unavailable_endpoint(
    unavailable: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """503s are retried at most RETRIES times, at once: a Retry-After is not waited for."""
    host, requests = unavailable
    client, headers = _revocation_checked(monkeypatch, host)

    response = _within(WORST_CASE_CALL_S + SLACK_S, lambda: client.get("/users", headers=headers))

    assert response.status_code == 503
    assert len(requests) == ATTEMPTS
    assert all(path.endswith("/accounts:lookup") for path in requests)


def test_dynamodb_at_a_silent_endpoint(silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    # Requests are signed before they are sent: any key will do, the endpoint never reads them.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "never-checked")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = make_settings()
    repository = DynamoRepository(
        dynamodb_client(settings.aws_region, f"http://{silent.host}"), "timeout-test"
    )
    backend = FakeBackend()
    client = _app_on_fakes(backend, repository=repository)
    headers = {"Authorization": f"Bearer {backend.identity.issue('alice')}"}

    response = _within(WORST_CASE_CALL_S + SLACK_S, lambda: client.get("/notes", headers=headers))

    assert response.status_code == 503
    assert silent.connections() == ATTEMPTS
