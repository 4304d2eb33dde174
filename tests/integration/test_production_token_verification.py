"""The production (non-emulator) verification path: RS256 tokens checked against published certificates.

Tokens are signed by a test key whose X.509 certificate a local server publishes in place of Google's
certificate URL (tests/support/google_stand_in.py); patching that URL constant is the only seam. No
emulator is involved.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from firebase_admin import _token_gen

from domain.errors import AuthenticationFailed
from infrastructure.firebase import EMULATOR_HOST_VAR, FirebaseTokenVerifier
from tests.support.google_stand_in import OTHER_KEY, claims, google_stand_in, sign, unsigned, with_claims

pytestmark = pytest.mark.integration

PROJECT_ID = "prod-path-test"


@pytest.fixture(scope="module")
def certificate_url() -> Iterator[str]:
    with google_stand_in() as google:
        yield google.certificate_url


@pytest.fixture
def verifier(certificate_url: str, monkeypatch: pytest.MonkeyPatch) -> FirebaseTokenVerifier:
    monkeypatch.delenv(EMULATOR_HOST_VAR, raising=False)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", certificate_url)
    return FirebaseTokenVerifier(PROJECT_ID, emulator_host=None)


def _claims(**overrides: Any) -> dict[str, Any]:
    return claims(PROJECT_ID, **overrides)


def test_valid_token_is_accepted(verifier: FirebaseTokenVerifier) -> None:
    principal = verifier.verify(sign(_claims()), check_revoked=False)
    assert (principal.uid, principal.email, principal.role) == ("user-123", "user@example.com", "admin")


def _tampered() -> str:
    return with_claims(sign(_claims()), _claims(sub="someone-else"))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(sign(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)), id="expired"),
        pytest.param(sign(_claims(aud="another-project")), id="wrong-audience"),
        pytest.param(sign(_claims(iss="https://securetoken.google.com/another-project")), id="wrong-issuer"),
        pytest.param(_tampered(), id="tampered-payload"),
        pytest.param(sign(_claims(), key=OTHER_KEY), id="signed-by-another-key"),
        pytest.param(sign(_claims(), kid="unknown-key"), id="unknown-key-id"),
        pytest.param(unsigned(_claims()), id="alg-none"),
        pytest.param(sign(_claims(sub="")), id="empty-subject"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_unacceptable_tokens_are_rejected(verifier: FirebaseTokenVerifier, token: str) -> None:
    with pytest.raises(AuthenticationFailed, match=r"^invalid or missing credentials$"):
        verifier.verify(token, check_revoked=False)
