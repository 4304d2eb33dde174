"""The built zip holds what the app imports, and token verification works from it, under Lambda's CPython.

uv.lock leaves out what firebase-admin and google-auth declare but the app never imports (the root
pyproject.toml's exclude-dependencies: Firestore, Cloud Storage, gRPC, ...), so the zip (backend/
requirements.txt, exported from the lock, installed --no-deps) lacks them too. These tests are what says
nothing needed went with them: they run the bytes `sam build` produced (a private build) with CPython 3.13
and no other packages than the runtime's boto3 (tests/support/in_artifact.py).
"""

import ast
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from devstack import config
from devstack.emulators import firebase_accounts
from devstack.lambdafn.sandbox import prepare_runtime_python
from devstack.paths import BACKEND
from devstack.tools import lambda_python_bin_dir
from tests.support import in_artifact
from tests.support.build import sam_build
from tests.support.google_stand_in import OTHER_KEY, claims, google_stand_in, sign

pytestmark = pytest.mark.integration

FUNCTION = "ApiFunction"
# What the function's environment gives Settings (template.yml); nothing is reached at import.
APP_ENVIRONMENT = {
    "ENVIRONMENT": "test",
    "DYNAMODB_TABLE": "table",
    "S3_BUCKET": "bucket",
    "FIREBASE_PROJECT_ID": "demo-artifact",
    "AWS_REGION": config.load().aws.region,
}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sam_build(tmp_path_factory.mktemp("sam-build")).parent / FUNCTION


@pytest.fixture(scope="module")
def lambda_python() -> Path:
    bin_dir = lambda_python_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "No CPython 3.13 (the zip's cp313 wheels load only in it): run `make install`, which uses "
            "pyenv's 3.13 or python3.13 on PATH; install one with `pyenv install 3.13`."
        )
    return bin_dir / "python3.13"


def run_in_artifact(artifact: Path, python: Path, request: dict[str, Any]) -> dict[str, Any]:
    """tests/support/in_artifact.py on the artifact's packages alone (-S: no site-packages; -P: not even
    its own directory), with the runtime's boto3 after them, as Lambda orders them."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{artifact}:{prepare_runtime_python()}",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda
        **APP_ENVIRONMENT,
    }
    done = subprocess.run(
        [str(python), "-S", "-P", in_artifact.__file__],
        input=json.dumps(request),
        env=env,
        cwd=artifact,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


Import = tuple[str, str | None]
"""`import module` is (module, None); `from module import name` is (module, name)."""


def _imports_in(source: Path) -> set[Import]:
    """Every import a file makes, at any depth (inside functions too: the adapters import firebase-admin on
    first use), except under `if TYPE_CHECKING:`."""
    found: set[Import] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update((node.module, alias.name) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source.read_text()))
    return found


def _app_imports(artifact: Path) -> set[Import]:
    """What the app's own code in the zip imports from elsewhere: its top-level modules (main.py, web.py,
    bootstrap.py) and its code packages (the backend directories with an __init__.py), as backend/Makefile
    copies them."""
    packages = [init.parent.name for init in BACKEND.glob("*/__init__.py")]
    modules = [module.stem for module in BACKEND.glob("*.py")]
    sources = [artifact / f"{module}.py" for module in modules]
    sources += [source for package in packages for source in (artifact / package).rglob("*.py")]
    own = {*modules, *packages}
    return {item for source in sources for item in _imports_in(source) if item[0].split(".")[0] not in own}


def test_everything_the_app_imports_is_in_the_artifact(artifact: Path, lambda_python: Path) -> None:
    """`import main` (the app, built as run.sh starts it), then every import the app's code makes anywhere,
    firebase-admin's on first use included, from the zip's packages alone."""
    imports = _app_imports(artifact)
    assert ("firebase_admin", "auth") in imports  # the walk sees imports inside functions

    answer = run_in_artifact(artifact, lambda_python, {"imports": sorted(imports, key=str)})

    assert answer["failed"] == {}


def test_the_artifact_is_made_for_a_cold_start(artifact: Path) -> None:
    """Lambda's /var/task is read-only, so nothing compiled at a cold start is kept: the dependencies come as
    bytecode (backend/Makefile's cold-start-ready), our code as source with its bytecode beside it (tracebacks
    keep their lines), and the other tests here import from exactly these bytes."""
    own = {init.parent.name for init in BACKEND.glob("*/__init__.py")}
    own |= {module.name for module in BACKEND.glob("*.py")}
    dependency_files = [
        file
        for entry in artifact.iterdir()
        if entry.name not in own and not entry.name.endswith(".dist-info")
        for file in ([entry] if entry.is_file() else entry.rglob("*"))
    ]
    assert [file for file in dependency_files if file.suffix == ".py"] == []
    assert sum(file.suffix == ".pyc" for file in dependency_files) > 500
    for source in [artifact / "main.py", *(artifact / "api").rglob("*.py")]:
        assert list((source.parent / "__pycache__").glob(f"{source.stem}.cpython-313.pyc")), source


def test_production_tokens_are_verified_from_the_artifact(artifact: Path, lambda_python: Path) -> None:
    """The RS256 path: the certificate fetched (requests, cachecontrol), the signature checked (google-auth on
    cryptography's Rust bindings), the claims read. One of each outcome, so a verifier that accepts or
    refuses everything fails."""
    project_id = "prod-path-artifact"
    token_claims = claims(project_id)
    with google_stand_in() as google:
        certificate_url = google.certificate_url
        answer = run_in_artifact(
            artifact,
            lambda_python,
            {
                "project_id": project_id,
                "emulator_host": None,
                "certificate_url": certificate_url,
                "steps": [
                    {"verify": sign(token_claims), "check_revoked": False},
                    {"verify": sign(token_claims, OTHER_KEY), "check_revoked": False},
                ],
            },
        )
    assert answer["outcomes"] == [f"uid:{token_claims['sub']}", "rejected"]


def test_revocation_is_checked_from_the_artifact(
    artifact: Path, lambda_python: Path, auth_emulator_host: str, local_facts: config.LocalFacts
) -> None:
    """The Admin API side (accounts:lookup behind check_revoked, and accounts:delete) against the real Auth
    emulator: a user's token passes the check, the app deletes the user, and then only a verification without
    the check still takes the token (as Firebase does, until it expires)."""
    user = firebase_accounts.sign_up(auth_emulator_host, f"artifact-{uuid.uuid4().hex[:10]}@example.com")
    checked = {"verify": user.id_token, "check_revoked": True}
    unchecked = {"verify": user.id_token, "check_revoked": False}

    answer = run_in_artifact(
        artifact,
        lambda_python,
        {
            "project_id": local_facts.firebase.project_id,
            "emulator_host": auth_emulator_host,
            "certificate_url": None,
            "steps": [checked, {"delete_user": user.uid}, unchecked, checked],
        },
    )

    assert answer["outcomes"] == [f"uid:{user.uid}", "deleted", f"uid:{user.uid}", "rejected"]
