"""The production (non-emulator) verification path: RS256 tokens checked against published certificates.

Tokens are signed by a test key whose X.509 certificate a local server publishes in place of Google's
certificate URL; patching that URL constant is the only seam. No emulator is involved.
"""

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import _token_gen

from domain.errors import AuthenticationFailed
from infrastructure.firebase import EMULATOR_HOST_VAR, FirebaseTokenVerifier
from tests.support.signed_tokens import (
    KEY_ID,
    id_token_claims,
    key_and_certificate,
    serving_certificate,
    sign,
)

pytestmark = pytest.mark.integration

PROJECT_ID = "prod-path-test"

SIGNING_KEY, CERTIFICATE_PEM = key_and_certificate()
OTHER_KEY, _ = key_and_certificate()


@pytest.fixture(scope="module")
def certificate_url() -> Iterator[str]:
    with serving_certificate(CERTIFICATE_PEM) as url:
        yield url


@pytest.fixture
def verifier(certificate_url: str, monkeypatch: pytest.MonkeyPatch) -> FirebaseTokenVerifier:
    monkeypatch.delenv(EMULATOR_HOST_VAR, raising=False)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", certificate_url)
    return FirebaseTokenVerifier(PROJECT_ID, emulator_host=None)


def _claims(**overrides: Any) -> dict[str, Any]:
    return id_token_claims(PROJECT_ID, **overrides)


def _sign(claims: dict[str, Any], key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KEY_ID) -> str:
    return sign(claims, key, kid)


def test_valid_token_is_accepted(verifier: FirebaseTokenVerifier) -> None:
    principal = verifier.verify(_sign(_claims()), check_revoked=False)
    assert (principal.uid, principal.email, principal.role) == ("user-123", "user@example.com", "admin")


def _unsigned() -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": KEY_ID}).encode()).decode()
    payload = jwt.utils.base64url_encode(json.dumps(_claims()).encode()).decode()
    return f"{header}.{payload}."


def _tampered() -> str:
    header, _, signature = _sign(_claims()).split(".")
    forged_payload = jwt.utils.base64url_encode(json.dumps(_claims(sub="someone-else")).encode()).decode()
    return f"{header}.{forged_payload}.{signature}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_sign(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)), id="expired"),
        pytest.param(_sign(_claims(aud="another-project")), id="wrong-audience"),
        pytest.param(_sign(_claims(iss="https://securetoken.google.com/another-project")), id="wrong-issuer"),
        pytest.param(_tampered(), id="tampered-payload"),
        pytest.param(_sign(_claims(), key=OTHER_KEY), id="signed-by-another-key"),
        pytest.param(_sign(_claims(), kid="unknown-key"), id="unknown-key-id"),
        pytest.param(_unsigned(), id="alg-none"),
        pytest.param(_sign(_claims(sub="")), id="empty-subject"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_unacceptable_tokens_are_rejected(verifier: FirebaseTokenVerifier, token: str) -> None:
    with pytest.raises(AuthenticationFailed, match=r"^invalid or missing credentials$"):
        verifier.verify(token, check_revoked=False)
