"""Issue 17 finding 6, through the whole chain: a path that names another path never reaches that path's
route. Before the fix, HTTP API's decoding and the Web Adapter's URL parser turned these into /users and
/health: past the route the gateway matched, its throttle (and any authorizer the route had)."""

from __future__ import annotations

import httpx
import pytest

from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer

pytestmark = pytest.mark.e2e


def test_notes_dot_dot_users_does_not_reach_the_user_directory(api: httpx.Client, new_user: AuthUser) -> None:
    # GET /users answers a user without the admin role 403: that answer would mean the request got there.
    assert api.get("/users", headers=bearer(new_user)).status_code == 403
    response = api.get("/notes/..%2F..%2Fusers", headers=bearer(new_user))
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("path", ["/x/..%2Fhealth", "/x/..%5Chealth", "/x/%2e%2e/health"])
def test_a_path_that_resolves_to_health_does_not_get_its_answer(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404, response.text
    assert "healthy" not in response.text
