"""The same requests through the Lambda chain and straight to uvicorn must look the same to a client.

Differences here are Lambda bugs a developer would otherwise meet only on AWS: bodies mangled by base64,
headers dropped or merged, paths and query strings re-encoded, status codes rewritten.
"""

from __future__ import annotations

import httpx
import pytest

from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer, create_note
from tests.support.probes import PROBES, Probe, assert_alike, send
from tests.support.routes import PUBLIC_PATHS
from tests.support.target import Target, is_utf8, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e


def refused_at_the_edge(probe: Probe) -> bool:
    """Without a token, only the public routes (GET on the app's public paths: template.yml's
    `Authorizer: NONE`) get past the API's JWT authorizer to the function."""
    return not probe.authenticated and not (probe.method == "GET" and probe.path in PUBLIC_PATHS)


@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_chain_and_direct_answer_alike(
    probe: Probe, api: httpx.Client, direct: httpx.Client, new_user: AuthUser, target: Target
) -> None:
    """...but where the API's authorizer answers before the function: there the chain gives HTTP API's 401."""
    if probe.method == "HEAD":
        skip_where_sam_local_differs(target, "HEAD")
    if probe.content is not None and not is_utf8(probe.content):
        skip_where_sam_local_differs(target, "non-UTF-8 body")
    chained = send(api, probe, new_user)
    if refused_at_the_edge(probe):
        skip_where_sam_local_differs(target, "JWT authorizer")
        assert chained.status_code == 401
        assert chained.headers["www-authenticate"].startswith("Bearer ")
        assert probe.method == "HEAD" or chained.json() == {"message": "Unauthorized"}
    else:
        assert_alike(chained, send(direct, probe, new_user))


def test_listing_is_identical(api: httpx.Client, direct: httpx.Client, new_user: AuthUser) -> None:
    for index in range(3):
        create_note(api, new_user, f"parity {index}")
    pages = [client.get("/notes", params={"limit": 2}, headers=bearer(new_user)) for client in (api, direct)]
    assert pages[0].json() == pages[1].json()
