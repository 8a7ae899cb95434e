"""ASGI entry for ``uvicorn verifier.asgi:app`` (what ``ocop serve`` runs in each worker).

Reads the data directory from ``OCOP_DATA_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from verifier.app import create_app, system_clock
from verifier.service import Service
from verifier.settings import Settings


def build() -> FastAPI:
    """Return the app for the data directory named by ``OCOP_DATA_DIR``."""
    settings = Settings.load(Path(os.environ.get("OCOP_DATA_DIR", "data")))
    return create_app(Service.start(settings, system_clock()))


app = build()
