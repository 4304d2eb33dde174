"""What the app logs carries no token, no note text and no email, even at LOG_LEVEL=DEBUG: the real app on
the emulators, its JSON log lines read off stdout as CloudWatch would get them."""

import json
import logging
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from bootstrap import build_app
from devstack.emulators.firebase_accounts import AuthUser
from shared.logging import configure_logging
from shared.settings import Settings
from tests.support.flows import bearer

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
