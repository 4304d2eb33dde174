from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.dependencies import Services
from api.errors import install_error_handlers
from api.middleware import REQUEST_ID_HEADER, RequestContextMiddleware
from api.routes import files, health, notes, users
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
