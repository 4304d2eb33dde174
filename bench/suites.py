"""Suites: wall time of each test suite, run once (they start their own emulators on free ports)."""

from __future__ import annotations

import time

from bench.measure import Row, pytest_summary, uv_run
from devstack import paths

GROUP = "suites"
SUITES = {
    "unit": (paths.REPO_ROOT, "tests/unit"),
    "integration": (paths.REPO_ROOT, "tests/integration"),
    "e2e": (paths.REPO_ROOT, "tests/e2e"),
    "devstack": (paths.REPO_ROOT / "devstack", "tests"),
}


def run() -> list[Row]:
    rows = []
    for name, (cwd, target) in SUITES.items():
        began = time.perf_counter()
        result = uv_run("pytest", "-p", "no:cacheprovider", "-q", target, cwd=cwd)
        took = time.perf_counter() - began
        rows.append(Row(GROUP, f"{name} ({target})", took, "s", note=pytest_summary(result)))
    return rows
