"""The dependency rule, read off the import statements: the domain needs nothing but the standard
library, every other layer points inwards, and only bootstrap.py (the composition root), web.py (the HTTP
app on it) and main.py may import everything; of those, the composition root needs no web framework."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"

# Package -> what it may import besides the standard library: itself, inner layers, its own frameworks.
MAY_IMPORT = {
    "domain": {"domain"},
    "application": {"application", "domain"},
    "api": {"api", "application", "domain", "shared", "fastapi", "pydantic", "starlette"},
    "infrastructure": {
        "infrastructure",
        "domain",
        "boto3",
        "botocore",
        "mypy_boto3_dynamodb",
        "mypy_boto3_s3",
        "firebase_admin",
        "google",
    },
    "shared": {"shared", "pydantic", "pydantic_settings"},
}


def _imported_roots(package: str) -> set[str]:
    roots: set[str] = set()
    for path in (BACKEND / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.partition(".")[0])
    return roots - set(sys.stdlib_module_names)


def test_every_package_has_a_rule() -> None:
    assert {path.parent.name for path in BACKEND.glob("*/__init__.py")} == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    assert _imported_roots(package) - MAY_IMPORT[package] == set()


WEB_FRAMEWORKS = {"fastapi", "starlette"}


def test_the_composition_root_loads_no_web_framework() -> None:
    """A second entry point (a CLI, a worker) gets the services from bootstrap.py without FastAPI: importing
    it (and so the Services it builds) in a fresh interpreter loads none."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bootstrap; print(*sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=BACKEND,
    ).stdout.split()
    assert {name.partition(".")[0] for name in loaded} & WEB_FRAMEWORKS == set()
