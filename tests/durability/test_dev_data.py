"""Users (Firebase Auth emulator), notes (DynamoDB) and files (S3) of `make dev` survive a stop and a start;
`make reset` wipes all three. The same state dir throughout (DEVSTACK_STATE_DIR: the test's own, never the
developer's .local), the same ports, as one developer's restarts."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.emulators import firebase_accounts
from devstack.paths import REPO_ROOT
from tests.support.dev_run import dev_run
from tests.support.flows import UPLOAD_ACCEPTED, bearer, create_note, start_upload, upload

pytestmark = pytest.mark.e2e


def test_data_survives_a_restart_of_dev_and_make_reset_wipes_it(tmp_path: Path) -> None:
    email = f"durable-{uuid.uuid4().hex[:8]}@example.com"
    with dev_run(tmp_path) as dev:
        with dev.running() as endpoints, httpx.Client(base_url=endpoints.api, timeout=30) as api:
            user = firebase_accounts.sign_up(endpoints.firebase_auth_host, email)
            note = create_note(api, user, "kept")
            ticket = start_upload(api, user, note["id"], "text/plain", 10).json()
            assert upload(ticket, b"kept bytes", "text/plain").status_code in UPLOAD_ACCEPTED
            file_path = f"/notes/{note['id']}/files/{ticket['file']['id']}"

        with dev.running() as endpoints, httpx.Client(base_url=endpoints.api, timeout=30) as api:
            user = firebase_accounts.sign_in(endpoints.firebase_auth_host, email)  # the user survived
            assert api.get(f"/notes/{note['id']}", headers=bearer(user)).json()["title"] == "kept"
            download_url = api.get(file_path, headers=bearer(user)).json()["download_url"]
            assert httpx.get(download_url, timeout=10).content == b"kept bytes"

        reset = subprocess.run(
            ["make", "--no-print-directory", "reset"],
            cwd=REPO_ROOT,
            env={**os.environ, "DEVSTACK_STATE_DIR": str(dev.state_dir)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert reset.returncode == 0, reset.stdout + reset.stderr

        with dev.running() as endpoints, httpx.Client(base_url=endpoints.api, timeout=30) as api:
            with pytest.raises(RuntimeError, match="EMAIL_NOT_FOUND"):
                firebase_accounts.sign_in(endpoints.firebase_auth_host, email)
            again = firebase_accounts.sign_up(endpoints.firebase_auth_host, email)
            assert api.get("/notes", headers=bearer(again)).json()["items"] == []
            # The URL of the bytes, signed before the reset, finds nothing: neither the object nor its bucket.
            assert httpx.get(download_url, timeout=10).status_code == 404
