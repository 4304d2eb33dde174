"""Every local fact is written in one file; a literal copy anywhere else in the tree fails here.

The facts are read from their files (devstack/devstack.env, localstack/localstack.env, firebase-emulator/),
never repeated in this test. Prose (*.md) and lock files are not scanned. A copy that must stay lists its
reason in ALLOWED.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import config, paths
from devstack.lambdafn.runtime import INVOKE_PATH

NOT_SCANNED = re.compile(r"(\.md|uv\.lock|package-lock\.json|\.png)$")

ALLOWED = {
    (
        "samconfig.toml",
        "AWS_EMULATOR_REGION",
    ): "the AWS region dev, staging and prod deploy to, not the emulator's",
    (".github/workflows/deploy.yml", "AWS_EMULATOR_REGION"): "the AWS region of the real deploys (default)",
    ("backend/shared/settings.py", "AWS_EMULATOR_REGION"): "the app's own fallback when AWS_REGION is unset",
    ("template.yml", "APP_PORT"): "the port on Lambda (the template's PORT); locally APP_PORT replaces it",
    ("tests/compose/stand-ins/ministack/Dockerfile", "AWS_EMULATOR_PORT"): "upstream MiniStack's own default",
    (".vscode/launch.json", "DEBUG_PORT"): "VS Code reads no env file: the default, moved by hand with it",
}


@dataclass(frozen=True)
class Fact:
    name: str
    defined_in: str
    pattern: re.Pattern[str]


def _version(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w.])")


def _port(value: int) -> re.Pattern[str]:
    # As a port is written: host:port, PORT=port, "port": port. Not any number (a CORS MaxAge of 3000).
    return re.compile(rf"(?i)(?::|port[\"']?\s*[=:]\s*[\"']?){value}(?!\d)")


def local_facts(root: Path) -> list[Fact]:
    facts = config.load(root, environ={})
    emulator = config.read_env_file(root / "localstack" / "localstack.env")
    chain_env, emulator_env = "devstack/devstack.env", "localstack/localstack.env"
    found = [
        Fact(
            "TOOLS_CACHE_NAME",
            chain_env,
            re.compile(rf"(?<![\w-]){re.escape(facts.chain['TOOLS_CACHE_NAME'])}(?![\w-])"),
        ),
        Fact("GATEWAY_PORT", chain_env, _port(facts.ports.gateway)),
        Fact("RIE_PORT", chain_env, _port(facts.ports.rie)),
        Fact("RUNTIME_API_PORT", chain_env, _port(facts.ports.runtime_api)),
        Fact("LAMBDA_API_PORT", chain_env, _port(facts.ports.lambda_api)),
        Fact("LOCAL_API_PORT", chain_env, _port(facts.ports.local_api)),
        Fact("AWS_EMULATOR_PORT", emulator_env, _port(facts.aws.port)),
        Fact("AWS_EMULATOR_REGION", emulator_env, re.compile(rf"\b{re.escape(facts.aws.region)}\b")),
        Fact(
            "AWS_EMULATOR_ACCESS_KEY_ID",
            emulator_env,
            re.compile(
                rf"(?i)(access_key_id|secret_access_key)[\"']?\s*[=:,]\s*[\"']{re.escape(facts.aws.access_key_id)}\b"
            ),
        ),
        Fact("MINISTACK_VERSION", emulator_env, _version(facts.aws.version)),
        Fact("AWS_SAM_TRANSLATOR_VERSION", emulator_env, _version(facts.aws.sam_translator_version)),
        Fact("LOCALSTACK_VERSION", emulator_env, _version(emulator["LOCALSTACK_VERSION"])),
        Fact("FIREBASE_AUTH_PORT", chain_env, _port(facts.ports.firebase)),
        Fact("APP_PORT", chain_env, _port(facts.ports.app)),
        Fact("DEBUG_PORT", chain_env, _port(facts.ports.debugger)),
        Fact(
            "firebase project",
            "firebase-emulator/.firebaserc",
            re.compile(re.escape(facts.firebase.project_id)),
        ),
        Fact("INVOKE_PATH", "devstack/src/devstack/lambdafn/runtime.py", re.compile(re.escape(INVOKE_PATH))),
    ]
    for name in (
        "LWA_VERSION",
        "RIE_VERSION",
        "UV_VERSION",
        "AWS_SAM_CLI_VERSION",
        "AWS_SAM_CLI_LOCAL_VERSION",
        "AWSCLI_VERSION",
    ):
        found.append(Fact(name, chain_env, _version(facts.chain[name])))
    return found


def tree(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [path for path in listed if not NOT_SCANNED.search(path) and (root / path).is_file()]


def copies(root: Path, files: list[str]) -> list[str]:
    """'path:line: NAME (defined in FILE)' for each literal copy of a fact outside its file."""
    found = []
    facts = local_facts(root)
    for path in files:
        text = (root / path).read_text(errors="replace")
        for fact in facts:
            if path == fact.defined_in or (path, fact.name) in ALLOWED:
                continue
            for match in fact.pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path}:{line}: {fact.name} (defined in {fact.defined_in})")
    return found


def test_no_local_fact_is_written_twice() -> None:
    assert copies(paths.REPO_ROOT, tree(paths.REPO_ROOT)) == []


@pytest.mark.parametrize(
    ("planted", "fact"),
    [
        ('ENDPOINT = "http://127.0.0.1:{aws_port}"\n', "AWS_EMULATOR_PORT"),
        ('PROJECT = "{project}"\n', "firebase project"),
        ("RUN = {cache}/bin/uv\n", "TOOLS_CACHE_NAME"),
        ("pip install ministack=={ministack}\n", "MINISTACK_VERSION"),
        ('url = "http://localhost:{firebase_port}/"\n', "FIREBASE_AUTH_PORT"),
    ],
)
def test_a_planted_copy_is_found(planted: str, fact: str, tmp_path: Path) -> None:
    facts = config.load(environ={})
    text = planted.format(
        aws_port=facts.aws.port,
        project=facts.firebase.project_id,
        cache=facts.chain["TOOLS_CACHE_NAME"],
        ministack=facts.aws.version,
        firebase_port=facts.ports.firebase,
    )
    planted_file = tmp_path / "planted.sh"
    planted_file.write_text(text)
    found = copies(paths.REPO_ROOT, [str(planted_file)])  # an absolute path: read where it is
    assert [entry.split(": ", 1)[1].split(" (")[0] for entry in found] == [fact]
