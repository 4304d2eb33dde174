"""Hostile input: schemathesis generates requests from the OpenAPI schema the chain serves (valid and invalid
bodies, parameters and headers, missing or mangled tokens) and sends them through the whole chain with real
emulator tokens. No answer may be a 5xx, and every answer must be one the schema documents: status code,
headers, content type and body.

CI runs a fixed, derandomized sample; `make fuzz` runs FUZZ_EXAMPLES random ones per operation."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.schemas import OpenApiSchema

from devstack.apigw.routes import names_another_path
from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from devstack.environment import SAM_START_API
from tests.support.target import Target, is_utf8

pytestmark = pytest.mark.e2e

FUZZ_EXAMPLES_ENV = "FUZZ_EXAMPLES"
"""Set by `make fuzz`: that many random examples per operation. Unset (CI): a fixed sample."""
CI_EXAMPLES = 50
ADMIN_OPERATIONS = {"GET /users"}
ACCOUNT_DELETION = "DELETE /users/me"

# positive_data_acceptance wants a schema-valid request to succeed, or to be refused for the state it meets
# (schemathesis's default list below: 401, 403, 404, 409, ...). Three refusals of ours are of that kind, and
# no schema can rule them out:
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_STATE_DEPENDENT_REFUSALS: list[tuple[list[str], list[str]]] = [
    # A cursor is opaque: any string is schema-valid, only the ones the listing issued are cursors.
    (["GET /users", "GET /notes", "GET /notes/{note_id}/files"], ["400"]),
    # PATCH is conditional: without the note's current ETag in If-Match it is refused by design.
    (["PATCH /notes/{note_id}"], ["412", "428"]),
    # An Idempotency-Key answers the request it first came with: the generator reuses keys across requests.
    (["POST /notes", "POST /notes/{note_id}/files"], ["422"]),
]


def _config(base_url: str, sam_local: bool) -> SchemathesisConfig:
    examples = os.environ.get(FUZZ_EXAMPLES_ENV)
    generation: dict[str, Any] = {
        "max-examples": int(examples or CI_EXAMPLES),
        "database": "none",
        # Unknown query parameters and headers are ignored, not refused, as by any HTTP API (clients and
        # proxies add their own): negative cases made only of those would be reported as accepted.
        "allow-extra-parameters": False,
    }
    if not examples:
        # The same requests on every run, so CI cannot flake on a sample it drew once.
        generation["deterministic"] = True
    operations = [
        {
            "include-name": operations,
            "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED + refused}},
        }
        for operations, refused in _STATE_DEPENDENT_REFUSALS
    ]
    # sam local start-api answers a method no route lists (TRACE) with its own 403 (SAM_DIFFERENCES).
    checks = {"unsupported_method": {"enabled": False}} if sam_local else {}
    return SchemathesisConfig.from_dict(
        {"base-url": base_url, "generation": generation, "operations": operations, "checks": checks}
    )


class Callers:
    """Who the generated requests come from: a user, an admin, and a throwaway account per deletion."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.user = self.new_user("user")
        host, project = target.endpoints.firebase_auth_host, target.endpoints.project_id
        admin = self.new_user("admin")
        firebase_accounts.set_claims(host, project, admin.uid, {"role": "admin"})
        self.admin = firebase_accounts.sign_in(host, admin.email)  # claims reach tokens minted after that

    def new_user(self, kind: str) -> AuthUser:
        return firebase_accounts.sign_up(
            self.target.endpoints.firebase_auth_host, f"fuzz-{kind}-{uuid.uuid4().hex[:10]}@example.com"
        )


@pytest.fixture(scope="session")
def callers(target: Target) -> Callers:
    return Callers(target)


@pytest.fixture(scope="session")
def api_schema(api: httpx.Client, target: Target, callers: Callers) -> OpenApiSchema:
    """The schema the chain serves, with a real caller for every operation that needs one."""
    response = api.get("/openapi.json")
    assert response.status_code == 200, response.text
    sam_local = target.endpoints.served_by == SAM_START_API
    schema = from_dict(response.json(), config=_config(target.endpoints.api, sam_local))

    class RealCaller:
        """Given to schemathesis rather than added to each request, so it knows which requests carry a
        token and still sends its own missing or mangled ones where it tests authentication."""

        def get(self, case: Case[Any], context: AuthContext) -> str:
            label = context.operation.label
            if label == ACCOUNT_DELETION:
                # Each example deletes an account: a throwaway one, so the others keep theirs.
                return callers.new_user("doomed").id_token
            return (callers.admin if label in ADMIN_OPERATIONS else callers.user).id_token

        def set(self, case: Case[Any], token: str, context: AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {token}"

    schema.auth(refresh_interval=None)(RealCaller)
    return schema


def _assume_past_the_adapter(case: Case[Any]) -> None:
    """The Web Adapter (LWA_VERSION) copies the decoded path into a header of the request it forwards, and
    panics on a DEL byte there: the invoke fails before our code, with a 500 (HTTP API decodes the path
    too). Such paths are left out, and so are those the gateway refuses before the function because they
    could reach it as another path (a backslash, a dot segment: docs/gateway.md), whose 404 is HTTP API's
    own `{"message": "Not Found"}`, not an answer of the app's schema. Nothing else is. Path parameters are
    percent-encoded by this point."""
    hypothesis.assume(not any("%7F" in str(value).upper() for value in (case.path_parameters or {}).values()))
    hypothesis.assume(not names_another_path(case.formatted_path))


def _assume_sam_local_serves_it(case: Case[Any], target: Target) -> None:
    """Against sam local start-api (make local), the requests it answers unlike HTTP API are left out, each
    by its name in SAM_DIFFERENCES; nothing else is."""
    if target.endpoints.served_by != SAM_START_API:
        return
    body = case.body
    hypothesis.assume(not isinstance(body, bytes) or is_utf8(body))  # "non-UTF-8 body"
    hypothesis.assume("%0A" not in case.formatted_path.upper())  # "newline in the path"


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def nodeid_shim(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32.5 renames the test's node through `_nodeid`, which pytest 9.2 no longer has."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@pytest.mark.usefixtures("nodeid_shim")
def test_no_input_breaks_the_api(case: Case[Any], target: Target) -> None:
    _assume_past_the_adapter(case)
    _assume_sam_local_serves_it(case, target)
    case.call_and_validate()


def test_linked_calls_keep_the_contract(api_schema: OpenApiSchema, callers: Callers) -> None:
    """Sequences that feed one answer into the next call (links schemathesis infers from the schema: a
    created note's id into GET, PATCH, DELETE and its files), so requests reach real notes and files."""

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from an account of its own: with one shared account its notes pile up
            # across sequences, a listing grows a next-page link, and a sequence Hypothesis replays meets
            # other answers than the first time (FlakyStrategyDefinition, seen in CI).
            callers.user = callers.new_user("stateful")

        def before_call(self, case: Case[Any]) -> None:
            _assume_past_the_adapter(case)
            _assume_sam_local_serves_it(case, callers.target)
            # A key the generator reuses replays the first create's answer, by design, even once that note
            # is deleted: the link would then lead to a 404. The stateless test covers reused keys.
            for name in [name for name in case.headers or {} if name.lower() == "idempotency-key"]:
                case.headers[name] = uuid.uuid4().hex

    Workflow.run(settings=api_schema.config.get_hypothesis_settings(phase="stateful"))
