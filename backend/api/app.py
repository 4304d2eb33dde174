from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.canonical_paths import CanonicalPathMiddleware
from api.errors import install_error_handlers
from api.middleware import REQUEST_ID_HEADER, RequestContextMiddleware
from api.routes import files, health, notes, users
from application.services import Services
from shared.logging import configure_logging
from shared.settings import APP_VERSION, Settings


def create_app(settings: Settings, services: Services) -> FastAPI:
    """The HTTP layer on whatever services it is given: bootstrap.py decides which adapters they use."""
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
    app.state.services = services
    install_error_handlers(app)
    for module in (health, users, notes, files):
        app.include_router(module.router)

    # Before any route sees the request (canonical_paths says why); innermost, so its 404 gets the CORS
    # headers and the request id like any other answer.
    app.add_middleware(CanonicalPathMiddleware)
    # On AWS the HTTP API answers CORS (template.yml CorsConfiguration): it answers preflights itself and
    # drops the function's CORS headers, so the deployed app adds none. Locally nothing stands in front of
    # the app: there it answers as the HTTP API of dev would (tests/infra compares the two).
    # Added before RequestContextMiddleware so that one is outermost and sees every response.
    if settings.is_emulated:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "if-match", "idempotency-key"],
            expose_headers=["etag", "location", REQUEST_ID_HEADER],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    return app
