"""What the composition root (bootstrap.py) builds and every entry point is handed: the use cases, and the two
ports the HTTP layer asks on each request. Framework-free, so an entry point that is not the HTTP API (a CLI,
a worker) gets them without FastAPI."""

from dataclasses import dataclass

from application.files import FileService
from application.notes import NoteService
from application.users import UserService
from domain.ports import DeletedAccounts, TokenVerifier


@dataclass(frozen=True)
class Services:
    token_verifier: TokenVerifier
    deleted_accounts: DeletedAccounts
    users: UserService
    notes: NoteService
    files: FileService
