"""AWS's own tools against the running local stack, as a user runs them: `eval "$(devstack env)"` in a clean
shell (the exports and nothing else: no credentials, profile or ~/.aws of the machine), then the AWS CLI's
troubleshooting commands and `samlocal deploy` / `sam deploy` with the `local` config env.

The stack the session started has a demo project of its own (isolated facts); a user's deploy, which names no
FirebaseProjectId, keeps the deployed one (SAM CLI sends UsePreviousValue for it; docs/deploy.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack import config
from devstack.deploy import deployed_stack
from devstack.environment import FUNCTION
from devstack.paths import REPO_ROOT
from devstack.stack.model import local_stack
from devstack.tools import TOOLS_CACHE
from tests.support.target import Target, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e

FUNCTION_NAME = "fastapi-backend-local-api"
STACK_NAME = "fastapi-backend-local"


@pytest.fixture(scope="module")
def shell(target: Target, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clean environment with only what `devstack env` exports evaluated in it (plus PATH and HOME).

    `devstack env` finds the stack as it finds a compose stack: no `make dev` run file (a state dir of its
    own), the AWS emulator and Lambda's API on the ports the facts give (the session's)."""
    skip_where_sam_local_differs(target, "Lambda API and logs")
    home = tmp_path_factory.mktemp("home")
    clean = {"PATH": f"{TOOLS_CACHE / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home)}
    finder = {
        **clean,
        "DEVSTACK_STATE_DIR": str(home / "state"),
        "AWS_EMULATOR_PORT": str(urlsplit(target.endpoints.aws).port),
        "LAMBDA_API_PORT": str(urlsplit(target.endpoints.lambda_api).port),
    }
    devstack = Path(sys.executable).with_name("devstack")
    done = subprocess.run(
        [str(devstack), "env"], cwd=REPO_ROOT, env=finder, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    evaluated = subprocess.run(
        ["bash", "-c", 'eval "$1" && env -0', "bash", done.stdout],
        env=clean,
        capture_output=True,
        check=True,
    ).stdout.decode()
    environment = dict(item.split("=", 1) for item in evaluated.split("\0") if item)
    assert environment["AWS_ENDPOINT_URL"] == target.endpoints.aws
    assert environment["AWS_ENDPOINT_URL_LAMBDA"] == target.endpoints.lambda_api
    return environment


def run(shell: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, env=shell, capture_output=True, text=True, timeout=300, check=False
    )


def aws(shell: dict[str, str], *command: str) -> Any:
    done = run(shell, "aws", *command, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def function_configuration(shell: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = aws(
        shell, "lambda", "get-function-configuration", "--function-name", FUNCTION_NAME
    )
    return found


def test_describe_stacks_shows_the_deployed_local_stack(shell: dict[str, str], target: Target) -> None:
    (stack,) = aws(shell, "cloudformation", "describe-stacks", "--stack-name", STACK_NAME)["Stacks"]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    assert outputs["FunctionName"] == FUNCTION_NAME
    assert outputs["TableName"] == target.endpoints.table
    assert outputs["BucketName"] == target.endpoints.bucket
    assert outputs["ApiUrl"].startswith("https://")


def test_get_function_configuration_shows_the_templates_function(
    shell: dict[str, str], target: Target
) -> None:
    function = function_configuration(shell)
    assert function["Runtime"] == "python3.13"
    assert function["Handler"] == "run.sh"
    assert [layer["Arn"].split(":")[6] for layer in function["Layers"]] == ["LambdaAdapterLayerX86"]
    # The template's variables, as the stack model resolves them against the deployed stack.
    facts = config.load()
    declared = local_stack(facts, overrides={"FirebaseProjectId": target.endpoints.project_id})
    expected = deployed_stack(declared, facts.aws, target.endpoints.aws).function(FUNCTION).environment
    assert function["Environment"]["Variables"] == expected
    assert expected["FIREBASE_PROJECT_ID"] == target.endpoints.project_id


@pytest.mark.parametrize("deployer", ["samlocal", "sam"])
def test_a_users_deploy_with_the_local_config_env_updates_the_running_stack(
    deployer: str, shell: dict[str, str], target: Target
) -> None:
    before = function_configuration(shell)

    done = run(shell, deployer, "deploy", "--config-env", "local")

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "deprecated" not in done.stderr  # samlocal's banner is off (DISABLE_DEPRECATION_NOTICE)
    (stack,) = aws(shell, "cloudformation", "describe-stacks", "--stack-name", STACK_NAME)["Stacks"]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    after = function_configuration(shell)
    # Still the stack the chain serves: the session's demo project, the same table and bucket.
    assert after["Environment"]["Variables"] == before["Environment"]["Variables"]
    assert after["Environment"]["Variables"]["FIREBASE_PROJECT_ID"] == target.endpoints.project_id
