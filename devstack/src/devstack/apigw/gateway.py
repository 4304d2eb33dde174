"""A small local API Gateway (HTTP API, payload format 2.0) in front of the Lambda Runtime Interface Emulator.

Each HTTP request is matched to one of the API's routes (routes; none: 404), counted against its
throttle (throttle; empty: 429) and, on a route with a JWT authorizer, authorized (authorizer; refused: 401),
becomes a payload-2.0 event (event_builder), is POSTed to RIE's invoke URL
(one invocation at a time per environment, as RIE allows no more), and the function's answer is mapped back
the way HTTP API does it (response_mapper). See docs/gateway.md. Run it with
`devstack gateway --rie HOST:PORT`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from devstack.apigw import cors
from devstack.apigw.api_config import ApiConfig
from devstack.apigw.authorizer import Authorized, IssuerKeys, JwtVerifier, Refused, unauthorized
from devstack.apigw.event_builder import build_event, encoded_path, new_request_id, request_header
from devstack.apigw.response_mapper import (
    GatewayResponse,
    LambdaResponseError,
    error_response,
    map_lambda_response,
)
from devstack.apigw.routes import RouteMatch, RouteTable, names_another_path
from devstack.apigw.throttle import RouteThrottles
from devstack.lambdafn.pool import (
    MAX_INVOKE_PAYLOAD_BYTES,
    ClientGoneError,
    EnvironmentPool,
    NoEnvironmentError,
    ThrottledError,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOG = logging.getLogger("devstack.gateway")

#: The gateway's own health route; any other path goes to the function.
HEALTH_PATH = "/__gateway/health"
#: Set to 1 to log every event and every function answer (bodies cut to LOG_BODY_CHARS).
LOG_EVENTS_ENV = "DEVSTACK_GATEWAY_LOG_EVENTS"
LOG_BODY_CHARS = 2048


class _BodyTooLarge(Exception):
    pass


INTEGRATION_TIMEOUT_S = 30.0
"""HTTP API's integration timeout: its default and its maximum."""


class _ClientGone(Exception):
    pass


class Gateway:
    """The gateway ASGI app in front of the function's execution environments.

    ``api`` is what the template says about the API (the stack model's `api`); the default is an API
    with only a `$default` route. ``issuer_keys`` is where JWT authorizers get their issuers' keys (default:
    OIDC discovery at the issuer). ``integration_timeout_s`` (HTTP API's default and maximum is 30 s; a
    route's TimeoutInMillis shortens it) bounds everything a request waits for, its turn for an environment
    included: past it the client gets 503. A
    request whose client has gone before an environment was free is not invoked. ``log_events`` defaults to
    the ``DEVSTACK_GATEWAY_LOG_EVENTS`` environment variable.
    """

    def __init__(
        self,
        environments: EnvironmentPool,
        *,
        api: ApiConfig | None = None,
        issuer_keys: IssuerKeys | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        account_id: str = "123456789012",
        api_id: str = "1234567890",
        stage: str = "$default",
        log_events: bool | None = None,
    ) -> None:
        self.environments = environments
        self.api = api or ApiConfig()
        self.routes = RouteTable(self.api.routes)
        self.throttles = RouteThrottles(self.api.throttling)
        self.verifier = JwtVerifier(issuer_keys, emulator_issuer=self.api.emulator_issuer)
        self.integration_timeout_s = integration_timeout_s
        self.account_id = account_id
        self.api_id = api_id
        self.stage = stage
        self.log_events = (
            os.environ.get(LOG_EVENTS_ENV, "") not in ("", "0") if log_events is None else log_events
        )

    # -- ASGI -------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # websocket: HTTP APIs do not do websockets
            raise RuntimeError(f"unsupported ASGI scope type {scope['type']!r}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.environments.attach(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        await self.environments.aclose()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = asyncio.get_running_loop().time()
        request_id = new_request_id()
        if scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            health = {"status": "ok", **self.environments.stats()}
            response = GatewayResponse(
                200, [("content-type", "application/json")], json.dumps(health).encode()
            )
        elif self.api.cors is not None and cors.is_preflight(scope):
            response = cors.preflight_response(self.api.cors, scope)
        else:
            answer = await self._routed(scope, receive, request_id=request_id, arrived=arrived)
            if answer is None:  # the client has gone: nobody to answer
                return
            response = answer
            if self.api.cors is not None:
                response = cors.with_cors_headers(self.api.cors, scope, response)
        await self._send(send, response, request_id, head=scope["method"] == "HEAD")

    async def _routed(
        self, scope: Scope, receive: Receive, *, request_id: str, arrived: float
    ) -> GatewayResponse | None:
        """A request for the API's routes: HTTP API's 404 when none matches, 429 when its route's throttle
        refuses it, 401 when its route's authorizer does, 413 when it is too large (none of them invoked),
        else the function's answer."""
        path = encoded_path(scope)
        route = self.routes.match(scope["method"], path)
        try:
            body = await self._read_body(receive)  # read even when refused, so the client gets the answer
        except _ClientGone:
            return None
        except _BodyTooLarge:
            body = None
        if route is None:
            why = "the path names another path" if names_another_path(path) else "no route matches"
            LOG.info("%s: %s: %s %s: 404", request_id, why, scope["method"], path)
            return error_response(404, "Not Found")
        if not self.throttles.admit(route.route.key):
            LOG.warning("%s: route %s throttled: 429", request_id, route.route.key)
            return error_response(429, "Too Many Requests")
        authorized = None
        if route.route.authorizer is not None:
            authorizer = self.api.authorizers[route.route.authorizer]
            try:
                token = request_header(scope, authorizer.header)
                authorized = await self.verifier.authorize(authorizer, route.route.scopes, token)
            except Refused as refusal:
                LOG.info("%s: route %s: %s: 401", request_id, route.route.key, refusal)
                return unauthorized(str(refusal), route.route.scopes)
        if body is None:
            return error_response(413, "Request Entity Too Large")
        client_gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, client_gone))
        try:
            return await self.handle(
                scope,
                body,
                request_id=request_id,
                arrived=arrived,
                client_gone=client_gone,
                route=route,
                authorized=authorized,
            )
        except ClientGoneError:
            LOG.info("%s: the client left while waiting for an environment: not invoked", request_id)
            return None
        finally:
            watcher.cancel()

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_INVOKE_PAYLOAD_BYTES:
                chunks.append(chunk)
            else:  # the event can only be larger; read the rest (dropped) so the client gets the 413 cleanly
                chunks.clear()
            if not message.get("more_body", False):
                if size > MAX_INVOKE_PAYLOAD_BYTES:
                    raise _BodyTooLarge
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: GatewayResponse, request_id: str, *, head: bool) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        headers.append((b"apigw-requestid", request_id.encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    # -- request → event → RIE → response ---------------------------------------------------------
    async def handle(
        self,
        scope: Mapping[str, Any],
        body: bytes,
        *,
        request_id: str,
        arrived: float | None = None,
        client_gone: asyncio.Event | None = None,
        route: RouteMatch | None = None,
        authorized: Authorized | None = None,
    ) -> GatewayResponse:
        """Everything but the ASGI plumbing: build the event for `route` (default `$default`) with what its
        authorizer let through, invoke, map the answer.

        `arrived` (the event loop's clock) starts the integration timeout; it defaults to now.
        """
        loop_now = asyncio.get_running_loop().time()
        timeout_s = self.integration_timeout_s
        if route is not None and route.route.timeout_s is not None:
            timeout_s = min(timeout_s, route.route.timeout_s)
        deadline = (loop_now if arrived is None else arrived) + timeout_s
        event = build_event(
            scope,
            body,
            request_id=request_id,
            account_id=self.account_id,
            api_id=self.api_id,
            stage=self.stage,
            route=route,
            authorizer=None if authorized is None else authorized.context(),
        )
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        if len(payload) > MAX_INVOKE_PAYLOAD_BYTES:
            LOG.warning("%s: event is %d bytes, over Lambda's 6 MB limit: 413", request_id, len(payload))
            return error_response(413, "Request Entity Too Large")
        if self.log_events:
            LOG.info("%s event: %s", request_id, _for_log(event))
        try:
            invocation = await self.environments.invoke(
                payload, deadline=deadline, client_gone=client_gone or asyncio.Event()
            )
        except NoEnvironmentError as exc:
            LOG.warning("%s: %s: 503", request_id, exc)
            return error_response(503, "Service Unavailable")
        except ThrottledError:
            LOG.warning("%s: Lambda would throttle (%d waiting): 500", request_id, self.environments.waiting)
            return error_response(500, "Internal Server Error")
        status, function_error, raw = invocation.status, invocation.function_error, invocation.body
        if self.log_events:
            LOG.info(
                "%s RIE answered %d (function error: %s): %s", request_id, status, function_error, raw[:4096]
            )
        if status != 200 and not function_error:
            LOG.error("%s: RIE answered HTTP %d: %r: 500", request_id, status, raw[:500])
            return error_response(500, "Internal Server Error")
        try:
            return map_lambda_response(raw, function_error=function_error)
        except LambdaResponseError as exc:
            LOG.error("%s: %s: 500", request_id, exc)
            return error_response(500, "Internal Server Error")


async def _watch_disconnect(receive: Receive, client_gone: asyncio.Event) -> None:
    """Set `client_gone` when the client disconnects (the request body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    client_gone.set()


def _for_log(event: Mapping[str, Any]) -> str:
    shown = dict(event)
    body = shown.get("body")
    if isinstance(body, str) and len(body) > LOG_BODY_CHARS:
        shown["body"] = f"{body[:LOG_BODY_CHARS]}...({len(body)} chars)"
    return json.dumps(shown, ensure_ascii=False)
