"""scripts/engine.sh, read offline: installing Debian's docker.io for the private engine leaves no system
engine to start at the next boot. The package enables docker.service and docker.socket (and containerd's
package containerd.service); blocking their start during the install (policy-rc.d) is not enough, a reboot
started them with iptables rules and IPv4 forwarding on. tests/compose checks the units on the machine.
"""

from __future__ import annotations

import re

from devstack.paths import SCRIPTS

SCRIPT = (SCRIPTS / "engine.sh").read_text()


def function(name: str) -> str:
    """The body of a shell function of engine.sh."""
    found = re.search(rf"^{name}\(\) \{{.*?\n\}}\n", SCRIPT, re.MULTILINE | re.DOTALL)
    assert found, f"engine.sh has no function {name}"
    return found.group(0)


def test_the_install_masks_the_units_it_adds_after_apt_get() -> None:
    install = function("install_dockerd")
    units = re.search(r"local units=\(([^)]*)\)", install)
    assert units, "install_dockerd names no units"
    assert set(units.group(1).split()) == {"docker.service", "docker.socket"}
    assert "units+=(containerd.service)" in install  # when the install brings containerd
    apt_get = install.index("apt-get install")
    assert install.index('keep_system_units_off "${units[@]}"') > apt_get


def test_the_units_are_disabled_and_masked() -> None:
    """Masked: a disabled unit can still be started (socket activation, an upgrade's postinst)."""
    off = function("keep_system_units_off")
    assert 'systemctl disable --quiet "$@"' in off
    assert 'systemctl mask --quiet "$@"' in off
    # systemctl ignores `disable` on a masked unit (its boot links stay): disable first.
    assert off.index("systemctl disable") < off.index("systemctl mask")
