"""What the e2e suites run against: the chain's URLs and, when they started it, its logs."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from devstack.environment import Endpoints


@dataclass
class LogCapture:
    """Every line the parts printed, so tests can check what the app saw (e.g. the Lambda context)."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, part: str, line: str) -> None:
        with self._lock:
            self.lines.append((part, line))

    def of(self, part: str) -> list[str]:
        with self._lock:
            return [line for name, line in self.lines if name == part]

    def app_requests(self) -> list[dict[str, object]]:
        """The app's one-JSON-line-per-request access logs."""
        with self._lock:
            lines = [line for _, line in self.lines]
        records = []
        for line in lines:
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
