"""Template tests: the synthesized CloudFormation of each environment, read offline.

Synthesis (`devstack synth`: SAM transform + parameters + conditions) runs with aws-sam-translator at the
version the emulator pins, added by `uv run --with` so it never constrains the project's own dependencies.
What CloudFormation needs to create a resource type comes from AWS's resource schemas, as the SAM CLI's own
cfn-lint ships them (read with the SAM CLI's Python, in its virtualenv).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from devstack.paths import REPO_ROOT
from devstack.stack.synth import translator_requirement
from devstack.tools import interpreter_of, tool

Template = dict[str, Any]
CreatePermissions = Callable[[str, Iterable[str]], dict[str, list[str]]]

# The create handler's permissions of each resource type, from its schema (handlers.create.permissions).
_CREATE_PERMISSIONS = """
import json, sys
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
region, types = sys.argv[1], sys.argv[2:]
schemas = {kind: PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema for kind in types}
print(json.dumps({kind: schema["handlers"]["create"]["permissions"] for kind, schema in schemas.items()}))
"""


@pytest.fixture(scope="session")
def create_permissions() -> CreatePermissions:
    """(region, resource types) -> each type's create permissions, as its CloudFormation schema lists them."""
    cache: dict[tuple[str, str], list[str]] = {}

    def lookup(region: str, types: Iterable[str]) -> dict[str, list[str]]:
        wanted = sorted({kind for kind in types if (region, kind) not in cache})
        if wanted:
            result = subprocess.run(
                [interpreter_of("sam"), "-c", _CREATE_PERMISSIONS, region, *wanted],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"reading the resource schemas of {wanted} failed:\n{result.stderr}")
            cache.update({(region, kind): found for kind, found in json.loads(result.stdout).items()})
        return {kind: cache[region, kind] for kind in types}

    return lookup


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
