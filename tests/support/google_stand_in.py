"""Google, as the production (RS256) token path sees it, on 127.0.0.1: ID tokens signed by a test key, the
certificate of that key served where firebase-admin fetches Google's (`_token_gen.ID_TOKEN_CERT_URI`), and
an OAuth 2.0 token endpoint for the credential behind Admin API calls (revocation checks)."""

import datetime
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.loopback import serving

KEY_ID = "test-key-1"
# The Auth emulator takes a bearer token of this form as a service account's, owning its project.
ACCESS_TOKEN = "ya29.google-stand-in"


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


def claims(project_id: str, **overrides: Any) -> dict[str, Any]:
    """The claims of a Firebase ID token of `project_id`, valid for the next hour."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "sub": "user-123",
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        "email": "user@example.com",
        "role": "admin",
    }
    values.update(overrides)
    return values


def sign(token_claims: dict[str, Any], key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KEY_ID) -> str:
    return jwt.encode(token_claims, key, algorithm="RS256", headers={"kid": kid})


def _segment(part: dict[str, Any]) -> str:
    return jwt.utils.base64url_encode(json.dumps(part).encode()).decode()


def unsigned(token_claims: dict[str, Any]) -> str:
    """`alg: none`, as the Auth emulator issues its tokens."""
    return f"{_segment({'alg': 'none', 'kid': KEY_ID})}.{_segment(token_claims)}."


def with_claims(token: str, token_claims: dict[str, Any]) -> str:
    """`token`'s header and signature around other claims: what a forger can make of a token."""
    header, _, signature = token.split(".")
    return f"{header}.{_segment(token_claims)}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


@dataclass(frozen=True)
class GoogleStandIn:
    certificate_url: str
    token_url: str

    def write_credential(self, path: Path) -> Path:
        """A service-account credential (what Application Default Credentials load from a file) whose
        token endpoint is this stand-in: Admin API calls then carry ACCESS_TOKEN. Its key is the test key."""
        key = SIGNING_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        credential = {
            "type": "service_account",
            "client_email": "auth-matrix@example.iam.gserviceaccount.com",
            "private_key_id": KEY_ID,
            "private_key": key.decode(),
            "token_uri": self.token_url,
        }
        path.write_text(json.dumps(credential))
        return path


@contextmanager
def google_stand_in() -> Iterator[GoogleStandIn]:
    certificates = json.dumps({KEY_ID: CERTIFICATE_PEM.decode()}).encode()
    access_token = json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})

    class Google(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the certificates
            self._answer(certificates, cache_control="public, max-age=3600")

        def do_POST(self) -> None:  # the OAuth 2.0 token endpoint
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer(access_token.encode(), cache_control="no-store")

        def _answer(self, body: bytes, cache_control: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", cache_control)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Google) as port:
        yield GoogleStandIn(f"http://127.0.0.1:{port}/certificates", f"http://127.0.0.1:{port}/token")
