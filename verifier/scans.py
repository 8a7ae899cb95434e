"""Scan events: recorded off the request path, aggregated per serial as they arrive."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from verifier.models import Scan, SerialScans

FLUSH_SECONDS = 0.25
_log = logging.getLogger(__name__)
SerialKey = tuple[int, int]  # (key index, serial)


@dataclass(frozen=True, slots=True)
class ScanEvent:
    at: datetime
    serial: SerialKey
    verdict: str
    role: str
    device_id: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """How often a serial was checked, and when first."""

    count: int = 0
    first_at: datetime | None = None


@dataclass
class _Pending:
    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


class ScanRecorder:
    """Queues scan events and writes them in batches from a background thread, so recording a
    scan costs a request one indexed read and no write."""

    def __init__(self, sessions: sessionmaker[Session], *, flush_seconds: float = FLUSH_SECONDS):
        self._sessions = sessions
        self._events: list[ScanEvent] = []
        self._pending: dict[SerialKey, _Pending] = defaultdict(_Pending)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._flush_seconds = flush_seconds
        self._thread = threading.Thread(target=self._run, name="scan-recorder", daemon=True)
        self._thread.start()

    def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it."""
        with self._sessions() as session:
            stored = session.get(SerialScans, event.serial)
        with self._lock:
            self._events.append(event)
            pending = self._pending[event.serial]
            pending.count += 1
            pending.first_at = pending.first_at or event.at
            pending.last_at = event.at
            count = pending.count
            first = pending.first_at
        if stored is not None:
            return ScanSummary(stored.count + count, min(stored.first_at, first))
        return ScanSummary(count, first)

    def flush(self) -> None:
        """Write every queued event now."""
        with self._lock:
            events, self._events = self._events, []
            pending, self._pending = self._pending, defaultdict(_Pending)
        if not events:
            return
        with self._sessions.begin() as session:
            session.execute(
                insert(Scan),
                [
                    {
                        "at": e.at,
                        "key_index": e.serial[0],
                        "serial": e.serial[1],
                        "verdict": e.verdict,
                        "role": e.role,
                        "device_id": e.device_id,
                        "location": e.location,
                    }
                    for e in events
                ],
            )
            for (key_index, serial), p in pending.items():
                session.execute(_upsert(session, key_index, serial, p))

    def close(self) -> None:
        """Stop the background thread after a last flush."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the recorder must outlive a database hiccup
                _log.exception("could not write scan events")


def _upsert(session: Session, key_index: int, serial: int, pending: _Pending) -> Any:
    values = {
        "key_index": key_index,
        "serial": serial,
        "count": pending.count,
        "first_at": pending.first_at,
        "last_at": pending.last_at,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SerialScans).values(**values)
    return statement.on_conflict_do_update(
        index_elements=["key_index", "serial"],
        set_={
            "count": SerialScans.count + statement.excluded.count,
            "last_at": statement.excluded.last_at,
        },
    )
