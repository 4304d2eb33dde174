"""`make test`'s suites side by side: `python -m tests.suites [--logs DIR] LANE...`, a LANE being make targets
joined by commas. Lanes run at the same time, the suites of a lane one after another (suites that share
something, such as the Docker engine, go in one lane). Each suite is `make TARGET` with `make test`'s
prerequisites taken as made (they were, once, before), its output in DIR/TARGET.log; a line every minute
says what still runs; at the end the log of every suite that failed, then one table: suite, tests passed,
failed and skipped, time, result. Exit status 1 when a suite failed. Each suite runs in a process group of
its own, and every group is stopped (SIGTERM, then SIGKILL) when this ends early: Ctrl-C included.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from devstack import paths

PREREQUISITES = ("install", "install-browser", "lint", "typecheck", "build")
"""`make test`'s own prerequisites: made once before the lanes start, never again inside a suite (two lanes
would run `sam build` or `uv sync` at the same time)."""
PROGRESS_EVERY = 60.0
STOP_GRACE = 60.0
"""How long a stopped suite may take to clean up (compose down, the emulators) before SIGKILL."""

# pytest's last line: "=== 780 passed, 26 skipped, 14 subtests passed in 571.03s (0:09:31) ===" (-q: no "=").
PYTEST_TOTALS = re.compile(r"^=* ?(?P<counts>\d+ [\w ,]+) in [\d.]+s\b")
PYTEST_COUNT = re.compile(r"^(?P<number>\d+) (?P<word>passed|failed|errors?|skipped)$")
# scripts/lib.sh's check_summary: one line per check, "  ✓ name  1.2s" (✗ failed, ○ skipped).
CHECK_LINE = re.compile(r"^  (?P<mark>[✓✗○]) ")


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return f"{self.passed:>6} {self.failed:>6} {self.skipped:>7}"


def counts(log: str) -> Counts:
    """What a suite's log says it ran: its pytest totals (summed over its runs), else its named checks."""
    found = Counts()
    pytest_runs = 0  # lines with pytest's counts
    checks = Counts()
    for line in log.splitlines():
        if totals := PYTEST_TOTALS.match(line):
            for part in totals["counts"].split(", "):
                if count := PYTEST_COUNT.match(part):
                    pytest_runs += 1
                    word = {"error": "failed", "errors": "failed"}.get(count["word"], count["word"])
                    setattr(found, word, getattr(found, word) + int(count["number"]))
        elif check := CHECK_LINE.match(line):
            field_name = {"✓": "passed", "✗": "failed", "○": "skipped"}[check["mark"]]
            setattr(checks, field_name, getattr(checks, field_name) + 1)
    return found if pytest_runs else checks


@dataclass
class Suite:
    target: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    began: float = 0.0
    took: float = 0.0
    status: int | None = None
    counts: Counts = field(default_factory=Counts)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            command = [
                "make",
                "--no-print-directory",
                *(f"--old-file={p}" for p in PREREQUISITES),
                self.target,
            ]
            # A session of its own: Ctrl-C reaches this runner only, which stops the suite's whole group.
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.began = time.monotonic()

    def poll(self) -> bool:
        """True once the suite has ended (and its result is read)."""
        assert self.process is not None
        if self.process.poll() is None:
            return False
        self.took = time.monotonic() - self.began
        self.status = self.process.returncode
        self.counts = counts(self.log.read_text(errors="replace"))
        return True

    def send(self, sig: signal.Signals) -> None:
        """To the suite's whole process group (what its make started, and theirs), while one runs."""
        if self.process is not None and self.status is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    @property
    def result(self) -> str:
        if self.status is None:
            return "stopped"
        return "passed" if self.status == 0 else f"FAILED (exit {self.status})"


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def stop(suites: Sequence[Suite]) -> None:
    """SIGTERM to every suite still running (their traps clean up: compose down, the emulators), a grace for
    them all, then SIGKILL to whatever is left in their groups."""
    for suite in suites:
        suite.send(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for suite in suites:
        if suite.process is not None and suite.status is None:
            with suppress(subprocess.TimeoutExpired):
                suite.process.wait(max(0.0, deadline - time.monotonic()))
        suite.send(signal.SIGKILL)


class Stopped(Exception):
    """SIGTERM (CI cancelling, make forwarding it): handled as Ctrl-C is."""


@contextmanager
def interrupts_stop() -> Iterator[None]:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    # Ctrl-C too where this was started with SIGINT ignored (a background job of a non-interactive shell, as a
    # CI script may be): Python then never installs its own KeyboardInterrupt handler.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def run_lanes(lanes: Sequence[Sequence[Suite]]) -> None:
    """Every lane to its end, one suite of each at a time; a progress line every PROGRESS_EVERY seconds."""
    waiting = [list(lane) for lane in lanes]
    running: list[Suite] = []
    began = last_progress = time.monotonic()
    while any(waiting) or running:
        for lane, queue in zip(lanes, waiting, strict=True):
            if queue and not any(suite in running for suite in lane):
                suite = queue.pop(0)
                suite.start()
                running.append(suite)
                print(f"{suite.target}: started (log {suite.log})", flush=True)
        for suite in [suite for suite in running if suite.poll()]:
            running.remove(suite)
            mark = "✓" if suite.status == 0 else "✗"
            print(f"{mark} {suite.target}: {suite.result} in {minutes(suite.took)}", flush=True)
        now = time.monotonic()
        if running and now - last_progress >= PROGRESS_EVERY:
            last_progress = now
            still = ", ".join(f"{suite.target}: running… {minutes(now - suite.began)}" for suite in running)
            print(f"[{minutes(now - began)}] {still}", flush=True)
        time.sleep(0.5)


def report(suites: Sequence[Suite], wall: float) -> str:
    rows = [f"{'suite':<16} {'passed':>6} {'failed':>6} {'skipped':>7} {'time':>8}  result"]
    rows += [f"{s.target:<16} {s.counts} {minutes(s.took):>8}  {s.result}" for s in suites]
    total = Counts(*(sum(getattr(s.counts, f) for s in suites) for f in ("passed", "failed", "skipped")))
    added_up = minutes(sum(s.took for s in suites))
    rows.append(
        f"{'all':<16} {total} {minutes(wall):>8}  (wall time; the suites' times added up: {added_up})"
    )
    return "\n".join(rows)


def targets(lanes: Sequence[str]) -> list[list[str]]:
    """The make targets of each lane ("a,b" "c" → [[a, b], [c]])."""
    return [[target for target in lane.split(",") if target] for lane in lanes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.suites", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--logs", type=Path, default=paths.LOCAL_STATE / "test-logs", help="one log per suite"
    )
    parser.add_argument("lanes", nargs="+", help="make targets joined by commas: one lane")
    args = parser.parse_args(argv)
    lanes = [[Suite(target, args.logs / f"{target}.log") for target in lane] for lane in targets(args.lanes)]
    suites = [suite for lane in lanes for suite in lane]
    print(f"{len(suites)} suites in {len(lanes)} lanes side by side, logs in {args.logs}:", flush=True)
    for lane in lanes:
        print("  " + " → ".join(suite.target for suite in lane))
    began = time.monotonic()
    try:
        with interrupts_stop():
            run_lanes(lanes)
    except (KeyboardInterrupt, Stopped):
        print("\nstopping the suites that still run …", file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave a suite half-stopped
        stop(suites)
        print(report(suites, time.monotonic() - began), file=sys.stderr)
        return 130
    failed = [suite for suite in suites if suite.status != 0]
    for suite in failed:
        print(f"\n──── {suite.target} failed: its whole log ({suite.log}) ────", flush=True)
        sys.stdout.write(suite.log.read_text(errors="replace"))
    print(f"\n{report(suites, time.monotonic() - began)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
