"""ASGI entry for ``uvicorn verifier.web.asgi:app`` (what ``ocop serve`` runs in each worker).

Reads the data directory from ``OCOP_DATA_DIR``.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from starlette.types import ASGIApp

from verifier.service import Service
from verifier.settings import Settings
from verifier.web.app import create_app, system_clock


def build() -> ASGIApp:
    """Return the app for the data directory named by ``OCOP_DATA_DIR``."""
    settings = Settings.load(Path(os.environ.get("OCOP_DATA_DIR", "data")))
    service = Service.start(settings, system_clock())
    service.keeper.keep_in_background(system_clock)  # no request rebuilds the lists
    app = create_app(service)
    # What exists now lives as long as the worker: keep it out of every garbage collection.
    gc.freeze()
    # A check allocates a few dozen containers and frees them as it answers (the scan queue
    # when it is flushed): collecting the young generation every 700 allocations cost every
    # check some time under load and found nothing to free.
    gc.set_threshold(10_000, 10, 10)
    # The list keeper's thread compresses national documents in this process: with
    # the default 5 ms switch interval, each time the event loop comes back from the network
    # it waited for that thread for up to 5 ms, several times a check (bench/list_writes.py).
    sys.setswitchinterval(0.0005)
    return app


app = build()
