"""Firebase ID token verification (firebase-admin), behind the domain's TokenVerifier port.

firebase-admin and google-auth are imported with this module and the client is built with the verifier, in the
function's init (which Lambda runs with a CPU boost): since the API's JWT authorizer refuses unauthenticated
requests before the function, nearly every request that reaches it verifies a token, and a lazy import would
only move that cost into the first one. tests/integration/test_built_artifact.py imports every module here.
"""

import hashlib
import json
import logging
import os
import time
from typing import Any

import firebase_admin
import google.auth.aws
import google.auth.credentials
import google.auth.exceptions
from firebase_admin import auth, credentials, exceptions

from domain.entities import Principal
from domain.errors import AuthenticationFailed, ServiceUnavailable
from domain.ports import TokenVerifier
from infrastructure.outbound import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, RETRIES

logger = logging.getLogger(__name__)

# firebase-admin switches to the emulator (and stops checking signatures) when this variable is set.
EMULATOR_HOST_VAR = "FIREBASE_AUTH_EMULATOR_HOST"

# What firebase-admin itself requests for its Admin API calls.
_ADMIN_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def credential_for_revocation_checks(config: str | None) -> Any:
    """Google credentials are needed only for check_revoked (an Admin API call), never for verification.

    From `config` (e.g. workload identity federation for the Lambda role: no key, nothing secret), or
    Application Default Credentials when explicitly configured; otherwise anonymous, so google-auth never
    probes the GCE metadata server from Lambda and a revocation check fails fast (503) instead.
    firebase-admin takes a google-auth credential as it is.
    """
    if config:  # validated by Settings: workload identity federation with an AWS source
        info = json.loads(config)
        # Built without I/O; a token is fetched (from Lambda's own role credentials) at the first check.
        return google.auth.aws.Credentials.from_info(info, scopes=_ADMIN_SCOPES)  # type: ignore[no-untyped-call]
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return credentials.ApplicationDefault()
    return google.auth.credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth lacks hints here


def _limit_admin_api_retries(client: auth.Client) -> None:
    """At most RETRIES retries, at once, for the Admin API calls (revocation checks).

    firebase-admin retries them up to four more times on a 500 or 503, with backoff, sleeping for as long
    as a Retry-After header asks, and has no option to change that. Its calls share one requests session
    (the client's, reached through its user manager: pinned by uv.lock, exercised by
    tests/integration/test_outbound_timeouts.py), whose adapters get the budget's policy. The certificate
    fetch has its own session, which never retries.
    """
    session = client._user_manager.http_client.session
    for adapter in session.adapters.values():
        adapter.max_retries = adapter.max_retries.new(
            total=RETRIES,
            connect=None,
            read=None,
            status=None,
            backoff_factor=0,
            respect_retry_after_header=False,
        )


def _fingerprint(token: str) -> dict[str, object]:
    """What a log may say about a token: enough to tell two apart, nothing to replay or decode."""
    return {"token_length": len(token), "token_sha256": hashlib.sha256(token.encode()).hexdigest()[:12]}


class FirebaseTokenVerifier(TokenVerifier):
    def __init__(
        self, project_id: str, emulator_host: str | None, *, google_credentials_config: str | None = None
    ) -> None:
        self._project_id = project_id
        self._emulator_host = emulator_host
        # Built now (no I/O), so a configuration google-auth cannot use stops the app at startup instead of
        # failing inside verify(), where its ValueError read as a rejected token: 401 for every request.
        try:
            credential = credential_for_revocation_checks(google_credentials_config)
        except ValueError as error:
            raise ValueError(f"GOOGLE_CREDENTIALS_CONFIG cannot be used: {error}") from error
        self._client = self._build_client(credential)

    def verify(self, token: str, *, check_revoked: bool) -> Principal:
        rejected = (
            auth.InvalidIdTokenError,  # includes expired, revoked, wrong project, bad signature
            auth.UserDisabledError,
            auth.UserNotFoundError,
            ValueError,  # empty or not a string
        )
        try:
            claims = self._client.verify_id_token(token, check_revoked=check_revoked)
            if self._emulator_host is not None:
                _refuse_expired(claims)
        except rejected as error:
            # Not str(error): firebase-admin's messages quote the token, or the claims they decoded from it.
            logger.info("token rejected", extra={"reason": type(error).__name__, **_fingerprint(token)})
            raise AuthenticationFailed("invalid or missing credentials") from error
        except (exceptions.FirebaseError, google.auth.exceptions.GoogleAuthError) as error:
            # Certificate fetch or Admin API failure (a timeout too): the token may be fine, we cannot tell.
            logger.warning("token verification unavailable", extra={"detail": str(error)})
            raise ServiceUnavailable("authentication service is unavailable") from error
        return Principal(uid=claims["uid"], email=claims.get("email"), role=claims.get("role"))

    def _build_client(self, credential: Any) -> auth.Client:
        """firebase-admin reads the emulator host from os.environ when the client is built: aligned first."""
        self._align_emulator_environment()
        name = f"token-verifier:{self._project_id}:{self._emulator_host or 'google'}"
        try:
            app = firebase_admin.get_app(name)
        except ValueError:
            app = firebase_admin.initialize_app(
                credential,
                # Per attempt of the certificate fetch and of every Admin API call; firebase-admin's
                # default is 120 s, four times the function's Timeout. requests takes (connect, read).
                options={"projectId": self._project_id, "httpTimeout": (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)},
                name=name,
            )
        client = auth.Client(app)
        _limit_admin_api_retries(client)
        return client

    def _align_emulator_environment(self) -> None:
        """firebase-admin reads the emulator host from os.environ, not from our settings: make them agree."""
        current = os.environ.get(EMULATOR_HOST_VAR) or None
        if self._emulator_host is not None:
            os.environ[EMULATOR_HOST_VAR] = self._emulator_host
        elif current is not None:
            raise RuntimeError(
                f"{EMULATOR_HOST_VAR} is set in the environment but not in the settings; refusing to guess"
            )


def _refuse_expired(claims: dict[str, Any]) -> None:
    """firebase-admin checks only the shape of an emulator token, not its `exp`: the deployed API (RS256)
    refuses an expired token, so the local one does too, or a client that never refreshes would work
    locally only. (Unsigned tokens stay accepted: the emulator issues no others.)"""
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires < time.time():
        raise auth.ExpiredIdTokenError("the emulator token has expired", cause=None)
