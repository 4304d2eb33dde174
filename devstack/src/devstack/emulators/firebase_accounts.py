"""Client for the Firebase Auth emulator's REST API: dev users and their ID tokens, without a browser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

_API_KEY = "emulator"  # the emulator accepts any key
_ADMIN = {"Authorization": "Bearer owner"}  # the emulator's admin bypass
DEV_PASSWORD = "dev-password"  # noqa: S105 (emulator-only accounts)


@dataclass(frozen=True)
class AuthUser:
    uid: str
    email: str
    id_token: str
    refresh_token: str


def _post(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = httpx.post(url, json=payload, headers=headers, timeout=10)
    if response.is_error:
        raise RuntimeError(f"Firebase Auth emulator: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _account_call(emulator_host: str, action: str, payload: dict[str, Any]) -> AuthUser:
    body = _post(
        f"http://{emulator_host}/identitytoolkit.googleapis.com/v1/accounts:{action}?key={_API_KEY}", payload
    )
    return AuthUser(body["localId"], body["email"], body["idToken"], body["refreshToken"])


def sign_up(emulator_host: str, email: str, password: str = DEV_PASSWORD) -> AuthUser:
    return _account_call(
        emulator_host, "signUp", {"email": email, "password": password, "returnSecureToken": True}
    )


def sign_in(emulator_host: str, email: str, password: str = DEV_PASSWORD) -> AuthUser:
    payload = {"email": email, "password": password, "returnSecureToken": True}
    return _account_call(emulator_host, "signInWithPassword", payload)


def sign_in_or_up(emulator_host: str, email: str, password: str = DEV_PASSWORD) -> AuthUser:
    try:
        return sign_in(emulator_host, email, password)
    except RuntimeError:
        return sign_up(emulator_host, email, password)


def _update(emulator_host: str, project_id: str, payload: dict[str, Any]) -> None:
    url = f"http://{emulator_host}/identitytoolkit.googleapis.com/v1/projects/{project_id}/accounts:update"
    _post(url, payload, headers=_ADMIN)


def set_claims(emulator_host: str, project_id: str, uid: str, claims: dict[str, Any]) -> None:
    """Custom claims reach ID tokens minted after this call: sign in again to get them."""
    _update(emulator_host, project_id, {"localId": uid, "customAttributes": json.dumps(claims)})


def disable_user(emulator_host: str, project_id: str, uid: str) -> None:
    _update(emulator_host, project_id, {"localId": uid, "disableUser": True})


def revoke_tokens(emulator_host: str, project_id: str, uid: str, valid_since: int) -> None:
    """Tokens issued before `valid_since` (epoch seconds, 1 s resolution) now fail revocation checks."""
    _update(emulator_host, project_id, {"localId": uid, "validSince": str(valid_since)})
