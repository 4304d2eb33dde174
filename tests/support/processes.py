"""The processes a test started, read from /proc (Linux): which run, and whether any outlived a stop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Process:
    pid: int
    started: int
    """Clock ticks after boot: with the pid, tells this process from a later one given the same pid."""
    argv: tuple[str, ...]

    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[1] == self.started

    def runs(self, program: str) -> bool:
        """`program` (a name, or a path ending in it) is its executable or the script its interpreter runs."""
        return any(arg == program or arg.endswith(f"/{program}") for arg in self.argv[:2])


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a running process."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (name) ": state, ppid, ...
    return int(fields[1]), int(fields[19])


def _argv(pid: int) -> tuple[str, ...]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg)


def descendants(root: int) -> frozenset[Process]:
    """Every running process below `root` (children, their children...), whatever session each is in."""
    parents: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
            started[int(entry.name)] = stat[1]
    found: set[Process] = set()
    pending = list(parents.get(root, []))
    while pending:
        pid = pending.pop()
        found.add(Process(pid, started[pid], _argv(pid)))
        pending += parents.get(pid, [])
    return frozenset(found)
