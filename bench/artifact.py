"""Artifact: what `sam build` zips (.aws-sam/build/ApiFunction), unzipped and zipped, against the
hello-world FastAPI artifact, and the ten largest top-level entries (dependencies) of ours."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from bench import hello
from bench.measure import Row
from devstack import paths

GROUP = "artifact"
MB = 1024 * 1024


def size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


def zipped(artifact: Path, into: Path) -> int:
    """Deflated as `sam deploy` uploads it."""
    archive = into / f"{artifact.parent.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted(artifact.rglob("*")):
            if file.is_file():
                out.write(file, file.relative_to(artifact))
    return archive.stat().st_size


def largest(artifact: Path, count: int = 10) -> list[str]:
    entries = [entry for entry in artifact.iterdir() if not entry.name.endswith(".dist-info")]
    sizes = sorted(((size(entry), entry.name) for entry in entries), reverse=True)[:count]
    return [f"{name} {bytes_ / MB:.1f} MB" for bytes_, name in sizes]


def run() -> list[Row]:
    ours = paths.BUILD_DIR / hello.FUNCTION
    with tempfile.TemporaryDirectory(prefix="bench-artifact-") as scratch:
        hello_world = hello.hello_world_artifact(Path(scratch))
        baseline = "hello-world FastAPI + uvicorn"
        return [
            Row(
                GROUP,
                "unzipped",
                size(ours) / MB,
                "MB",
                size(hello_world) / MB,
                baseline,
                note="largest top-level entries (target: ≤ 35 MB in all):",
                detail=largest(ours),
            ),
            Row(
                GROUP,
                "zipped (deflate)",
                zipped(ours, Path(scratch)) / MB,
                "MB",
                zipped(hello_world, Path(scratch)) / MB,
                baseline,
            ),
        ]
