"""The Firebase Auth emulator as devstack runs it (with firebase-emulator/fast-start.cjs): the same API,
every request validated, and firebase.json still checked against firebase-tools' own schema (the fast start
skips the CLI's check, whose outcome only ever reached its debug log)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack import config, paths
from devstack.emulators.firebase import emulator_command, firebase_auth
from devstack.supervision import LogCapture

# firebase-tools' own check of a firebase.json (the one its CLI runs at start), on the file named by argv[1].
CHECK_SETTINGS = """
const fs = require("node:fs");
const check = require(require.resolve("firebase-tools/lib/firebaseConfigValidate.js"));
const validate = check.getValidator();
if (!validate(JSON.parse(fs.readFileSync(process.argv[1], "utf8")))) {
  for (const error of validate.errors) console.log(check.getErrorMessage(error));
  process.exit(1);
}
"""


def firebase_tools_check(settings: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "-e", CHECK_SETTINGS, str(settings)],
        cwd=paths.FIREBASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_firebase_json_as_written_passes_firebase_tools_check() -> None:
    checked = firebase_tools_check(paths.FIREBASE_DIR / "firebase.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_firebase_json_as_devstack_runs_it_passes_firebase_tools_check(tmp_path: Path) -> None:
    facts = config.load().isolated()
    emulator_command(facts.firebase, facts.ports.firebase, tmp_path, None)
    checked = firebase_tools_check(tmp_path / "firebase.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_names_a_setting_firebase_tools_does_not_know(tmp_path: Path) -> None:
    settings = json.loads((paths.FIREBASE_DIR / "firebase.json").read_text())
    settings["emulators"]["auth"]["hots"] = "127.0.0.1"
    (tmp_path / "firebase.json").write_text(json.dumps(settings))
    checked = firebase_tools_check(tmp_path / "firebase.json")
    assert checked.returncode == 1
    assert '"/emulators/auth" in "firebase.json" has unknown property: {"additionalProperty":"hots"}' in (
        checked.stdout
    )


@pytest.fixture(scope="module")
def auth_host() -> Iterator[str]:
    facts = config.load().isolated()
    with firebase_auth(facts.firebase, facts.ports.firebase, sink=LogCapture()) as host:
        yield host


def call(host: str, action: str, body: object) -> httpx.Response:
    url = f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:{action}?key=any"
    return httpx.post(url, json=body, timeout=30)


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("signUp", {"email": "a@example.com", "password": ["a", "list"]}, "/password must be string"),
        ("update", {"localId": ["a", "list"]}, "/localId must be string"),
    ],
)
def test_a_malformed_request_gets_the_emulators_400_first_time_and_after(
    auth_host: str, action: str, body: object, message: str
) -> None:
    """Validators compiled at first use still validate that first use, and every later one."""
    for _ in range(2):
        response = call(auth_host, action, body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"] == f"Invalid JSON payload received. {message}"


def test_a_well_formed_request_is_served(auth_host: str) -> None:
    body = {"email": "b@example.com", "password": "secret-1", "returnSecureToken": True}
    response = call(auth_host, "signUp", body)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "b@example.com"
