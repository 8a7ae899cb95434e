"""Scan events: recorded off the request path, aggregated per serial as they arrive."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from verifier import clones, provinces
from verifier.models import Scan, UtcDateTime

FLUSH_SECONDS = 0.25
_log = logging.getLogger(__name__)
_SQL = {
    "read": "SELECT count, first_at, devices, places, flag FROM serial_scans"
    " WHERE key_index = ? AND serial = ?",
    "mark": "INSERT INTO serial_marks (key_index, serial, kind, value) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING",
    "pattern": "UPDATE serial_scans SET devices = ?, places = ?, last_latitude = ?,"
    " last_longitude = ?, last_located_at = ?, flag = ? WHERE key_index = ? AND serial = ?",
    "insert": "INSERT INTO scans (at, key_index, serial, verdict, role, device_id, location)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "markets": "SELECT markets FROM batches WHERE key_index = ? AND first_serial <= ?"
    " AND last_serial >= ? AND markets IS NOT NULL",
    "away": "UPDATE serial_scans SET away = ? WHERE key_index = ? AND serial = ?",
    "upsert": "INSERT INTO serial_scans (key_index, serial, count, first_at, last_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_index, serial) DO UPDATE"
    " SET count = serial_scans.count + excluded.count,"
    " first_at = CASE WHEN excluded.first_at < serial_scans.first_at"
    " THEN excluded.first_at ELSE serial_scans.first_at END,"
    " last_at = CASE WHEN excluded.last_at > serial_scans.last_at"
    " THEN excluded.last_at ELSE serial_scans.last_at END",
}
# OR of point conditions: SQLite does not use the primary key for (a, b) IN (VALUES ...)
_READ_MANY = (
    "SELECT key_index, serial, count, first_at, devices, places, flag FROM serial_scans WHERE {}"
)
_MARK_COUNTS = (
    "SELECT key_index, serial, kind, COUNT(*) FROM serial_marks WHERE {} GROUP BY key_index,"
    " serial, kind"
)
_LAST_POINTS = (
    "SELECT key_index, serial, last_latitude, last_longitude, last_located_at, flag"
    " FROM serial_scans WHERE {}"
)
_CHUNK = 200  # serials per statement in the pattern queries
SerialKey = tuple[int, int]  # (key index, serial)


class _Statements(dict[int, str]):
    """The statement for each number of parameters, made on first use."""

    def __init__(self, make: Callable[[int], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, count: int) -> str:
        statement = self[count] = self._make(count)
        return statement


class Stored(NamedTuple):
    """A serial's stored aggregate."""

    scans: int
    first_at: datetime
    devices: int
    places: int
    flag: str | None


def _where_pairs(template: str, pair: str) -> Callable[[int], str]:
    """Return the maker of ``template`` with ``n`` primary-key conditions OR-ed together."""

    def make(n: int) -> str:
        return template.format(" OR ".join([pair] * n))

    return make


def _time(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite keeps timestamps as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aggregate(
    count: int, first_at: datetime | str, devices: int, places: int, flag: str | None
) -> Stored:
    return Stored(int(count), _time(first_at), int(devices), int(places), flag)


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
    """How often a serial was checked, when first, on how many phones in how many places
    (as of the last flush), and the clone rule it broke, if any."""

    count: int = 0
    first_at: datetime | None = None
    devices: int = 0
    places: int = 0
    flag: str | None = None


class ScanRecorder:
    """Queues scan events and writes them in batches from a background thread, so recording a
    scan costs a request one indexed read and no write."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        flush_seconds: float = FLUSH_SECONDS,
        rules: clones.CloneRules = clones.RULES,
    ) -> None:
        engine = sessions.kw["bind"]
        self._rules = rules
        self._engine = engine
        self._local = threading.local()
        # written for sqlite3's qmark parameters; psycopg takes the format style
        qmark = engine.dialect.paramstyle == "qmark"
        self._sql: dict[str, Any] = {
            k: v if qmark else v.replace("?", "%s") for k, v in _SQL.items()
        }
        pair = "(key_index = ? AND serial = ?)"
        if not qmark:
            pair = pair.replace("?", "%s")
        for name, template in (
            ("read_many", _READ_MANY),
            ("mark_counts", _MARK_COUNTS),
            ("last_points", _LAST_POINTS),
        ):
            self._sql[name] = _Statements(_where_pairs(template, pair))
        # the ORM's own conversion, so both paths store timestamps alike
        time_type = UtcDateTime().dialect_impl(engine.dialect)
        self._bind_time: Callable[[datetime | None], Any] = time_type.bind_processor(
            engine.dialect
        ) or (lambda t: t)
        self._events: list[ScanEvent] = []
        # per serial: [queued scans, index of its earliest and of its latest event in _events]
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

    def _stored(self, serial: SerialKey) -> Stored | None:
        """Read the serial's stored aggregate with one point query."""
        cursor = self._cursor()
        cursor.execute(self._sql["read"], serial)
        row = cursor.fetchone()
        return None if row is None else _aggregate(*row)

    def stored_many(self, serials: Collection[SerialKey]) -> dict[SerialKey, Stored]:
        """Read the stored aggregates of several serials with one query (see :meth:`_stored`)."""
        cursor = self._cursor()
        cursor.execute(self._sql["read_many"][len(serials)], [n for key in serials for n in key])
        return {(row[0], row[1]): _aggregate(*row[2:]) for row in cursor.fetchall()}

    def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it."""
        return self.record_known(event, self._stored(event.serial))

    def record_known(self, event: ScanEvent, stored: Stored | None) -> ScanSummary:
        """Queue ``event``, whose serial's stored aggregate was read already, and return the
        serial's summary including it."""
        with self._lock:
            events = self._events
            events.append(event)
            index = len(events) - 1
            pending = self._pending.get(event.serial)
            if pending is None:
                pending = self._pending[event.serial] = [0, index, index]
            pending[0] += 1
            # the earliest and the latest check, whatever order they arrive in
            if event.at < events[pending[1]].at:
                pending[1] = index
            if event.at >= events[pending[2]].at:
                pending[2] = index
            count, first = pending[0], events[pending[1]].at
        if stored is not None:
            return ScanSummary(
                stored.scans + count,
                min(stored.first_at, first),
                stored.devices,
                stored.places,
                stored.flag,
            )
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
            self._update_patterns(connection, events)

    def _update_patterns(self, connection: Any, events: list[ScanEvent]) -> None:
        """Count the distinct phones and places of the serials these events touched, follow
        their located scans, and flag those that break a clone rule (a flag stays)."""
        marks: set[tuple[int, int, str, str]] = set()
        located: dict[SerialKey, list[clones.Point]] = {}
        for event in events:
            if event.device_id:
                marks.add((*event.serial, "d", clones.device_mark(event.device_id)))
            place = clones.place_of(event.location)
            if place is not None:
                marks.add((*event.serial, "p", place[0]))
                if place[1] is not None:
                    point = clones.Point(*place[1], event.at)
                    located.setdefault(event.serial, []).append(point)
        if not marks:
            return
        connection.exec_driver_sql(self._sql["mark"], sorted(marks))
        touched = sorted({(k, s) for k, s, _, _ in marks})
        counts: dict[tuple[int, int, str], int] = {}
        state: dict[SerialKey, tuple[Any, ...]] = {}
        for start in range(0, len(touched), _CHUNK):
            chunk = touched[start : start + _CHUNK]
            params = [n for key in chunk for n in key]
            for k, s, kind, n in connection.exec_driver_sql(
                self._sql["mark_counts"][len(chunk)], tuple(params)
            ):
                counts[(k, s, kind)] = int(n)
            for k, s, *rest in connection.exec_driver_sql(
                self._sql["last_points"][len(chunk)], tuple(params)
            ):
                state[(k, s)] = tuple(rest)
        updates = []
        for serial in touched:
            latitude, longitude, located_at, flag = state.get(serial, (None, None, None, None))
            previous = (
                clones.Point(latitude, longitude, _time(located_at))
                if located_at is not None
                else None
            )
            travelled = False
            for point in sorted(located.get(serial, []), key=lambda p: p.at):
                if previous is not None and clones.impossible(previous, point, self._rules):
                    travelled = True
                previous = point
            devices, places = counts.get((*serial, "d"), 0), counts.get((*serial, "p"), 0)
            flag = flag or clones.flag_for(devices, places, travelled, self._rules)
            updates.append((
                devices, places,
                previous.latitude if previous else None, previous.longitude if previous else None,
                self._bind_time(previous.at) if previous else None, flag, *serial,
            ))  # fmt: skip
        connection.exec_driver_sql(self._sql["pattern"], updates)
        self._mark_away(connection, located)

    def _mark_away(self, connection: Any, located: dict[SerialKey, list[clones.Point]]) -> None:
        """Mark the serials scanned far from every province their batch is sold in."""
        away = []
        for (key_index, serial), points in located.items():
            row = connection.exec_driver_sql(
                self._sql["markets"], (key_index, serial, serial)
            ).first()
            if row is None:
                continue
            found = (provinces.province(code) for code in row[0].split(","))
            markets = [market.centre for market in found if market is not None]
            if any(
                clones.far_from_markets((point.latitude, point.longitude), markets, self._rules)
                for point in points
            ):
                away.append((True, key_index, serial))
        if away:
            connection.exec_driver_sql(self._sql["away"], away)

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


PRUNE_BATCH = 50_000


def prune_scans(engine: Engine, before: datetime) -> int:
    """Delete raw scan events older than ``before``, in batches so that no transaction holds
    the table long; the per-serial aggregates (counts, phones, places, flags) stay. Returns
    how many were deleted."""
    removed = 0
    while True:
        with engine.begin() as connection:
            ids = [
                row[0]
                for row in connection.execute(
                    select(Scan.id).where(Scan.at < before).limit(PRUNE_BATCH)
                )
            ]
            if not ids:
                return removed
            connection.execute(delete(Scan).where(Scan.id.in_(ids)))
        removed += len(ids)
