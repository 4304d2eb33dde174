"""User steps against the API over any httpx client (TestClient in-process, or a real URL)."""

from collections.abc import Mapping
from typing import Any

import httpx

from devstack.emulators.firebase_accounts import AuthUser

UPLOAD_ACCEPTED = {200, 201, 204}


def bearer(user: AuthUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.id_token}"}


def create_note(client: httpx.Client, user: AuthUser, title: str = "note") -> dict[str, Any]:
    response = client.post("/notes", json={"title": title, "body": "text"}, headers=bearer(user))
    assert response.status_code == 201, response.text
    note: dict[str, Any] = response.json()
    return note


def start_upload(
    client: httpx.Client, user: AuthUser, note_id: str, content_type: str, size: int
) -> httpx.Response:
    return client.post(
        f"/notes/{note_id}/files",
        json={"file_name": "report final.txt", "content_type": content_type, "size": size},
        headers=bearer(user),
    )


def upload(ticket: dict[str, Any], content: bytes, content_type: str) -> httpx.Response:
    """post_upload with a ticket as the API returns it."""
    return post_upload(ticket["upload"]["url"], ticket["upload"]["fields"], content, content_type)


def post_upload(url: str, fields: Mapping[str, str], content: bytes, content_type: str) -> httpx.Response:
    """The browser's side of a presigned POST: the policy fields, then the file, straight to S3."""
    form = {**fields, "Content-Type": content_type}
    return httpx.post(url, data=form, files={"file": ("ignored", content)}, timeout=10)


def collect_pages(client: httpx.Client, path: str, user: AuthUser, limit: int) -> list[dict[str, Any]]:
    """Follow next_cursor to the end, checking every page respects the limit."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params, headers=bearer(user))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
