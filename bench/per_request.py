"""Per request, in-process, with the app built by backend/web.py against the running emulators (as
tests/integration/conftest.py builds it): what verifying a token costs, with and without the revocation
check, and how many DynamoDB calls each endpoint makes (botocore `before-call` events on the app's client)."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from bench.measure import Row, median, rounds
from bootstrap import build_services
from devstack import config
from devstack.emulators import firebase_accounts
from devstack.environment import Endpoints, RunningEnvironment
from infrastructure.aws import dynamodb_client
from shared.settings import Settings
from web import build_app

GROUP = "per request"


@contextmanager
def emulator_environment(facts: config.LocalFacts, endpoints: Endpoints) -> Iterator[None]:
    """The app's boto3 clients read credentials and region from the environment, as on Lambda."""
    saved = dict(os.environ)
    os.environ.update(facts.aws.client_environment(endpoints.aws))
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_for(facts: config.LocalFacts, endpoints: Endpoints) -> Settings:
    return Settings(
        environment="test",
        log_level="WARNING",
        dynamodb_table=endpoints.table,
        s3_bucket=endpoints.bucket,
        firebase_project_id=endpoints.project_id,
        aws_endpoint_url=endpoints.aws,
        aws_region=facts.aws.region,
        firebase_auth_emulator_host=endpoints.firebase_auth_host,
    )


def auth_rows(settings: Settings, token: str) -> list[Row]:
    """Median µs per authentication, interleaved in blocks: verify only; verify + Firebase's revocation
    check (what DELETE /users/me and GET /users pay); verify + the deleted-account check every route pays
    (api/dependencies.py: one consistent GetItem, here on MiniStack)."""
    services = build_services(settings)
    verifier, deleted_accounts = services.token_verifier, services.deleted_accounts

    def verify_only() -> None:
        verifier.verify(token, check_revoked=False)

    def revocation_check() -> None:
        verifier.verify(token, check_revoked=True)

    def deleted_account_check() -> None:
        deleted_accounts.is_deleted(verifier.verify(token, check_revoked=False).uid)

    ways = ((verify_only, 200), (revocation_check, 20), (deleted_account_check, 50))
    for way, _ in ways:
        way()  # the first call builds the clients; not a per-request cost
    samples: dict[str, list[float]] = {way.__name__: [] for way, _ in ways}
    for _ in range(rounds(5, 2)):
        for way, calls in ways:
            began = time.perf_counter()
            for _ in range(calls):
                way()
            samples[way.__name__].append((time.perf_counter() - began) / calls * 1e6)
    verify = median(samples["verify_only"])
    unsigned = "emulator tokens are unsigned: no RS256 signature check in 'verify only' (not measured)"
    return [
        Row(
            GROUP,
            "verify an emulator ID token + revocation check",
            median(samples["revocation_check"]),
            "µs",
            verify,
            "verify only",
            note=unsigned,
        ),
        Row(
            GROUP,
            "verify an emulator ID token + deleted-account check (every route)",
            median(samples["deleted_account_check"]),
            "µs",
            verify,
            "verify only",
            note=(
                "one consistent GetItem of the deletion mark (MiniStack); both round trips stay on loopback "
                "here, while on AWS the revocation call goes to Google and the GetItem to DynamoDB in-region"
            ),
        ),
    ]


def dynamodb_rows(settings: Settings, token: str) -> list[Row]:
    calls: Counter[str] = Counter()

    def count(**event: Any) -> None:
        calls[event["model"].name] += 1

    # The app's client (dynamodb_client is cached per region and endpoint): its events are the app's calls.
    dynamodb_client(settings.aws_region, settings.aws_endpoint_url).meta.events.register(
        "before-call.dynamodb", count
    )
    rows: list[Row] = []
    with TestClient(build_app(settings)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        client.get("/users/me", headers=auth).raise_for_status()  # the first call creates the profile
        for number in range(3):
            client.post("/notes", json={"title": f"note {number}"}, headers=auth).raise_for_status()

        def measured(method: str, path: str, **kwargs: Any) -> Any:
            calls.clear()
            response = client.request(method, path, headers={**auth, **kwargs.pop("headers", {})}, **kwargs)
            response.raise_for_status()
            made = sum(calls.values())
            summary = ", ".join(f"{name} {n}" for name, n in sorted(calls.items())) or "none"
            is_list = (method, path) == ("GET", "/notes")
            rows.append(
                Row(
                    GROUP,
                    f"DynamoDB calls: {method} {path.replace(note_id, '{id}') if note_id else path}",
                    made,
                    "calls",
                    1 if is_list else None,
                    "one Query" if is_list else "",
                    note=summary,
                )
            )
            return response

        note_id = ""
        created = measured("POST", "/notes", json={"title": "measured"})
        note_id = created.json()["id"]
        measured("GET", "/notes")
        measured("GET", f"/notes/{note_id}")
        etag = measured("GET", f"/notes/{note_id}").headers["ETag"]
        rows.pop()
        measured("PATCH", f"/notes/{note_id}", json={"title": "changed"}, headers={"If-Match": etag})
        measured("GET", f"/notes/{note_id}/files")
        measured("DELETE", f"/notes/{note_id}")
        measured("GET", "/users/me")
    return rows


def run(environment: RunningEnvironment) -> list[Row]:
    endpoints = environment.endpoints
    facts = config.load()
    with emulator_environment(facts, endpoints):
        settings = settings_for(facts, endpoints)
        user = firebase_accounts.sign_up(
            endpoints.firebase_auth_host, f"bench-{uuid.uuid4().hex[:8]}@example.com"
        )
        return auth_rows(settings, user.id_token) + dynamodb_rows(settings, user.id_token)
