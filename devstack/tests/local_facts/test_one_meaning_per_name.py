"""A name of ours means one thing. GATEWAY_PORT is the local HTTP API gateway's port; MiniStack happens to
read its own listening port from a variable of that name, so that name is handed to MiniStack at one point
each (the host run, the compose service), and nothing else of ours reads it meaning MiniStack's port."""

from __future__ import annotations

from typing import Any

import yaml

from devstack import paths
from devstack.emulators import ministack

COMPOSE_MINISTACK = paths.LOCALSTACK_DIR / "compose.ministack.yaml"


def test_ministacks_port_variable_is_set_once_on_the_host() -> None:
    source = ministack.__file__
    assert ministack.MINISTACK_PORT_VARIABLE == "GATEWAY_PORT"
    with open(source) as module:
        assert module.read().count('"GATEWAY_PORT"') == 1, f"{source}: use MINISTACK_PORT_VARIABLE"


def test_the_compose_service_hands_its_port_over_once_and_checks_health_on_ours() -> None:
    """The healthcheck read the container's GATEWAY_PORT (MiniStack's port under our gateway's name)."""
    text = COMPOSE_MINISTACK.read_text()
    service: dict[str, Any] = yaml.safe_load(text)["services"]["localstack"]
    assert service["environment"][ministack.MINISTACK_PORT_VARIABLE] == "${AWS_EMULATOR_PORT}"
    assert text.count(ministack.MINISTACK_PORT_VARIABLE) == 1, f"{COMPOSE_MINISTACK}: GATEWAY_PORT read again"
    assert "${AWS_EMULATOR_PORT}" in " ".join(service["healthcheck"]["test"])
