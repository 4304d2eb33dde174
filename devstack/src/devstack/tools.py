"""The tool chain, defined once: where each pinned tool is installed, which Python is Lambda's, how the
function's requirements are exported. scripts/ installs the tools (`make install`) and asks this module where
they go (through devstack.for_shell), never the reverse.

The standard library only (and devstack modules that are too): the shell runs it before devstack's virtualenv
exists (tests/local_facts/test_one_language.py holds it so).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack import config, paths
from devstack.supervision import StartupError

INSTALL_HINT = "Run `make install` (it installs every tool once, pinned)."

PINS = config.read_env_file(paths.DEVSTACK_ENV)
"""devstack/devstack.env: the tool cache's name and the tools' versions."""


def tools_cache(pins: Mapping[str, str] = PINS, environ: Mapping[str, str] = os.environ) -> Path:
    """Shared by every clone: ${XDG_CACHE_HOME:-~/.cache}/<TOOLS_CACHE_NAME>, the tool virtualenvs and the
    built RIE / Web Adapter binaries (scripts/lib.sh computes the same before Python runs: uv is there)."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / pins["TOOLS_CACHE_NAME"]


TOOLS_CACHE = tools_cache()


def tool(name: str, cache: Path = TOOLS_CACHE) -> str:
    """A CLI installed by `make install` (the tool cache's bin dir first, then PATH), or a clear error."""
    cached = cache / "bin" / name
    if cached.exists():
        return str(cached)
    found = shutil.which(name)
    if found is None:
        raise StartupError(f"`{name}` is not installed. {INSTALL_HINT}")
    return found


def interpreter_of(command: str) -> str:
    """The Python a uv/pip-installed console script runs with (its shebang), e.g. the SAM CLI's own."""
    script = Path(tool(command)).resolve()
    first_line = script.read_text(errors="replace").splitlines()[0]
    if not first_line.startswith("#!"):
        raise StartupError(f"cannot tell which Python runs {script}. {INSTALL_HINT}")
    return first_line[2:].strip().split()[0]


def installed_version(command: str, distribution: str) -> str | None:
    """The version of `distribution` in the virtualenv that runs `command` (None when absent)."""
    site = Path(interpreter_of(command)).parent.parent / "lib"
    found = sorted(site.glob(f"python3.*/site-packages/{distribution}-*.dist-info"))
    return found[-1].name.removesuffix(".dist-info").rsplit("-", 1)[1] if found else None


def require_pinned(command: str, distribution: str, pinned: str, pinned_in: str) -> None:
    """Refuse to run a tool whose installed version is not the pinned one (`make install` updates it)."""
    installed = installed_version(command, distribution)
    if installed != pinned:
        raise StartupError(
            f"{distribution} {pinned} is pinned in {pinned_in} but {installed or 'nothing'} is installed. "
            f"{INSTALL_HINT}"
        )


def go_tool(name: str, package: str, version: str, cache: Path = TOOLS_CACHE) -> Path:
    """A Go tool built once from the Go module proxy into the tool cache, one binary per version (release
    downloads from GitHub are not reachable everywhere). go's own output goes to stderr."""
    binary = cache / "bin" / f"{name}-{version}"
    if os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise StartupError(f"{name} needs Go to build (go install): install Go (https://go.dev/dl/).")
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:  # a build that fails leaves no binary behind
        built = subprocess.run(
            [go, "install", f"{package}@v{version}"], env={**os.environ, "GOBIN": gobin}, stdout=sys.stderr
        )
        if built.returncode != 0:
            raise StartupError(f"`go install {package}@v{version}` failed (its output is above).")
        shutil.move(Path(gobin) / name, binary)
    return binary


LAMBDA_PYTHON_VERSION = "3.13"
"""The runtime's minor version (template.yml's python3.13): its bytecode is what the zip ships."""


def _runs_outside_a_virtualenv(candidate: Path) -> bool:
    # A pyenv shim can exist for a version that is not active: it must actually run. Never a virtualenv's
    # (under `uv run` .venv/bin comes first): the function would import the dev tools the zip lacks.
    try:
        check = subprocess.run(
            [str(candidate), "-c", "import sys; sys.exit(sys.prefix != sys.base_prefix)"],
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return check.returncode == 0


def find_lambda_python(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Lambda's interpreter (CPython 3.13) when the machine has one: on PATH, or under pyenv."""
    name = f"python{LAMBDA_PYTHON_VERSION}"
    on_path = shutil.which(name, path=environ.get("PATH", ""))
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    # Not pyenv's shim: a quarter of a second of pyenv's shell (every `make` asks) to reach, at best, an
    # interpreter of versions/, which is searched directly.
    candidates = [Path(on_path)] if on_path and Path(on_path).parent != pyenv_root / "shims" else []
    candidates += sorted(pyenv_root.glob(f"versions/{LAMBDA_PYTHON_VERSION}.*/bin/{name}"))
    return next((found for found in candidates if _runs_outside_a_virtualenv(found)), None)


@functools.cache
def lambda_python() -> Path | None:
    """This machine's: found once per process (the build, the chain and the layer all ask)."""
    return find_lambda_python()


def lambda_python_bin_dir() -> Path | None:
    """The bin dir of Lambda's interpreter (what the runtime has at /var/lang/bin)."""
    found = lambda_python()
    return found.parent if found else None


def build_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environ` for a sam build: backend/Makefile compiles the zip's bytecode with LAMBDA_PYTHON, which the
    root Makefile exports; a build devstack starts outside make gets it from here."""
    found = lambda_python()
    return {**({"LAMBDA_PYTHON": str(found)} if found else {}), **environ}


def requirements_export(output: Path | None = None) -> list[str]:
    """The command that exports backend/requirements.txt (what sam build installs into the zip) from uv.lock,
    run in the project's directory: to `output`, else to stdout. boto3 is not in it: the runtime ships it."""
    argv = [tool("uv"), "export", "--frozen", "--package", "backend", "--no-dev", "--no-hashes"]
    argv += ["--no-emit-workspace", "--no-header", "--no-annotate", "--quiet"]
    return argv + (["-o", str(output)] if output else [])


@dataclass(frozen=True)
class LambdaTools:
    """The Runtime Interface Emulator and the Web Adapter, built from source by the installer."""

    rie: Path
    adapter: Path

    @classmethod
    def pinned(cls, pins: Mapping[str, str] = PINS, cache: Path = TOOLS_CACHE) -> LambdaTools:
        """Where scripts/install-lambda-tools.sh builds the versions pinned in devstack/devstack.env: one
        directory per version (a bump never reuses a stale binary), as `go install` (GOBIN) and
        `cargo install --root` lay them out."""
        rie_commit = pins["RIE_VERSION"].rsplit("-", 1)[-1]  # the commit part of the pseudo-version
        return cls(
            rie=cache / f"aws-lambda-rie-{rie_commit}" / "aws-lambda-rie",
            adapter=cache / f"lambda-adapter-{pins['LWA_VERSION']}" / "bin" / "lambda-adapter",
        )

    def check(self) -> None:
        missing = [str(binary) for binary in (self.rie, self.adapter) if not os.access(binary, os.X_OK)]
        if missing:
            raise StartupError(
                f"lambda chain: missing {', '.join(missing)}. Run `scripts/install-lambda-tools.sh` "
                "(part of `make install`)."
            )
