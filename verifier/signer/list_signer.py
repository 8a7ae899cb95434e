"""``ocop signer``'s work: sign the trust list, the status list and the registry snapshot
with the root key whenever the registry changes or they pass half their validity, and store
them in the database, where the public role (``ocop serve`` without the root key) reads
them. Nothing reaches this process but the database: it listens on no port."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from verifier.list_keeper import ListKeeper
from verifier.settings import Settings
from verifier.signer.key_access import holds_key, open_private_key
from verifier.store.database import make_engine, migrate, session_factory

__all__ = ["NoRootKey", "sign_lists_until"]


class NoRootKey(Exception):
    """This deployment does not hold the root key, so it cannot sign the lists."""


def sign_lists_until(
    settings: Settings, clock: Callable[[], datetime], stop: threading.Event
) -> None:
    """Keep the signed lists up to the registry (see :class:`ListKeeper`) until ``stop`` is
    set. Raises :class:`NoRootKey` when ``settings`` name no root key this deployment holds,
    ``OSError``/``KeyLoadError`` when it does not open."""
    if not holds_key(settings, settings.root_key):
        raise NoRootKey(f"{settings.root_key} is not in {settings.data_dir}")
    root = open_private_key(settings, settings.root_key)
    engines = [make_engine(settings.database_url), make_engine(settings.database_url, writer=True)]
    try:
        migrate(engines[1])
        sessions, writer = (session_factory(engine) for engine in engines)
        keeper = ListKeeper(settings, sessions, writer, root, root.public_key)
        keeper.lists(clock())  # signed now if missing, stale or behind
        keeper.publish_in_background(clock)
        stop.wait()
        keeper.stop()
    finally:
        for engine in engines:
            engine.dispose()
