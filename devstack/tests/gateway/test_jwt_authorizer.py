"""The auth matrix at the gateway: every route of template.yml x every kind of missing, bad or borrowed token.
A refused request is HTTP API's 401 `{"message":"Unauthorized"}` with its www-authenticate header, and the
function is not invoked; an accepted one carries the token's claims in `requestContext.authorizer.jwt`, as
strings, as HTTP API hands them over. Signatures are checked against the issuer's keys served on 127.0.0.1
(OIDC discovery, then the jwks_uri); the Firebase Auth emulator's unsigned tokens pass only on the local
stack, for its demo project. The template without its authorizer shows the invocation count can move."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack import config
from devstack.apigw.api_config import ApiConfig
from devstack.apigw.authorizer import REFETCH_COOLDOWN_S, IssuerKeys, Refused, flatten
from devstack.apigw.gateway import Gateway
from devstack.apigw.routes import Route
from devstack.lambdafn.pool import EnvironmentPool
from devstack.lambdafn.runtime import INVOKE_PATH
from devstack.paths import TEMPLATE
from devstack.stack.model import local_stack, read_stack
from devstack.stack.template import load
from devstack.supervision import ServerThread, free_port

from .gateway_fakes import FakeRie, KeyServer, forge, unsigned

RieFixture = tuple[FakeRie, ServerThread]
FACTS = config.load()
PROJECT = FACTS.firebase.project_id
ISSUER = f"https://securetoken.google.com/{PROJECT}"
OTHER_PROJECT = "another-project"


def claims(project: str = PROJECT, **overrides: Any) -> dict[str, Any]:
    """A Firebase ID token's claims, valid for the next hour."""
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now - 10,
        "user_id": "user-123",
        "sub": "user-123",
        "iat": now - 10,
        "exp": now + 3600,
        "email": "user@example.com",
        "email_verified": False,
        "role": "admin",
        "firebase": {"identities": {"email": ["user@example.com"]}, "sign_in_provider": "password"},
    }
    values.update(overrides)
    return values


def _tampered(token: str) -> str:
    """The token's header and signature around other claims."""
    header, _, signature = token.split(".")
    return ".".join([header, unsigned(claims(role="owner")).split(".")[1], signature])


def refused_tokens(keys: KeyServer) -> dict[str, str | None]:
    """Every token the authorizer must refuse (None: no Authorization header)."""
    other_key = KeyServer(kids=("key-1",)).keys["key-1"]
    now = int(time.time())
    return {
        "none": None,
        "bearer_alone": "Bearer",
        "malformed": "Bearer not-a-jwt",
        "wrong_project": "Bearer " + keys.sign(claims(OTHER_PROJECT)),
        "wrong_issuer": "Bearer " + keys.sign(claims(iss=f"https://securetoken.google.com/{OTHER_PROJECT}")),
        "wrong_audience": "Bearer " + keys.sign(claims(aud=OTHER_PROJECT)),
        "audience_not_a_string": "Bearer " + keys.sign(claims(aud=[{"project": PROJECT}])),
        "no_exp": "Bearer " + keys.sign({k: v for k, v in claims().items() if k != "exp"}),
        "expired": "Bearer " + keys.sign(claims(iat=now - 7200, exp=now - 1)),
        "not_yet_valid": "Bearer " + keys.sign(claims(nbf=now + 600)),
        "issued_in_the_future": "Bearer " + keys.sign(claims(iat=now + 600)),
        "tampered": "Bearer " + _tampered(keys.sign(claims())),
        "other_key": "Bearer " + keys.sign(claims(), key=other_key),
        "unknown_kid": "Bearer " + keys.sign(claims(), kid="key-9", key=other_key),
        "alg_other_than_the_issuers": "Bearer " + keys.sign(claims(), alg="RS512"),
        "alg_hs256": "Bearer " + forge({"alg": "HS256", "kid": "key-1"}, claims(), b"x" * 32),
        "unsigned_of_another_project": "Bearer " + unsigned(claims(OTHER_PROJECT)),
        "unsigned_expired": "Bearer " + unsigned(claims(iat=now - 7200, exp=now - 1)),
    }


def probe_path(route: Route) -> str:
    """A request path the route matches (a greedy variable gets two segments)."""
    segments = [
        "notes/1" if part.endswith("+}") else "x" if part.startswith("{") else part
        for part in route.key.split(" ", 1)[1].split("/")
    ]
    return "/".join(segments) or "/"


def method_of(route: Route) -> str:
    return "GET" if route.method == "ANY" else route.method


@pytest.fixture(scope="module")
def keys() -> Iterator[KeyServer]:
    with KeyServer() as server:
        yield server


def _gateway(api: ApiConfig, rie_server: ServerThread, keys: KeyServer) -> ServerThread:
    issuer_keys = IssuerKeys(locate=lambda issuer: keys.discovery_url)
    return ServerThread(
        Gateway(
            EnvironmentPool.of_running_rie(rie_server.url + INVOKE_PATH), api=api, issuer_keys=issuer_keys
        )
    )


@pytest.fixture(scope="module")
def local_api(fake_rie: RieFixture, keys: KeyServer) -> Iterator[tuple[ApiConfig, str]]:
    """template.yml's API as `make dev` and compose play it."""
    api = local_stack(FACTS).api
    with _gateway(api, fake_rie[1], keys) as gateway:
        yield api, gateway.url


GUARDED = [route for route in local_stack(FACTS).api.routes if route.authorizer is not None]
PUBLIC = [route for route in local_stack(FACTS).api.routes if route.authorizer is None]


def test_the_template_guards_every_route_but_the_public_ones() -> None:
    assert {route.key for route in GUARDED} == {"ANY /{proxy+}", "ANY /"}
    assert {route.key for route in PUBLIC} == {
        "GET /health",
        "GET /docs",
        "GET /docs/oauth2-redirect",
        "GET /redoc",
        "GET /openapi.json",
    }


@pytest.mark.parametrize("route", GUARDED, ids=lambda route: route.key)
@pytest.mark.parametrize("case", list(refused_tokens(KeyServer())))
def test_a_refused_token_is_the_gateways_401_and_invokes_nothing(
    local_api: tuple[ApiConfig, str], fake_rie: RieFixture, keys: KeyServer, route: Route, case: str
) -> None:
    rie, _ = fake_rie
    _, url = local_api
    token = refused_tokens(keys)[case]
    before = rie.invocations
    response = httpx.request(
        method_of(route), url + probe_path(route), headers={} if token is None else {"Authorization": token}
    )
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["www-authenticate"].startswith(
        'Bearer scope="" error="invalid_token" error_description='
    )
    assert response.headers["apigw-requestid"]
    assert rie.invocations == before


@pytest.mark.parametrize("route", GUARDED, ids=lambda route: route.key)
@pytest.mark.parametrize("kind", ["rs256", "rs256_no_bearer_prefix", "emulator"])
def test_a_valid_token_reaches_the_function_with_its_claims(
    local_api: tuple[ApiConfig, str], fake_rie: RieFixture, keys: KeyServer, route: Route, kind: str
) -> None:
    rie, _ = fake_rie
    _, url = local_api
    token_claims = claims()
    token = unsigned(token_claims) if kind == "emulator" else keys.sign(token_claims)
    header = token if kind == "rs256_no_bearer_prefix" else f"Bearer {token}"  # gitleaks:allow
    response = httpx.request(method_of(route), url + probe_path(route), headers={"Authorization": header})
    assert response.status_code == 200, response.text
    event = rie.events[response.headers["apigw-requestid"]]
    assert event["requestContext"]["authorizer"] == {
        "jwt": {"claims": {name: flatten(value) for name, value in token_claims.items()}, "scopes": None}
    }
    assert event["headers"]["authorization"] == header  # passed on: the app verifies it again


def test_claims_are_flattened_to_strings_as_http_api_does() -> None:
    """As captured from HTTP API events of Firebase tokens (docs/gateway.md cites them)."""
    assert flatten(1635018939) == "1635018939"
    assert flatten(True) == "true"
    assert flatten(["USERS", "ADMINS"]) == "[USERS ADMINS]"
    assert flatten({"sign_in_provider": "password", "identities": {"email": ["a@b.c"]}}) == (
        "map[identities:map[email:[a@b.c]] sign_in_provider:password]"
    )


@pytest.mark.parametrize("route", PUBLIC, ids=lambda route: route.key)
def test_public_routes_need_no_token(
    local_api: tuple[ApiConfig, str], fake_rie: RieFixture, route: Route
) -> None:
    rie, _ = fake_rie
    _, url = local_api
    response = httpx.get(url + probe_path(route))
    assert response.status_code == 200
    assert "authorizer" not in rie.events[response.headers["apigw-requestid"]]["requestContext"]


def test_a_cors_preflight_is_answered_without_a_token(
    local_api: tuple[ApiConfig, str], fake_rie: RieFixture
) -> None:
    rie, _ = fake_rie
    _, url = local_api
    before = rie.invocations
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,if-match",
    }
    response = httpx.options(url + "/notes/1", headers=preflight)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert rie.invocations == before


def test_the_keys_are_fetched_once_not_per_request(local_api: tuple[ApiConfig, str], keys: KeyServer) -> None:
    _, url = local_api
    token = keys.sign(claims())
    httpx.get(url + "/notes", headers={"Authorization": f"Bearer {token}"})
    fetched = keys.fetches
    for _ in range(3):
        assert httpx.get(url + "/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert keys.fetches == fetched


def test_unknown_kids_in_every_request_do_not_fetch_the_keys_per_request(
    local_api: tuple[ApiConfig, str], keys: KeyServer
) -> None:
    """A `kid` not among the keys fetches them again, once per cooldown: a flood of made-up `kid`s is no
    flood of fetches to the issuer."""
    _, url = local_api
    fetched = keys.fetches
    for number in range(5):
        token = keys.sign(claims(), kid=f"made-up-{number}", key=keys.keys["key-1"])
        assert httpx.get(url + "/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert keys.fetches - fetched <= 1


def test_an_issuer_that_does_not_answer_is_asked_once_per_cooldown_and_shared() -> None:
    """Concurrent first requests share one fetch; after it failed, requests are refused without fetching
    again until the cooldown has passed."""
    asked: list[str] = []
    now = [0.0]

    def locate(issuer: str) -> str:
        asked.append(issuer)
        return f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"  # nothing listens

    issuer_keys = IssuerKeys(locate=locate, clock=lambda: now[0])

    async def five_requests() -> list[BaseException | tuple[object, str | None]]:
        return await asyncio.gather(
            *(issuer_keys.key(ISSUER, "key-1") for _ in range(5)), return_exceptions=True
        )

    assert all(isinstance(answer, Refused) for answer in asyncio.run(five_requests()))
    assert len(asked) == 1
    now[0] += REFETCH_COOLDOWN_S / 2
    assert all(isinstance(answer, Refused) for answer in asyncio.run(five_requests()))
    assert len(asked) == 1
    now[0] += REFETCH_COOLDOWN_S
    asyncio.run(five_requests())
    assert len(asked) == 2


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_deployed_stack_refuses_the_emulators_tokens(
    fake_rie: RieFixture, keys: KeyServer, env: str
) -> None:
    """The deployed environments' API (their own Firebase project): an unsigned token of that very project,
    valid in every claim, is refused: nothing the local emulator issues gets through there."""
    rie, rie_server = fake_rie
    api = read_stack(env, region=FACTS.aws.region).api
    assert api.emulator_issuer is None
    ((authorizer),) = api.authorizers.values()
    project = authorizer.audience[0]
    with _gateway(api, rie_server, keys) as gateway:
        before = rie.invocations
        forged = unsigned(claims(project))
        response = httpx.get(gateway.url + "/notes", headers={"Authorization": f"Bearer {forged}"})
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert rie.invocations == before


def test_only_a_demo_project_lets_emulator_tokens_through() -> None:
    """A local stack pointed at a real project (not `demo-`) accepts no unsigned token either."""
    real = replace(FACTS, firebase=replace(FACTS.firebase, project_id="my-real-project"))
    assert local_stack(real).api.emulator_issuer is None
    assert local_stack(FACTS).api.emulator_issuer == ISSUER


def _without_authorizer(tmp_path: Path) -> Path:
    """template.yml as it was before the authorizer: no Auth on the HttpApi nor on its routes."""
    document = load(TEMPLATE)
    for resource in document["Resources"].values():
        resource.get("Properties", {}).pop("Auth", None)
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            event.get("Properties", {}).pop("Auth", None)
    path = tmp_path / "template.yml"
    path.write_text(json.dumps(document))
    return path


def _unauthenticated_invocations(api: ApiConfig, rie: RieFixture, keys: KeyServer, requests: int) -> int:
    """How many times `requests` requests without a token to a protected path invoke the function."""
    with _gateway(api, rie[1], keys) as gateway:
        before = rie[0].invocations
        with httpx.Client() as client:
            for _ in range(requests):
                client.get(gateway.url + "/notes")
        return rie[0].invocations - before


def test_unauthenticated_requests_never_invoke_the_function(
    fake_rie: RieFixture, keys: KeyServer, tmp_path: Path
) -> None:
    """...and the same count without the authorizer is every request: the count can fail."""
    assert _unauthenticated_invocations(local_stack(FACTS).api, fake_rie, keys, 20) == 0
    old = local_stack(FACTS, template_path=_without_authorizer(tmp_path)).api
    assert not old.authorizers
    assert _unauthenticated_invocations(old, fake_rie, keys, 20) == 20


def test_the_start_up_listing_names_the_authorizer() -> None:
    """What `make dev`, `devstack gateway` and compose's gateway print first (api_config.show_emulation)."""
    lines = local_stack(FACTS).api.emulated()
    assert "routes ANY /{proxy+}, ANY /: JWT authorizer FirebaseIdToken" in lines
    assert (
        f"JWT authorizer FirebaseIdToken: issuer {ISSUER}, audience {PROJECT}, token from the authorization "
        "header, the Auth emulator's unsigned tokens accepted"
    ) in lines
    deployed = read_stack("prod", region=FACTS.aws.region).api.emulated()
    assert not any("unsigned" in line for line in deployed)
