"""Test doubles for the gateway tests: a fake RIE, and fake execution environments made of fake RIEs."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.supervision import ServerThread

START_BOUND_S = 30.0
"""A start held by its test gives up after this: a test that failed before letting it go still ends."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FakeRie:
    """Speaks RIE's invoke API and answers like RIE: HTTP 400 to an invocation overlapping another one.

    What the "function" answers depends on the event's rawPath:
      /sleep/<seconds>  sleep, then echo
      /error            an errorType/errorMessage body, as RIE relays a function error
      /error-header     X-Amz-Function-Error
      /raw              the request body is the function's answer, verbatim
      /rie-status/<n>   RIE itself answers HTTP n
      /quiet            {"statusCode": 204}
      anything else     echo: 200, the event as a JSON body
    """

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.invocations = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["path"] != INVOKE_PATH or scope["method"] != "POST":
            await _reply(send, 404, b"not found")
            return
        if self.in_flight:
            self.rejected += 1
            await _reply(send, 400, b'{"errorType":"InvalidRequest","errorMessage":"concurrent invoke"}')
            return
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.invocations += 1
        try:
            event = json.loads(b"".join(chunks))
            self.events[event["requestContext"]["requestId"]] = event
            status, headers, answer = await self._function(event)
        finally:
            self.in_flight -= 1
        await _reply(send, status, answer, headers)

    async def _function(self, event: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        path: str = event["rawPath"]
        if path.startswith("/sleep/"):
            await asyncio.sleep(float(path.rsplit("/", 1)[1]))
        elif path == "/error":
            return 200, [], b'{"errorMessage":"boom","errorType":"RuntimeError","stackTrace":[]}'
        elif path == "/error-header":
            return 200, [(b"x-amz-function-error", b"Unhandled")], b'{"errorMessage":"boom","errorType":"E"}'
        elif path == "/raw":
            return 200, [], str(event.get("body", "")).encode()
        elif path.startswith("/rie-status/"):
            return int(path.rsplit("/", 1)[1]), [], b"RIE says no"
        elif path == "/quiet":
            return 200, [], b'{"statusCode":204}'
        answer = {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(event),
        }
        return 200, [], json.dumps(answer).encode()


async def _reply(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    all_headers = [(b"content-type", b"application/json"), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class FakeEnvironment:
    """An execution environment for EnvironmentPool: its own FakeRie, served while started. Given `may_start`,
    its start lasts until that is set (a cold start as slow as a test needs: a loaded machine, a first
    install of the runtime's SDK)."""

    def __init__(self, number: int, may_start: threading.Event | None = None) -> None:
        self.number = number
        self.may_start = may_start
        self.rie = FakeRie()
        self._server: ServerThread | None = None
        self.stopped = False

    @property
    def invoke_url(self) -> str:
        assert self._server is not None, "invoked before start"
        return self._server.url + INVOKE_PATH

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self.may_start is not None and not self.may_start.wait(START_BOUND_S):
            raise RuntimeError(f"fake environment {self.number}: never allowed to start")
        self._server = ServerThread(self.rie).__enter__()

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__()
            self._server = None
        self.stopped = True

    def exit_report(self) -> str | None:
        return None if self.running else f"fake environment {self.number} stopped"


class KeyServer:
    """An OIDC issuer's published keys on 127.0.0.1, as API Gateway finds them: the discovery document
    names the jwks_uri, which lists the RSA public key of each `kid`. `sign` makes tokens with its keys."""

    def __init__(self, kids: tuple[str, ...] = ("key-1",), alg: str = "RS256") -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in kids}
        self.alg = alg
        self.fetches = 0
        self._server: ServerThread | None = None

    def __enter__(self) -> KeyServer:
        self._server = ServerThread(self).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.__exit__(*exc)

    @property
    def discovery_url(self) -> str:
        assert self._server is not None
        return f"{self._server.url}/.well-known/openid-configuration"

    def jwks(self) -> dict[str, Any]:
        def b64(number: int) -> str:
            return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))

        keys = []
        for kid, key in self.keys.items():
            numbers = key.public_key().public_numbers()
            keys.append(
                {
                    "kty": "RSA",
                    "kid": kid,
                    "alg": self.alg,
                    "use": "sig",
                    "n": b64(numbers.n),
                    "e": b64(numbers.e),
                }
            )
        return {"keys": keys}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        assert self._server is not None
        if scope["path"] == "/.well-known/openid-configuration":
            body = {"issuer": "whatever", "jwks_uri": f"{self._server.url}/jwks"}
        else:
            self.fetches += 1
            body = self.jwks()
        await _reply(send, 200, json.dumps(body).encode())

    def sign(self, claims: dict[str, Any], *, kid: str = "key-1", alg: str = "RS256", key: Any = None) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signing_input = f"{_segment({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{_segment(claims)}"
        digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
        signature = (key or self.keys[kid]).sign(signing_input.encode(), padding.PKCS1v15(), digest)
        return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(part: dict[str, Any]) -> str:
    return _b64(json.dumps(part).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token made of any header, claims and signature: what a caller without the issuer's key can send."""
    return f"{_segment(header)}.{_segment(claims)}.{_b64(signature)}"


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none` and no signature, as the Firebase Auth emulator issues its ID tokens."""
    return forge({"alg": "none", "typ": "JWT"}, claims)
