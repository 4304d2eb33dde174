"""tests/suites.py, the runner of `make test`'s suites, on a Makefile of stand-in suites: lanes side by side
and a lane's suites one after another, a failed suite failing the run with its whole log shown, one table at
the end, and nothing left running after Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.paths import REPO_ROOT

# Stand-in suites. `ours` and `theirs` can only both pass when they run at the same time (each waits for the
# other's file); `second` passes only when `first`, of the same lane, has ended (its file is gone).
MAKEFILE = """\
wait_for = for _ in $$(seq 300); do [ -e $(1) ] && exit 0; sleep 0.1; done; echo "no $(1)"; exit 1
ours:
\t@touch ours.up; $(call wait_for,theirs.up)
\t@echo "=== 3 passed, 1 skipped in 0.2s ==="
theirs:
\t@touch theirs.up; $(call wait_for,ours.up)
\t@echo "=== 1 failed, 2 passed, 14 subtests passed in 0.3s (0:00:00) ==="
\t@exit 4
first:
\t@touch first.running; sleep 1; rm first.running
\t@printf '  \\xe2\\x9c\\x93 a check  0.1s\\n  \\xe2\\x97\\x8b another  0.0s  skipped: why\\n'
second:
\t@test ! -e first.running
\t@echo "5 passed in 0.1s"
hangs:
\t@sleep 300 & echo $$! > grandchild.pid; wait
"""


def runner(tmp_path: Path, *lanes: str) -> subprocess.Popen[str]:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.suites", "--logs", str(tmp_path / "logs"), *lanes],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def table_row(output: str, suite: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(f"{suite} "))


def test_lanes_run_side_by_side_and_a_failed_suite_fails_the_run_with_its_log(tmp_path: Path) -> None:
    run = runner(tmp_path, "ours,first,second", "theirs")
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 1, output
    assert table_row(output, "ours")[:4] == ["ours", "3", "0", "1"]
    assert table_row(output, "theirs")[:4] == ["theirs", "2", "1", "0"]
    assert "FAILED" in table_row(output, "theirs")
    assert table_row(output, "first")[:4] == ["first", "1", "0", "1"]  # named checks when there is no pytest
    assert table_row(output, "second")[:4] == ["second", "5", "0", "0"]
    assert table_row(output, "second")[-1] == "passed"
    assert table_row(output, "all")[:4] == ["all", "11", "1", "2"]
    # The failed suite's whole log, before the table; the passing ones' stay in their files.
    shown = output.index("theirs failed: its whole log")
    assert "=== 1 failed, 2 passed" in output[shown:]
    assert "3 passed, 1 skipped" not in output
    assert "3 passed, 1 skipped" in (tmp_path / "logs" / "ours.log").read_text()


def test_all_pass_exits_zero(tmp_path: Path) -> None:
    run = runner(tmp_path, "first,second")
    output, _ = run.communicate(timeout=60)
    assert run.returncode == 0, output
    assert "failed: its whole log" not in output


@pytest.mark.parametrize("interrupt", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_leaves_nothing_running(tmp_path: Path, interrupt: signal.Signals) -> None:
    run = runner(tmp_path, "hangs")
    pid_file = tmp_path / "grandchild.pid"
    deadline = time.monotonic() + 60
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert run.poll() is None, "the runner ended before the suite started"
        assert time.monotonic() < deadline, "the suite never started"
        time.sleep(0.1)
    grandchild = int(pid_file.read_text())
    run.send_signal(interrupt)
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output
    assert table_row(output, "hangs")[-1] == "stopped"
    assert not running(grandchild)


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed process may wait a moment for whoever reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
