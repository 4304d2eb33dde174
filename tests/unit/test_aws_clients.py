"""The app's AWS endpoints are the settings' (an emulator's only in local/test) or AWS's own: botocore's own
ways to be pointed elsewhere — AWS_ENDPOINT_URL_<SERVICE>, an AWS config file's endpoint_url — are ignored,
so an emulator endpoint cannot reach a deployed function through them. Building the clients reads the data
of our services only (the cold start's share)."""

import os
from collections.abc import Iterator
from pathlib import Path

import botocore
import pytest

from infrastructure.aws import SERVICES, dynamodb_client, s3_client, session

ELSEWHERE = "http://127.0.0.1:4599"


@pytest.fixture(autouse=True)
def endpoints_configured_outside_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    config_file = tmp_path / "config"
    config_file.write_text(f"[default]\nendpoint_url = {ELSEWHERE}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.setenv(variable, ELSEWHERE)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")
    # The clients' session keeps the first credentials it finds: these must not outlive the test (S3
    # presigned URLs signed with them were refused by the emulator in the tests that ran after).
    for cached in (session, dynamodb_client, s3_client):
        cached.cache_clear()
    yield
    for cached in (session, dynamodb_client, s3_client):
        cached.cache_clear()


def test_deployed_the_clients_reach_aws_whatever_the_environment_configures() -> None:
    assert dynamodb_client("eu-west-1", None).meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert s3_client("eu-west-1", None).meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"


def test_the_settings_endpoint_is_the_one_used() -> None:
    emulator = "http://127.0.0.1:4598"
    assert dynamodb_client("eu-west-1", emulator).meta.endpoint_url == emulator
    assert s3_client("eu-west-1", emulator).meta.endpoint_url == emulator


def test_building_the_clients_lists_no_other_service(monkeypatch: pytest.MonkeyPatch) -> None:
    data = Path(botocore.__file__).parent / "data"
    listed: list[str] = []
    listdir = os.listdir

    def recorded(path: str) -> list[str]:
        listed.append(os.path.relpath(path, data))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", recorded)
    dynamodb_client("eu-west-1", None)
    s3_client("eu-west-1", None)
    assert {name.split(os.sep)[0] for name in listed if not name.startswith("..")} <= set(SERVICES)
