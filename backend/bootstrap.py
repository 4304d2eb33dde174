"""Composition root (as cosmicpython's bootstrap.py): the one module that picks an adapter for each port
and wires the use cases on them. It knows no web framework: web.py puts the HTTP API on what it builds, and
another entry point could take the same Services. The unit tests wire fakes with the same `wire_services`."""

from application.files import FileService
from application.notes import NoteService
from application.services import Services
from application.users import UserService
from domain.ports import (
    DeletedAccounts,
    FileStorage,
    NoteRepository,
    TokenVerifier,
    UserAccounts,
    UserRepository,
)
from infrastructure.aws import dynamodb_client, s3_client
from infrastructure.dynamodb import DynamoRepository
from infrastructure.firebase_accounts import FirebaseAuth
from infrastructure.s3 import S3FileStorage
from shared.settings import Settings


def wire_services(
    *,
    token_verifier: TokenVerifier,
    accounts: UserAccounts,
    deleted_accounts: DeletedAccounts,
    users: UserRepository,
    notes: NoteRepository,
    storage: FileStorage,
) -> Services:
    return Services(
        token_verifier=token_verifier,
        deleted_accounts=deleted_accounts,
        users=UserService(users, storage, accounts, deleted_accounts),
        notes=NoteService(notes, storage),
        files=FileService(notes, storage),
    )


def build_services(settings: Settings) -> Services:
    # One table holds users, notes and deletion marks (docs/data-model.md): one repository serves the three
    # ports, and its writes are conditioned on the marks.
    repository = DynamoRepository(
        dynamodb_client(settings.aws_region, settings.aws_endpoint_url), settings.dynamodb_table
    )
    firebase = FirebaseAuth(
        settings.firebase_project_id,
        settings.firebase_auth_emulator_host,
        google_credentials_config=settings.google_credentials_config,
    )
    return wire_services(
        token_verifier=firebase,
        accounts=firebase,
        deleted_accounts=repository,
        users=repository,
        notes=repository,
        storage=S3FileStorage(
            s3_client(settings.aws_region, settings.aws_endpoint_url),
            settings.s3_bucket,
            presigner=s3_client(
                settings.aws_region, settings.s3_presign_endpoint_url or settings.aws_endpoint_url
            ),
        ),
    )
