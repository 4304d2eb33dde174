"""Refuse, before routing, a request whose path can name another route than the one it was sent to.

HTTP API hands the function the path percent-decoded (`/x/..%2Fhealth` arrives as `/x/../health`, routed
as `ANY /{proxy+}`), and the Lambda Web Adapter resolves `.`/`..` segments (`%2e` spelled ones too) and
reads `\\` as `/` when it builds the URL it sends here: the app would serve `/health` to a request the
gateway routed, throttled and (with an authorizer) authorized as another route. The adapter leaves the
path the gateway routed in the request context it passes on, so that path, the path this app gets and
the raw path as sent are all checked (docs/gateway.md, "Paths that name another path").
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from api.middleware import GATEWAY_CONTEXT_HEADER, gateway_context

_ENCODED_SEPARATORS = ("%2f", "%5c")
_MESSAGE = "no resource has a path with a '.' or '..' segment, a backslash or an encoded slash"


def _names_another_path(path: str) -> bool:
    """Whether a URL parser could resolve `path` to another one: a `.`/`..` segment (`%2e` counts as a dot,
    as URL parsers read it), a backslash (read as `/`) or an encoded `/` or `\\` (decoded by whoever comes
    next). Works on a path whether it was percent-decoded or not."""
    lowered = path.lower()
    return (
        "\\" in path
        or any(separator in lowered for separator in _ENCODED_SEPARATORS)
        or any(segment.replace("%2e", ".") in (".", "..") for segment in lowered.split("/"))
    )


def _routed_path(scope: Scope) -> str:
    """requestContext.http.path: the path HTTP API matched its routes on (payload 2.0); "" without one."""
    http = gateway_context(Headers(scope=scope).get(GATEWAY_CONTEXT_HEADER)).get("http")
    path = http.get("path") if isinstance(http, dict) else None
    return path if isinstance(path, str) else ""


class CanonicalPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = bytes(scope.get("raw_path") or b"").decode("latin-1")
            if any(_names_another_path(path) for path in (scope["path"], raw_path, _routed_path(scope))):
                # 404: no route of this API has such a path, whatever a URL parser would make of it.
                request_id = scope.get("state", {}).get("request_id")
                await error_response(404, "not_found", _MESSAGE, request_id)(scope, receive, send)
                return
        await self.app(scope, receive, send)
