"""Build payload-2.0 events with SAM CLI's own builder, for the differential tests.

Runs under SAM CLI's Python (its pins clash with the workspace venv), never imported by pytest:

    <sam python> devstack/tests/gateway/sam_events.py < requests.json > events.json

stdin: a JSON list of requests {method, path (as sent, percent-encoded), query (raw),
headers [[name, value]...], body_b64, remote_addr, port, binary_types}. stdout: the JSON list of events
``samcli.local.apigw.event_constructor.construct_v2_event_http`` builds for them ($default route).
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

    app = Flask("sam_events")
    events: list[Any] = []
    for req in json.load(sys.stdin):
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
                    request, req["port"], req["binary_types"], stage_name=None, route_key="$default"
                )
            )
    json.dump(events, sys.stdout)


if __name__ == "__main__":
    main()
