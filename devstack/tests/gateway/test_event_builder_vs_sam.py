"""Differential tests: the gateway's event builder against SAM CLI's own (construct_v2_event_http).

SAM CLI lives in its own virtualenv (its pins clash with ours), so sam_events.py runs with SAM's Python in a
subprocess, once for the whole table. A missing SAM CLI fails with `make install`; nothing is skipped.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.apigw.event_builder import build_event, is_text_media_type
from devstack.tools import interpreter_of

from .gateway_cases import CASES, UA, Case

HERE = Path(__file__).parent

# Fields that differ on every request by nature, or that SAM fakes; each is checked on its own below.
PER_REQUEST_CONTEXT = {
    "requestId": "random per request",
    "time": "clock (SAM even fixes it when the module is imported)",
    "timeEpoch": "clock; SAM also gives seconds where AWS gives milliseconds",
    "domainName": "SAM hard-codes 'localhost'; AWS (and the gateway) use the Host the client called",
    "domainPrefix": "same as domainName",
}
# requestContext.http.userAgent: SAM hard-codes "Custom User Agent String"; AWS copies the User-Agent header.
# headers x-forwarded-for, x-amzn-trace-id: AWS adds them, SAM does not.
AWS_ONLY_HEADERS = ("x-forwarded-for", "x-amzn-trace-id")


def _is_binary(case: Case) -> bool:
    return bool(case.body) and not is_text_media_type(case.mimetype() or None)


@pytest.fixture(scope="module")
def sam_events() -> dict[str, dict[str, Any]]:
    python = interpreter_of("sam")  # SAM CLI's own virtualenv: samcli and flask
    requests = [case.sam_request(_is_binary(case)) for case in CASES]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [python, str(HERE / "sam_events.py")],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    return {case.id: event for case, event in zip(CASES, events, strict=True)}


def _get(event: dict[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        value = value[part]
    return value


def _set(event: dict[str, Any], dotted: str, new: Any) -> None:
    *parents, last = dotted.split(".")
    target: Any = event
    for part in parents:
        target = target[part]
    target[last] = new


def normalise_sam(event: dict[str, Any], case: Case) -> dict[str, Any]:
    ev = copy.deepcopy(event)
    # SAM writes null/{}/[]/"" for absent optional fields; HTTP API leaves them out.
    for key in ("pathParameters", "stageVariables"):
        if not ev[key]:
            del ev[key]
    if ev.get("cookies") == []:
        del ev["cookies"]
    if ev.get("body") == "":
        del ev["body"]
    # SAM keeps werkzeug's Title-Case names and leaves the Cookie header in; AWS lower-cases and moves it out.
    headers = {k.lower(): v for k, v in ev["headers"].items() if k.lower() != "cookie"}
    # A repeated header reaches SAM already joined by the WSGI layer with ", "; HTTP API joins with ",".
    names = [k.lower() for k, _ in case.all_headers()]
    for name in {n for n in names if names.count(n) > 1 and n != "cookie"}:
        values = [v for k, v in case.all_headers() if k.lower() == name]
        assert headers[name] == ", ".join(values)
        headers[name] = ",".join(values)
    ev["headers"] = headers
    for key in PER_REQUEST_CONTEXT:
        del ev["requestContext"][key]
    del ev["requestContext"]["http"]["userAgent"]
    return ev


def normalise_ours(event: dict[str, Any]) -> dict[str, Any]:
    ev = copy.deepcopy(event)
    for name in AWS_ONLY_HEADERS:
        del ev["headers"][name]
    for key in PER_REQUEST_CONTEXT:
        del ev["requestContext"][key]
    del ev["requestContext"]["http"]["userAgent"]
    return ev


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_event_matches_sam_builder(case: Case, sam_events: dict[str, dict[str, Any]]) -> None:
    ours = normalise_ours(build_event(case.asgi_scope(), case.body, route=case.route_match()))
    sam = normalise_sam(sam_events[case.id], case)
    for dotted, (expected, reason) in case.aws_differs.items():
        assert _get(ours, dotted) == expected, reason
        assert _get(sam, dotted) != expected, f"SAM now agrees on {dotted}; drop the exclusion ({reason})"
        _set(sam, dotted, expected)
    assert ours == sam


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_per_request_fields(case: Case) -> None:
    """The fields excluded from the comparison, checked against what AWS sends."""
    before = int(time.time() * 1000)
    event = build_event(case.asgi_scope(), case.body)
    ctx = event["requestContext"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", ctx["requestId"])
    assert before <= ctx["timeEpoch"] <= int(time.time() * 1000)
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", ctx["time"])
    assert time.strftime("%d/%m/%Y:%H:%M:%S", time.gmtime(ctx["timeEpoch"] / 1000)) == time.strftime(
        "%d/%m/%Y:%H:%M:%S", time.strptime(ctx["time"], "%d/%b/%Y:%H:%M:%S +0000")
    )
    assert (ctx["domainName"], ctx["domainPrefix"]) == ("127.0.0.1", "127")
    assert ctx["http"]["userAgent"] == UA
    assert event["headers"]["x-forwarded-for"] == "10.1.2.3"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", event["headers"]["x-amzn-trace-id"])
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])


if __name__ == "__main__":  # pragma: no cover - debugging aid: print both events for one case
    sys.exit(pytest.main([__file__, "-q", *sys.argv[1:]]))
