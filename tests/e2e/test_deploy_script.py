"""scripts/deploy.sh as CI and people run it, with AWS swapped for the emulator and the local chain:
deploy the built artifact to MiniStack, then health-check and smoke-test the API the chain serves."""

from __future__ import annotations

import os
import subprocess

import pytest

from devstack.paths import REPO_ROOT
from tests.support.target import Target, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e


def test_deploy_script_deploys_then_verifies(target: Target) -> None:
    # Its smoke tests assert what a deployed API answers without a token: HTTP API's 401 from the authorizer.
    skip_where_sam_local_differs(target, "JWT authorizer")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": target.endpoints.aws,
        "API_URL": target.endpoints.api,
        "SKIP_BUILD": "1",  # the session already built .aws-sam/build; deploy exactly those bytes
    }
    done = subprocess.run(
        ["scripts/deploy.sh", "local"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "✓ healthy" in done.stdout
    assert "✓ local deployed and verified" in done.stdout
