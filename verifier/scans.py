"""Scan events: recorded off the request path, aggregated per serial as they arrive."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection
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
# OR of point conditions: SQLite does not use the primary key for (a, b) IN (VALUES ...)
_READ_MANY = "SELECT key_index, serial, count, first_at FROM serial_scans WHERE {}"
SerialKey = tuple[int, int]  # (key index, serial)


class _Statements(dict[int, str]):
    """The statement for each number of parameters, made on first use."""

    def __init__(self, make: Callable[[int], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, count: int) -> str:
        statement = self[count] = self._make(count)
        return statement


def _aggregate(count: int, first_at: datetime | str) -> tuple[int, datetime]:
    if isinstance(first_at, str):  # SQLite keeps timestamps as text
        first_at = datetime.fromisoformat(first_at)
    if first_at.tzinfo is None:
        first_at = first_at.replace(tzinfo=UTC)
    return int(count), first_at


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
        self._sql: dict[str, Any] = {
            k: v if qmark else v.replace("?", "%s") for k, v in _SQL.items()
        }
        many = _READ_MANY if qmark else _READ_MANY.replace("?", "%s")
        pair = "(key_index = ? AND serial = ?)"
        if not qmark:
            pair = pair.replace("?", "%s")
        self._sql["read_many"] = _Statements(lambda n: many.format(" OR ".join([pair] * n)))
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

    def _cursor(self) -> Any:
        """This thread's own cursor, on a connection in autocommit mode (the hot path pays for
        no BEGIN and no COMMIT), checked out for the thread's lifetime."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            self._local.connection = connection = self._engine.raw_connection()
            driver = connection.driver_connection
            if self._engine.dialect.name == "postgresql":
                driver.autocommit = True
            cursor = self._local.cursor = driver.cursor()
        return cursor

    def _stored(self, serial: SerialKey) -> tuple[int, datetime] | None:
        """Read the serial's stored aggregate with one point query."""
        cursor = self._cursor()
        cursor.execute(self._sql["read"], serial)
        row = cursor.fetchone()
        return None if row is None else _aggregate(*row)

    def stored_many(self, serials: Collection[SerialKey]) -> dict[SerialKey, tuple[int, datetime]]:
        """Read the stored aggregates of several serials with one query (see :meth:`_stored`)."""
        cursor = self._cursor()
        cursor.execute(self._sql["read_many"][len(serials)], [n for key in serials for n in key])
        return {(k, s): _aggregate(count, first) for k, s, count, first in cursor.fetchall()}

    def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it."""
        return self.record_known(event, self._stored(event.serial))

    def record_known(self, event: ScanEvent, stored: tuple[int, datetime] | None) -> ScanSummary:
        """Queue ``event``, whose serial's stored aggregate was read already, and return the
        serial's summary including it."""
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


class BatchedRecorder:
    """Records scans for concurrent requests on one event loop with one read for all of them:
    each request awaits its summary; the serials that arrived in the same turn of the loop are
    read together, with one query, just after."""

    def __init__(self, recorder: ScanRecorder) -> None:
        self.recorder = recorder
        self._waiting: list[tuple[ScanEvent, asyncio.Future[ScanSummary]]] = []

    async def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScanSummary] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._read)
        self._waiting.append((event, future))
        return await future

    def _read(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            stored = self.recorder.stored_many({event.serial for event, _ in waiting})
        except Exception as exc:  # every waiting request gets the error, none hangs
            for _, future in waiting:
                future.set_exception(exc)
            return
        for event, future in waiting:
            future.set_result(self.recorder.record_known(event, stored.get(event.serial)))
