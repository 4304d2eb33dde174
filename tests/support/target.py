"""What the e2e suites run against: the chain's URLs and, when they started it, its logs."""

from __future__ import annotations

import json
from dataclasses import dataclass

from devstack.environment import Endpoints
from devstack.supervision import LogCapture


def app_requests(logs: LogCapture) -> list[dict[str, object]]:
    """The app's one-JSON-line-per-request access logs, from every execution environment."""
    records = []
    for line in logs.of_every_environment("app"):
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict) and "status" in record and "path" in record:
            records.append(record)
    return records


@dataclass(frozen=True)
class Target:
    endpoints: Endpoints
    logs: LogCapture | None
    """None when the tests target a stack they did not start (BASE_URL)."""
