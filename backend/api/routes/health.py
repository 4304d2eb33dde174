from typing import Annotated

from fastapi import APIRouter, Depends

from api.dependencies import get_app_settings
from api.schemas import HealthResponse
from shared.settings import APP_VERSION, Settings

router = APIRouter(tags=["health"])


@router.get("/health")
def health(settings: Annotated[Settings, Depends(get_app_settings)]) -> HealthResponse:
    """Public and free of I/O: the Lambda Web Adapter polls it for readiness."""
    return HealthResponse(status="healthy", environment=settings.environment, version=APP_VERSION)
