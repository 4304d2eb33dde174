"""Build payload-2.0 events with SAM CLI's own builder, for the differential tests.

Runs under SAM CLI's Python (its pins clash with the workspace venv), never imported by pytest:

    <sam python> devstack/tests/gateway/sam_events.py < requests.json > events.json

stdin: a JSON list of requests {method, path (as sent, percent-encoded), query (raw),
headers [[name, value]...], body_b64, remote_addr, port, binary_types, route_path (the declared route's
path, or null for the $default route)}. stdout: the JSON list of events
``samcli.local.apigw.event_constructor.construct_v2_event_http`` builds for them, given the route key and
path parameters SAM's own service (LocalApigwService, PathConverter, Flask's routing) derives for them.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any


def main() -> None:
    from flask import Flask, request  # type: ignore[import-not-found, unused-ignore]
    from samcli.local.apigw.event_constructor import (  # type: ignore[import-not-found, unused-ignore]
        construct_v2_event_http,
    )
    from samcli.local.apigw.local_apigw_service import (  # type: ignore[import-not-found, unused-ignore]
        LocalApigwService,
    )
    from samcli.local.apigw.path_converter import (  # type: ignore[import-not-found, unused-ignore]
        PathConverter,
    )

    events: list[Any] = []
    for req in json.load(sys.stdin):
        app = Flask("sam_events")  # one app per request: only its route is registered
        route_path = req["route_path"]
        if route_path is not None:  # Flask matches it when the request context is pushed: view_args
            app.add_url_rule(
                PathConverter.convert_path_to_flask(route_path), "route", methods=[req["method"]]
            )
        headers = [(str(k), str(v)) for k, v in req["headers"]]
        host = next((v for k, v in headers if k.lower() == "host"), "localhost")
        with app.test_request_context(
            req["path"],
            base_url=f"http://{host}",
            query_string=req["query"],
            method=req["method"],
            headers=headers,
            data=base64.b64decode(req["body_b64"]),
            environ_base={"REMOTE_ADDR": req["remote_addr"]},
        ):
            events.append(
                construct_v2_event_http(
                    request,
                    req["port"],
                    req["binary_types"],
                    stage_name=None,
                    route_key=LocalApigwService._v2_route_key(
                        req["method"], route_path, is_default_route=route_path is None
                    ),
                )
            )
    json.dump(events, sys.stdout)


if __name__ == "__main__":
    main()
