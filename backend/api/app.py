from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.dependencies import Services
from api.errors import install_error_handlers
from api.middleware import REQUEST_ID_HEADER, RequestContextMiddleware
from api.routes import files, health, notes, users
from application.files import FileService
from application.notes import NoteService
from application.users import UserService
from infrastructure.aws import dynamodb_client, s3_client
from infrastructure.dynamodb import DynamoRepository
from infrastructure.firebase import FirebaseTokenVerifier
from infrastructure.s3 import S3FileStorage
from shared.logging import configure_logging
from shared.settings import APP_VERSION, Settings, get_settings


def build_services(settings: Settings) -> Services:
    """Composition root: the only place that picks concrete adapters for the ports."""
    repository = DynamoRepository(
        dynamodb_client(settings.aws_region, settings.aws_endpoint_url), settings.dynamodb_table
    )
    storage = S3FileStorage(s3_client(settings.aws_region, settings.aws_endpoint_url), settings.s3_bucket)
    return Services(
        token_verifier=FirebaseTokenVerifier(
            settings.firebase_project_id,
            settings.firebase_auth_emulator_host,
            google_credentials_config=settings.google_credentials_config,
        ),
        users=UserService(repository, storage),
        notes=NoteService(repository, storage),
        files=FileService(repository, storage),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    show_docs = not settings.is_production
    app = FastAPI(
        title="FastAPI Backend",
        description="Notes with file attachments, behind Firebase Auth",
        version=APP_VERSION,
        docs_url="/docs" if show_docs else None,
        redoc_url="/redoc" if show_docs else None,
        openapi_url="/openapi.json" if show_docs else None,
    )
    app.state.settings = settings
    app.state.services = services or build_services(settings)
    install_error_handlers(app)
    for module in (health, users, notes, files):
        app.include_router(module.router)

    # Added before RequestContextMiddleware so that one is outermost and sees every response.
    cors_origins = settings.cors_allowed_origins if settings.is_production else ["*"]
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestContextMiddleware)
    return app
