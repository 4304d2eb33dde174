"""FirebaseAuth's account side against the Firebase Auth emulator."""

from collections.abc import Callable

import pytest

from devstack.emulators import firebase_accounts
from devstack.emulators.firebase_accounts import AuthUser
from infrastructure.firebase_accounts import FirebaseAuth
from shared.settings import Settings

pytestmark = pytest.mark.integration


def test_a_deleted_account_can_no_longer_sign_in_and_deleting_it_again_is_done(
    settings: Settings, sign_up: Callable[..., AuthUser], auth_emulator_host: str
) -> None:
    user = sign_up()
    accounts = FirebaseAuth(settings.firebase_project_id, settings.firebase_auth_emulator_host)
    accounts.delete_user(user.uid)
    with pytest.raises(RuntimeError, match="EMAIL_NOT_FOUND"):
        firebase_accounts.sign_in(auth_emulator_host, user.email)
    accounts.delete_user(user.uid)  # a retried account deletion reaches this step again
