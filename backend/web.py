"""The HTTP API as an ASGI app: api/ on the services the composition root (bootstrap.py) builds. main.py
serves it on Lambda; the tests and the benchmarks build it with their own settings."""

from fastapi import FastAPI

from api.app import create_app
from bootstrap import build_services
from shared.settings import Settings


def build_app(settings: Settings) -> FastAPI:
    return create_app(settings, build_services(settings))
