"""A dependency of the running function fails, the app and the environment stay up: what a client gets, and
that it gets served again once the dependency is back, without restarting anything.

The emulators are stopped as a machine stops them (SIGTERM: each saves its state) and started again on the
same port and data, so the table, the objects and the users come back as they would with `make dev`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from devstack.emulators import firebase_accounts
from devstack.emulators.firebase import READY_S as FIREBASE_READY_S
from devstack.emulators.ministack import MINISTACK_READY_S
from devstack.environment import RunningEnvironment
from devstack.local_function import LocalFunction
from devstack.supervision import ManagedProcess, http_ok
from infrastructure.outbound import READ_TIMEOUT_S
from tests.support.flows import UPLOAD_ACCEPTED, bearer, create_note, start_upload, upload
from tests.support.loopback import SilentEndpoint
from tests.support.processes import descendants

pytestmark = pytest.mark.e2e

FIRST_503_WITHIN_S = 5.0
"""The issue's bound: a client learns within 5 s that it should come back later."""

FUNCTION_TIMEOUT_S = 3
"""The function's Timeout in the slow-handler test: under the first outbound attempt's read timeout, so
Lambda's timeout ends the request before the app's own 503 would (READ_TIMEOUT_S, then a retry)."""
assert FUNCTION_TIMEOUT_S < READ_TIMEOUT_S


def _part(environment: RunningEnvironment, name: str) -> ManagedProcess:
    part = environment.parts.named(name)
    assert isinstance(part, ManagedProcess)
    return part


def _start_again(part: ManagedProcess, health_url: str, deadline_s: float) -> float:
    """The same command again (same port, same data); returns the seconds until it answered."""
    part.start()
    return part.wait_ready(lambda: http_ok(health_url), deadline_s=deadline_s, what="back", fix="See above.")


def _timed(send: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send(*args, **kwargs)
    return response, time.monotonic() - started


def _assert_come_back_later(response: httpx.Response) -> None:
    """The app's 503: its error shape, and when to retry."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_aws_emulator_stopped_mid_run_is_a_503_then_served_again_with_its_data(
    environment: RunningEnvironment, api: httpx.Client, new_user: firebase_accounts.AuthUser
) -> None:
    auth = bearer(new_user)
    note = create_note(api, new_user, "written before the outage")
    ticket = start_upload(api, new_user, note["id"], "text/plain", 10).json()
    assert upload(ticket, b"kept bytes", "text/plain").status_code in UPLOAD_ACCEPTED
    file_path = f"/notes/{note['id']}/files/{ticket['file']['id']}"
    roots = environment.function.process_roots()
    assert roots
    function = {root: descendants(root) for root in roots}  # each environment's RIE, Web Adapter, app
    aws = _part(environment, "ministack")

    aws.stop()
    outage = [
        ("POST", "/notes", {"title": "during", "body": "the outage"}),
        ("GET", "/notes", None),
        ("GET", f"/notes/{note['id']}", None),
        ("GET", file_path, None),
        (
            "POST",
            f"/notes/{note['id']}/files",
            {"file_name": "a.txt", "content_type": "text/plain", "size": 1},
        ),
    ]
    waits = []
    for method, path, body in outage:
        response, waited = _timed(api.request, method, path, json=body, headers=auth)
        _assert_come_back_later(response)
        assert waited < FIRST_503_WITHIN_S, f"{method} {path}: 503 after {waited:.1f} s"
        waits.append(waited)

    back_in = _start_again(aws, f"{environment.endpoints.aws}/_ministack/health", MINISTACK_READY_S)
    again, recovered_in = _timed(api.get, f"/notes/{note['id']}", headers=auth)
    assert again.status_code == 200, again.text
    assert again.json()["title"] == "written before the outage"
    download_url = api.get(file_path, headers=auth).json()["download_url"]
    assert httpx.get(download_url, timeout=10).content == b"kept bytes"
    create_note(api, new_user, "written after the outage")
    assert {root: descendants(root) for root in roots} == function, "the function was restarted"
    print(
        f"{len(outage)} requests during the outage: 503 in {min(waits):.3f}-{max(waits):.3f} s; "
        f"MiniStack back in {back_in:.1f} s; first request after it: 200 in {recovered_in:.3f} s"
    )


def test_firebase_emulator_down_fails_the_revocation_checks_with_503_and_nothing_else(
    environment: RunningEnvironment, api: httpx.Client, new_user: firebase_accounts.AuthUser, email: str
) -> None:
    host, project_id = environment.endpoints.firebase_auth_host, environment.endpoints.project_id
    admin_email = f"admin-{email}"
    admin = firebase_accounts.sign_up(host, admin_email)
    firebase_accounts.set_claims(host, project_id, admin.uid, {"role": "admin"})
    admin = firebase_accounts.sign_in(host, admin_email)
    note = create_note(api, new_user, "kept")
    firebase = _part(environment, "firebase")

    firebase.stop()
    # An emulator token is unsigned: the app checks it without the emulator, so these never notice.
    assert api.get("/users/me", headers=bearer(new_user)).status_code == 200
    assert api.get(f"/notes/{note['id']}", headers=bearer(new_user)).status_code == 200
    create_note(api, new_user, "written while Firebase is down")
    # A revocation check asks the emulator: the admin listing and account deletion.
    waits = []
    for method, path, user in (("GET", "/users", admin), ("DELETE", "/users/me", new_user)):
        response, waited = _timed(api.request, method, path, headers=bearer(user))
        _assert_come_back_later(response)
        assert waited < FIRST_503_WITHIN_S, f"{method} {path}: 503 after {waited:.1f} s"
        waits.append(waited)
    assert api.get(f"/notes/{note['id']}", headers=bearer(new_user)).status_code == 200  # nothing deleted

    back_in = _start_again(firebase, f"http://{host}/", FIREBASE_READY_S)
    old = api.get("/users", headers=bearer(admin)).status_code
    # The emulator's import sets every user's validSince to the restart: earlier tokens count as revoked
    # and clients sign in again (as they refresh an ID token every hour).
    admin = firebase_accounts.sign_in(host, admin_email)
    user = firebase_accounts.sign_in(host, email)
    listing, recovered_in = _timed(api.get, "/users", headers=bearer(admin))
    assert listing.status_code == 200, listing.text
    assert api.delete("/users/me", headers=bearer(user)).status_code == 204
    print(
        f"Firebase down: 503 in {min(waits):.3f}-{max(waits):.3f} s; back in {back_in:.1f} s; "
        f"old token after: {old}; first request with a new token: 200 in {recovered_in:.3f} s"
    )


@contextmanager
def _function_with(function: LocalFunction, variables: dict[str, str]) -> Iterator[None]:
    """The function served with `variables` in its environment (as a redeploy would set them), then as
    it was."""
    saved = function.factory
    function.serve(replace(saved, variables={**saved.variables, **variables}))
    try:
        yield
    finally:
        function.serve(saved)


def test_a_request_slower_than_the_function_timeout_is_a_500_and_the_next_one_is_served(
    environment: RunningEnvironment, api: httpx.Client, new_user: firebase_accounts.AuthUser
) -> None:
    # No route of the app is slow; a DynamoDB that accepts connections and never answers makes one.
    silent = SilentEndpoint()
    hung = {
        "AWS_ENDPOINT_URL": f"http://{silent.host}",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(FUNCTION_TIMEOUT_S),
    }
    try:
        with _function_with(environment.function, hung):
            response, waited = _timed(
                api.post, "/notes", json={"title": "t", "body": "b"}, headers=bearer(new_user)
            )
            assert response.status_code == 500
            assert response.json() == {"message": "Internal Server Error"}  # HTTP API's, not the app's
            assert silent.connections() == 1  # cut during the app's first attempt
            health, next_in = _timed(api.get, "/health")
            assert health.status_code == 200
    finally:
        silent.close()
    create_note(api, new_user, "the environment is whole")
    print(f"timed out: 500 after {waited:.2f} s; next request 200 in {next_in:.2f} s (a cold start)")
