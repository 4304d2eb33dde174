"""The baselines' artifacts, generated in a temporary directory: a hello-world FastAPI under the adapter
(main.py + our run.sh) and the same app under Mangum (a zip handler). Packages are installed and packaged the
way backend/Makefile does ours (cp313 manylinux wheels into the artifact, then its cold-start-ready: bytecode,
stripped libraries), at uv.lock's versions where the lock has them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devstack import paths
from devstack.lambdafn.sandbox import install_for_runtime, locked_version

FUNCTION = "ApiFunction"
"""The chain reads the function's settings from template.yml by the artifact directory's name."""

HELLO_APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""
MANGUM_HANDLER = 'from mangum import Mangum\n\nhandler = Mangum(app, lifespan="off")\n'


def cp313_install(target: Path, *requirements: str) -> None:
    """What backend/Makefile does for ours: wheels for the python3.13 x86_64 runtime, without Docker."""
    install_for_runtime(target, *requirements)
    shutil.rmtree(target / "bin", ignore_errors=True)
    ready = ["make", "--no-print-directory", "-C", str(paths.BACKEND), "cold-start-ready"]
    subprocess.run([*ready, f"ARTIFACTS_DIR={target}"], check=True, capture_output=True)


def pinned(package: str) -> str:
    return f"{package}=={locked_version(package)}"


def hello_world_artifact(root: Path) -> Path:
    """A hello-world FastAPI as the adapter runs it: main.py, run.sh (ours), fastapi + uvicorn."""
    artifact = root / "hello" / FUNCTION
    artifact.mkdir(parents=True)
    cp313_install(artifact, pinned("fastapi"), pinned("uvicorn"))
    (artifact / "main.py").write_text(HELLO_APP)
    shutil.copy2(paths.REPO_ROOT / "backend" / "run.sh", artifact / "run.sh")
    return artifact


def mangum_artifact(root: Path) -> tuple[Path, Path]:
    """The same app under Mangum (handler main.handler), and the runtime's own client (awslambdaric,
    which the python3.13 runtime ships outside the zip). Returns (artifact, runtime dir)."""
    artifact = root / "mangum" / FUNCTION
    artifact.mkdir(parents=True)
    cp313_install(artifact, pinned("fastapi"), "mangum")
    (artifact / "main.py").write_text(HELLO_APP + "\n" + MANGUM_HANDLER)
    runtime = root / "mangum" / "runtime"
    install_for_runtime(runtime, "awslambdaric")
    return artifact, runtime


def installed_version(artifact: Path, package: str) -> str:
    found = sorted(artifact.glob(f"{package}-*.dist-info"))
    return found[0].name.removeprefix(f"{package}-").removesuffix(".dist-info") if found else "?"
