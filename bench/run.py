"""`make bench`: run every group, print one table, write bench/results.json with the machine and commit.

BENCH_QUICK=1: one round each and no suites (for a short run while developing);
BENCH_ONLY=cold_start,artifact: only those groups (the others: start, latency, per_request, reload,
log_shipping, authorizer, suites, sam_local; latency, per_request, reload, log_shipping and authorizer run
inside start's environment, so they bring start along). Either writes .local/bench-partial.json instead, so
the committed results stay a full run's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import (
    artifact,
    authorizer,
    cold_start,
    latency,
    log_shipping,
    per_request,
    reload,
    sam_local,
    start,
    suites,
)
from bench.measure import QUICK, RESULTS, Row, not_run
from devstack import paths
from devstack.tools import lambda_python_bin_dir

PARTIAL_RESULTS = paths.LOCAL_STATE / "bench-partial.json"
GROUPS = [
    "cold start",
    "latency",
    "log shipping",
    "authorizer",
    "start",
    "per request",
    "suites",
    "artifact",
    "sam local",
]


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    bin_dir = lambda_python_bin_dir()
    lambda_python = (
        subprocess.run([str(bin_dir / "python3"), "--version"], capture_output=True, text=True).stdout.strip()
        + f" at {bin_dir}"
        if bin_dir
        else "none"
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "lambda_python": lambda_python,
    }


def commit() -> str:
    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=paths.REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()

    return git("rev-parse", "HEAD") + (" (uncommitted changes)" if git("status", "--porcelain") else "")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = (
        f"{value:.0f}"
        if abs(value) >= 100 or value == int(value)
        else f"{value:.2f}"
        if abs(value) < 10
        else f"{value:.1f}"
    )
    return f"{text} {unit}".strip()


def render(results: dict[str, Any]) -> str:
    """The table: one line per row (ours, the baseline it is measured against, ours / baseline)."""
    rows = sorted(
        results["rows"], key=lambda row: GROUPS.index(row["group"]) if row["group"] in GROUPS else 99
    )
    header = ("group", "measure", "ours", "against", "baseline", "ratio")
    lines = []
    for row in rows:
        ratio = f"{row['ratio']:.2f}x" if row.get("ratio") is not None else ""
        lines.append(
            (
                row["group"],
                row["metric"],
                _number(row["ours"], row["unit"]),
                row["baseline_name"],
                _number(row["baseline"], row["unit"]) if row["baseline"] is not None else "",
                ratio,
            )
        )
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
    out = [" | ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    out.append("-+-".join("-" * width for width in widths))
    for row, cells in zip(rows, lines, strict=True):
        out.append(
            " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        )
        if row.get("note"):
            out.append(f"{'':{widths[0]}} |   {row['note']}")
        for detail in row.get("detail") or []:
            out.append(f"{'':{widths[0]}} |     {detail}")
    m = results["machine"]
    out.append(
        f"\n{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}, Python {m['python']} "
        f"(Lambda's: {m['lambda_python']}); commit {results['commit']}; {results['run_seconds']:.0f} s"
        + (" (BENCH_QUICK)" if results.get("quick") else "")
    )
    return "\n".join(out)


def _guarded(group: str, measure: Callable[[], list[Row]]) -> list[Row]:
    """A group that fails becomes a 'not run' row naming the error: the others still report."""
    try:
        return measure()
    except Exception as error:
        traceback.print_exc()
        return [not_run(group, "(whole group)", f"{type(error).__name__}: {str(error)[:200]}")]


@contextmanager
def _phase(name: str) -> Iterator[None]:
    began = time.monotonic()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    yield
    print(f"bench: {name} done in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


def main() -> int:
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    began = time.monotonic()
    rows: list[Row] = []
    if wanted("cold_start"):
        with _phase("cold start"):
            rows += _guarded("cold start", cold_start.run)
    if any(
        wanted(name) for name in ("start", "latency", "per_request", "reload", "log_shipping", "authorizer")
    ):
        with _phase("start, latency, per request"):
            rows += _guarded(
                "start",
                lambda: start.run(
                    during_warm=[
                        *([latency.run] if wanted("latency") else []),
                        *([per_request.run] if wanted("per_request") else []),
                        *([reload.run] if wanted("reload") else []),
                        *([log_shipping.run] if wanted("log_shipping") else []),
                        *([authorizer.run] if wanted("authorizer") else []),
                    ]
                ),
            )
    if wanted("suites"):
        with _phase("suites"):
            rows += (
                [not_run("suites", "unit, integration, e2e, devstack", "BENCH_QUICK=1")]
                if QUICK
                else _guarded("suites", suites.run)
            )
    if wanted("artifact"):
        with _phase("artifact"):
            rows += _guarded("artifact", artifact.run)
    if wanted("sam_local"):
        with _phase("sam local"):
            rows += _guarded("sam local", sam_local.run)
    results = {
        "machine": machine(),
        "commit": commit(),
        "quick": QUICK,
        "run_seconds": time.monotonic() - began,
        "rows": [row.as_dict() for row in rows],
    }
    target = PARTIAL_RESULTS if QUICK or only else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nwritten to {target.relative_to(paths.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
