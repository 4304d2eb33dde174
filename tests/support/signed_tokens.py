"""Production-shaped Firebase ID tokens: RS256, signed by a test key whose X.509 certificate a loopback server
publishes in place of Google's certificate URL (firebase_admin._token_gen.ID_TOKEN_CERT_URI, the one seam)."""

import datetime
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.loopback import serving

KEY_ID = "test-key-1"


def key_and_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
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


@contextmanager
def serving_certificate(certificate_pem: bytes, key_id: str = KEY_ID) -> Iterator[str]:
    """Publishes the certificate as Google publishes its own (JSON by key id, cacheable); yields the URL."""
    body = json.dumps({key_id: certificate_pem.decode()}).encode()

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


def id_token_claims(project_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "sub": "user-123",
        "auth_time": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        "email": "user@example.com",
        "role": "admin",
    }
    claims.update(overrides)
    return claims


def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str = KEY_ID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
