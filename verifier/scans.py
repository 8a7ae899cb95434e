"""Scan events: recorded off the request path, aggregated per serial as they arrive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session, sessionmaker

from verifier.models import UtcDateTime

FLUSH_SECONDS = 0.25
_log = logging.getLogger(__name__)
_SQL = {
    "read": "SELECT count, first_at FROM serial_scans WHERE key_index = ? AND serial = ?",
    "insert": "INSERT INTO scans (at, key_index, serial, verdict, role, device_id, location)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "upsert": "INSERT INTO serial_scans (key_index, serial, count, first_at, last_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_index, serial) DO UPDATE"
    " SET count = serial_scans.count + excluded.count, last_at = excluded.last_at",
}
SerialKey = tuple[int, int]  # (key index, serial)


class ScanEvent(NamedTuple):
    """One verification of one serial (a tuple: one is made per request)."""

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


class ScanRecorder:
    """Queues scan events and writes them in batches from a background thread, so recording a
    scan costs a request one indexed read and no write."""

    def __init__(self, sessions: sessionmaker[Session], *, flush_seconds: float = FLUSH_SECONDS):
        engine = sessions.kw["bind"]
        self._engine = engine
        self._local = threading.local()
        # written for sqlite3's qmark parameters; psycopg takes the format style
        qmark = engine.dialect.paramstyle == "qmark"
        self._sql = {k: v if qmark else v.replace("?", "%s") for k, v in _SQL.items()}
        # the ORM's own conversion, so both paths store timestamps alike
        time_type = UtcDateTime().dialect_impl(engine.dialect)
        self._bind_time: Callable[[datetime | None], Any] = time_type.bind_processor(
            engine.dialect
        ) or (lambda t: t)
        self._events: list[ScanEvent] = []
        # per serial: [queued scans, index of its first and of its last event in _events]
        self._pending: dict[SerialKey, list[int]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._flush_seconds = flush_seconds
        self._thread = threading.Thread(target=self._run, name="scan-recorder", daemon=True)
        self._thread.start()

    def _stored(self, serial: SerialKey) -> tuple[int, datetime] | None:
        """Read the serial's stored aggregate with one point query on this thread's own
        connection in autocommit mode (the hot path pays for no BEGIN and no COMMIT)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            # checked out for the thread's lifetime, never returned to the pool
            self._local.connection = connection = self._engine.raw_connection()
            driver = connection.driver_connection
            if self._engine.dialect.name == "postgresql":
                driver.autocommit = True
            cursor = self._local.cursor = driver.cursor()
        cursor.execute(self._sql["read"], serial)
        row = cursor.fetchone()
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
            events = self._events
            events.append(event)
            pending = self._pending.get(event.serial)
            if pending is None:
                pending = self._pending[event.serial] = [0, len(events) - 1, 0]
            pending[0] += 1
            pending[2] = len(events) - 1
            count, first = pending[0], events[pending[1]].at
        if stored is not None:
            return ScanSummary(stored[0] + count, min(stored[1], first))
        return ScanSummary(count, first)

    def flush(self) -> None:
        """Write every queued event now, with two driver-level ``executemany`` calls in one
        transaction (this runs on the request workers' CPU, so it must stay cheap)."""
        with self._lock:
            events, self._events = self._events, []
            pending, self._pending = self._pending, {}
        if not events:
            return
        times = list(map(self._bind_time, (e.at for e in events)))
        with self._engine.begin() as connection:
            connection.exec_driver_sql(
                self._sql["insert"],
                [
                    (time, *e.serial, e.verdict, e.role, e.device_id, e.location)
                    for time, e in zip(times, events, strict=True)
                ],
            )
            connection.exec_driver_sql(
                self._sql["upsert"],
                [(*k, n, times[first], times[last]) for k, (n, first, last) in pending.items()],
            )

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
