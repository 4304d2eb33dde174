"""`make dev`'s reload: a file saved under backend/ becomes the code every next request gets, and the code
that was serving keeps serving until the new code has answered its first request — a change that does not
start (a syntax error, an import error) is reported, never served.

Each change gets an artifact of its own, .local/artifacts/<n>/ApiFunction:
- our code changed: a hard-linked copy of the serving artifact (its dependencies' bytes are shared) whose
  code backend/Makefile's `code-ApiFunction` replaces with the same files sam build puts in the zip;
- a dependency changed (backend/requirements.txt, which `make requirements` exports from uv.lock, or the
  build itself): a full sam build.
Then LocalFunction.load() starts an environment on it (a cold start, as a new version gets on Lambda) and
switches only if GET /health answers 200. Emulator state is not touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from devstack import paths
from devstack.lambdafn.local_function import LocalFunction
from devstack.lambdafn.pool import NewCodeFailedError, NoEnvironmentError
from devstack.supervision import LogSink, StartupError, print_sink, run_to_end
from devstack.tools import tool

#: Files in backend/ whose change needs a full build (dependencies, or how the artifact is made).
BUILD_INPUTS = frozenset({"requirements.txt", "Makefile", "pyproject.toml"})
#: Artifacts kept: the serving one and the one before (environments still finishing on it may load modules).
KEEP = 2


class Reloader:
    """Turns batches of changed files under `source_dir` into new code served by `function`."""

    def __init__(
        self,
        function: LocalFunction,
        *,
        source_dir: Path = paths.BACKEND,
        artifacts_dir: Path = paths.ARTIFACTS,
        sink: LogSink = print_sink,
    ) -> None:
        self.function = function
        self.source_dir = source_dir
        self.artifacts_dir = artifacts_dir
        self.sink = sink
        self.loaded = 0
        shutil.rmtree(artifacts_dir, ignore_errors=True)  # a previous run's

    def watch(self, between_changes: Callable[[], None] = lambda: None, every_ms: int = 500) -> None:
        """Reload on every batch of saved files, until interrupted; `between_changes` runs at least every
        `every_ms` (it raises to stop watching)."""
        from watchfiles import watch

        for changes in watch(
            self.source_dir,
            watch_filter=lambda _, path: not path.endswith("~"),
            rust_timeout=every_ms,
            yield_on_timeout=True,
        ):
            between_changes()
            if changes:
                self.apply(Path(path) for _, path in changes)

    def apply(self, changed: Iterable[Path]) -> bool:
        """Build an artifact with the change and serve it; False (the previous code serving) if it fails."""
        started = time.monotonic()
        names = {path.name for path in changed if path.parent == self.source_dir}
        full_build = bool(names & BUILD_INPUTS)
        generation_dir = self.artifacts_dir / str(self.loaded + 1)
        how = "sam build (a dependency or the build changed)" if full_build else "new code"
        self.sink("reload", f"change saved: {how}; the current code serves until the new one answers")
        try:
            artifact = self._build(generation_dir) if full_build else self._copy_with_new_code(generation_dir)
            cold_start = self.function.load(artifact)
        except (StartupError, NewCodeFailedError, NoEnvironmentError) as error:
            self.sink(
                "reload",
                f"the new code did not start ({error}); see its output above. The previous code keeps "
                "serving: fix it and save.",
            )
            shutil.rmtree(generation_dir, ignore_errors=True)
            return False
        self.loaded += 1
        self._prune()
        live = time.monotonic() - started
        self.sink("reload", f"new code live {live:.1f} s after the save (its cold start: {cold_start:.1f} s)")
        return True

    def _copy_with_new_code(self, generation_dir: Path) -> Path:
        artifact = generation_dir / self.function.artifact.name
        generation_dir.mkdir(parents=True)
        subprocess.run(["cp", "-al", str(self.function.artifact), str(artifact)], check=True)
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
            [tool("sam"), "build", "--template", str(paths.TEMPLATE), "--build-dir", str(generation_dir)],
            env=dict(os.environ),
            sink=self.sink,
            cwd=paths.REPO_ROOT,
            fix="Fix the build error above and save again.",
        )
        return generation_dir / self.function.artifact.name

    def _prune(self) -> None:
        generations = sorted(
            (int(d.name) for d in self.artifacts_dir.iterdir() if d.name.isdigit()), reverse=True
        )
        for old in generations[KEEP:]:
            shutil.rmtree(self.artifacts_dir / str(old), ignore_errors=True)
