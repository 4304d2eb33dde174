"""sam build + deploy -> update -> delete of the real template against a MiniStack of its own (~40 s).

What it proves: the template deploys through the SAM transform on the emulator, its outputs read back,
a parameter change updates the stack in place, and `sam delete` removes everything. It cannot prove that the
function serves requests (the emulator cannot run the Web Adapter; see docs/local-emulator-limits.md).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.paths import REPO_ROOT, tool
from devstack.procs import free_port
from devstack.services import ministack

pytestmark = pytest.mark.integration

STACK = "fastapi-backend-local"


def _sam(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [tool("sam"), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        pytest.fail(
            f"sam {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with ministack(free_port()) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def sam_env(emulator: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",  # emulator credentials
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }


@pytest.fixture(scope="module")
def built_template(tmp_path_factory: pytest.TempPathFactory, sam_env: dict[str, str]) -> Path:
    build_dir = tmp_path_factory.mktemp("sam-build")
    _sam("build", "--no-cached", "--build-dir", str(build_dir), env=sam_env)
    template = build_dir / "template.yaml"
    assert template.exists()
    return template


def _stack(endpoint: str) -> dict[str, Any] | None:
    cfn = boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    try:
        stack: dict[str, Any] = dict(cfn.describe_stacks(StackName=STACK)["Stacks"][0])
        return stack
    except ClientError:
        return None


def test_deploy_update_destroy(emulator: str, sam_env: dict[str, str], built_template: Path) -> None:
    config = ("--config-file", str(REPO_ROOT / "samconfig.toml"), "--config-env", "local")
    deploy = ("deploy", *config, "--template-file", str(built_template), "--no-progressbar")

    _sam(*deploy, env=sam_env)
    stack = _stack(emulator)
    assert stack is not None
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["ApiUrl"].startswith("https://")
    assert ".execute-api.us-east-1." in outputs["ApiUrl"]
    assert outputs["TableName"] == f"{STACK}-main"
    assert outputs["FunctionName"] == f"{STACK}-api"
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    function = session.client("lambda", endpoint_url=emulator).get_function_configuration(
        FunctionName=outputs["FunctionName"]
    )
    assert function["Handler"] == "run.sh"
    assert function["Environment"]["Variables"]["DYNAMODB_TABLE"] == outputs["TableName"]
    assert function["Environment"]["Variables"]["S3_BUCKET"] == outputs["BucketName"]
    table = session.client("dynamodb", endpoint_url=emulator).describe_table(TableName=outputs["TableName"])
    assert [index["IndexName"] for index in table["Table"]["GlobalSecondaryIndexes"]] == ["GSI1"]
    session.client("s3", endpoint_url=emulator).head_bucket(Bucket=outputs["BucketName"])

    _sam(
        *deploy,
        "--parameter-overrides",
        "Environment=dev FirebaseProjectId=demo-fastapi-lambda LogRetentionDays=3",
        env=sam_env,
    )
    stack = _stack(emulator)
    assert stack is not None
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    groups = session.client("logs", endpoint_url=emulator).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{STACK}-api"
    )["logGroups"]
    assert [group.get("retentionInDays") for group in groups] == [3]

    _sam("delete", *config, "--no-prompts", env=sam_env)
    assert _stack(emulator) is None
    assert (
        outputs["TableName"]
        not in session.client("dynamodb", endpoint_url=emulator).list_tables()["TableNames"]
    )
