"""Users, notes and files live on volumes: `docker compose down` + `up` keeps them, `down -v` wipes them."""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.emulators import firebase_accounts
from devstack.environment import Endpoints
from tests.support.flows import UPLOAD_ACCEPTED, bearer, create_note, start_upload, upload

from .conftest import compose, compose_up


def test_data_survives_down_and_up_and_down_v_wipes_it(stack: Endpoints) -> None:
    email = f"durable-{uuid.uuid4().hex[:8]}@example.com"
    user = firebase_accounts.sign_up(stack.firebase_auth_host, email)
    with httpx.Client(base_url=stack.api, timeout=30) as api:
        note = create_note(api, user, "kept")
        ticket = start_upload(api, user, note["id"], "text/plain", 10).json()
        assert upload(ticket, b"kept bytes", "text/plain").status_code in UPLOAD_ACCEPTED
        file_path = f"/notes/{note['id']}/files/{ticket['file']['id']}"

        compose("down")
        compose_up()

        user = firebase_accounts.sign_in(stack.firebase_auth_host, email)  # the user survived
        assert api.get(f"/notes/{note['id']}", headers=bearer(user)).json()["title"] == "kept"
        download_url = api.get(file_path, headers=bearer(user)).json()["download_url"]
        assert httpx.get(download_url, timeout=10).content == b"kept bytes"

        compose("down", "-v")
        compose_up()

        with pytest.raises(RuntimeError, match="EMAIL_NOT_FOUND"):
            firebase_accounts.sign_in(stack.firebase_auth_host, email)
        again = firebase_accounts.sign_up(stack.firebase_auth_host, email)
        assert api.get("/notes", headers=bearer(again)).json()["items"] == []
