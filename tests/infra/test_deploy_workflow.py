""".github/workflows/deploy.yml, read offline: AWS credentials are the last thing a job gets, and nothing is
installed while it holds them; the smoke tests (which install the dev dependencies) run without them.

A package's install hook or import-time code runs with whatever the job holds: after the role is assumed,
that is a session that can deploy to the environment.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from devstack.paths import REPO_ROOT

Step = dict[str, Any]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "deploy.yml"

SETUP_ACTIONS = ("./.github/actions/setup", "actions/setup-", "astral-sh/setup-uv", "aws-actions/setup-sam")
# Commands that install packages or tools (`uv run` syncs the environment first).
INSTALLING = re.compile(r"\b(uv (sync|run|tool install|pip)|pip3? install|npm (ci|install)|make|npx)\b")
AWS_CREDENTIAL_VARIABLES = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_PROFILE",
}


def jobs() -> dict[str, dict[str, Any]]:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    found: dict[str, dict[str, Any]] = workflow["jobs"]
    return found


def assumes_a_role(step: Step) -> bool:
    return str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")


def installs(step: Step) -> bool:
    if str(step.get("uses", "")).startswith(SETUP_ACTIONS):
        return True
    return bool(INSTALLING.search(str(step.get("run", ""))))


def runs_smoke_tests(step: Step) -> bool:
    return "tests/smoke" in str(step.get("run", ""))


def _describe(step: Step) -> str:
    return str(step.get("name") or step.get("uses") or step.get("run"))


JOBS_WITH_CREDENTIALS = [name for name, job in jobs().items() if any(map(assumes_a_role, job["steps"]))]


def test_some_job_deploys() -> None:
    assert JOBS_WITH_CREDENTIALS == ["deploy"]


@pytest.mark.parametrize("job_name", JOBS_WITH_CREDENTIALS)
def test_credentials_come_after_every_install(job_name: str) -> None:
    steps = jobs()[job_name]["steps"]
    (assume,) = [index for index, step in enumerate(steps) if assumes_a_role(step)]
    for step in steps[assume + 1 :]:
        assert not installs(step), f"{job_name}: '{_describe(step)}' installs after the role is assumed"
    assert any(installs(step) for step in steps[:assume])  # the setup happened, before


@pytest.mark.parametrize("job_name", JOBS_WITH_CREDENTIALS)
def test_with_credentials_the_job_only_deploys(job_name: str) -> None:
    """scripts/deploy.sh runs the health check and `uv run pytest tests/smoke` unless SKIP_CHECKS=1."""
    steps = jobs()[job_name]["steps"]
    (assume,) = [index for index, step in enumerate(steps) if assumes_a_role(step)]
    after = steps[assume + 1 :]
    assert [str(step.get("run", "")).split()[0] for step in after] == ["scripts/deploy.sh"]
    assert after[0]["env"]["SKIP_CHECKS"] == "1"


def test_smoke_tests_run_in_a_job_without_aws_credentials() -> None:
    smoke_jobs = {name: job for name, job in jobs().items() if any(map(runs_smoke_tests, job["steps"]))}
    assert smoke_jobs, "no step runs tests/smoke"
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert not AWS_CREDENTIAL_VARIABLES & set(workflow.get("env", {}))
    for name, job in smoke_jobs.items():
        assert name not in JOBS_WITH_CREDENTIALS
        assert job["permissions"] == {"contents": "read"}, f"{name}: no id-token, so no role to assume"
        assert "deploy" in job["needs"]
        for scope in (job, *job["steps"]):
            assert not AWS_CREDENTIAL_VARIABLES & set(scope.get("env", {})), _describe(scope)


def test_the_build_job_has_the_runtimes_python() -> None:
    """backend/Makefile compiles the zip's bytecode with CPython 3.13 and fails without it: the job that runs
    `sam build` sets it up (the setup action's `python` input, on unless turned off)."""

    def runs_sam_build(job: dict[str, Any]) -> bool:
        return any("sam build" in str(step.get("run", "")) for step in job["steps"])

    building = [job for job in jobs().values() if runs_sam_build(job)]
    assert building, "no job runs sam build"
    for job in building:
        setups = [step for step in job["steps"] if step.get("uses") == "./.github/actions/setup"]
        assert setups, "the sam build job does not run the setup action"
        assert all(str(step.get("with", {}).get("python", "true")) == "true" for step in setups)
