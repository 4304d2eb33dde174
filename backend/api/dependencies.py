from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.services import Services
from domain.entities import Principal
from domain.errors import AccountDeleted, AuthenticationFailed
from domain.idempotency import IDEMPOTENCY_KEY_PATTERN, KEY_RETENTION
from shared.settings import Settings


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# auto_error=False: a missing token must produce our 401 (with WWW-Authenticate), not FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, description="Firebase ID token")

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
ServicesDep = Annotated[Services, Depends(get_services)]


def _verified(
    credentials: HTTPAuthorizationCredentials | None, services: Services, *, check_revoked: bool
) -> Principal:
    if credentials is None:
        raise AuthenticationFailed("invalid or missing credentials")
    return services.token_verifier.verify(credentials.credentials, check_revoked=check_revoked)


def _not_deleted(caller: Principal, services: Services) -> Principal:
    """A deleted account's tokens verify until they expire (an hour): refused here, on every route. One
    consistent read of the table, not Firebase's revocation round trip."""
    if services.deleted_accounts.is_deleted(caller.uid):
        raise AccountDeleted
    return caller


def authenticated(credentials: BearerCredentials, services: ServicesDep) -> Principal:
    return _not_deleted(_verified(credentials, services, check_revoked=False), services)


def authenticated_not_revoked(credentials: BearerCredentials, services: ServicesDep) -> Principal:
    """Also asks Firebase whether the token was revoked or the user disabled (one HTTP round trip)."""
    return _not_deleted(_verified(credentials, services, check_revoked=True), services)


def account_holder(credentials: BearerCredentials, services: ServicesDep) -> Principal:
    """For DELETE /users/me only: Firebase says whether the account is still there, not the deletion mark,
    so a deletion that failed halfway (its mark written, the Firebase user not yet deleted) can run again."""
    return _verified(credentials, services, check_revoked=True)


CurrentUser = Annotated[Principal, Depends(authenticated)]
CurrentUserNotRevoked = Annotated[Principal, Depends(authenticated_not_revoked)]
AccountHolder = Annotated[Principal, Depends(account_holder)]
PageLimitQuery = Annotated[int, Query(ge=1, le=100, description="page size")]
CursorQuery = Annotated[
    str | None, Query(max_length=2048, description="next_cursor of the previous page, as returned")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=(
            "Optional; 1-128 of A-Z a-z 0-9 _ - (e.g. a UUID), chosen by the client per create. Sending the "
            "same key again with the same request returns the first answer (same status and body) and "
            "creates nothing; with a different request it is refused (422 idempotency_key_reused). Keys "
            f"are per user and remembered for {KEY_RETENTION.total_seconds() / 3600:g} hours."
        ),
    ),
]
