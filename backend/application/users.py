from datetime import UTC, datetime, timedelta

from domain.entities import Page, Principal, UserProfile, user_object_prefix
from domain.errors import PermissionDenied
from domain.ports import DeletedAccounts, FileStorage, UserAccounts, UserRepository

# How long a deleted account's tokens stay refused. Firebase ID tokens live 1 hour from issue; the last one
# can be issued until the Firebase user goes, at most a function timeout (30 s) after the mark. Twice the
# lifetime leaves an hour for clock skew between Google's clock and ours; past it every token is expired.
DELETED_ACCOUNT_REFUSED_FOR = timedelta(hours=2)


class UserService:
    def __init__(
        self,
        users: UserRepository,
        storage: FileStorage,
        accounts: UserAccounts,
        deleted_accounts: DeletedAccounts,
    ) -> None:
        self._users = users
        self._storage = storage
        self._accounts = accounts
        self._deleted_accounts = deleted_accounts

    def get_my_profile(self, caller: Principal) -> UserProfile:
        existing = self._users.get_profile(caller.uid)
        if existing is not None:
            return existing
        now = datetime.now(UTC)
        return self._users.create_profile_if_absent(
            UserProfile(uid=caller.uid, email=caller.email, display_name=None, created_at=now, updated_at=now)
        )

    def update_my_profile(self, caller: Principal, display_name: str | None) -> UserProfile:
        now = datetime.now(UTC)
        return self._users.save_profile(
            UserProfile(
                uid=caller.uid, email=caller.email, display_name=display_name, created_at=now, updated_at=now
            )
        )

    def delete_my_account(self, caller: Principal) -> None:
        # First: from here on the caller's tokens are refused on every route, and a write of theirs already
        # under way is refused by the store, so nothing lands after the erase below.
        self._deleted_accounts.mark_deleted(caller.uid, until=datetime.now(UTC) + DELETED_ACCOUNT_REFUSED_FOR)
        self._users.delete_all_user_items(caller.uid)
        # After the records, so this one sweep also takes uploads that landed while they went; a ticket
        # issued earlier and used after it still escapes (docs/reliability.md).
        self._storage.delete_prefix(user_object_prefix(caller.uid))
        # Last: until here a failure leaves the account, so the caller can authenticate and try again (only
        # here: DELETE /users/me asks Firebase, not the mark, whether the account is there).
        self._accounts.delete_user(caller.uid)

    def list_users(self, caller: Principal, limit: int, cursor: str | None) -> Page[UserProfile]:
        if not caller.is_admin:
            raise PermissionDenied("admin role required")
        return self._users.list_profiles(limit, cursor)
