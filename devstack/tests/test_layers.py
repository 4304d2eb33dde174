"""devstack's layering, read off the import statements (docs/architecture.md draws it): the mechanisms
(lambdafn: RIE, sandbox, pool; apigw: the gateway) are handed what they run and never reach up; the stack
model reads template.yml and samconfig.toml, and nothing else does; only the runner knows everything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "devstack"

FOUNDATIONS = {"paths", "supervision", "reaper", "config", "tools"}
# Part -> the parts of devstack it may import (itself included). A part is a top-level module or package.
MAY_IMPORT: dict[str, set[str]] = {
    **{foundation: FOUNDATIONS for foundation in FOUNDATIONS},
    "lambdafn": {"lambdafn", "paths", "supervision", "tools"},
    "apigw": {"apigw", "lambdafn", "supervision", "config"},
    "stack": {"stack", "apigw", "paths", "supervision", "config"},
    "emulators": {"emulators", *FOUNDATIONS},
    "deploy": {"stack", *FOUNDATIONS},
}
RUNNER = {
    "environment",
    "local_function",
    "reload",
    "debugging",
    "sam_local",
    "cli",
    "for_shell",
    "__main__",
    "__init__",
}
"""What `make dev`, the tests and the shell start: it knows the model, the gateway and the execution
environments (for_shell answers scripts/ and the Makefile)."""


def _part(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _modules(part: str) -> list[Path]:
    return sorted(SOURCE.glob(f"{part}/**/*.py")) or [SOURCE / f"{part}.py"]


def _imported(paths: list[Path], package: str = "devstack") -> set[str]:
    """The top-level names imported from `package` (for devstack: its parts) by these modules."""
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == package:  # from devstack import config, paths
                    names = [f"{package}.{alias.name}" for alias in node.names]
                else:
                    names = [node.module]
            found |= {
                name.split(".")[1] if package == "devstack" else name
                for name in names
                if name.split(".")[0] == package and (package != "devstack" or "." in name)
            }
    return found


def test_every_part_has_a_rule() -> None:
    parts = {_part(path) for path in SOURCE.rglob("*.py")}
    assert parts == set(MAY_IMPORT) | RUNNER


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_a_part_imports_only_what_it_may(part: str) -> None:
    assert _imported(_modules(part)) - MAY_IMPORT[part] == set()


def test_lambdafn_never_imports_the_gateway_nor_the_model() -> None:
    """The rule the issue names, spelled out (MAY_IMPORT holds it too)."""
    assert _imported(_modules("lambdafn")) & {"apigw", "stack", "deploy", *RUNNER} == set()


@pytest.mark.parametrize("part", ["apigw", "stack"])
def test_the_gateway_and_the_model_never_import_the_deployer(part: str) -> None:
    assert "deploy" not in _imported(_modules(part))


def _referencing(name: str) -> set[str]:
    """Modules (relative paths) that use `name` as a name or an attribute (paths.TEMPLATE ...)."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Name) and node.id == name) or (
                isinstance(node, ast.Attribute) and node.attr == name
            ):
                found.add(str(path.relative_to(SOURCE)))
    return found


def test_one_module_parses_templates_and_one_reads_samconfig() -> None:
    yaml_users = {
        str(p.relative_to(SOURCE)) for p in SOURCE.rglob("*.py") if "yaml" in _imported([p], "yaml")
    }
    assert yaml_users == {"stack/template.py"}
    # samconfig.toml is opened where it is parsed; deploy.py only names it to `sam deploy --config-file`.
    assert _referencing("SAMCONFIG") == {"paths.py", "stack/samconfig.py", "stack/model.py", "deploy.py"}


def test_nothing_below_the_runner_names_the_template_or_samconfig() -> None:
    below = {"lambdafn", "apigw", "emulators"}
    for name in ("TEMPLATE", "SAMCONFIG"):
        assert {module for module in _referencing(name) if module.split("/")[0] in below} == set()
