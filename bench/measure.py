"""What every group shares: a row of the table, rounds, medians, a quiet log sink, repo commands."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from devstack import paths

QUICK = os.environ.get("BENCH_QUICK") == "1"


def rounds(full: int, quick: int = 1) -> int:
    """How many times to repeat a measurement: medians need several, BENCH_QUICK=1 wants one."""
    return quick if QUICK else full


@dataclass
class Row:
    """One line of the table: `ours` against `baseline` (same unit, same run), ratio = ours / baseline."""

    group: str
    metric: str
    ours: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""
    detail: list[str] = field(default_factory=list)
    """Extra lines printed under the row (a top-10 list)."""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def not_run(group: str, metric: str, why: str) -> Row:
    return Row(group, metric, None, "", note=f"not run: {why}")


RESULTS = paths.REPO_ROOT / "bench" / "results.json"
"""The README links it: only a full run (every group, not BENCH_QUICK) writes it."""


def committed(group: str, metric: str) -> float | None:
    """`ours` of a row in the last committed full run (bench/results.json), to compare this run with."""
    if not RESULTS.is_file():
        return None
    rows = json.loads(RESULTS.read_text())["rows"]
    found = [row["ours"] for row in rows if row["group"] == group and row["metric"] == metric]
    return found[0] if found else None


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def quiet(_part: str, _line: str) -> None:
    """A log sink for parts whose output the table does not need."""


def uv_run(
    *argv: str, cwd: str | os.PathLike[str] = paths.REPO_ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A project command (this process's environment, plus `env`), its output captured."""
    return subprocess.run(
        ["uv", "run", "--frozen", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def pytest_summary(result: subprocess.CompletedProcess[str]) -> str:
    """pytest's last line ("28 passed, 2 failed in 61.0s"), without its = signs."""
    return (result.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
