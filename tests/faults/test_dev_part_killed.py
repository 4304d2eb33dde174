"""A part of `make dev` dies (killed, as a crash or the OOM killer would): `devstack dev` names it and how
it ended, stops every other part and exits non-zero, leaving no process and no port behind. Before, it went
on serving without the part, silently (a dead MiniStack only showed up as 503s)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.dev_run import dev_run
from tests.support.processes import Process

pytestmark = pytest.mark.e2e

# The part, how to tell its process, and how `devstack dev` names it.
PARTS: dict[str, tuple[Callable[[Process], bool], str]] = {
    "ministack": (lambda process: process.runs("ministack"), "ministack:"),
    "firebase": (lambda process: process.runs("firebase") and "emulators:start" in process.argv, "firebase:"),
    # RIE runs the Web Adapter and the app: when it dies they go with it, and the chain is what failed.
    "rie": (lambda process: process.runs("aws-lambda-rie"), "lambda chain: RIE"),
}


def _the(part: str, processes: frozenset[Process]) -> Process:
    is_part, _ = PARTS[part]
    (found,) = [process for process in processes if is_part(process)]
    return found


@pytest.mark.parametrize("part", PARTS)
def test_a_killed_part_stops_dev_which_names_it(part: str, tmp_path: Path) -> None:
    with dev_run(tmp_path) as dev:
        dev.start()
        victim = _the(part, dev.processes())
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.monotonic()
        status = dev.wait()
        print(f"{part} killed: devstack dev exited {time.monotonic() - killed:.1f} s later")

        error = dev.output().rpartition("\nerror: ")[2]
        _, name = PARTS[part]
        assert status == 1, dev.output()[-3000:]
        assert error.startswith(f"{name} exited on its own, killed by SIGKILL (status -9)."), error
        assert dev.leftovers() == []
        assert dev.bound_ports() == []
