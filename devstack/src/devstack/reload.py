"""`make dev`'s reload: a file saved under backend/ becomes the code every next request gets, and the code
that was serving keeps serving until the new code has answered its first request — a change that does not
start (a syntax error, an import error) is reported, never served.

Each change gets an artifact of its own, .local/artifacts/<n>/ApiFunction:
- our code changed: the dependencies of the last full build, each top-level entry a symlink to it (a
  hard-linked copy of every file took 50-200 ms of the reload on a loaded 2-core machine), and our code,
  which backend/Makefile's `code-ApiFunction` puts there as sam build puts it in the zip;
- the function's dependencies or build changed: a full sam build. uv.lock is the source of the dependencies
  (`uv add`, `uv lock`): when it changes, backend/requirements.txt is re-exported from it first (the export
  `make requirements` runs: tools.requirements_export), and the build runs only if what the function
  installs changed (a new test tool moves the lock, not the zip).
Then LocalFunction.load() starts an environment on it (a cold start, as a new version gets on Lambda) and
switches only if GET /health answers 200. Emulator state is not touched.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from devstack import paths
from devstack.lambdafn.pool import NewCodeFailedError, NoEnvironmentError
from devstack.local_function import LocalFunction
from devstack.supervision import LogSink, StartupError, print_sink, run_to_end
from devstack.tools import build_environment, requirements_export, tool

if TYPE_CHECKING:
    from watchfiles import Change

#: Files in backend/ whose change needs a full build: what sam build installs, and how it builds.
BUILD_INPUTS = ("requirements.txt", "Makefile")
#: Artifacts kept: the serving one and the one before (environments still finishing on it may load modules).
KEEP = 2
#: What a reload reads, relative to the project root: the source (with backend/Makefile, sam build's recipe),
#: the lock with the workspace it exports from, and the template. `copy_project` copies these.
RELOAD_INPUTS = ("backend", "uv.lock", "pyproject.toml", "devstack/pyproject.toml", "template.yml")


def copy_project(destination: Path) -> Path:
    """A copy of what a reload reads, to edit and reload without touching the checkout (bench, tests)."""
    for relative in RELOAD_INPUTS:
        source, target = paths.REPO_ROOT / relative, destination / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _fingerprint(path: Path) -> tuple[int, int, int] | None:
    """Changes when the file is written or replaced (uv writes the lock to a new file and renames it)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


class Reloader:
    """Turns batches of changed files under `project_dir`'s backend/ (and its uv.lock) into new code served by
    `function`."""

    def __init__(
        self,
        function: LocalFunction,
        *,
        project_dir: Path = paths.REPO_ROOT,
        artifacts_dir: Path = paths.ARTIFACTS,
        sink: LogSink = print_sink,
    ) -> None:
        self.function = function
        self.project_dir = project_dir
        self.source_dir = project_dir / "backend"  # template.yml's CodeUri
        self.lock = project_dir / "uv.lock"
        self.artifacts_dir = artifacts_dir
        self.sink = sink
        self.loaded = 0
        self._lock_seen = _fingerprint(self.lock)
        # `make dev` builds before it serves: the serving artifact was built from these.
        self._built_from = self._build_inputs()
        # Where the dependencies are installed: the artifact of the last full build, which the code-only
        # artifacts since link to; and, for each artifact, the one it links to (kept while it is kept).
        self._dependencies = function.artifact
        self._links: dict[Path, Path] = {}
        shutil.rmtree(artifacts_dir, ignore_errors=True)  # a previous run's

    def watch(self, between_changes: Callable[[], None] = lambda: None, every_ms: int = 500) -> None:
        """Reload on every batch of saved files, until interrupted; `between_changes` runs at least every
        `every_ms` (it raises to stop watching)."""
        from watchfiles import DefaultFilter, watch

        editors_and_tools = DefaultFilter()  # swap and backup files, __pycache__, .mypy_cache ...

        def saved(change: Change, path: str) -> bool:
            # Hidden names too: uv writes requirements.txt through a .tmpXXXX file, editors their locks.
            return editors_and_tools(change, path) and not Path(path).name.startswith(".")

        # backend/ is watched; uv.lock is looked at on every wake-up (watching the root would mean
        # .venv, node_modules and the emulators' data).
        for changes in watch(
            self.source_dir, watch_filter=saved, rust_timeout=every_ms, yield_on_timeout=True
        ):
            between_changes()
            changed = {Path(path) for _, path in changes}
            if _fingerprint(self.lock) != self._lock_seen:
                changed.add(self.lock)
            if changed:
                self.apply(changed)

    def apply(self, changed: Iterable[Path]) -> bool:
        """Build an artifact with the change and serve it; False (the previous code serving) if it fails."""
        started = time.monotonic()
        changed = set(changed)
        # Where dependencies are declared (`uv add` writes both); they reach the zip only through the export.
        declarations = {self.lock, self.source_dir / "pyproject.toml"}
        not_code = declarations | {self.source_dir / name for name in BUILD_INPUTS}
        if self.lock in changed:
            self._lock_seen = _fingerprint(self.lock)
        if changed & declarations:
            try:
                self._export_requirements()
            except StartupError as error:
                self._report_failure(error)
                return False
        inputs = self._build_inputs()
        full_build = inputs != self._built_from
        if not full_build and not changed - not_code:
            if changed & declarations:
                self.sink("reload", "the lock changed, not what the function installs: nothing to rebuild")
            return True
        generation_dir = self.artifacts_dir / str(self.loaded + 1)
        how = "sam build (a dependency or the build changed)" if full_build else "new code"
        self.sink(
            "reload",
            f"{self._named(changed)} saved: {how}; the current code serves until the new one answers",
        )
        try:
            artifact = self._build(generation_dir) if full_build else self._copy_with_new_code(generation_dir)
            cold_start = self.function.load(artifact)
        except (StartupError, NewCodeFailedError, NoEnvironmentError) as error:
            self._report_failure(error)
            shutil.rmtree(generation_dir, ignore_errors=True)
            return False
        if full_build:
            self._built_from = inputs
            self._dependencies = artifact
        self.loaded += 1
        self._prune()
        live = time.monotonic() - started
        self.sink("reload", f"new code live {live:.1f} s after the save (its cold start: {cold_start:.1f} s)")
        return True

    def _named(self, changed: set[Path]) -> str:
        names = sorted(str(path.relative_to(self.project_dir)) for path in changed)
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    def _report_failure(self, error: Exception) -> None:
        self.sink(
            "reload",
            f"the new code did not start ({error}); see its output above. The previous code keeps "
            "serving: fix it and save.",
        )

    def _build_inputs(self) -> tuple[bytes | None, ...]:
        return tuple(
            path.read_bytes() if path.is_file() else None
            for path in (self.source_dir / name for name in BUILD_INPUTS)
        )

    def _export_requirements(self) -> None:
        run_to_end(
            "reload",
            requirements_export(self.source_dir / "requirements.txt"),
            env=dict(os.environ),
            sink=self.sink,
            cwd=self.project_dir,
            fix="uv.lock could not be exported (see above): fix it (`uv lock`) and the reload runs again.",
        )

    def _copy_with_new_code(self, generation_dir: Path) -> Path:
        artifact = generation_dir / self.function.artifact.name
        artifact.mkdir(parents=True)
        # Python imports through a symlinked package as through the package itself (paths, tracebacks
        # and __file__ name the artifact's path). code-ApiFunction removes the links of our code first.
        for entry in self._dependencies.iterdir():
            (artifact / entry.name).symlink_to(entry.resolve())
        self._links[artifact] = self._dependencies
        # backend/Makefile's own target, the one its build-ApiFunction (what sam build runs) copies the code
        # with: one definition of what the zip's code is. Straight to it: no root Makefile, no scripts.
        run_to_end(
            "reload",
            [
                "make",
                "--no-print-directory",
                "-C",
                str(self.source_dir),
                "code-ApiFunction",
                f"ARTIFACTS_DIR={artifact}",
            ],
            env=dict(os.environ),
            sink=self.sink,
            fix="See backend/Makefile's code-ApiFunction.",
        )
        return artifact

    def _build(self, generation_dir: Path) -> Path:
        run_to_end(
            "reload",
            [
                tool("sam"),
                "build",
                "--template",
                str(self.project_dir / "template.yml"),
                "--build-dir",
                str(generation_dir),
            ],
            env=build_environment(),
            sink=self.sink,
            cwd=self.project_dir,
            fix="Fix the build error above and save again.",
        )
        return generation_dir / self.function.artifact.name

    def _prune(self) -> None:
        generations = sorted(
            (int(d.name) for d in self.artifacts_dir.iterdir() if d.name.isdigit()), reverse=True
        )
        kept = [self.artifacts_dir / str(n) / self.function.artifact.name for n in generations[:KEEP]]
        linked = {self._dependencies, *(self._links.get(artifact) for artifact in kept)}
        for old in generations[KEEP:]:
            artifact = self.artifacts_dir / str(old) / self.function.artifact.name
            self._links.pop(artifact, None)
            if artifact not in linked:
                shutil.rmtree(artifact.parent, ignore_errors=True)
