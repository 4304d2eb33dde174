from fastapi import APIRouter, Response, status

from api.dependencies import (
    AccountHolder,
    CurrentUser,
    CurrentUserNotRevoked,
    CursorQuery,
    PageLimitQuery,
    ServicesDep,
)
from api.errors import error_responses
from api.schemas import ProfilePage, ProfileResponse, ProfileUpdate

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(401, 422, 503))


@router.get("/me")
def get_my_profile(caller: CurrentUser, services: ServicesDep) -> ProfileResponse:
    return ProfileResponse.model_validate(services.users.get_my_profile(caller))


@router.put("/me", responses=error_responses(400))
def update_my_profile(update: ProfileUpdate, caller: CurrentUser, services: ServicesDep) -> ProfileResponse:
    return ProfileResponse.model_validate(services.users.update_my_profile(caller, update.display_name))


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
def delete_my_account(caller: AccountHolder, services: ServicesDep) -> Response:
    services.users.delete_my_account(caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", responses=error_responses(400, 403))
def list_users(
    caller: CurrentUserNotRevoked,
    services: ServicesDep,
    limit: PageLimitQuery = 20,
    cursor: CursorQuery = None,
) -> ProfilePage:
    page = services.users.list_users(caller, limit, cursor)
    return ProfilePage.model_validate(page)
