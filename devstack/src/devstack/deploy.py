"""The one way to deploy to the local emulator: `samlocal deploy --config-env local` of the (built) template,
the command a user types after `eval "$(make env)"`, with the emulator's endpoint, region and credentials
(what `devstack env` exports) and the stack model's parameters (the Firebase emulator's demo project).

Used by `make dev`, `make deploy-local`, `scripts/deploy.sh local`, compose's deploy, the tests and CI: what
AWS gets, on the emulator.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devstack import config, paths
from devstack.stack.model import Stack
from devstack.supervision import LogSink, print_sink, run_to_end
from devstack.tools import tool


def _config(stack: Stack) -> list[str]:
    # Named in full: with --template-file, SAM CLI would look for samconfig.toml next to that template.
    return ["--config-file", str(paths.SAMCONFIG), "--config-env", stack.config_env.name]


def emulator_session(aws: config.AwsEmulator) -> boto3.session.Session:
    return boto3.session.Session(
        region_name=aws.region,
        aws_access_key_id=aws.access_key_id,
        aws_secret_access_key=aws.secret_access_key,
    )


REAL_ACCOUNT_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN")
"""What a shell holds for a real account that the emulator's variables do not replace: unset for its tools."""


def aws_tools_environment(aws: config.AwsEmulator, endpoint: str) -> dict[str, str]:
    """What points AWS's own tools (the AWS CLI, the SAM CLI, samlocal, boto3) at the emulator: what `devstack
    env` exports and the deploy runs with. No SAM CLI telemetry (work on the local stack stays on the machine)
    and no samlocal deprecation banner (docs/deploy.md says why we keep samlocal)."""
    return {
        **aws.client_environment(endpoint),
        "SAM_CLI_TELEMETRY": "0",
        "DISABLE_DEPRECATION_NOTICE": "1",
    }


def sam_environment(aws: config.AwsEmulator, endpoint: str) -> dict[str, str]:
    """The SAM CLI's environment aimed at the emulator: no profile or session of a real account leaks in."""
    inherited = {k: v for k, v in os.environ.items() if k not in REAL_ACCOUNT_VARIABLES}
    return {**inherited, **aws_tools_environment(aws, endpoint)}


def deploy_command(stack: Stack, *, template_file: Path | None = None) -> list[str]:
    """`samlocal deploy --config-env local`, as a user types it, and what only devstack knows: the parameters
    of this run (samconfig's, then the Auth emulator's demo project, which a test session draws at random).
    The template is the built one (.aws-sam/build) when there is one, as `sam deploy` picks it."""
    argv = [tool("samlocal"), "deploy", *_config(stack), "--no-progressbar"]
    argv += [
        "--parameter-overrides",
        *(f"{name}={value}" for name, value in stack.parameter_overrides.items()),
    ]
    if template_file is not None:
        argv += ["--template-file", str(template_file)]
    return argv


def deploy_to_emulator(
    stack: Stack,
    aws: config.AwsEmulator,
    endpoint: str,
    *,
    template_file: Path | None = None,
    sink: LogSink = print_sink,
) -> Stack:
    """Deploy (or update; an unchanged stack is a no-op) and return the stack as deployed."""
    run_to_end(
        "deploy",
        deploy_command(stack, template_file=template_file),
        env=sam_environment(aws, endpoint),
        sink=sink,
        fix="See the deploy output above; `make build` first.",
        cwd=paths.REPO_ROOT,
    )
    return deployed_stack(stack, aws, endpoint)


def deploy_fingerprint(stack: Stack, template_file: Path) -> str:
    """What a deploy of `stack` is made of: the command (its parameters), samconfig.toml, the built template
    and every file of the build next to it (path, size and mtime: a rebuild counts as a change)."""
    digest = hashlib.sha256()
    digest.update("\0".join(deploy_command(stack, template_file=template_file)).encode())
    digest.update(paths.SAMCONFIG.read_bytes())
    for path in sorted(template_file.parent.rglob("*")):
        if path.is_file():
            status = path.stat()
            digest.update(
                f"\0{path.relative_to(template_file.parent)}:{status.st_size}:{status.st_mtime_ns}".encode()
            )
    return digest.hexdigest()


DEPLOYED_STATUSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def _stack_version(stack: Stack, aws: config.AwsEmulator, endpoint: str) -> str | None:
    """When the emulator's stack was last created or updated, by anyone (a user's own `samlocal deploy`
    too); None when it is not there, deployed whole."""
    cloudformation: Any = emulator_session(aws).client("cloudformation", endpoint_url=endpoint)
    try:
        described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"]
    except ClientError:  # "Stack with id ... does not exist"
        return None
    if not described or described[0]["StackStatus"] not in DEPLOYED_STATUSES:
        return None
    return str(described[0].get("LastUpdatedTime") or described[0]["CreationTime"])


def deploy_unless_unchanged(
    stack: Stack,
    aws: config.AwsEmulator,
    endpoint: str,
    *,
    record: Path,
    template_file: Path = paths.BUILD_DIR / "template.yaml",
    sink: LogSink = print_sink,
) -> Stack:
    """`deploy_to_emulator`, skipped when the emulator holds the stack exactly as this function last
    deployed it, from the same template, parameters and artifact: `record` (kept with the emulator's state)
    holds that deploy's fingerprint and the stack's version after it, so a stack deleted or deployed by
    anyone else since is deployed again. `make dev`'s restart then costs no SAM CLI run (seconds of CPU)."""
    fingerprint = deploy_fingerprint(stack, template_file)
    version = _stack_version(stack, aws, endpoint)
    if version is not None and record.is_file() and record.read_text() == f"{fingerprint} {version}":
        sink(
            "deploy", f"{stack.name}: template, parameters and artifact unchanged since its last deploy: kept"
        )
        return deployed_stack(stack, aws, endpoint)
    record.unlink(missing_ok=True)  # a deploy that fails must not leave the old record standing
    deployed = deploy_to_emulator(stack, aws, endpoint, template_file=template_file, sink=sink)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(f"{fingerprint} {_stack_version(stack, aws, endpoint)}")
    return deployed


def deployed_stack(stack: Stack, aws: config.AwsEmulator, endpoint: str) -> Stack:
    """`stack` as the emulator holds it: its resources' physical ids and its outputs."""
    cloudformation: Any = emulator_session(aws).client("cloudformation", endpoint_url=endpoint)
    described = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    resources = cloudformation.describe_stack_resources(StackName=stack.name)["StackResources"]
    physical_ids = {
        resource["LogicalResourceId"]: resource["PhysicalResourceId"]
        for resource in resources
        if resource.get("PhysicalResourceId")
    }
    return stack.deployed(physical_ids, outputs)


def delete_from_emulator(
    stack: Stack, aws: config.AwsEmulator, endpoint: str, *, sink: LogSink = print_sink
) -> None:
    argv = [tool("samlocal"), "delete", *_config(stack), "--no-prompts"]
    argv += ["--stack-name", stack.name]
    env = sam_environment(aws, endpoint)
    run_to_end("delete", argv, env=env, sink=sink, fix="See its output above.", cwd=paths.REPO_ROOT)


def write_env_file(path: Path, variables: Mapping[str, str]) -> None:
    """KEY='value' lines a shell can source (`set -a; . FILE`), written whole or not at all."""
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(variables.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
