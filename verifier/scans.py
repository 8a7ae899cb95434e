"""Scan events: recorded off the request path, aggregated per serial as they arrive."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from verifier.models import Scan, SerialScans

FLUSH_SECONDS = 0.25
_log = logging.getLogger(__name__)
_READ_SQL = {  # by "the driver uses qmark parameters" (sqlite3) or format (psycopg)
    True: "SELECT count, first_at FROM serial_scans WHERE key_index = ? AND serial = ?",
    False: "SELECT count, first_at FROM serial_scans WHERE key_index = %s AND serial = %s",
}
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
        engine = sessions.kw["bind"]
        self._engine = engine
        self._local = threading.local()
        self._read_sql = _READ_SQL[engine.dialect.paramstyle == "qmark"]
        self._events: list[ScanEvent] = []
        self._pending: dict[SerialKey, _Pending] = defaultdict(_Pending)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._flush_seconds = flush_seconds
        self._thread = threading.Thread(target=self._run, name="scan-recorder", daemon=True)
        self._thread.start()

    def _stored(self, serial: SerialKey) -> tuple[int, datetime] | None:
        """Read the serial's stored aggregate with one point query on this thread's own raw
        connection, outside any transaction (the hot path pays for no BEGIN)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._engine.raw_connection()
        cursor = connection.cursor()
        try:
            cursor.execute(self._read_sql, serial)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if connection.driver_connection is not None and self._engine.dialect.name != "sqlite":
            connection.commit()  # end the read transaction psycopg opened
        if row is None:
            return None
        count, first_at = row
        if isinstance(first_at, str):  # SQLite keeps timestamps as text
            first_at = datetime.fromisoformat(first_at)
        if first_at.tzinfo is None:
            first_at = first_at.replace(tzinfo=UTC)
        return int(count), first_at

    def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it."""
        stored = self._stored(event.serial)
        with self._lock:
            self._events.append(event)
            pending = self._pending[event.serial]
            pending.count += 1
            pending.first_at = pending.first_at or event.at
            pending.last_at = event.at
            count = pending.count
            first = pending.first_at
        if stored is not None:
            return ScanSummary(stored[0] + count, min(stored[1], first))
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
