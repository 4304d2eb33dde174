"""Where the installed tools are. scripts/ installs them (`make install`); this module only finds them.

Paths that the installers define (the RIE and Web Adapter build directories, the Lambda interpreter) are
asked from them, so each is defined once, in shell.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack import config, paths
from devstack.supervision import StartupError

INSTALL_HINT = "Run `make install` (it installs every tool once, pinned)."


def _ask(*argv: str) -> str:
    """What an installer script prints (it prints where a tool belongs even when it is missing)."""
    return subprocess.run(
        argv, cwd=paths.REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def tool(name: str) -> str:
    """A CLI installed by `make install` (the tool cache's bin dir first, then PATH), or a clear error."""
    cached = config.load().tools_cache / "bin" / name
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


@functools.cache
def lambda_python_bin_dir() -> Path | None:
    """The bin dir of a CPython 3.13 (what the runtime has at /var/lang/bin); scripts/lib.sh finds it."""
    found = _ask(str(paths.SCRIPTS / "lib.sh"), "lambda-python")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class LambdaTools:
    """The Runtime Interface Emulator and the Web Adapter, built from source by the installer."""

    rie: Path
    adapter: Path

    @classmethod
    def pinned(cls) -> LambdaTools:
        """The binaries scripts/install-lambda-tools.sh builds for the versions in devstack/devstack.env."""
        listed = _ask(str(paths.SCRIPTS / "install-lambda-tools.sh"), "--print-paths")
        found = dict(line.split("=", 1) for line in listed.splitlines() if "=" in line)
        if {"RIE", "LAMBDA_ADAPTER"} - set(found):
            raise StartupError(
                f"scripts/install-lambda-tools.sh --print-paths said {listed!r}. {INSTALL_HINT}"
            )
        return cls(rie=Path(found["RIE"]), adapter=Path(found["LAMBDA_ADAPTER"]))

    def check(self) -> None:
        missing = [str(binary) for binary in (self.rie, self.adapter) if not os.access(binary, os.X_OK)]
        if missing:
            raise StartupError(
                f"lambda chain: missing {', '.join(missing)}. Run `scripts/install-lambda-tools.sh` "
                "(part of `make install`)."
            )
