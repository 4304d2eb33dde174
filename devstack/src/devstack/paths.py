"""Where the project's files are. One place, so the CLI, the fixtures and the tools agree."""

from __future__ import annotations

import os
from pathlib import Path


def _project_root() -> Path:
    """The checkout this package was installed from (editable, as `uv sync` installs it)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "template.yml").is_file() and (parent / "devstack").is_dir():
            return parent
    raise RuntimeError(f"devstack: no project root (a directory with template.yml) above {__file__}")


REPO_ROOT = _project_root()
TEMPLATE = REPO_ROOT / "template.yml"
SAMCONFIG = REPO_ROOT / "samconfig.toml"
UV_LOCK = REPO_ROOT / "uv.lock"
SCRIPTS = REPO_ROOT / "scripts"

DEVSTACK_ENV = REPO_ROOT / "devstack" / "devstack.env"
LAMBDA_RUNTIME_DIR = REPO_ROOT / "devstack" / "lambda-runtime"
"""Stand-ins: `bootstrap`, the runtime's bootstrap (/var/runtime/bootstrap of python3.13, which RIE starts),
and `opt-bootstrap`, the adapter's exec wrapper (the Web Adapter layer's /opt/bootstrap)."""

LOCALSTACK_DIR = REPO_ROOT / "localstack"
"""The AWS emulator's home: its pins and settings (localstack.env) and its init hooks (init/ready.d)."""

FIREBASE_DIR = REPO_ROOT / "firebase-emulator"
"""The Firebase emulator's home: firebase.json, .firebaserc and the locked firebase-tools."""

LOCAL_STATE = REPO_ROOT / ".local"
"""Gitignored: what `make dev` prepares and keeps (the Lambda layer, its data, its run file)."""

STATE_DIR = REPO_ROOT / (os.environ.get("DEVSTACK_STATE_DIR") or LOCAL_STATE)
"""Where `make dev` keeps its data and its run file: .local, unless DEVSTACK_STATE_DIR (which `make reset`
also reads) points elsewhere, as tests do to keep away from the developer's data."""

DATA_DIR = STATE_DIR / "data"
"""Emulator data (users, notes, files) that survives `make dev` restarts (`make reset` wipes it)."""

RUN_FILE = STATE_DIR / "run" / "dev.json"
"""Where a running `make dev` says where its parts listen (read by `devstack token` and `BASE_URL` runs)."""

BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
"""What `sam build` writes: one directory per function, named by its logical id, and the built template."""

BACKEND = REPO_ROOT / "backend"
"""The function's source (template.yml's CodeUri) and its build (backend/Makefile, which sam build runs)."""

ARTIFACTS = STATE_DIR / "artifacts"
"""Gitignored: the artifacts `make dev` builds on each saved change, one directory per change."""
