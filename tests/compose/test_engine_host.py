"""The private engine leaves the host as it found it: when scripts/engine.sh installed Debian's docker.io to
run it, the package's system units stay off. Enabled (as the package leaves them), a system dockerd would
start at the next boot with iptables rules and IPv4 forwarding on, and `engine.sh start` would reuse it.

Runs where the private engine is in use (a fresh machine: `make test` on CI's path); a machine with its own
Docker has no such package install to check.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from devstack.paths import SCRIPTS

# docker.io's units; containerd.service too when the install brought containerd (on a fresh machine it does).
SYSTEM_UNITS = ["docker.service", "docker.socket", "containerd.service"]


def _installed(package: str) -> bool:
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return status.stdout == "install ok installed"


def _private_engine_runs() -> bool:
    status = subprocess.run(
        [str(SCRIPTS / "engine.sh"), "status"], capture_output=True, text=True, check=False, timeout=60
    )
    return any(
        line.startswith("private engine: dockerd pid") and " answers at " in line
        for line in status.stdout.splitlines()
    )


def test_the_package_behind_the_private_engine_starts_no_system_engine_at_boot() -> None:
    if shutil.which("dpkg-query") is None or not _installed("docker.io"):
        pytest.skip("no Debian docker.io package here: scripts/engine.sh installed nothing")
    if not _private_engine_runs():
        pytest.skip("the engine in use is not scripts/engine.sh's private one")
    if shutil.which("systemctl") is None:
        pytest.skip("no systemd here: nothing starts the package's units at boot")
    units = [unit for unit in SYSTEM_UNITS if unit != "containerd.service" or _installed("containerd")]
    states = {
        unit: subprocess.run(
            ["systemctl", "is-enabled", unit], capture_output=True, text=True, check=False
        ).stdout.strip()
        for unit in units
    }
    assert states == dict.fromkeys(units, "masked")
