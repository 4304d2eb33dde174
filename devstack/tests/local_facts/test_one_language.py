"""The tool chain is defined once, in Python: the shell asks devstack (devstack.for_shell), never the reverse,
and no script holds Python of its own."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import paths
from devstack.reload import copy_project
from devstack.tools import TOOLS_CACHE, LambdaTools, find_lambda_python, lambda_python, tool

SRC = paths.REPO_ROOT / "devstack" / "src"
# `python3 -c CODE`, `python3 - <<EOF` (a heredoc or a pipe on stdin), for any python name.
INLINE_PYTHON = re.compile(r"\bpython[\d.]*\s+-(c\b|\s|$)")


def ask(*question: str, root: Path = paths.REPO_ROOT, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """devstack_ask as scripts/lib.sh runs it, with no site-packages (-S): what the standard library answers,
    as before `make install` made the venv and in the deploy job."""
    return subprocess.run(
        [sys.executable, "-S", "-m", "devstack.for_shell", *question],
        env={**os.environ, "PYTHONPATH": str(root / "devstack" / "src")},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_script_holds_inline_python() -> None:
    found = [
        f"{script.relative_to(paths.REPO_ROOT)}:{number}: {line.strip()}"
        for script in sorted(paths.SCRIPTS.glob("*.sh"))
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if INLINE_PYTHON.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []


def test_devstack_never_runs_a_script() -> None:
    """No devstack module asks a shell script anything: none names paths.SCRIPTS or one of its scripts as a
    path (a message may tell the user to run one)."""
    scripts = {script.name for script in paths.SCRIPTS.glob("*.sh")}
    found = []
    for module in sorted((SRC / "devstack").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names_a_script = (isinstance(node, ast.Attribute) and node.attr == "SCRIPTS") or (
                isinstance(node, ast.Constant) and str(node.value).rsplit("/", 1)[-1] in scripts
            )
            if names_a_script:
                found.append(f"{module.relative_to(SRC)}:{getattr(node, 'lineno', '?')}")
    assert found == []


def test_the_shell_is_answered_without_the_venv() -> None:
    """scripts/ ask before `make install` made the venv: the answers need the standard library only."""
    tools = LambdaTools.pinned()
    answered = ask("lambda-tools")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.splitlines() == [str(tools.rie), str(tools.adapter)]
    assert ask("stack-name", "prod").stdout.strip() == "fastapi-backend-prod"  # samconfig.toml's


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A checkout to edit: what the reload reads, devstack's sources and its facts."""
    root = copy_project(tmp_path / "project")
    shutil.copytree(SRC, root / "devstack" / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(paths.DEVSTACK_ENV, root / "devstack" / "devstack.env")
    shutil.copy2(paths.SAMCONFIG, root / "samconfig.toml")
    return root


def test_a_pin_moves_the_tool_the_installer_builds(project: Path) -> None:
    pins = project / "devstack" / "devstack.env"
    pins.write_text(re.sub(r"(?m)^LWA_VERSION=.*$", "LWA_VERSION=9.8.7", pins.read_text()))
    rie, adapter = ask("lambda-tools", root=project).stdout.splitlines()
    assert adapter.endswith("/lambda-adapter-9.8.7/bin/lambda-adapter")
    assert rie == str(LambdaTools.pinned().rie)


def test_stale_requirements_are_named_and_rewritten(project: Path) -> None:
    requirements = project / "backend" / "requirements.txt"
    assert ask("requirements", "--check", root=project).returncode == 0
    written = requirements.read_text()
    requirements.write_text(written.replace("fastapi==", "fastapi==0.0.1\n# was: fastapi==", 1))

    stale = ask("requirements", "--check", root=project)
    assert stale.returncode == 1
    assert "backend/requirements.txt is out of date with uv.lock. Run: make requirements" in stale.stderr

    assert ask("requirements", root=project).returncode == 0
    assert requirements.read_text() == written


def test_placeholders_are_named_before_a_deploy() -> None:
    refused = ask("check-samconfig", "dev")
    assert refused.returncode == 1
    assert "[dev.deploy.parameters] still has replace-me-* placeholders in: s3_bucket" in refused.stderr
    assert "role_arn" in refused.stderr
    assert ask("check-samconfig", "local").returncode == 0


def test_the_deploy_script_refuses_placeholders_without_a_venv(tmp_path: Path) -> None:
    """As in the deploy job: no .venv, the machine's python3 answers; the step that failed is named."""
    for relative in ("scripts", "devstack/src", "devstack/devstack.env", "localstack/localstack.env"):
        source, target = paths.REPO_ROOT / relative, tmp_path / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copy2(paths.TEMPLATE, tmp_path / "template.yml")
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[dev.deploy.parameters]\nrole_arn = "arn:aws:iam::replace-me-account-id:role/x"\n'
    )
    env = {
        **os.environ,
        "PATH": f"{TOOLS_CACHE / 'bin'}:{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # were it to get past the check: nothing answers there
    }
    done = subprocess.run(
        [tmp_path / "scripts" / "deploy.sh", "dev"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "[dev.deploy.parameters] still has replace-me-* placeholders in: role_arn" in done.stderr
    assert '✗ DEPLOY FAILED: environment=dev step="preflight"' in done.stderr


def test_an_output_is_read_from_sam_list_stack_outputs() -> None:
    listed = [
        {"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.example.com"},
        {"OutputKey": "FunctionName", "OutputValue": "fastapi-backend-dev-ApiFunction"},
    ]
    answered = ask("output", "ApiUrl", stdin=json.dumps(listed))
    assert answered.stdout == "https://abc.execute-api.example.com\n"

    missing = ask("output", "TableName", stdin=json.dumps(listed))
    assert missing.returncode == 1
    assert "no output TableName (it has: ApiUrl, FunctionName)" in missing.stderr
    garbage = ask("output", "ApiUrl", stdin="Error: Stack does not exist")
    assert garbage.returncode == 1
    assert "expected `sam list stack-outputs --output json`" in garbage.stderr


def test_free_ports_are_different_and_bindable() -> None:
    ports = [int(port) for port in ask("free-ports", "4").stdout.split()]
    assert len(set(ports)) == 4
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def test_a_tool_is_taken_from_the_tool_cache_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sam").touch()
    assert tool("sam", cache=tmp_path) == str(tmp_path / "bin" / "sam")


def test_lambda_python_is_never_a_virtualenv(tmp_path: Path) -> None:
    machine = lambda_python()
    if machine is None:
        pytest.skip("no CPython 3.13 on this machine")
    venv_bin = Path(sys.prefix) / "bin"  # this run's virtualenv (`uv sync` makes it on Lambda's 3.13)
    assert find_lambda_python({"PATH": str(venv_bin), "PYENV_ROOT": str(tmp_path)}) is None

    pyenv_bin = tmp_path / "versions" / "3.13.99" / "bin"
    pyenv_bin.mkdir(parents=True)
    (pyenv_bin / "python3.13").symlink_to(machine)
    found = find_lambda_python({"PATH": str(venv_bin), "PYENV_ROOT": str(tmp_path)})
    assert found == pyenv_bin / "python3.13"

    shims = tmp_path / "shims"  # pyenv's (slow) way to the same versions/: passed over
    shims.mkdir()
    (shims / "python3.13").symlink_to(machine)
    assert find_lambda_python({"PATH": str(shims), "PYENV_ROOT": str(tmp_path)}) == pyenv_bin / "python3.13"
