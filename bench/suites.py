"""Suites: wall time of each test suite, run once (they start their own emulators on free ports); then two of
them side by side as `make test` runs its lanes (tests/suites.py), against the same two one after another."""

from __future__ import annotations

import tempfile
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
SIDE_BY_SIDE = {"e2e": "e2e", "devstack": "test-devstack"}
"""The pair run in two lanes, by their make targets: both start emulators and a Lambda chain of their own."""


def run() -> list[Row]:
    rows = []
    took: dict[str, float] = {}
    for name, (cwd, target) in SUITES.items():
        began = time.perf_counter()
        result = uv_run("pytest", "-p", "no:cacheprovider", "-q", target, cwd=cwd)
        took[name] = time.perf_counter() - began
        rows.append(Row(GROUP, f"{name} ({target})", took[name], "s", note=pytest_summary(result)))
    return [*rows, side_by_side(sum(took[name] for name in SIDE_BY_SIDE))]


def side_by_side(one_after_another: float) -> Row:
    with tempfile.TemporaryDirectory() as logs:
        began = time.perf_counter()
        result = uv_run("python", "-m", "tests.suites", "--logs", logs, *SIDE_BY_SIDE.values())
        took = time.perf_counter() - began
    lines = result.stdout.strip().splitlines()
    table_total = " ".join(lines[-1].split()) if lines else "(no output)"  # the table's "all" row
    return Row(
        GROUP,
        f"{' ‖ '.join(SIDE_BY_SIDE)} side by side (make test's lanes)",
        took,
        "s",
        baseline=one_after_another,
        baseline_name="the two rows above added up",
        note=table_total if result.returncode == 0 else f"a suite failed: {table_total}",
    )
