"""50 writers PATCH one note at once through the real app (uvicorn, real sockets) on MiniStack's DynamoDB.

Each writer reads the note, then all send their PATCH with the ETag they read; the gate lets the 50 PATCHes
into the app together, so they are in flight at once. A loser (412) reads again and retries until its
text lands. Per round: exactly one winner per version, every refusal a 412 in the API's error shape, and no
lost update: the 50 texts each won a version, the versions are consecutive, the final note is the last
winner's."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from threading import Barrier

import httpx
import pytest

from api.schemas import ErrorResponse
from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer, create_note
from tests.support.gate import Gate

pytestmark = pytest.mark.integration

WRITERS = 50
ROUNDS = 3
MAX_TRIES = 10 * WRITERS  # per writer: far above the worst case (it loses to every other writer once)


@dataclass
class Writer:
    text: str
    first_try: int = 0  # status of the PATCH sent with the version read before the start
    won: int | None = None  # the version this writer's text became
    refusals: list[httpx.Response] = field(default_factory=list)


def _current_etag(client: httpx.Client, user: AuthUser, note_id: str) -> str:
    response = client.get(f"/notes/{note_id}", headers=bearer(user))
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def _write(base_url: str, user: AuthUser, note_id: str, writer: Writer, start: Barrier) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        etag = _current_etag(client, user, note_id)
        start.wait()  # every writer has read the same version
        for _ in range(MAX_TRIES):
            response = client.patch(
                f"/notes/{note_id}", json={"body": writer.text}, headers={**bearer(user), "If-Match": etag}
            )
            writer.first_try = writer.first_try or response.status_code
            if response.status_code == 200:
                writer.won = response.json()["version"]
                assert response.json()["body"] == writer.text
                assert response.headers["ETag"] == f'"{writer.won}"'
                return
            writer.refusals.append(response)
            etag = _current_etag(client, user, note_id)


def _is_precondition_failed(response: httpx.Response) -> bool:
    if response.status_code != 412:
        return False
    error = ErrorResponse.model_validate(response.json()).error
    return error.code == "precondition_failed" and error.request_id == response.headers["x-request-id"]


def test_concurrent_patches_have_one_winner_per_version_and_lose_no_update(
    served_app: tuple[str, Gate], client: httpx.Client, sign_up: Callable[[], AuthUser]
) -> None:
    base_url, gate = served_app
    user = sign_up()
    started = time.monotonic()
    patches = 0
    for round_number in range(ROUNDS):
        note = create_note(client, user)
        writers = [Writer(f"round {round_number}, writer {index}") for index in range(WRITERS)]
        start = Barrier(WRITERS)
        gate.arm("PATCH", WRITERS)
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for done in [pool.submit(_write, base_url, user, note["id"], w, start) for w in writers]:
                done.result()

        assert not gate.timed_out, "the first PATCHes did not all reach the app together"
        first_tries = sorted(writer.first_try for writer in writers)
        assert first_tries == [200] + [412] * (WRITERS - 1)  # one version read, one winner
        refusals = [response for writer in writers for response in writer.refusals]
        assert all(_is_precondition_failed(response) for response in refusals)
        won = {writer.won: writer.text for writer in writers if writer.won is not None}
        # Every writer won a version (none ran out of tries) and no two the same one: versions 2..51.
        assert sorted(won) == list(range(note["version"] + 1, note["version"] + WRITERS + 1))
        final = client.get(f"/notes/{note['id']}", headers=bearer(user)).json()
        assert (final["version"], final["body"]) == (max(won), won[max(won)])
        patches += WRITERS + len(refusals)
    elapsed = time.monotonic() - started
    print(f"{ROUNDS} rounds x {WRITERS} writers: {patches} PATCHes, {ROUNDS * WRITERS} won, {elapsed:.1f} s")
