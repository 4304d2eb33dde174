"""Lambda entry point: run.sh starts `uvicorn main:app`."""

from api.app import create_app

app = create_app()
