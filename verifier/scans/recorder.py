"""Scan events: recorded off the request path, aggregated per serial as they arrive.

Over 400 lines because the queue, the blocks of stored aggregates and the change feed share
one lock and one summary rule (:meth:`ScanRecorder._summary`), and a failed write puts its
checks back into the same queue: apart, each would have to reach into the others' state."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from verifier.scans import clone_marks, clones, scan_sql
from verifier.store.models import Scan

FLUSH_SECONDS = 0.25
MAX_QUEUED = 200_000  # checks a worker holds while the database refuses them (tens of MB)
BACKOFF_SECONDS = 2.0  # the longest pause between flushes while they fail
# after the database could not be reached, checks wait this long before a request tries to
# connect again (each try may take the connection timeout, on the request's thread)
UNREACHABLE_PAUSE_SECONDS = 1.0
KEEP_FLUSHES = 256  # flushes kept for workers to follow (half a minute of them under load)
BLOCK_SERIALS = 1024  # the recorder reads and keeps serials' aggregates a block at a time
CACHE_SERIALS = 200_000  # aggregates a worker keeps in memory (tens of MB at most)
# what a driver or the database raises for a value it will not store: that check alone is left
# out, never the checks written with it (an int too large for the column, a NUL in a text)
_REFUSED_ROW = (DataError, IntegrityError, OverflowError)
_UNCOMMITTED = sys.maxsize  # the version of a flush that has not got its version yet
_log = logging.getLogger(__name__)
SerialKey = tuple[int, int]  # (key index, serial)


class Stored(NamedTuple):
    """A serial's stored aggregate as the driver or the flush feed gives it (``first_at`` is
    naive UTC text from SQLite and from the feed, read with :func:`scan_sql.stored_time` when
    used), and the version of the flush that last changed it."""

    scans: int
    first_at: datetime | str
    devices: int
    places: int
    flag: str | None
    version: int


class _Flush(NamedTuple):
    """One flush's record in the change feed: its version, and the new aggregates of the
    serials it changed, each ``[key_index, serial, *Stored]``."""

    version: int
    rows: list[list[Any]]


class _Queued:
    """A serial's queued checks: how many, and the index of its earliest and of its latest
    in the queue (whatever order they arrive in)."""

    __slots__ = ("count", "earliest", "latest")

    def __init__(self, index: int) -> None:
        self.count, self.earliest, self.latest = 0, index, index

    def note(self, events: list[ScanEvent], index: int) -> None:
        """Count the check at ``index`` of ``events``, the queue this entry indexes."""
        self.count += 1
        if events[index].at < events[self.earliest].at:
            self.earliest = index
        if events[index].at >= events[self.latest].at:
            self.latest = index


class _Block:
    """The stored aggregates of one block of a key's serials (only those ever scanned);
    ``ready`` once read whole from the database."""

    __slots__ = ("ready", "stored")

    def __init__(self) -> None:
        self.ready = False
        self.stored: dict[int, Stored] = {}

    def keep(self, serial: int, stored: Stored) -> bool:
        """Keep ``stored`` unless a newer version is kept already. Returns whether the serial
        is new to the block."""
        current = self.stored.get(serial)
        if current is None or current.version < stored.version:
            self.stored[serial] = stored
        return current is None


class ScanEvent(NamedTuple):
    """One verification of one serial (a tuple: one is made per request)."""

    at: datetime
    serial: SerialKey
    verdict: str
    role: str
    device_id: str | None = None
    location: str | None = None
    token_id: int | None = None  # the signed-in caller's token; None for the public


class ScanSummary(NamedTuple):
    """How often a serial was checked, when first, on how many phones in how many places
    (as of the last change this worker followed), and the clone rule it broke, if any (a
    tuple: one is made per request)."""

    count: int = 0  # type: ignore[assignment]  # the answer's name; shadows tuple.count
    first_at: datetime | None = None
    devices: int = 0
    places: int = 0
    flag: str | None = None
    complete: bool = True  # False: the stored aggregate could not be read (the database is down)


class DatabaseUnreachable(Exception):
    """The database could not be reached to read a block of serials' stored checks."""


class Trouble(NamedTuple):
    """Why the recorder's flushes have been failing: since when (``time.monotonic()``) and
    the last error's type. The checks meanwhile wait in the queue."""

    since: float
    error: str


class ScanRecorder:
    """Records scans: queues the events and writes them in batches from a background thread,
    and answers each scan with its serial's summary without reading a table.

    Every worker keeps the stored aggregates of the blocks of serials it was asked about
    (read once per block) and follows the changes every worker writes: each flush takes the
    next value of one counter, stamps the rows it changes with it, records their new
    aggregates in one ``scan_flushes`` row and commits in that order, so the flushes past
    the last one seen are a complete change feed on SQLite and on PostgreSQL (a worker that
    finds a gap, the flushes it missed pruned, reads its blocks again). A summary is the
    stored aggregate plus the events not yet seen in it: queued, or in a flush whose version
    the stored row has not reached."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        flush_seconds: float = FLUSH_SECONDS,
        rules: clones.CloneRules = clones.RULES,
        cache_serials: int = CACHE_SERIALS,
        keep_flushes: int = KEEP_FLUSHES,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        engine = sessions.kw["bind"]
        self._max_queued = max_queued
        self.dropped = 0  # checks never recorded: the queue was full while writes failed
        self.refused = 0  # checks never recorded: the database refused their rows
        self.lost_at: float | None = None  # time.monotonic() of the last one dropped or refused
        self._unreachable_until = 0.0  # time.monotonic() before which no block is read
        self._said_dropped = False
        self._rules = rules
        self._engine = engine
        self._local = threading.local()
        self._sql = scan_sql.ScanSql.for_dialect(engine.dialect)
        self._keep_flushes = keep_flushes
        self._events: list[ScanEvent] = []
        self._pending: dict[SerialKey, _Queued] = {}  # each queued serial's, in _events
        # the flush under way: its events and their _pending entries, and its version
        self._flushing_events: list[ScanEvent] = []
        self._flushing: dict[SerialKey, _Queued] = {}
        self._flushing_version = _UNCOMMITTED
        self._blocks: OrderedDict[SerialKey, _Block] = OrderedDict()  # least recent first
        self._cached = 0
        self._cache_serials = cache_serials
        with engine.begin() as connection:
            seen = connection.exec_driver_sql(self._sql.version).scalar()
            if seen is None:  # only then: MAX(version) reads every serial's aggregate
                connection.exec_driver_sql(self._sql.start)
                seen = connection.exec_driver_sql(self._sql.version).scalar_one()
            self._seen = int(seen)
        self.trouble: Trouble | None = None  # None while the flushes succeed
        self._connections: list[Any] = []  # every thread's own, see _cursor
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time: see flush
        self._wake = threading.Event()
        self._stopped = False
        self._flush_seconds = flush_seconds
        self._thread = threading.Thread(target=self._run, name="scan-recorder", daemon=True)
        self._thread.start()

    def _cursor(self) -> Any:
        """This thread's own cursor, on a connection in autocommit mode (a read pays for no
        BEGIN and no COMMIT), checked out for the thread's lifetime."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            try:
                self._local.connection = connection = self._engine.raw_connection()
            except Exception as exc:  # whatever the driver raises when nothing answers
                raise DatabaseUnreachable(str(exc)) from exc
            with self._lock:
                self._connections.append(connection)
            driver = connection.driver_connection
            if self._engine.dialect.name == "postgresql":
                driver.autocommit = True
            cursor = self._local.cursor = driver.cursor()
        return cursor

    @property
    def queued(self) -> int:
        """How many checks wait to be written."""
        return len(self._events) + len(self._flushing_events)

    def oldest_queued(self) -> datetime | None:
        """Return when the check that has waited longest to be written was made, or ``None``
        when none waits."""
        with self._lock:
            waiting = self._flushing_events or self._events
            return waiting[0].at if waiting else None

    def _lost_connection(self, exc: Exception) -> bool:
        """Return whether ``exc`` says this thread's connection was closed or broken (the
        server restarted or is gone), not that a statement failed."""
        connection = getattr(self._local, "connection", None)
        driver = None if connection is None else connection.driver_connection
        return bool(self._engine.dialect.is_disconnect(exc, driver, None))

    def _forget_cursor(self) -> None:
        """Close this thread's connection after an error (the server may have restarted and
        closed it): the next :meth:`_cursor` opens a new one instead of failing for ever."""
        connection = getattr(self._local, "connection", None)
        self._local.cursor = self._local.connection = None
        if connection is None:
            return
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        try:
            connection.invalidate()
        except Exception:  # already broken: nothing more to release
            _log.debug("closing a broken connection failed", exc_info=True)

    def record(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event`` and return the serial's summary including it. Reads the database
        only for the first scan of a block of serials this worker has not kept."""
        key_index, serial = event.serial
        where = (key_index, serial // BLOCK_SERIALS)
        block = self._blocks.get(where)
        if block is None or not block.ready:
            try:
                if time.monotonic() < self._unreachable_until:  # no new attempt per check
                    raise DatabaseUnreachable("unreachable a moment ago")
                block = self._load(where)
            except DatabaseUnreachable as exc:  # the check is still answered, and queued
                if time.monotonic() >= self._unreachable_until:
                    if self._unreachable_until == 0.0:  # once a spell, until a flush gets through
                        _log.warning("could not read the scans of a block of serials: %s", exc)
                    self._unreachable_until = time.monotonic() + UNREACHABLE_PAUSE_SECONDS
                with self._lock:
                    return self._queue(event, _Block(), complete=False)
        with self._lock:
            if where in self._blocks:
                self._blocks.move_to_end(where)
            return self._queue(event, block)

    def record_written(self, event: ScanEvent) -> ScanSummary:
        """Queue ``event``, write it now with every check queued, and return its serial's
        summary after the write: the clone rules are decided in the write, against the checks
        every worker has written, so a check that breaks one says so in its own answer. When
        the write fails, or writes are failing already (then it would wait for the
        connection timeout), return what :meth:`record` gives (the check waits in the queue)."""
        summary = self.record(event)
        if not summary.complete or self.trouble is not None:
            return summary
        try:
            self.flush()
        except Exception:  # the background thread logs it and tries again
            return summary
        key_index, serial = event.serial
        with self._lock:
            block = self._blocks.get((key_index, serial // BLOCK_SERIALS))
            if block is None:  # forgotten meanwhile (to keep the cache's bound)
                return summary
            queued = self._pending.get(event.serial)  # checks of it since the write
            if queued is None:
                return self._summary(block, event.serial, 0, None)
            first = self._events[queued.earliest].at
            return self._summary(block, event.serial, queued.count, first)

    def _queue(self, event: ScanEvent, block: _Block, *, complete: bool = True) -> ScanSummary:
        """Queue ``event`` (unless the queue is full: then it is dropped, counted) and return
        its serial's summary from ``block``. Call with the lock held."""
        events = self._events
        if len(events) >= self._max_queued:  # the database refuses writes for long
            self._drop(1)
            return self._summary(block, event.serial, 0, None)._replace(complete=complete)
        events.append(event)
        index = len(events) - 1
        queued = self._pending.get(event.serial)
        if queued is None:
            queued = self._pending[event.serial] = _Queued(index)
        queued.note(events, index)
        summary = self._summary(block, event.serial, queued.count, events[queued.earliest].at)
        return summary if complete else summary._replace(complete=False)

    def _summary(
        self, block: _Block, key: SerialKey, count: int, first: datetime | None
    ) -> ScanSummary:
        """Return a serial's summary: its stored aggregate, the flush under way if the stored
        row does not show it yet, and ``count`` queued checks, the first at ``first``. Call
        with the lock held."""
        stored = block.stored.get(key[1])
        flushing = self._flushing.get(key)
        if flushing is not None and (stored is None or stored.version < self._flushing_version):
            count += flushing.count
            at = self._flushing_events[flushing.earliest].at
            first = at if first is None else min(first, at)
        if stored is None:
            return ScanSummary(count, first)
        stored_first = scan_sql.stored_time(stored.first_at)
        return ScanSummary(
            stored.scans + count,
            stored_first if first is None else min(stored_first, first),
            stored.devices,
            stored.places,
            stored.flag,
        )

    def _load(self, where: SerialKey) -> _Block:
        """Read a block's stored aggregates and keep them (changes that arrive meanwhile
        are kept too: the newer version wins). Returns the block."""
        with self._lock:
            block = self._blocks.get(where)
            if block is None:
                block = self._blocks[where] = _Block()
        key_index, number = where
        first = number * BLOCK_SERIALS
        try:
            cursor = self._cursor()
            cursor.execute(self._sql.block, (key_index, first, first + BLOCK_SERIALS))
            rows = cursor.fetchall()
        except DatabaseUnreachable:
            raise
        except Exception as exc:
            lost = self._lost_connection(exc)
            self._forget_cursor()
            if lost:
                raise DatabaseUnreachable(str(exc)) from exc
            raise
        with self._lock:
            for serial, *aggregate in rows:
                self._cached += block.keep(serial, Stored._make(aggregate))
            block.ready = True
            self._forget_oldest()
        return block

    def _forget_blocks(self) -> None:
        """Drop every kept block (they are read again when asked). Call with the lock held."""
        self._blocks.clear()
        self._cached = 0

    def _forget_oldest(self) -> None:
        """Drop the least recently asked blocks while more aggregates than allowed are kept
        (the newest block stays). Call with the lock held."""
        while self._cached > self._cache_serials and len(self._blocks) > 1:
            _, oldest = self._blocks.popitem(last=False)
            self._cached -= len(oldest.stored)

    def flush(self) -> None:
        """Write every queued event now, in one transaction of multi-row statements (this runs
        on the request workers' CPU, so it must stay cheap), then keep the changes every worker
        has written since the last flush. Until then the events count as in flight; once the
        change is kept, its version tells that they are in the stored rows.

        Safe to call from any thread (a request that needs its worker's scans stored calls it):
        flushes take turns, since the one under way is kept for the summaries."""
        with self._flush_lock:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            pending, self._pending = self._pending, {}
            self._flushing_events, self._flushing = events, pending
        unwritten = events
        try:
            if events:
                self._write_apart(events, pending)
            unwritten = []
            self._follow_changes()
        except Exception as exc:
            error = exc
            if isinstance(exc, _Unwritten):
                error, unwritten = exc.error, exc.events
            self._forget_cursor()
            if unwritten:
                same = unwritten is events
                self._requeue(unwritten, pending if same else _queued_of(unwritten))
            since = self.trouble.since if self.trouble else time.monotonic()
            self.trouble = Trouble(since, type(error).__name__)
            raise error from None
        else:
            self._unreachable_until = 0.0  # the database answered: reads may try again
            if events:  # reading alone proves nothing of writing (a full disk still reads)
                self.trouble = None
                self._said_dropped = False
        finally:
            with self._lock:
                self._flushing_events, self._flushing = [], {}
                self._flushing_version = _UNCOMMITTED

    def _write_apart(self, events: list[ScanEvent], pending: dict[SerialKey, _Queued]) -> None:
        """Write ``events`` (see :meth:`_write`). When the database refuses a row, write them
        in halves, and halves of those, so that only the checks it refuses are left out
        (counted in ``refused``, logged). Raises :class:`_Unwritten` with the checks not
        written when a write fails otherwise."""
        parts = [(events, pending)]
        while parts:
            part, queued = parts.pop()
            try:
                self._write(part, queued)
            except _REFUSED_ROW as exc:
                if len(part) == 1:
                    _log.error("the database refused a check of serial %s: %s", part[0].serial, exc)
                    with self._lock:
                        self.refused += 1
                        self.lost_at = time.monotonic()
                    continue
                half = len(part) // 2
                parts += [(p, _queued_of(p)) for p in (part[half:], part[:half])]
            except Exception as exc:
                rest = part + [e for later, _ in reversed(parts) for e in later]
                raise _Unwritten(rest, exc) from exc

    def _requeue(self, events: list[ScanEvent], pending: dict[SerialKey, _Queued]) -> None:
        """Put the checks of a failed write back before those queued since, so that the next
        flush writes them first; past ``max_queued`` the failed batch, the oldest, is dropped
        instead (counted)."""
        with self._lock:
            if len(events) + len(self._events) > self._max_queued:
                self._drop(len(events))
                return
            merged = dict(pending)
            shift, queue = len(events), events + self._events
            for key, later in self._pending.items():
                earlier = merged.get(key)
                if earlier is None:
                    later.earliest += shift
                    later.latest += shift
                    merged[key] = later
                    continue
                earlier.count += later.count
                if queue[later.earliest + shift].at < queue[earlier.earliest].at:
                    earlier.earliest = later.earliest + shift
                if queue[later.latest + shift].at >= queue[earlier.latest].at:
                    earlier.latest = later.latest + shift
            self._events, self._pending = queue, merged

    def _drop(self, count: int) -> None:
        """Count ``count`` checks that will never be recorded; say so in the log once until a
        write succeeds again. Call with the lock held."""
        self.lost_at = time.monotonic()
        if not self._said_dropped:
            _log.error(
                "the scan queue is full (%d checks) while the database refuses writes: "
                "checks are being dropped",
                self._max_queued,
            )
            self._said_dropped = True
        self.dropped += count

    def _write(self, events: list[ScanEvent], pending: dict[SerialKey, _Queued]) -> None:
        """Write ``events`` and add them to their serials' aggregates (``pending``, each
        serial's checks in ``events``) in one transaction, with the clone rules' marks, and
        record the change in the feed under the flush's version."""
        bind_time = self._sql.bind_time
        times = [bind_time(e.at) for e in events]
        with self._engine.begin() as connection:
            version = int(connection.exec_driver_sql(self._sql.bump).scalar_one())
            with self._lock:
                self._flushing_version = version
            scan_sql.execute_rows(
                connection,
                self._sql.insert,
                [
                    (time, *e.serial, e.verdict, e.role, e.device_id, e.location, e.token_id)
                    for time, e in zip(times, events, strict=True)
                ],
            )
            scan_sql.execute_rows(
                connection,
                self._sql.upsert,
                [
                    (*key, q.count, times[q.earliest], times[q.latest], version)
                    for key, q in sorted(pending.items())  # B-tree order
                ],
            )
            clone_marks.update_patterns(connection, self._sql, events, self._rules)
            keys = orjson.dumps(list(pending)).decode()
            connection.exec_driver_sql(self._sql.publish, (version, keys))
            connection.exec_driver_sql(self._sql.prune, (version - self._keep_flushes,))

    def clear_pattern(self, connection: Any, key: SerialKey) -> bool:
        """Forget what one serial's checks so far say of copying (its phones, places, last
        located check, flag and *away* mark; its count of checks stays), in the caller's
        transaction on ``connection``, and pass the change to every worker through the feed.
        Returns whether there was a flag or an away mark to clear."""
        version = int(connection.exec_driver_sql(self._sql.bump).scalar_one())
        # away becomes false, where there was a flag or away is true
        cleared = connection.exec_driver_sql(self._sql.clear, (False, version, *key, True))
        if cleared.rowcount == 0:
            return False
        connection.exec_driver_sql(self._sql.forget_marks, key)
        connection.exec_driver_sql(self._sql.publish, (version, orjson.dumps([key]).decode()))
        return True

    def _follow_changes(self) -> None:
        """Keep the aggregates changed by the flushes since the last call (every worker's)
        that belong to kept blocks. A worker that fell behind the flushes kept forgets every
        block (they are read again when asked)."""
        cursor = self._cursor()
        cursor.execute(self._sql.flushes, (self._seen,))
        flushes = [_Flush(version, orjson.loads(rows)) for version, rows in cursor.fetchall()]
        with self._lock:
            if flushes and flushes[0].version > self._seen + 1:
                self._forget_blocks()
            blocks, added = self._blocks, 0
            for flush in flushes:
                for key_index, serial, *aggregate in flush.rows:
                    block = blocks.get((key_index, serial // BLOCK_SERIALS))
                    if block is not None:
                        added += block.keep(serial, Stored._make(aggregate))
            self._cached += added
            if flushes:
                self._seen = flushes[-1].version  # in version order, all past the last seen
            self._forget_oldest()

    def close(self) -> None:
        """Stop the background thread after a last flush, and close the connections every
        thread checked out (they are kept for a thread's lifetime, and request threads
        outlive a service that is closed)."""
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    def _run(self) -> None:
        pause = self._flush_seconds
        while not self._stopped:
            self._wake.wait(pause)
            self._wake.clear()
            trouble = self.trouble
            try:
                self.flush()
            except Exception as exc:  # the recorder must outlive a database hiccup
                if pause == self._flush_seconds:  # once per spell, not four times a second
                    _log.error("could not write scan events (%s); they wait in the queue", exc)
                pause = min(pause * 2, BACKOFF_SECONDS)
            else:
                pause = self._flush_seconds
                if trouble is not None and self.trouble is None:
                    _log.warning(
                        "scan events are written again, after %.1f s",
                        time.monotonic() - trouble.since,
                    )


class _Unwritten(Exception):
    """A write failed part of the way, with ``error``: ``events`` were not written."""

    def __init__(self, events: list[ScanEvent], error: Exception) -> None:
        super().__init__(f"{len(events)} checks not written: {error}")
        self.events, self.error = events, error


def _queued_of(events: list[ScanEvent]) -> dict[SerialKey, _Queued]:
    """Return each serial's checks in ``events``, as :meth:`ScanRecorder._queue` counts them."""
    queued: dict[SerialKey, _Queued] = {}
    for index, event in enumerate(events):
        entry = queued.get(event.serial)
        if entry is None:
            entry = queued[event.serial] = _Queued(index)
        entry.note(events, index)
    return queued


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
