"""``ocop signer``: the one process that holds the root key and the stamp keys. It keeps the
signed lists up to the registry (:class:`ListPublisher`) and answers the public role's requests
for signed codes (:class:`BatchSigner`), both through the database they share: it listens on
no port, and the public role holds no key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from verifier.settings import Settings
from verifier.signer.batch_signer import BatchSigner
from verifier.signer.key_access import holds_key, open_private_key
from verifier.signer.list_publisher import ListPublisher
from verifier.store.database import make_engine, migrate, session_factory

__all__ = ["NoRootKey", "Signer", "publish_lists_once"]


class NoRootKey(Exception):
    """This deployment does not hold the root key, so it cannot sign the lists."""


@dataclass
class Signer:
    """The signing role's two halves on one database, made by :meth:`start`."""

    lists: ListPublisher
    batches: BatchSigner
    _engines: tuple[Engine, Engine]
    _settings: Settings

    @classmethod
    def start(cls, settings: Settings) -> Signer:
        """Open the root key and the database (migrated). Raises :class:`NoRootKey` when
        ``settings`` name no root key this deployment holds, ``OSError``/``KeyLoadError``
        when it does not open."""
        if not holds_key(settings, settings.root_key):
            raise NoRootKey(f"{settings.root_key} is not in {settings.data_dir}")
        root = open_private_key(settings, settings.root_key)
        engines = (
            make_engine(settings.database_url),
            make_engine(settings.database_url, writer=True),
        )
        migrate(engines[1])
        sessions, writer = (session_factory(engine) for engine in engines)
        return cls(
            ListPublisher(sessions, writer, root),
            BatchSigner(settings, sessions, writer),
            engines,
            settings,
        )

    def run_in_background(self, clock: Callable[[], datetime]) -> None:
        """Publish the lists and answer the queue from threads of their own until
        :meth:`close`."""
        self.lists.publish_in_background(clock, self._settings.list_publish_seconds)
        self.batches.answer_in_background(clock)

    def run_until(self, clock: Callable[[], datetime], stop: threading.Event) -> None:
        """Run until ``stop`` is set, then :meth:`close`: the lists signed at once if missing,
        stale or behind, then kept up, and the queue answered."""
        try:
            self.lists.publish(clock())
            self.run_in_background(clock)
            stop.wait()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the threads and close the database connections."""
        self.lists.stop()
        self.batches.stop()
        for engine in self._engines:
            engine.dispose()


def publish_lists_once(settings: Settings, now: datetime) -> bool:
    """Bring the signed lists up to the registry now, when this deployment holds the root key
    (an operator's command on the signer's host). Returns whether it does. Raises
    ``OSError``/``KeyLoadError`` when the root key does not open."""
    try:
        signer = Signer.start(settings)
    except NoRootKey:
        return False
    try:
        signer.lists.publish(now)
    finally:
        signer.close()
    return True
