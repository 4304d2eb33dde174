"""A JWT authorizer as API Gateway HTTP API applies one (docs/gateway.md, "JWT authorizer", has the rules and
their sources): the token from the identity source header (optionally prefixed `Bearer `), an RSA signature
checked with the issuer's published key of its `kid` (OIDC discovery, then the jwks_uri; keys kept two
hours), then `iss`, `aud` (else `client_id`), `exp`, `nbf`, `iat` with no clock skew, and the route's scopes.

One exception, for the local stack only: the Firebase Auth emulator's unsigned tokens (`alg: none`) of the
issuer `ApiConfig.emulator_issuer` — the rule firebase-admin applies under FIREBASE_AUTH_EMULATOR_HOST.
Every claim check still applies to them. A deployed stack's ApiConfig has no emulator issuer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from devstack.apigw.api_config import JwtAuthorizer
from devstack.apigw.response_mapper import GatewayResponse, error_response

LOG = logging.getLogger("devstack.gateway")

#: The RSA algorithms and their hashes ("only RSA-based algorithms are supported").
RSA_ALGORITHMS: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
#: How long API Gateway may keep an issuer's public keys.
KEY_CACHE_S = 2 * 60 * 60
KEY_FETCH_TIMEOUT_S = 5.0
#: A fetch at most this often per issuer, whatever the tokens' `kid`s or a failed fetch: an unknown `kid` in
#: every request (or an issuer that does not answer) must not become a fetch per request (jose's cooldown).
REFETCH_COOLDOWN_S = 30.0


class Refused(Exception):
    """The request is refused; the message says why (the www-authenticate error_description)."""


@dataclass(frozen=True)
class Authorized:
    """What the event carries as `requestContext.authorizer`."""

    claims: Mapping[str, str]
    scopes: tuple[str, ...] | None

    def context(self) -> dict[str, Any]:
        return {
            "jwt": {"claims": dict(self.claims), "scopes": None if self.scopes is None else list(self.scopes)}
        }


def discovery_url(issuer: str) -> str:
    """Where an OIDC issuer publishes its discovery document (whose jwks_uri lists its keys)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class IssuerKeys:
    """Each issuer's public keys by `kid`, fetched through OIDC discovery at first use and kept KEY_CACHE_S;
    fetched again for an unknown `kid` or after a failure only past REFETCH_COOLDOWN_S, and by one fetch that
    concurrent requests share. `locate` maps an issuer to its discovery document's URL (tests serve one on
    127.0.0.1)."""

    def __init__(
        self, locate: Callable[[str], str] = discovery_url, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._locate = locate
        self._clock = clock
        self._keys: dict[str, tuple[float, dict[str, tuple[rsa.RSAPublicKey, str | None]]]] = {}
        self._attempted: dict[str, float] = {}
        self._fetching: dict[str, asyncio.Future[dict[str, tuple[rsa.RSAPublicKey, str | None]]]] = {}

    async def key(self, issuer: str, kid: str) -> tuple[rsa.RSAPublicKey, str | None]:
        """The issuer's key `kid` and the algorithm its JWK names (None: not named)."""
        cached = self._keys.get(issuer)
        if cached is None or self._clock() - cached[0] > KEY_CACHE_S or kid not in cached[1]:
            keys = await self._refetched(issuer)
            if keys is not None:
                cached = self._keys[issuer] = (self._clock(), keys)
        if cached is None:
            raise Refused("the issuer's keys could not be fetched (tried again after the cooldown)")
        try:
            return cached[1][kid]
        except KeyError:
            raise Refused("the token's kid is not a key of the issuer") from None

    async def _refetched(self, issuer: str) -> dict[str, tuple[rsa.RSAPublicKey, str | None]] | None:
        """The issuer's keys fetched now, or by the fetch in flight; None within the cooldown of the last."""
        fetching = self._fetching.get(issuer)
        if fetching is None:
            if self._clock() - self._attempted.get(issuer, -REFETCH_COOLDOWN_S) < REFETCH_COOLDOWN_S:
                return None
            self._attempted[issuer] = self._clock()
            fetching = self._fetching[issuer] = asyncio.ensure_future(self._fetch(issuer))
            fetching.add_done_callback(lambda _: self._fetching.pop(issuer, None))
        # Shielded: a request whose client went away does not cancel the others' fetch.
        return await asyncio.shield(fetching)

    async def _fetch(self, issuer: str) -> dict[str, tuple[rsa.RSAPublicKey, str | None]]:
        try:
            async with httpx.AsyncClient(timeout=KEY_FETCH_TIMEOUT_S) as client:
                discovery = (await client.get(self._locate(issuer))).raise_for_status().json()
                jwks = (await client.get(discovery["jwks_uri"])).raise_for_status().json()
            return {
                str(jwk["kid"]): (
                    rsa.RSAPublicNumbers(_integer(jwk["e"]), _integer(jwk["n"])).public_key(),
                    jwk.get("alg"),
                )
                for jwk in jwks["keys"]
                if jwk.get("kty") == "RSA" and "kid" in jwk
            }
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as error:
            LOG.warning("the keys of issuer %s could not be fetched: %s", issuer, error)
            raise Refused("the issuer's keys could not be fetched") from error


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _integer(segment: str) -> int:
    return int.from_bytes(_b64decode(segment), "big")


def flatten(value: Any) -> str:
    """A claim as HTTP API hands it over: a string, in Go's %v form (captures of real events:
    "exp": "1635018939", "firebase": "map[identities:map[email:[a@b.c]] sign_in_provider:password]")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(flatten(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{flatten(value[key])}" for key in sorted(value)) + "]"
    return "<nil>" if value is None else str(value)


class JwtVerifier:
    """Applies a route's JWT authorizer to a request's headers. `emulator_issuer`: see the module."""

    def __init__(
        self,
        keys: IssuerKeys | None = None,
        *,
        emulator_issuer: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys or IssuerKeys()
        self.emulator_issuer = emulator_issuer
        self._clock = clock

    async def authorize(
        self, authorizer: JwtAuthorizer, scopes: tuple[str, ...], header: str | None
    ) -> Authorized:
        """The claims of a token that passes, or Refused."""
        token = (header or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Refused("the token is missing")
        parts = token.split(".")
        if len(parts) != 3:
            raise Refused("the token is not a JWT")
        try:
            head, claims = json.loads(_b64decode(parts[0])), json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise Refused("the token cannot be decoded") from None
        if not isinstance(head, dict) or not isinstance(claims, dict):
            raise Refused("the token cannot be decoded")
        algorithm = str(head.get("alg"))
        if algorithm == "none" and not signature and authorizer.issuer == self.emulator_issuer:
            pass  # the Auth emulator's token, on the local stack only: every claim is still checked below
        elif algorithm not in RSA_ALGORITHMS:
            raise Refused(f"the token's algorithm {algorithm!r} is not supported")
        else:
            key, key_algorithm = await self.keys.key(authorizer.issuer, str(head.get("kid")))
            if key_algorithm is not None and key_algorithm != algorithm:
                raise Refused("the token's algorithm is not its key's")
            signed = f"{parts[0]}.{parts[1]}".encode()
            try:
                key.verify(signature, signed, padding.PKCS1v15(), RSA_ALGORITHMS[algorithm]())
            except InvalidSignature:
                raise Refused("the token's signature is invalid") from None
        self._check_claims(authorizer, claims)
        granted = _token_scopes(claims)
        if scopes and not set(scopes) & set(granted):
            raise Refused("the token does not have a required scope")
        return Authorized(
            {name: flatten(value) for name, value in claims.items()}, granted if scopes else None
        )

    def _check_claims(self, authorizer: JwtAuthorizer, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != authorizer.issuer:
            raise Refused("the token does not have a valid issuer")
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")  # aud first, as AWS
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(item, str) and item in authorizer.audience for item in audiences):
            raise Refused("the token does not have a valid audience")
        now = self._clock()
        if not _number(claims.get("exp")) or claims["exp"] <= now:
            raise Refused("the token has expired")
        for name in ("nbf", "iat"):
            if name in claims and (not _number(claims[name]) or claims[name] > now):
                raise Refused(f"the token's {name} is in the future")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """`scope` (space-separated, OAuth 2.0) or `scp` (a list or a string)."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(str(item) for item in value)
    return ()


def unauthorized(reason: str, scopes: tuple[str, ...]) -> GatewayResponse:
    """HTTP API's 401: its body, and the www-authenticate header that says why."""
    response = error_response(401, "Unauthorized")
    challenge = f'Bearer scope="{" ".join(scopes)}" error="invalid_token" error_description="{reason}"'
    response.headers.append(("www-authenticate", challenge))
    return response
