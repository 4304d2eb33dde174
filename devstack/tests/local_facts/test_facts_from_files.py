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
    for relative in (*FACT_FILES, "firebase-emulator/.firebaserc"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(paths.REPO_ROOT / relative, tmp_path / relative)
    return tmp_path


def test_firebase_json_is_what_the_emulator_runs_with(checkout: Path, tmp_path: Path) -> None:
    settings_file = checkout / "firebase-emulator" / "firebase.json"
    settings = json.loads(settings_file.read_text())
    settings["emulators"]["singleProjectMode"] = False
    settings["emulators"]["auth"]["host"] = "127.0.0.2"
    settings_file.write_text(json.dumps(settings))
    facts = config.load(checkout, environ={})

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    argv = emulator_command(facts.firebase, facts.ports.firebase, run_dir, data_dir=None)

    written = json.loads((run_dir / "firebase.json").read_text())
    assert written["emulators"]["auth"] == {"host": "127.0.0.2", "port": facts.ports.firebase}
    assert written["emulators"]["singleProjectMode"] is False
    assert argv[argv.index("--config") + 1] == str(run_dir / "firebase.json")
    assert argv[argv.index("--project") + 1] == facts.firebase.project_id


def test_a_moved_port_keeps_every_other_setting(tmp_path: Path) -> None:
    facts = config.load(environ={"FIREBASE_AUTH_PORT": "9777"})
    emulator_command(facts.firebase, facts.ports.firebase, tmp_path, data_dir=None)
    written = json.loads((tmp_path / "firebase.json").read_text())
    expected = facts.firebase.settings_on_port(9777)
    assert {key: written["emulators"][key] for key in expected["emulators"]} == expected["emulators"]


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
        ministack(facts.aws, paths.TEMPLATE),
    ):
        pass


@pytest.mark.parametrize(
    ("variable", "port_of"), [("GATEWAY_PORT", "gateway"), ("AWS_EMULATOR_PORT", "aws_emulator")]
)
def test_a_port_moves_with_its_variable(variable: str, port_of: str) -> None:
    moved = config.load(environ={variable: "4321"})
    assert getattr(moved.ports, port_of) == 4321


def test_a_value_may_use_a_key_above(tmp_path: Path) -> None:
    env_file = tmp_path / "facts.env"
    env_file.write_text("VERSION=1.2\nIMAGE=emulator:${VERSION}-full\n")
    assert config.read_env_file(env_file)["IMAGE"] == "emulator:1.2-full"
    env_file.write_text("IMAGE=emulator:${VERSION}\n")
    with pytest.raises(StartupError, match=r"facts\.env:1: \$\{VERSION\} is not defined on a line above"):
        config.read_env_file(env_file)


def test_two_emulators_never_share_their_hub_or_logging_port(tmp_path: Path) -> None:
    """firebase-tools probes 4400/4500, then binds: two starting together could pick the same one."""
    facts = config.load(environ={})
    written = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        emulator_command(facts.firebase, facts.ports.firebase, tmp_path / run, data_dir=None)
        written.append(json.loads((tmp_path / run / "firebase.json").read_text())["emulators"])
    for service in ("hub", "logging"):
        assert written[0][service]["port"] != written[1][service]["port"], service


def test_the_emulators_own_ports_are_none_the_stack_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's ports are chosen free, then bound one part at a time: until the gateway binds its own, the
    OS may hand it out again — as it did in CI, to firebase-tools' hub, and the gateway could not start."""
    facts = config.load(environ={})
    taken = facts.ports.gateway
    handed_out = iter([taken, 40001, taken, 40002])

    class Probe:  # what the OS answers to bind(port 0), in the order above
        def __enter__(self) -> Probe:
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def bind(self, _address: object) -> None:
            pass

        def getsockname(self) -> tuple[str, int]:
            return "127.0.0.1", next(handed_out)

    monkeypatch.setattr("devstack.supervision.socket.socket", lambda *_: Probe())
    emulator_command(facts.firebase, facts.ports.firebase, tmp_path, data_dir=None, stack_ports=[taken])
    written = json.loads((tmp_path / "firebase.json").read_text())["emulators"]
    assert (written["hub"]["port"], written["logging"]["port"]) == (40001, 40002)
