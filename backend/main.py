"""Lambda entry point: run.sh starts `uvicorn main:app`."""

from bootstrap import build_app
from shared.settings import get_settings

app = build_app(get_settings())
