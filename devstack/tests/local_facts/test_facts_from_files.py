"""What `make dev` runs is read from the emulators' own files: editing one changes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devstack import config, paths
from devstack.emulators.firebase import emulator_command
from devstack.emulators.ministack import ministack
from devstack.supervision import StartupError

FACT_FILES = ("devstack/devstack.env", "localstack/localstack.env", "firebase-emulator/firebase.json")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files the facts come from, to edit."""
    for relative in (*FACT_FILES, "firebase-emulator/.firebaserc", "template.yml"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(paths.REPO_ROOT / relative, tmp_path / relative)
    return tmp_path


def test_firebase_json_is_what_the_emulator_runs_with(checkout: Path, tmp_path: Path) -> None:
    settings_file = checkout / "firebase-emulator" / "firebase.json"
    settings = json.loads(settings_file.read_text())
    settings["emulators"]["auth"]["port"] = 9555
    settings["emulators"]["singleProjectMode"] = False
    settings_file.write_text(json.dumps(settings))
    facts = config.load(checkout, environ={})

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    argv = emulator_command(facts.firebase, facts.ports.firebase, run_dir, data_dir=None)

    written = json.loads((run_dir / "firebase.json").read_text())
    assert written["emulators"]["auth"]["port"] == 9555
    assert written["emulators"]["singleProjectMode"] is False
    assert argv[argv.index("--config") + 1] == str(run_dir / "firebase.json")
    assert argv[argv.index("--project") + 1] == facts.firebase.project_id


def test_a_moved_port_keeps_every_other_setting(tmp_path: Path) -> None:
    facts = config.load(environ={"FIREBASE_AUTH_PORT": "9777"})
    emulator_command(facts.firebase, facts.ports.firebase, tmp_path, data_dir=None)
    written = json.loads((tmp_path / "firebase.json").read_text())
    assert written == facts.firebase.settings_on_port(9777)
    assert {key for key in written["emulators"]} == {key for key in facts.firebase.settings["emulators"]}


def test_the_pinned_emulator_version_is_the_one_that_runs(checkout: Path) -> None:
    """A new pin is refused until `make install` installs it: the old MiniStack never runs under it."""
    env_file = checkout / "localstack" / "localstack.env"
    pinned = config.load(checkout, environ={}).aws.version
    env_file.write_text(
        env_file.read_text().replace(f"MINISTACK_VERSION={pinned}", "MINISTACK_VERSION=9.9.9")
    )
    facts = config.load(checkout, environ={}).isolated()
    with (
        pytest.raises(
            StartupError, match=rf"ministack 9\.9\.9 is pinned in localstack/localstack\.env but {pinned}"
        ),
        ministack(facts.aws),
    ):
        pass


@pytest.mark.parametrize(
    ("variable", "port_of"), [("GATEWAY_PORT", "gateway"), ("AWS_EMULATOR_PORT", "aws_emulator")]
)
def test_a_port_moves_with_its_variable(variable: str, port_of: str) -> None:
    moved = config.load(environ={variable: "4321"})
    assert getattr(moved.ports, port_of) == 4321


def test_the_app_port_is_the_templates(checkout: Path) -> None:
    template = checkout / "template.yml"
    template.write_text(template.read_text().replace("PORT: '8000'", "PORT: '8123'"))
    assert config.load(checkout, environ={}).ports.app == 8123
