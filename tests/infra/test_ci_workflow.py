""".github/workflows/ci.yml runs everything `make test` runs (.ci/run, the README's test command): every
command of its recipe, as `make -n` expands it, is run by some job, and every test file its pytest runs
collect is collected by some job's. Before, GitHub CI ran neither the browser, faults and durability suites
nor tests/compose. And every job keeps least privilege: read the repository, nothing else.
"""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from devstack.paths import REPO_ROOT
from tests import suites

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


@cache
def make_commands(*targets: str) -> tuple[str, ...]:
    """What `make TARGETS` would run (a recursive make's own line left out: its recipe is listed; so are the
    recipes of the suites `make test` runs side by side)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *targets],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    commands: list[str] = []
    for line in (line.strip() for line in done.stdout.splitlines()):
        words = shlex.split(line)
        if "tests.suites" in words:  # make test's lanes (tests/suites.py): each suite is a make target
            lanes = words[words.index("tests.suites") + 1 :]
            commands += make_commands(*(target for lane in suites.targets(lanes) for target in lane))
        elif line and not line.startswith("make "):
            commands.append(line)
    return tuple(commands)


def workflow_commands() -> list[str]:
    """Every command the workflow's jobs run, with its `make` lines expanded."""
    commands: list[str] = []
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line)
                commands += make_commands(*words[1:]) if words[:1] == ["make"] else [line.strip()]
    return commands


def pytest_files(command: str) -> set[Path] | None:
    """The test files a pytest command collects; None when it is not one. A run that selects a subset of
    them (-k, -m, --deselect) would be counted whole: refused."""
    words = shlex.split(command)
    cwd = REPO_ROOT
    if words[:1] == ["cd"]:  # `cd devstack && uv run ... pytest`
        cwd, words = REPO_ROOT / words[1], words[3:]
    if "pytest" not in words:
        return None
    paths: list[Path] = []
    ignored: list[Path] = []
    arguments = iter(words[words.index("pytest") + 1 :])
    for argument in arguments:
        assert argument.split("=")[0] not in {"-k", "-m", "--deselect"}, f"{command}: runs a subset"
        if argument == "-p":
            next(arguments)
        elif argument.startswith("--ignore="):
            ignored.append(cwd / argument.removeprefix("--ignore="))
        elif not argument.startswith("-"):
            paths.append(cwd / argument)
    if not paths:
        config = tomllib.loads((cwd / "pyproject.toml").read_text())
        paths = [cwd / path for path in config["tool"]["pytest"]["ini_options"]["testpaths"]]
    files = {file for path in paths for file in (path.rglob("test_*.py") if path.is_dir() else [path])}
    return {file for file in files if not any(file.is_relative_to(ignore) for ignore in ignored)}


def coverage(commands: list[str] | tuple[str, ...]) -> tuple[set[str], set[Path]]:
    """(the commands that are not pytest runs, the test files of those that are)."""
    others: set[str] = set()
    files: set[Path] = set()
    for command in commands:
        collected = pytest_files(command)
        if collected is None:
            others.add(command)
        else:
            files |= collected
    return others, files


def test_ci_runs_every_command_of_make_test() -> None:
    wanted, _ = coverage(make_commands("test"))
    run, _ = coverage(workflow_commands())
    assert "scripts/test-compose.sh" in wanted  # the parse sees make test's steps
    assert not wanted - run, f"make test runs, CI does not: {sorted(wanted - run)}"


def test_ci_collects_every_test_file_of_make_test() -> None:
    _, wanted = coverage(make_commands("test"))
    _, run = coverage(workflow_commands())
    assert REPO_ROOT / "tests" / "browser" / "test_note_edit_cors.py" in wanted
    missing = sorted(str(file.relative_to(REPO_ROOT)) for file in wanted - run)
    assert not missing, f"make test collects, CI does not: {missing}"


def test_every_job_may_only_read_the_repository() -> None:
    assert workflow()["permissions"] == {}
    for name, job in workflow()["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name
