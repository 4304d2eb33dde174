"""Where the project and its installed tools live. One place, so scripts and tests agree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devstack.procs import StartupError

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE = REPO_ROOT / ".local"
"""Gitignored: emulator data that survives `make dev` restarts (`make reset` wipes it)."""

TOOLS_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fastapi-lambda"
"""Per-user cache shared by every clone: tool virtualenvs and the built RIE / Web Adapter binaries."""

RUN_FILE = LOCAL_STATE / "run" / "dev.json"
"""Where a running `make dev` says where its parts listen (read by `make token` and `BASE_URL` e2e runs)."""

FIREBASE_CLI = REPO_ROOT / "firebase-emulator" / "node_modules" / ".bin" / "firebase"


def tool(name: str) -> str:
    """A CLI installed by `make install` (cache bin dir first, then PATH), or a clear error."""
    cached = TOOLS_CACHE / "bin" / name
    if cached.exists():
        return str(cached)
    found = shutil.which(name)
    if found is None:
        raise StartupError(f"`{name}` is not installed. Run `make install` (it installs every tool once).")
    return found
