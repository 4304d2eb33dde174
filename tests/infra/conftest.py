"""Template tests: the synthesized CloudFormation of each environment, read offline.

Synthesis (SAM transform + parameters + conditions, scripts/synth_template.py) runs with the SAM CLI's
own interpreter, which has aws-sam-translator; the project's environment does not need it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.paths import REPO_ROOT, tool

Template = dict[str, Any]


def sam_python() -> str:
    """The interpreter of the installed SAM CLI (its entry point's shebang)."""
    sam = Path(tool("sam")).resolve()
    first_line = sam.read_text(errors="replace").splitlines()[0]
    if not first_line.startswith("#!"):
        pytest.fail(f"cannot find the SAM CLI's interpreter from {sam}")
    return first_line[2:].strip()


@pytest.fixture(scope="session")
def synth() -> Callable[..., Template]:
    cache: dict[tuple[str, tuple[str, ...]], Template] = {}

    def synthesize(env: str, *overrides: str) -> Template:
        key = (env, overrides)
        if key not in cache:
            result = subprocess.run(
                [sam_python(), str(REPO_ROOT / "scripts" / "synth_template.py"), "--env", env, *overrides],
                capture_output=True,
                text=True,
                check=False,
                cwd=REPO_ROOT,
            )
            if result.returncode != 0:
                pytest.fail(f"synthesis of {env} failed:\n{result.stderr}")
            cache[key] = json.loads(result.stdout)
        return cache[key]

    return synthesize
