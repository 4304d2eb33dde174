"""The table of requests the event builder is checked on (against SAM CLI's builder, and over the wire)."""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from devstack.apigw.routes import Route, RouteMatch, RouteTable

HOST = "127.0.0.1:3456"  # any host:port a client could call
PORT = 3456
CLIENT_IP = "10.1.2.3"
UA = "pytest-gateway/1.0"


@dataclass
class Case:
    id: str
    method: str = "GET"
    path: str = "/"  # as sent on the wire (percent-encoded)
    query: str = ""  # raw query string
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    route: str = "$default"  # the key of the declared route the request matches
    # Where real AWS (which the gateway follows) and SAM CLI's builder disagree:
    # event field path -> (what the gateway must produce, why SAM differs).
    aws_differs: dict[str, tuple[Any, str]] = field(default_factory=dict)

    def all_headers(self) -> list[tuple[str, str]]:
        base = [("Host", HOST), ("User-Agent", UA)]
        if self.body:
            base.append(("Content-Length", str(len(self.body))))
        return base + self.headers

    def asgi_scope(self) -> dict[str, Any]:
        """The scope uvicorn would hand the gateway for this request."""
        return {
            "type": "http",
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": urllib.parse.unquote(self.path),
            "raw_path": self.path.encode("ascii"),
            "query_string": self.query.encode("ascii"),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.all_headers()],
            "client": (CLIENT_IP, 51234),
            "server": ("127.0.0.1", PORT),
        }

    def route_match(self) -> RouteMatch:
        match = RouteTable([Route(self.route)]).match(self.method, self.path)
        assert match is not None, f"{self.method} {self.path} does not match {self.route}"
        return match

    def sam_request(self, binary: bool) -> dict[str, Any]:
        """The description tests/gateway/sam_events.py turns into a Flask request."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.all_headers(),
            "body_b64": base64.b64encode(self.body).decode(),
            "remote_addr": CLIENT_IP,
            "port": PORT,
            # SAM decides base64 from the template's BinaryMediaTypes (a REST API notion); HTTP API decides
            # from the Content-Type. Tell SAM the type is binary exactly when HTTP API would say so.
            "binary_types": [self.mimetype()] if binary else [],
            "route_path": None if self.route == "$default" else self.route.split(" ", 1)[1],
        }

    def mimetype(self) -> str:
        ct = next((v for k, v in self.headers if k.lower() == "content-type"), "")
        return ct.split(";", 1)[0].strip().lower()


SAM_DECODES_PERCENT_25 = "SAM (werkzeug) decodes %25 too; HTTP API keeps %25 encoded in rawPath"
SAM_NAMES_THE_METHOD = "SAM's route key names the request's method; HTTP API names the route's (ANY)"
SAM_DEDUPS_COOKIES = "SAM re-serialises werkzeug's parsed cookies (one per name); HTTP API passes each pair"

CASES: list[Case] = [
    Case("get-root", headers=[("Accept", "*/*")]),
    Case("get-query-repeats", path="/items", query="a=1&a=2&b=x%20y&c=&d"),
    Case("query-plus-unicode", path="/search", query="q=caf%C3%A9+au+lait&tag=%E2%9C%93&tag=two"),
    Case("query-encoded-separators", path="/q", query="k%3D=v%26w&x=%2C&y=1%2B1"),
    Case("unicode-path", path="/caf%C3%A9/na%C3%AFve/%E2%9C%93"),
    # No encoded slash: routing refuses it before any event (docs/gateway.md, "Paths that name another path").
    Case("encoded-reserved-path", path="/files/a%3Bb%20c%2C"),
    Case(
        "percent-25-path",
        path="/100%25/off",
        aws_differs={
            "rawPath": ("/100%25/off", SAM_DECODES_PERCENT_25),
            "requestContext.http.path": ("/100%25/off", SAM_DECODES_PERCENT_25),
        },
    ),
    Case("cookies", path="/me", headers=[("Cookie", "session=abc123; theme=dark; empty=")]),
    Case(
        "duplicate-cookie-names",
        headers=[("Cookie", "a=1; a=2; b=3")],
        aws_differs={"cookies": (["a=1", "a=2", "b=3"], SAM_DEDUPS_COOKIES)},
    ),
    Case(
        "post-json",
        method="POST",
        path="/api/notes",
        headers=[("Content-Type", "application/json")],
        body='{"title": "héllo", "n": 1}'.encode(),
    ),
    Case(
        "post-text-charset",
        method="POST",
        headers=[("Content-Type", "text/plain; charset=utf-8")],
        body="plain ✓ text".encode(),
    ),
    Case("put-xml", method="PUT", headers=[("Content-Type", "application/xml")], body=b"<a>1</a>"),
    Case(
        "post-javascript",
        method="POST",
        headers=[("Content-Type", "application/javascript")],
        body=b"var a=1;",
    ),
    Case(
        "post-form-urlencoded",
        method="POST",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"a=1&b=two+words",
    ),
    Case(
        "post-binary",
        method="POST",
        path="/upload",
        headers=[("Content-Type", "application/octet-stream")],
        body=bytes(range(256)),
    ),
    Case("post-no-content-type", method="POST", body=b"just bytes"),
    Case(
        "post-png", method="POST", headers=[("Content-Type", "image/png")], body=b"\x89PNG\r\n\x1a\n\x00\xff"
    ),
    Case(
        "post-multipart",
        method="POST",
        headers=[("Content-Type", "multipart/form-data; boundary=XyZ")],
        body=b'--XyZ\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--XyZ--\r\n',
    ),
    Case(
        "patch-vendor-json",
        method="PATCH",
        headers=[("Content-Type", "application/vnd.api+json")],
        body=b'{"a":1}',
    ),
    Case("delete-empty-body", method="DELETE", path="/api/notes/42"),
    Case("options", method="OPTIONS", path="/api", headers=[("Origin", "http://localhost:5173")]),
    Case("head", method="HEAD", path="/api"),
    Case(
        "repeated-headers",
        headers=[("X-Multi", "a"), ("X-Multi", "b"), ("Accept", "text/html"), ("Accept", "application/json")],
    ),
    Case("route-with-a-path-variable", path="/notes/42", route="GET /notes/{id}"),
    Case("route-without-variables", path="/health", route="GET /health"),
    Case(
        "greedy-route",
        method="PATCH",
        path="/notes/1/caf%C3%A9%20x",
        route="ANY /{proxy+}",
        aws_differs={
            "routeKey": ("ANY /{proxy+}", SAM_NAMES_THE_METHOD),
            "requestContext.routeKey": ("ANY /{proxy+}", SAM_NAMES_THE_METHOD),
        },
    ),
    Case(
        "root-route",
        method="POST",
        route="ANY /",
        headers=[("Content-Type", "application/json")],
        body=b"{}",
        aws_differs={
            "routeKey": ("ANY /", SAM_NAMES_THE_METHOD),
            "requestContext.routeKey": ("ANY /", SAM_NAMES_THE_METHOD),
        },
    ),
    Case("mixed-case-header", headers=[("X-Custom-Header", "Some Value"), ("AUTHORIZATION", "Bearer t.o.k")]),
]
