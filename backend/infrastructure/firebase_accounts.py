"""Firebase Auth accounts (firebase-admin), behind the domain's UserAccounts port."""

from domain.errors import ServiceUnavailable
from domain.ports import UserAccounts
from infrastructure.firebase import FirebaseTokenVerifier


class FirebaseAuth(FirebaseTokenVerifier, UserAccounts):
    """Verifies tokens and deletes accounts on one firebase-admin app: the Admin API credentials that
    check revocation are the ones that delete users (they need firebaseauth.users.delete as well)."""

    def delete_user(self, uid: str) -> None:
        client = self._client  # imports firebase-admin at the first use (see infrastructure/firebase.py)
        import google.auth.exceptions
        from firebase_admin import auth, exceptions

        try:
            client.delete_user(uid)  # the verifier's client: the same timeout and retry budget
        except auth.UserNotFoundError:
            return  # an earlier try got this far
        except (exceptions.FirebaseError, google.auth.exceptions.GoogleAuthError) as error:
            raise ServiceUnavailable("authentication service is unavailable") from error
