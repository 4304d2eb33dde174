"""Auth at the edge, through the whole chain (`make dev`, or compose with BASE_URL): the gateway plays
template.yml's JWT authorizer. A request without a token, with an emulator token of another project or an
expired one is HTTP API's 401, whose `error="invalid_token"` challenge the app never sends, and invokes
nothing; a valid emulator token and GET /health get through. The invocation count (the gateway's own) is
checked where the suite started the chain itself: compose's healthcheck invokes GET /health every second."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from devstack.apigw.gateway import HEALTH_PATH
from devstack.emulators.firebase_accounts import AuthUser
from tests.support.flows import bearer
from tests.support.google_stand_in import claims_of, unsigned
from tests.support.target import Target, skip_where_sam_local_differs

pytestmark = pytest.mark.e2e


def invocations(api: httpx.Client, target: Target) -> int | None:
    """The gateway's invocation count, where nothing but the tests invokes (None: a BASE_URL target)."""
    if target.logs is None:
        return None
    count: int = api.get(HEALTH_PATH).json()["invocations"]
    return count


def _token(user: AuthUser, **changes: Any) -> dict[str, str]:
    """The user's emulator token with other claims: unsigned, as the emulator issues them."""
    return {"Authorization": f"Bearer {unsigned({**claims_of(user.id_token), **changes})}"}


@pytest.mark.parametrize("case", ["none", "another_project", "expired"])
def test_a_refused_token_never_reaches_the_function(
    api: httpx.Client, target: Target, new_user: AuthUser, case: str
) -> None:
    now = int(time.time())
    headers = {
        "none": {},
        "another_project": _token(
            new_user, iss="https://securetoken.google.com/demo-another", aud="demo-another"
        ),
        "expired": _token(new_user, iat=now - 7200, exp=now - 3600),
    }[case]
    skip_where_sam_local_differs(target, "JWT authorizer")
    before = invocations(api, target)
    response = api.get("/users/me", headers=headers)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert invocations(api, target) == before


def test_a_valid_emulator_token_and_the_health_check_get_through(
    api: httpx.Client, target: Target, new_user: AuthUser
) -> None:
    before = invocations(api, target)
    assert api.get("/users/me", headers=bearer(new_user)).status_code == 200
    assert api.get("/health").status_code == 200
    if before is not None:
        assert invocations(api, target) == before + 2
