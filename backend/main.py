"""Lambda entry point: run.sh starts `uvicorn main:app`."""

from shared.settings import get_settings
from web import build_app

app = build_app(get_settings())
