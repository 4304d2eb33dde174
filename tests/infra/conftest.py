"""Template tests: the synthesized CloudFormation of each environment, read offline.

Synthesis (`devstack synth`: SAM transform + parameters + conditions) runs with aws-sam-translator at the
version the emulator pins, added by `uv run --with` so it never constrains the project's own dependencies.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from devstack.paths import REPO_ROOT
from devstack.stack.synth import translator_requirement
from devstack.tools import tool

Template = dict[str, Any]


@pytest.fixture(scope="session")
def synth() -> Callable[..., Template]:
    cache: dict[tuple[str, tuple[str, ...]], Template] = {}

    def synthesize(env: str, *overrides: str) -> Template:
        key = (env, overrides)
        if key not in cache:
            result = subprocess.run(
                [
                    tool("uv"),
                    "run",
                    "--frozen",
                    "--with",
                    translator_requirement(),
                    "devstack",
                    "synth",
                    "--env",
                    env,
                    *overrides,
                ],
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
