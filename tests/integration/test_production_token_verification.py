"""The production (non-emulator) verification path: RS256 tokens checked against published certificates.

Tokens are signed by a test key whose X.509 certificate a local server publishes in place of Google's
certificate URL; patching that URL constant is the only seam. No emulator is involved.
"""

import datetime
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from firebase_admin import _token_gen

from domain.errors import AuthenticationFailed
from infrastructure.firebase import EMULATOR_HOST_VAR, FirebaseTokenVerifier
from tests.support.loopback import serving

pytestmark = pytest.mark.integration

PROJECT_ID = "prod-path-test"
KEY_ID = "test-key-1"


def _key_and_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


SIGNING_KEY, CERTIFICATE_PEM = _key_and_certificate()
OTHER_KEY, _ = _key_and_certificate()


@pytest.fixture(scope="module")
def certificate_url() -> Iterator[str]:
    body = json.dumps({KEY_ID: CERTIFICATE_PEM.decode()}).encode()

    class Certificates(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Certificates) as port:
        yield f"http://127.0.0.1:{port}/certificates"


@pytest.fixture
def verifier(certificate_url: str, monkeypatch: pytest.MonkeyPatch) -> FirebaseTokenVerifier:
    monkeypatch.delenv(EMULATOR_HOST_VAR, raising=False)
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", certificate_url)
    return FirebaseTokenVerifier(PROJECT_ID, emulator_host=None)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{PROJECT_ID}",
        "aud": PROJECT_ID,
        "sub": "user-123",
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        "email": "user@example.com",
        "role": "admin",
    }
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KEY_ID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


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
