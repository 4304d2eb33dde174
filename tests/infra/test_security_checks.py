"""scripts/check-security.sh, run as `make check-security` runs it: the secret scan finds a planted AWS key
and private key (in the tree, and in the history after deletion) without printing them; an audit that
cannot reach its vulnerability service says so instead of passing. And every security suppression of the
tree (ruff S, checkov) carries its reason.

The planted secrets are generated here, at run time: a literal one would be a finding of the project's own
scan.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.paths import REPO_ROOT
from devstack.stack.template import load as load_template

SCRIPT = REPO_ROOT / "scripts" / "check-security.sh"
# The alphabet of AWS access key ids after their 4-letter prefix.
AWS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def aws_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(AWS_KEY_ALPHABET) for _ in range(16))


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def run(
    *args: str, cwd: Path = REPO_ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def git(repo: Path, *args: str) -> None:
    done = run("git", "-c", "commit.gpgsign=false", *args, cwd=repo, env=GIT_IDENTITY)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one clean commit."""
    git(tmp_path, "init", "--quiet")
    (tmp_path / "README.md").write_text("A project.\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "start")
    return tmp_path


def scan(repo: Path) -> subprocess.CompletedProcess[str]:
    return run(str(SCRIPT), "secrets", str(repo))


def test_a_clean_tree_and_history_pass(repo: Path) -> None:
    done = scan(repo)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_planted_aws_key_fails_the_scan_and_is_not_printed(repo: Path) -> None:
    key = aws_access_key_id()
    (repo / "app").mkdir()
    (repo / "app" / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n')  # new, not even staged

    done = scan(repo)

    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "RuleID:      aws-access-token" in output
    assert "File:        app/settings.py" in output
    assert key not in output


def test_a_planted_private_key_fails_the_scan(repo: Path) -> None:
    (repo / "deploy-key.pem").write_text(private_key_pem())
    git(repo, "add", "deploy-key.pem")

    done = scan(repo)

    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "RuleID:      private-key" in output
    assert "File:        deploy-key.pem" in output


def test_a_key_deleted_from_the_tree_is_still_found_in_the_history(repo: Path) -> None:
    (repo / ".env").write_text(f"AWS_ACCESS_KEY_ID={aws_access_key_id()}\n")
    git(repo, "add", ".env")
    git(repo, "commit", "--quiet", "-m", "oops")
    git(repo, "rm", "--quiet", ".env")
    git(repo, "commit", "--quiet", "-m", "remove the key")

    done = scan(repo)

    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "File:        .env" in output


def test_an_unreachable_vulnerability_service_is_a_named_skip_not_a_pass() -> None:
    # A proxy nobody listens on: the audit cannot reach PyPI, wherever this runs.
    offline = {
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "",
        "NO_PROXY": "",
    }

    done = run(str(SCRIPT), "audit", env=offline)

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"○ pip-audit \S+ \(requirements \+ lock\) .* skipped: PyPI's vulnerability API", done.stdout
    )
    assert "1 skipped" in done.stdout

    required = run(str(SCRIPT), "audit", env={**offline, "REQUIRE_VULNERABILITY_AUDIT": "1"})

    assert required.returncode != 0, required.stdout


# --- every security suppression says why ------------------------------------------------------------
# A noqa comment without codes silences every rule, S included: it counts as a security suppression.
NOQA = re.compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?(?P<rest>.*)$")
MIN_REASON = 20  # characters: "ok" or "n/a" is not a reason


def python_files() -> list[str]:
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py")
    return listed.stdout.split()


def test_every_inline_ruff_security_suppression_gives_its_reason() -> None:
    unexplained = []
    for name in python_files():
        for number, line in enumerate((REPO_ROOT / name).read_text().splitlines(), start=1):
            match = NOQA.search(line)
            if not match:
                continue
            security = any(code.strip().startswith("S") for code in (match["codes"] or "S").split(","))
            if security and not match["rest"].strip().startswith("("):
                unexplained.append(f"{name}:{number}: {line.strip()}")
    assert not unexplained, "a `noqa: S...` needs its reason in parentheses:\n" + "\n".join(unexplained)


def test_security_rules_are_ignored_only_per_file_with_a_comment_above() -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    lint = tomllib.loads(text)["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert not [code for code in lint.get("ignore", []) if code.startswith("S")]
    lines = text.splitlines()
    for pattern, codes in lint["per-file-ignores"].items():
        if any(code.startswith("S") for code in codes):
            at = next(i for i, line in enumerate(lines) if line.startswith(f'"{pattern}"'))
            above = next(line for line in reversed(lines[:at]) if not line.startswith('"'))
            assert above.startswith("#"), f"per-file ignore {pattern} has no reason above it"


@pytest.mark.parametrize("template", ["template.yml", "deploy/aws-account.yml"])
def test_every_checkov_skip_gives_its_reason(template: str) -> None:
    resources = load_template(REPO_ROOT / template)["Resources"]
    skips = [
        (name, skip)
        for name, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the template's checkov skips"  # guards the walk itself
    unexplained = [
        f"{name}: {skip['id']}" for name, skip in skips if len(str(skip.get("comment", ""))) < MIN_REASON
    ]
    assert not unexplained


@pytest.mark.parametrize("local_file", [".env", ".env.local", "firebase-emulator/.env"])
def test_local_settings_files_are_ignored_by_git(local_file: str) -> None:
    """.env.example says to put LOCALSTACK_AUTH_TOKEN in .env: a `git add .` must not publish it."""
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", local_file], cwd=REPO_ROOT, check=False
    )
    assert ignored.returncode == 0, f"{local_file} is not ignored by git"


def test_the_settings_template_stays_tracked() -> None:
    tracked = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", ".env.example"], cwd=REPO_ROOT, check=False
    )
    assert tracked.returncode == 1, ".env.example is ignored by git"
