"""The artifacts a reload leaves: a save's artifact links the dependencies of the last full build, and no
build is pruned while a kept artifact links to it (an environment still finishing on the previous code
would load a module from a deleted directory). The function is a stand-in that serves whatever it is given;
the chain tests (tests/chain/test_environments.py) reload the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.local_function import LocalFunction
from devstack.reload import KEEP, Reloader, copy_project
from devstack.supervision import LogCapture


class _ServesAnything:
    def __init__(self, artifact: Path) -> None:
        self.artifact = artifact

    def load(self, artifact: Path) -> float:
        self.artifact = artifact
        return 0.0


def _installed(artifact: Path) -> Path:
    """What a full build leaves, as far as these tests look: a dependency package."""
    (artifact / "fastapi").mkdir(parents=True)
    (artifact / "fastapi" / "__init__.pyc").write_bytes(b"")
    return artifact


@pytest.fixture
def reloader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Reloader:
    project = copy_project(tmp_path / "project")
    function = _ServesAnything(_installed(tmp_path / "build" / "ApiFunction"))
    made = Reloader(
        function,  # type: ignore[arg-type]  # a stand-in: only .artifact and .load are used
        project_dir=project,
        artifacts_dir=tmp_path / "artifacts",
        sink=LogCapture(),
    )
    monkeypatch.setattr(made, "_build", lambda generation: _installed(generation / "ApiFunction"))
    return made


def _save_code(reloader: Reloader) -> None:
    route = reloader.source_dir / "api" / "routes" / "health.py"
    route.write_text(route.read_text() + "\n")
    assert reloader.apply([route])


def _change_dependencies(reloader: Reloader) -> None:
    requirements = reloader.source_dir / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# changed\n")
    assert reloader.apply([requirements])


def _serving(reloader: Reloader) -> Path:
    function: LocalFunction = reloader.function
    return function.artifact


def test_every_kept_artifact_finds_its_dependencies(reloader: Reloader) -> None:
    kept: list[Path] = []
    changes = (_save_code, _change_dependencies, _save_code, _save_code, _change_dependencies, _save_code)
    for change in changes:
        change(reloader)
        kept = [_serving(reloader), *kept][:KEEP]
        for artifact in kept:
            assert (artifact / "fastapi" / "__init__.pyc").is_file(), f"{artifact} lost its dependencies"


def test_a_save_links_the_dependencies_and_copies_the_code(reloader: Reloader) -> None:
    build = _serving(reloader)
    _save_code(reloader)
    artifact = _serving(reloader)
    assert (artifact / "fastapi").resolve() == build / "fastapi"
    assert (artifact / "api" / "routes" / "health.py").read_text() == (
        reloader.source_dir / "api" / "routes" / "health.py"
    ).read_text()
    assert not (artifact / "api").is_symlink()
