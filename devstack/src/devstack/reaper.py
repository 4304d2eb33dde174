"""Nothing a process starts outlives it, whatever ends it (SIGKILL, the OOM killer, a crash).

Each part runs in a process group of its own (supervision.ManagedProcess), which the process that started it
stops on the way out; a process killed outright never gets there. So the first part a process starts also
starts its reaper: a small child in a session of its own, told the group of every part on a pipe of which
the process holds the only write end. When the process ends, however, the kernel closes that end: the reaper
reads end-of-file and stops every group still on its list, as ManagedProcess.stop does (SIGTERM, so the
emulators save their data, then SIGKILL). A reaper is one read() at rest; it ends with its process (which,
ending normally, waits for it: atexit).

PR_SET_PDEATHSIG would reach only each part's first process (not firebase-tools' node workers), and fires
when the *thread* that started it ends, which for a pool's worker thread is not the process's end.

Run as `python -m devstack.reaper`; the process that starts it writes "+PGID" / "-PGID" lines.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO

GRACE_S = 10.0
"""As ManagedProcess.stop: how long the parts get to save their data before SIGKILL."""


class Reaper:
    """The reaper of this process: started with the first group it is given (in a forked child too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._child: subprocess.Popen[bytes] | None = None
        self._owner = 0

    def watch(self, group: int) -> None:
        """Stop process group `group` when this process ends, unless `forget` comes first."""
        with self._lock:
            if self._owner != os.getpid():  # a forked child: its parent's groups and reaper are not its own
                self._groups, self._child = set(), None
            self._groups.add(group)
            self._tell(f"+{group}")

    def forget(self, group: int) -> None:
        """`group` is stopped (its id may be reused): not the reaper's any more."""
        with self._lock:
            self._groups.discard(group)
            if self._child is not None and self._owner == os.getpid():
                self._tell(f"-{group}")

    def close(self) -> None:
        """This process ends normally: its reaper stops whatever it left running, and ends; wait for that,
        so that nothing of this process outlives it even briefly (atexit)."""
        with self._lock:
            child, self._child = self._child, None
            if child is None or self._owner != os.getpid():
                return
            assert child.stdin is not None  # noqa: S101 (types only: stdin=PIPE)
            with contextlib.suppress(BrokenPipeError):
                child.stdin.close()
            child.wait()

    def _tell(self, line: str) -> None:
        pipe = self._pipe()
        try:
            pipe.write(f"{line}\n".encode())
            pipe.flush()
        except BrokenPipeError:  # the reaper was killed: a new one gets the whole list
            self._child = None
            self._pipe()

    def _pipe(self) -> IO[bytes]:
        if self._child is None or self._child.poll() is not None:  # the first group, or the reaper was killed
            self._child = subprocess.Popen(
                [sys.executable, "-m", "devstack.reaper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C or a group kill meant for this process does not reach it
            )
            self._owner = os.getpid()
            assert self._child.stdin is not None  # noqa: S101 (types only: stdin=PIPE)
            self._child.stdin.write("".join(f"+{group}\n" for group in self._groups).encode())
            self._child.stdin.flush()
        assert self._child.stdin is not None  # noqa: S101 (types only: stdin=PIPE)
        return self._child.stdin


REAPER = Reaper()
"""The one reaper of this process."""
atexit.register(REAPER.close)


def stop_groups(groups: set[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM every group, SIGKILL whatever of them is left after `grace_s`."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(_alive(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main() -> None:
    groups: set[int] = set()
    for line in sys.stdin.buffer:  # until end-of-file: the process that started this one has ended
        sign, group = line[:1], int(line[1:])
        if sign == b"+":
            groups.add(group)
        else:
            groups.discard(group)
    stop_groups(groups)


if __name__ == "__main__":
    main()
