"""`sam local invoke` (SAM CLI's own, as `make local-invoke` runs it) on the running `make local`: the
function answers SAM's HTTP API sample event for GET /health."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack.environment import Endpoints
from devstack.paths import REPO_ROOT

pytestmark = pytest.mark.e2e


def test_sam_local_invoke_of_an_http_api_event_answers_200(sam_local: Endpoints) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "local-invoke"],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert (answer["statusCode"], json.loads(answer["body"])["status"]) == (200, "healthy")
