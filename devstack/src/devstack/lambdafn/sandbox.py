"""What Lambda's execution environment has that the zip does not, prepared on this machine.

- /opt: the Web Adapter layer as Lambda unpacks it (bootstrap + extensions/lambda-adapter); the chain
  bind-mounts this directory on /opt inside its private mount namespace.
- the runtime's own SDK: the python3.13 runtime ships boto3, so `sam build` leaves it out of the zip.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import tomllib
from pathlib import Path

from devstack import paths
from devstack.supervision import LogSink, StartupError, print_sink
from devstack.tools import LambdaTools, lambda_python_bin_dir, tool

LAMBDA_STATE = paths.LOCAL_STATE / "lambda"
OPT_DIR = LAMBDA_STATE / "opt"
RUNTIME_PYTHON = LAMBDA_STATE / "runtime" / "python"
"""boto3 as the python3.13 runtime provides it; put on the function's PYTHONPATH."""


def _sync_file(source: Path, target: Path) -> None:
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    shutil.copy2(source, temporary)
    temporary.chmod(0o755)
    temporary.replace(target)


def prepare_layer(tools: LambdaTools, opt_dir: Path = OPT_DIR) -> Path:
    """The adapter layer as Lambda unpacks it in /opt: bootstrap + extensions/lambda-adapter."""
    _sync_file(paths.LAMBDA_RUNTIME_DIR / "opt-bootstrap", opt_dir / "bootstrap")
    _sync_file(tools.adapter, opt_dir / "extensions" / "lambda-adapter")
    return opt_dir


def locked_version(package: str) -> str:
    lock = tomllib.loads(paths.UV_LOCK.read_text())
    for entry in lock.get("package", []):
        if entry.get("name") == package:
            version: str = entry["version"]
            return version
    raise StartupError(f"lambda chain: {package} is not in uv.lock")


def install_for_runtime(target: Path, *requirements: str) -> None:
    """`requirements` into `target` as the python3.13 x86_64 runtime loads them (cp313 manylinux wheels, no
    bytecode), without Docker or a local 3.13; raises CalledProcessError (its stderr says why). Copies, never
    hard links to uv's cache: backend/Makefile's cold-start-ready rewrites files in place."""
    argv = [
        tool("uv"),
        "pip",
        "install",
        "--quiet",
        "--no-config",
        "--python-platform",
        "x86_64-manylinux2014",
    ]
    argv += ["--python-version", "3.13", "--only-binary", ":all:", "--no-compile", "--link-mode", "copy"]
    argv += ["--target", str(target)]
    subprocess.run([*argv, *requirements], check=True, capture_output=True, text=True)


def prepare_runtime_python(target: Path = RUNTIME_PYTHON, sink: LogSink = print_sink) -> Path:
    """boto3 (uv.lock's version) for cp313, standing in for the one the python3.13 runtime ships: installed
    by pip there, so with its bytecode (as compose's stand-in image has it), which a cold start loads."""
    version = locked_version("boto3")
    marker = target / f".boto3-{version}-compiled"
    if marker.exists():
        return target
    sink("lambda", f"installing boto3 {version} as the runtime-provided SDK into {target}")
    shutil.rmtree(target, ignore_errors=True)
    python_bin = lambda_python_bin_dir()
    try:
        install_for_runtime(target, f"boto3=={version}")
        if python_bin is not None:  # without a 3.13 the chain warns, and runs on the default python3
            compile_all = [str(python_bin / "python3.13"), "-m", "compileall", "-q", str(target)]
            subprocess.run(compile_all, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise StartupError(
            f"lambda chain: could not install boto3 for the runtime:\n{error.stdout}{error.stderr}"
        ) from None
    marker.touch()
    return target
