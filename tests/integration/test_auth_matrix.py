"""The auth matrix: every protected route (walked from the app) x every kind of missing, bad or borrowed
token, on both verification paths → the status, and for a refusal the one error shape, the API answers with.

The two paths, one app each for the session, on the same DynamoDB table and S3 bucket (MiniStack):
- "rs256", the production verifier (no emulator variable): tokens signed by a test key whose certificate
  the Google stand-in serves where firebase-admin fetches Google's. Revocation checks call the Admin API
  (accounts:lookup) at the real Firebase Auth emulator, which holds the users, their `disabled` flag and
  `validSince`: firebase-admin's Identity Toolkit URL is the seam, as the certificate URL is, and the
  credential is an Application Default one that refreshes at the stand-in (the emulator takes its
  `ya29.` token as a service account's).
- "emulator", the emulator verifier with real emulator users and the tokens the emulator issued them.

Each cell gets fresh records (a note, and an uploaded file where the route needs one) of the user whose
data it acts on, so a cell that is wrongly let in changes nothing another cell reads. A new route joins the
matrix by itself through the walk, and fails until PROBES says what it should answer.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from firebase_admin import _token_gen, _user_mgt

from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from infrastructure.firebase import EMULATOR_HOST_VAR
from shared.settings import Settings
from tests.support import flows
from tests.support.buckets import versions_under
from tests.support.fakes import make_settings
from tests.support.google_stand_in import claims, claims_of, google_stand_in, sign, unsigned, with_claims
from tests.support.routes import Route, protected_routes
from web import build_app

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

PathName = Literal["rs256", "emulator"]
PATHS: tuple[PathName, ...] = ("rs256", "emulator")
ROUTES = protected_routes(build_app(make_settings()))

CASES = (
    "valid",  # the baseline: the owner, an admin, with a good token; every probe succeeds
    "none",
    "malformed",
    "wrong_project",  # aud and iss of another project
    "expired",
    "tampered",  # the signature changed
    "alg_none",  # unsigned, made up by the caller
    "revoked",  # issued before the user's tokens were revoked
    "disabled",
    "other_user",  # a good token of B on A's note and file
    "non_admin",  # a good token of a user without the admin role, on their own data
)
OTHER_PROJECT = "another-project"


@dataclass(frozen=True)
class Probe:
    """A request that succeeds for the owner of the records it names, and what guards the route."""

    success: int
    needs: Literal["nothing", "note", "file"] = "nothing"  # records of the token's user it acts on
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    checks_revocation: bool = False  # CurrentUserNotRevoked: asks the Admin API
    admin_only: bool = False
    closes_account: bool = False  # succeeds by deleting its caller: each cell gets a user of its own


FILE_UPLOAD: Route = ("POST", "/notes/{note_id}/files")
PROBES: dict[Route, Probe] = {
    ("GET", "/users/me"): Probe(200),
    ("PUT", "/users/me"): Probe(200, body={"display_name": "Matrix"}),
    ("DELETE", "/users/me"): Probe(204, checks_revocation=True, closes_account=True),
    ("GET", "/users"): Probe(200, checks_revocation=True, admin_only=True),
    ("POST", "/notes"): Probe(201, body={"title": "matrix", "body": "text"}),
    ("GET", "/notes"): Probe(200),
    ("GET", "/notes/{note_id}"): Probe(200, needs="note"),
    ("PATCH", "/notes/{note_id}"): Probe(
        200, needs="note", body={"title": "changed"}, headers={"If-Match": '"1"'}
    ),
    ("DELETE", "/notes/{note_id}"): Probe(204, needs="note"),
    FILE_UPLOAD: Probe(
        201, needs="note", body={"file_name": "a.txt", "content_type": "text/plain", "size": 5}
    ),
    ("GET", "/notes/{note_id}/files"): Probe(200, needs="note"),
    ("GET", "/notes/{note_id}/files/{file_id}"): Probe(200, needs="file"),
    ("DELETE", "/notes/{note_id}/files/{file_id}"): Probe(204, needs="file"),
}


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str | None = None  # an error's code and message; None: the route's success
    message: str | None = None


UNAUTHENTICATED = Outcome(401, "unauthenticated", "invalid or missing credentials")
FORBIDDEN = Outcome(403, "forbidden", "admin role required")


def expected(path: PathName, case: str, probe: Probe) -> Outcome:
    if case in ("none", "malformed", "wrong_project"):
        return UNAUTHENTICATED
    if case == "expired":
        # On both paths: firebase-admin does not check an emulator token's expiry, the verifier does, so a
        # client that never refreshes its token fails locally as it would on AWS.
        return UNAUTHENTICATED
    if case in ("tampered", "alg_none") and path == "rs256":
        # Let in on the emulator path: there firebase-admin checks no signature (the emulator signs
        # nothing; docs/auth.md), which is why Settings refuses the emulator outside `local` and `test`.
        return UNAUTHENTICATED
    if case in ("revoked", "disabled") and probe.checks_revocation:
        # docs/auth.md, "Revocation": only account deletion and admin routes ask; the rest accept the
        # token until it expires.
        return UNAUTHENTICATED
    # Let in, as the token's user: only the baseline's is an admin.
    if probe.admin_only and case != "valid":
        return FORBIDDEN
    if case == "other_user" and probe.needs != "nothing":
        # Another user's note or file does not exist for the caller: the same 404 as a missing one.
        return Outcome(404, "not_found", f"{probe.needs} not found")
    return Outcome(probe.success)


@dataclass(frozen=True)
class Member:
    """An emulator user: its emulator-issued token, and its role claim (both paths mint from it)."""

    account: AuthUser
    role: str | None = None


@dataclass(frozen=True)
class Credentials:
    authorization: str | None  # the Authorization header, if any
    owner: Member  # whose records the request names


@dataclass
class VerificationPath:
    client: TestClient
    emulator_host: str | None

    @contextmanager
    def environment(self) -> Iterator[None]:
        """firebase-admin decides emulator or not from os.environ at each verification, not from the app:
        each request runs with the variable as its app's settings say."""
        with pytest.MonkeyPatch.context() as env:
            if self.emulator_host is None:
                env.delenv(EMULATOR_HOST_VAR, raising=False)
            else:
                env.setenv(EMULATOR_HOST_VAR, self.emulator_host)
            yield

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self.environment():
            response: httpx.Response = self.client.request(method, url, **kwargs)
        return response


@pytest.fixture(scope="module")
def paths(
    client: TestClient, settings: Settings, auth_emulator_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[PathName, VerificationPath]]:
    with google_stand_in() as google, pytest.MonkeyPatch.context() as patch:
        patch.setattr(_token_gen, "ID_TOKEN_CERT_URI", google.certificate_url)
        admin_api = f"http://{auth_emulator_host}/identitytoolkit.googleapis.com/v1"
        patch.setattr(_user_mgt.UserManager, "ID_TOOLKIT_URL", admin_api)
        credential = google.write_credential(tmp_path_factory.mktemp("google") / "credential.json")
        patch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credential))
        with pytest.MonkeyPatch.context() as building:  # the verifier's client is built with the app
            building.delenv(EMULATOR_HOST_VAR, raising=False)
            production = build_app(settings.model_copy(update={"firebase_auth_emulator_host": None}))
        with TestClient(production, raise_server_exceptions=False) as rs256_client:
            yield {
                "rs256": VerificationPath(rs256_client, emulator_host=None),
                "emulator": VerificationPath(client, emulator_host=auth_emulator_host),
            }


def _rs256_claims(settings: Settings, member: Member, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())  # not earlier: the user's validSince is its creation, and older reads as revoked
    values = {"sub": member.account.uid, "email": member.account.email, "role": member.role}
    return claims(settings.firebase_project_id, iat=now, auth_time=now, **{**values, **overrides})


def _bad_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    forged = bytes(byte ^ 0xFF for byte in jwt.utils.base64url_decode(signature)) or b"forged"
    return f"{header}.{payload}.{jwt.utils.base64url_encode(forged).decode()}"


def _token(path: PathName, case: str, member: Member, settings: Settings) -> str:
    """The token of `case` for `member`, made as that path's tokens are."""
    if path == "rs256":
        good_claims = _rs256_claims(settings, member)
        issue: Callable[[dict[str, Any]], str] = sign
    else:
        good = member.account.id_token
        good_claims = claims_of(good)
        issue = lambda changed: with_claims(good, changed)  # noqa: E731 (no signature to keep)
    if case == "tampered":
        return _bad_signature(issue(good_claims))
    if case == "alg_none":
        return unsigned(good_claims)
    changes: dict[str, dict[str, Any]] = {
        "wrong_project": {"aud": OTHER_PROJECT, "iss": f"https://securetoken.google.com/{OTHER_PROJECT}"},
        "expired": {"exp": int(time.time()) - 5},
    }
    return issue({**good_claims, **changes.get(case, {})})


def _minted(path: PathName, case: str, caller: Member, owner: Member, settings: Settings) -> Credentials:
    if case == "none":
        return Credentials(None, owner)
    if case == "malformed":
        return Credentials("Bearer not-a-token", owner)
    return Credentials(f"Bearer {_token(path, case, caller, settings)}", owner)


@dataclass
class Cast:
    """The users of the matrix and each cell's credentials, minted once per path and case: every case acts
    on the records of A (`owner`), except the baseline (an admin on their own records) and the revoked and
    disabled users (on their own); B (`other`) asks for A's."""

    settings: Settings
    auth_emulator_host: str
    sign_up: Callable[..., AuthUser]
    minted: dict[tuple[PathName, str], Credentials] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner, other, admin = self._member(), self._member(), self._member("admin")
        spoiled = {"revoked": self._member(), "disabled": self._member()}
        users = {"valid": (admin, admin), "other_user": (other, owner)}
        users.update({case: (member, member) for case, member in spoiled.items()})
        for case in CASES:
            caller, records = users.get(case, (owner, owner))
            for path in PATHS:
                self.minted[(path, case)] = _minted(path, case, caller, records, self.settings)
        for case, member in spoiled.items():
            self._spoil(case, member, *(self.minted[(path, case)] for path in PATHS))

    def credentials(self, path: PathName, case: str, probe: Probe) -> Credentials:
        if not probe.closes_account:
            return self.minted[(path, case)]
        caller = self._member("admin" if case == "valid" else None)  # a caller of that case's kind
        credentials = _minted(path, case, caller, caller, self.settings)
        self._spoil(case, caller, credentials)
        return credentials

    def _member(self, role: str | None = None) -> Member:
        return Member(self.sign_up(role), role)

    def _spoil(self, case: str, member: Member, *issued: Credentials) -> None:
        """Revokes `member`'s tokens (all of `issued` predate it) or disables `member`, as `case` says."""
        project, uid = self.settings.firebase_project_id, member.account.uid
        if case == "disabled":
            firebase_accounts.disable_user(self.auth_emulator_host, project, uid)
        elif case == "revoked":
            issued_at = [claims_of(str(each.authorization).removeprefix("Bearer "))["iat"] for each in issued]
            firebase_accounts.revoke_tokens(self.auth_emulator_host, project, uid, max(issued_at) + 1)


@pytest.fixture(scope="module")
def cast(settings: Settings, auth_emulator_host: str, sign_up: Callable[..., AuthUser]) -> Cast:
    return Cast(settings, auth_emulator_host, sign_up)


def _setup_user(member: Member, settings: Settings) -> AuthUser:
    """`member` with a good RS256 token: records are made through the production path, which every
    member passes on routes that do not check revocation."""
    return AuthUser(member.account.uid, member.account.email, sign(_rs256_claims(settings, member)), "")


@dataclass(frozen=True)
class Records:
    url: str  # the probe's path with the ids of the owner's records
    owner: AuthUser | None = None  # None: the probe names no records
    views: tuple[str, ...] = ()  # what the owner reads of them: the note, and its files


def _records(
    route: Route, probe: Probe, owner: Member, setup: VerificationPath, settings: Settings
) -> Records:
    """Fresh records of `owner` for one cell: a note, and a file uploaded to S3 when the probe names one."""
    if probe.needs == "nothing":
        return Records(route[1])
    user = _setup_user(owner, settings)
    with setup.environment():
        note_id = flows.create_note(setup.client, user)["id"]
        file_id = "none"
        if probe.needs == "file":
            ticket = flows.start_upload(setup.client, user, note_id, "text/plain", 5)
            assert ticket.status_code == 201, ticket.text
            assert flows.upload(ticket.json(), b"hello", "text/plain").status_code in flows.UPLOAD_ACCEPTED
            file_id = ticket.json()["file"]["id"]
    views = (f"/notes/{note_id}", f"/notes/{note_id}/files")
    return Records(route[1].format(note_id=note_id, file_id=file_id), user, views)


def _read(records: Records, setup: VerificationPath) -> list[Any]:
    assert records.owner is not None
    answers = [setup.request("GET", view, headers=flows.bearer(records.owner)) for view in records.views]
    assert [answer.status_code for answer in answers] == [200] * len(answers)
    return [answer.json() for answer in answers]


def _assert_answer(response: httpx.Response, outcome: Outcome) -> None:
    assert response.status_code == outcome.status, response.text
    if outcome.code is None:
        assert response.status_code < 300
        return
    error = {"code": outcome.code, "message": outcome.message, "request_id": response.headers["x-request-id"]}
    assert response.json() == {"error": error}
    challenge = "Bearer" if outcome.status == 401 else None
    assert response.headers.get("www-authenticate") == challenge


def _id(value: object) -> str:
    return " ".join(value) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("route", ROUTES, ids=_id)
@pytest.mark.parametrize("path", PATHS)
def test_auth_matrix(
    path: PathName,
    route: Route,
    case: str,
    paths: dict[PathName, VerificationPath],
    cast: Cast,
    settings: Settings,
) -> None:
    probe = PROBES.get(route)
    if probe is None:
        pytest.fail(f"{_id(route)} has no expected outcome: add its probe to PROBES")
    credentials = cast.credentials(path, case, probe)
    setup = paths["rs256"]
    records = _records(route, probe, credentials.owner, setup, settings)
    seen_by_owner = _read(records, setup) if case == "other_user" and records.owner else None
    authorization = {"Authorization": credentials.authorization} if credentials.authorization else {}

    response = paths[path].request(
        route[0], records.url, json=probe.body, headers={**probe.headers, **authorization}
    )

    _assert_answer(response, expected(path, case, probe))
    if seen_by_owner is not None:
        assert _read(records, setup) == seen_by_owner, "another user's request changed the owner's records"


@pytest.mark.parametrize("path", PATHS)
def test_a_deleted_accounts_token_is_refused_on_every_route_and_brings_nothing_back(
    path: PathName,
    paths: dict[PathName, VerificationPath],
    settings: Settings,
    sign_up: Callable[..., AuthUser],
    dynamodb: "DynamoDBClient",
    s3: "S3Client",
) -> None:
    """Finding 1 of the second review: after DELETE /users/me the same token, which Firebase accepts until
    it expires (up to an hour), got 200 on GET /users/me (the profile made again), 201 on POST /notes and
    an upload ticket. Now every route answers 401, and the account's partition and S3 prefix stay empty."""
    owner = Member(sign_up())
    app = paths[path]
    authorization = {"Authorization": str(_minted(path, "valid", owner, owner, settings).authorization)}
    app.request("GET", "/users/me", headers=authorization).raise_for_status()
    note_id = app.request("POST", "/notes", json={"title": "mine"}, headers=authorization).json()["id"]
    ticket = app.request(
        "POST", f"/notes/{note_id}/files", json=PROBES[FILE_UPLOAD].body, headers=authorization
    )
    assert flows.upload(ticket.json(), b"hello", "text/plain").status_code in flows.UPLOAD_ACCEPTED
    assert app.request("DELETE", "/users/me", headers=authorization).status_code == 204

    for route in ROUTES:
        probe = PROBES[route]
        url = route[1].format(note_id=note_id, file_id=ticket.json()["file"]["id"])
        response = app.request(route[0], url, json=probe.body, headers={**probe.headers, **authorization})
        _assert_answer(response, UNAUTHENTICATED)

    uid = owner.account.uid
    partition = dynamodb.query(
        TableName=settings.dynamodb_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{uid}"}},
        ConsistentRead=True,
    )
    assert partition["Items"] == []
    assert versions_under(s3, settings.s3_bucket, f"users/{uid}/") == []


def test_every_probe_is_a_route_of_the_app() -> None:
    """A route removed or renamed leaves its probe behind: the table must follow the app."""
    assert set(PROBES) == set(ROUTES)
