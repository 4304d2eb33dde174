"""A private `sam build` of template.yml (never races `make dev`'s .aws-sam)."""

import subprocess
from pathlib import Path

from devstack.paths import REPO_ROOT, TEMPLATE
from devstack.tools import tool


def sam_build(build_dir: Path) -> Path:
    """Builds into `build_dir` as `make build` does; returns the built template."""
    argv = [tool("sam"), "build", "--no-cached", "--template", str(TEMPLATE), "--build-dir", str(build_dir)]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return build_dir / "template.yaml"
