"""Run by tests/integration/test_built_artifact.py with Lambda's interpreter, on the zip's packages alone
(python3.13 -S -P: no site-packages, not even this directory; PYTHONPATH is the artifact, then the runtime's
boto3). Standard library and the artifact only. Reads one JSON request on stdin, writes one JSON answer.

  {"imports": [[module, name or null], ...]}   `import main` (which builds the app), then each import
                                               -> {"failed": {statement: error}}
  {"project_id", "emulator_host", "certificate_url", "steps": [{"verify": token, "check_revoked": bool} |
   {"delete_user": uid}]}      the app's own Firebase adapter -> {"outcomes": ["uid:...", "rejected", ...]}
"""

import importlib
import json
import sys
from typing import Any


def _imports(imports: list[list[str | None]]) -> dict[str, Any]:
    """[module, None] is `import module`; [module, name] is `from module import name` (an attribute, or a
    submodule that importing the module alone does not load)."""
    failed = {}
    for module, name in [["main", None], *imports]:
        statement = f"from {module} import {name}" if name else f"import {module}"
        try:
            loaded = importlib.import_module(str(module))
            if name and not hasattr(loaded, name):
                importlib.import_module(f"{module}.{name}")
        except Exception as error:  # every one is reported: the test names all that are missing
            failed[statement] = f"{type(error).__name__}: {error}"
    return {"failed": failed}


def _auth(request: dict[str, Any]) -> dict[str, Any]:
    from domain.errors import AuthenticationFailed, ServiceUnavailable
    from infrastructure.firebase_accounts import FirebaseAuth

    if request["certificate_url"]:  # before the client is built: it reads the address then
        from firebase_admin import _token_gen

        _token_gen.ID_TOKEN_CERT_URI = request["certificate_url"]
    accounts = FirebaseAuth(request["project_id"], request["emulator_host"])
    outcomes = []
    for step in request["steps"]:
        if "delete_user" in step:
            accounts.delete_user(step["delete_user"])
            outcomes.append("deleted")
            continue
        try:
            principal = accounts.verify(step["verify"], check_revoked=step["check_revoked"])
            outcomes.append(f"uid:{principal.uid}")
        except AuthenticationFailed:
            outcomes.append("rejected")
        except ServiceUnavailable:
            outcomes.append("unavailable")
    return {"outcomes": outcomes}


def _answer() -> None:
    request = json.load(sys.stdin)
    answer = _imports(request["imports"]) if "imports" in request else _auth(request)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    _answer()
