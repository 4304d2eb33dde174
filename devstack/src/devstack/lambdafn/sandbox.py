"""What Lambda's execution environment has that the zip does not, prepared on this machine.

- /opt: the Web Adapter layer as Lambda unpacks it (bootstrap + extensions/lambda-adapter); the chain
  bind-mounts this directory on /opt inside its private mount namespace.
- the runtime's own SDK: the python3.13 runtime ships boto3, so `sam build` leaves it out of the zip.
- with `make debug` only: debugpy and its hook (lambda-runtime/debugger/sitecustomize.py), put first on a
  debugging environment's PYTHONPATH; never in the zip, never on a non-debugging environment's path.
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack import paths
from devstack.supervision import LogSink, StartupError, print_sink
from devstack.tools import LambdaTools, lambda_python_bin_dir, tool

LAMBDA_STATE = paths.LOCAL_STATE / "lambda"


@dataclass(frozen=True)
class Sandbox:
    """What every execution environment shares, under `root`: the same for all of them, so prepared once."""

    root: Path = LAMBDA_STATE

    @property
    def opt_dir(self) -> Path:
        """The adapter layer, bind-mounted on /opt."""
        return self.root / "opt"

    @property
    def runtime_python(self) -> Path:
        """boto3 as the python3.13 runtime provides it; put on the function's PYTHONPATH."""
        return self.root / "runtime" / "python"

    @property
    def debugger_python(self) -> Path:
        """debugpy and its start-up hook, for debugging environments only."""
        return self.root / "debugger" / "python"

    @property
    def task_root(self) -> Path:
        """Where a debugging environment sees its artifact (bind-mounted in its namespace): one path for
        every artifact a reload makes, so a debugger's path mapping to backend/ stays right."""
        return self.root / "task"

    def prepare(self, tools: LambdaTools, sink: LogSink = print_sink, *, debugger: bool = False) -> None:
        prepare_layer(tools, self.opt_dir)
        prepare_runtime_python(self.runtime_python, sink)
        if debugger:
            prepare_debugger_python(self.debugger_python, sink)
            self.task_root.mkdir(parents=True, exist_ok=True)


RUNTIME_PYTHON = Sandbox().runtime_python


def _sync_file(source: Path, target: Path) -> None:
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    shutil.copy2(source, temporary)
    temporary.chmod(0o755)
    temporary.replace(target)


def prepare_layer(tools: LambdaTools, opt_dir: Path) -> Path:
    """The adapter layer as Lambda unpacks it in /opt: bootstrap + extensions/lambda-adapter. Under a lock:
    environments starting together would each write the same temporary files."""
    with _exclusive(opt_dir):
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
    return _install_once(target, "boto3", "as the runtime-provided SDK", sink)


DEBUGGER_HOOK = paths.LAMBDA_RUNTIME_DIR / "debugger" / "sitecustomize.py"


def prepare_debugger_python(target: Path, sink: LogSink = print_sink) -> Path:
    """debugpy (uv.lock's version, a dev dependency: `make install` locks it) for cp313, with its hook
    (brought up to date at every start: an edited hook is the one that runs)."""
    _install_once(target, "debugpy", "for `make debug`", sink)
    with _exclusive(target):
        _sync_file(DEBUGGER_HOOK, target / DEBUGGER_HOOK.name)
    return target


def _install_once(target: Path, package: str, why: str, sink: LogSink) -> Path:
    """`package` at uv.lock's version, compiled, into `target`.

    Environments starting together (a fresh clone's first requests, another `make dev`) all call this: one
    installs, under a lock, into a directory of its own renamed into place once complete; the others wait
    and find it there."""
    version = locked_version(package)
    marker = target / f".{package}-{version}-compiled"
    if marker.exists():
        return target
    with _exclusive(target):
        if marker.exists():  # installed while this one waited
            return target
        sink("lambda", f"installing {package} {version} {why} into {target}")
        staging = target.with_name(f"{target.name}.new")
        shutil.rmtree(staging, ignore_errors=True)  # what an install that was killed left
        python_bin = lambda_python_bin_dir()
        try:
            install_for_runtime(staging, f"{package}=={version}")
            if python_bin is not None:  # without a 3.13 the chain warns, and runs on the default python3
                # -d: the bytecode names the files where they will be, for tracebacks.
                compile_all = [str(python_bin / "python3.13"), "-m", "compileall", "-q"]
                compile_all += ["-d", str(target), str(staging)]
                subprocess.run(compile_all, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            raise StartupError(
                f"lambda chain: could not install {package} {version} {why} (`make install` caches it):\n"
                f"{error.stdout}{error.stderr}"
            ) from None
        (staging / marker.name).touch()
        _replace_dir(staging, target)
    return target


def _replace_dir(new: Path, target: Path) -> None:
    """Put directory `new` at `target`, in two renames: `target` is never a half-made directory."""
    old = target.with_name(f"{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold the lock on preparing `target`, against other threads and other processes (flock: released
    when the file is closed, by the kernel too when its holder is killed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
