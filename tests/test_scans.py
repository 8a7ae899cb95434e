"""Scan recording: events reach the database through the driver-level flush exactly as the ORM
would have stored them, and the per-serial aggregate counts every scan once."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, delete, event, func, select, update
from sqlalchemy.dialects import sqlite

from tests.conftest import NOW, Demo
from verifier.cli import main
from verifier.scans import clone_marks
from verifier.scans.recorder import BLOCK_SERIALS, ScanEvent, ScanRecorder
from verifier.scans.scan_sql import _sqlite_time
from verifier.service import Service
from verifier.settings import Settings, SettingsError
from verifier.store.database import make_engine, migrate, session_factory, sqlite_url
from verifier.store.models import Meta, Scan, SerialScans, UtcDateTime


def test_scans_are_aggregated_per_serial_across_flushes(demo: Demo) -> None:
    recorder = demo.service.recorder
    serial = (1, 424242)
    for minutes in (5, 1, 3):  # out of order: first_at is the earliest, last_at the latest seen
        recorder.record(ScanEvent(NOW + timedelta(minutes=minutes), serial, "genuine", "public"))
        recorder.flush()
    summary = recorder.record(ScanEvent(NOW, (1, 424242), "genuine", "inspector", "phone-7"))
    assert summary.count == 4
    assert summary.first_at == NOW
    recorder.flush()
    with demo.service.sessions() as session:
        row = session.get(SerialScans, serial)
        assert row is not None
        assert row.count == 4
        events = session.scalars(select(Scan).where(Scan.serial == 424242)).all()
        assert sorted(e.at for e in events) == [NOW + timedelta(minutes=m) for m in (0, 1, 3, 5)]
        assert {e.device_id for e in events} == {None, "phone-7"}


def test_first_and_last_check_are_the_earliest_and_latest_in_any_order_regression(
    demo: Demo,
) -> None:
    """Regression: ``last_at`` was the time of the last event queued and ``first_at`` never
    moved earlier, so checks arriving out of order (a demo, an import) hid the latest check
    and shrank the desk's history window to nothing."""
    recorder, serial = demo.service.recorder, (1, 777_001)
    for hours in (5, 9, 1):
        recorder.record(ScanEvent(NOW + timedelta(hours=hours), serial, "genuine", "public"))
    recorder.flush()
    recorder.record(ScanEvent(NOW - timedelta(hours=2), serial, "genuine", "public"))
    recorder.record(ScanEvent(NOW + timedelta(hours=3), serial, "genuine", "public"))
    recorder.flush()
    with demo.service.sessions() as session:
        row = session.get_one(SerialScans, serial)
    assert (row.count, row.first_at, row.last_at) == (
        5,
        NOW - timedelta(hours=2),
        NOW + timedelta(hours=9),
    )


def test_flushed_timestamps_are_stored_in_the_orm_format_regression(demo: Demo) -> None:
    """Regression: the raw flush once bound aware datetimes straight to sqlite3, which stored
    '... +00:00' text beside the ORM's '... .ffffff' text, so time comparisons in SQL broke."""
    recorder = demo.service.recorder
    recorder.record(ScanEvent(NOW, (1, 5151), "genuine", "public"))
    recorder.flush()
    with demo.service.sessions() as session:
        later = session.scalar(select(func.count()).select_from(Scan).where(Scan.at > NOW))
        at_or_before = session.scalar(
            select(func.count()).select_from(Scan).where(Scan.serial == 5151, Scan.at <= NOW)
        )
        assert (later, at_or_before) == (0, 1)
        if session.get_bind().dialect.name == "sqlite":
            stored = session.execute(
                select(func.cast(Scan.at, String())).where(Scan.serial == 5151)
            ).scalar_one()
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stored)


def test_a_scan_time_in_vietnam_time_is_stored_as_the_same_instant_regression(demo: Demo) -> None:
    """Regression: SQLite stored the wall time of a non-UTC timestamp and read it back as UTC,
    seven hours off for a time given in Vietnam's zone."""
    vietnam = NOW.astimezone(timezone(timedelta(hours=7)))
    recorder = demo.service.recorder
    recorder.record(ScanEvent(vietnam, (1, 6161), "genuine", "public"))
    recorder.flush()
    with demo.service.sessions() as session:
        stored = session.scalar(select(Scan.at).where(Scan.serial == 6161))
        first = session.scalar(select(SerialScans.first_at).where(SerialScans.serial == 6161))
    assert stored == first == NOW


def test_the_flush_writes_sqlite_times_as_the_orm_does() -> None:
    """The flush formats its SQLite timestamps itself; the text must be the ORM's, or time
    comparisons in SQL between the two paths' rows go wrong."""
    dialect = sqlite.dialect()
    orm = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert orm is not None
    vietnam = timezone(timedelta(hours=7))
    for moment in (
        NOW,
        NOW.replace(microsecond=0),
        NOW.replace(microsecond=7),
        datetime(2031, 1, 1, 6, 59, 59, 999_999, tzinfo=vietnam),
        datetime(1999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    ):
        assert _sqlite_time(moment) == orm(moment)


class CountingRecorder(ScanRecorder):
    """A recorder that lists the blocks it reads from the database in ``loads``."""

    def __init__(self, *args: Any, **options: Any) -> None:
        self.loads: list[tuple[int, int]] = []
        super().__init__(*args, **options)

    def _load(self, where: tuple[int, int]) -> Any:
        self.loads.append(where)
        return super()._load(where)


@contextmanager
def recorders(url: str, count: int, **options: Any) -> Iterator[list[CountingRecorder]]:
    """``count`` recorders on one database, as in that many workers, flushed only when a test
    says so."""
    engines = [make_engine(url, writer=True) for _ in range(count)]
    made = []
    try:
        for engine in engines:
            migrate(engine)
            made.append(CountingRecorder(session_factory(engine), flush_seconds=3600, **options))
        yield made
    finally:
        for recorder in made:
            recorder.close()
        for engine in engines:
            engine.dispose()


def scan(serial: int, minutes: int = 0) -> ScanEvent:
    return ScanEvent(NOW + timedelta(minutes=minutes), (1, serial), "genuine", "public")


def test_a_block_of_serials_is_read_once_and_every_scan_counted(database_url: str) -> None:
    with recorders(database_url, 1) as (recorder,):
        recorder.record(scan(7070))
        recorder.flush()  # one stored scan of 7070
        counts = [recorder.record(scan(s)).count for s in (7070, 7070, 7071, 7072)]
        recorder.flush()
        counts.append(recorder.record(scan(7071, minutes=-5)).count)
        assert counts == [2, 3, 1, 1, 2]
        assert recorder.loads == [(1, 7070 // BLOCK_SERIALS)]
        assert recorder.record(scan(7070)).first_at == NOW
        assert recorder.record(scan(7071)).first_at == NOW - timedelta(minutes=5)


def test_a_worker_follows_the_scans_another_worker_wrote(database_url: str) -> None:
    with recorders(database_url, 2) as (one, other):
        assert one.record(scan(9090)).count == 1
        one.flush()
        assert other.record(scan(9090, minutes=1)).count == 2  # read from the database
        other.flush()
        one.flush()  # nothing of its own: it follows the other's changes
        summary = one.record(scan(9090, minutes=2))
        assert (summary.count, summary.first_at) == (3, NOW)
        assert one.loads == other.loads == [(1, 9090 // BLOCK_SERIALS)]


def test_a_scan_read_during_a_flush_counts_it_once_regression(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events of a flush count until the stored row shows that flush's version, whether
    the row was read before the flush committed or after (a worker rereads a block at any
    time): counted twice, a stamp would show more checks than it had. The first check may be
    one of the flush's too."""
    with recorders(database_url, 1) as (recorder,):
        recorder.record(scan(3030, minutes=-10))
        seen: dict[str, tuple[int, datetime | None]] = {}
        write, patterns = recorder._write, clone_marks.update_patterns

        def reread(moment: str) -> None:
            recorder._forget_blocks()
            summary = recorder.record(scan(3030))
            seen[moment] = (summary.count, summary.first_at)

        def writing(*args: Any) -> None:
            write(*args)
            reread("after commit")

        def writing_patterns(*args: Any) -> None:
            patterns(*args)
            reread("before commit")

        monkeypatch.setattr(recorder, "_write", writing)
        monkeypatch.setattr(clone_marks, "update_patterns", writing_patterns)
        recorder.flush()
        monkeypatch.undo()
        first = NOW - timedelta(minutes=10)
        assert seen == {"before commit": (2, first), "after commit": (3, first)}
        recorder.flush()
        assert recorder.record(scan(3030)).count == 4


def test_a_large_flush_stores_every_event_in_runs_of_rows(database_url: str) -> None:
    """The flush writes runs of 64 rows, then the rest in runs of powers of two: 165 events
    of 133 serials take runs of 64, 64, 32, 4 and 1 rows, and of 64, 64, 4 and 1."""
    serials = [*range(20_000, 20_133), *range(20_000, 20_032)]
    with recorders(database_url, 1) as (recorder,):
        for serial in serials:
            recorder.record(scan(serial))
        recorder.flush()
        assert [recorder.record(scan(s)).count for s in (20_000, 20_040, 20_132)] == [3, 2, 2]
        with recorder._engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Scan)).scalar()
            counts = dict(connection.execute(select(SerialScans.serial, SerialScans.count)).all())
    assert stored == len(serials)
    assert counts == {s: 2 if s < 20_032 else 1 for s in range(20_000, 20_133)}


def test_a_worker_behind_the_kept_flushes_reads_its_blocks_again(database_url: str) -> None:
    """Flushes are pruned after a while; a worker that did not follow them in time (stopped
    in a debugger, starved) must not keep the aggregates they changed."""
    with recorders(database_url, 2, keep_flushes=1) as (one, other):
        other.record(scan(5050))
        other.flush()
        one.record(scan(5050))
        one.flush()
        one.record(scan(5051))  # the same block; this flush prunes the one before
        one.flush()
        other.flush()  # finds only the last flush: 5050's second scan is in none it reads
        assert other.record(scan(5050)).count == 3
        assert other.loads.count((1, 5050 // BLOCK_SERIALS)) == 2


def test_old_blocks_leave_the_memory_and_come_back_right(database_url: str) -> None:
    with recorders(database_url, 1, cache_serials=2) as (recorder,):
        far = 5 * BLOCK_SERIALS
        for serial in (1, 2, far, far + 1, 1):
            recorder.record(scan(serial))
        recorder.flush()  # four aggregates now: the block asked least recently is dropped
        assert recorder.record(scan(far + 2)).count == 1
        assert recorder.record(scan(1)).count == 3
        assert recorder.loads == [(1, 0), (1, 5), (1, 5), (1, 0)]
        assert len(recorder._blocks) == 1


def test_the_counter_starts_past_a_restored_database(database_url: str) -> None:
    """A database restored from a backup can hold rows stamped with versions and no counter:
    a counter restarted at zero would give the next changes versions the workers ignore."""
    with recorders(database_url, 1) as (recorder,):
        recorder.record(scan(4040))
        recorder.flush()
    engine = make_engine(database_url, writer=True)
    try:
        with engine.begin() as connection:
            connection.execute(delete(Meta).where(Meta.key == "scan-version"))
            connection.execute(update(SerialScans).values(version=57))
        with recorders(database_url, 2) as (one, other):
            assert other.record(scan(4040)).count == 2
            one.record(scan(4040))
            one.flush()
            other.flush()
            with engine.connect() as connection:
                version = connection.execute(select(SerialScans.version)).scalar_one()
            assert version == 59
            assert other.record(scan(4040)).count == 4
    finally:
        engine.dispose()


def test_a_recorder_reads_no_aggregate_to_start_when_the_counter_exists_regression(
    tmp_path: Path,
) -> None:
    """Regression: since serial_scans.version lost its index, the counter's start value,
    MAX(version), reads every serial's aggregate (200 ms at a million serials here), and every
    worker ran it at start even when the counter was there."""
    engine = make_engine(sqlite_url(tmp_path), writer=True)
    migrate(engine)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    try:
        for _ in range(2):
            ScanRecorder(session_factory(engine)).close()
        reads_all = [s for s in statements if "MAX(version)" in s]
        assert len(reads_all) == 1  # the first recorder's, on a database without the counter
    finally:
        engine.dispose()


def test_the_recorder_reads_through_indexes_regression(tmp_path: Path) -> None:
    """Regression: written as (key_index, serial) IN (VALUES ...), SQLite scanned the whole
    serial_scans table on every request, and the service slowed down as scans accumulated.
    The block read, the flush's record of its aggregates and the change feed must each use
    an index."""
    engine = make_engine(sqlite_url(tmp_path), writer=True)
    migrate(engine)
    recorder = ScanRecorder(session_factory(engine))
    statements = {
        "block": (1, 0, BLOCK_SERIALS),
        "publish": (1, "[[1, 5], [1, 6]]"),
        "flushes": (0,),
        "prune": (0,),
    }
    try:
        with engine.connect() as connection:
            for name, parameters in statements.items():
                plan = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + getattr(recorder._sql, name), parameters
                ).all()
                details = " | ".join(row[-1] for row in plan)
                assert not re.search(r"SCAN (s|serial_scans|scan_flushes)\b", details), name
                assert "USING" in details, name
        assert recorder.record(scan(1)).count == 1
    finally:
        recorder.close()
        engine.dispose()


def test_pruning_removes_old_events_and_keeps_the_counts(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = demo.service.recorder
    now = datetime.now(UTC)
    for days in (400, 200, 1):
        recorder.record(ScanEvent(now - timedelta(days=days), (1, 8080), "genuine", "public"))
    recorder.flush()
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    assert main(["scans", "prune", "--data-dir", str(demo.data_dir), "--older-than", "365"]) == 0
    assert "removed" in capsys.readouterr().out
    with demo.service.sessions() as session:
        left = session.scalars(select(Scan.at).where(Scan.serial == 8080)).all()
        aggregate = session.get(SerialScans, (1, 8080))
    assert len(left) == 2
    assert aggregate is not None
    assert aggregate.count == 3
    assert main(["scans", "prune", "--data-dir", str(demo.data_dir), "--older-than", "0"]) == 2


def test_workers_starting_together_migrate_in_turn(database_url: str) -> None:
    """Regression: two workers migrating a fresh PostgreSQL database at once both created
    the tables, and one of them failed to start."""
    engines = [make_engine(database_url, writer=True) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(migrate, engines))
        with engines[0].connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert len(version) == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_a_closed_recorder_returns_every_threads_connection_regression(
    database_url: str,
) -> None:
    """Each thread that reads through a recorder keeps a connection of its own; request
    threads outlive a closed service, so their connections stayed open and a long test run on
    PostgreSQL ran out of server connections. Closing the recorder returns them all."""
    engine = make_engine(database_url, writer=True)
    migrate(engine)
    recorder = ScanRecorder(session_factory(engine), flush_seconds=3600)
    try:
        together = threading.Barrier(4)  # four threads at once: an idle one is not reused

        def check(serial: int) -> None:
            together.wait(timeout=30)
            recorder.record(scan(serial))

        with ThreadPoolExecutor(4) as pool:
            serials = [BLOCK_SERIALS * n for n in range(1, 9)]  # a block each: a read each
            list(pool.map(check, serials))
        assert engine.pool.checkedout() >= 2  # type: ignore[attr-defined]
    finally:
        recorder.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()


def test_a_recorder_connection_the_server_closed_is_opened_again_regression(demo: Demo) -> None:
    """The recorder kept one connection per thread for ever: after a PostgreSQL restart
    every read of a new block of serials failed (500 on each check of a stamp from it) until
    the process was restarted. Now the check is answered and kept, the broken connection is
    dropped, and the next read opens a new one."""
    recorder = demo.service.recorder
    event = ScanEvent(NOW, (1, 7 * BLOCK_SERIALS + 3), "genuine", "public")
    recorder._cursor()
    recorder._local.connection.driver_connection.close()
    assert recorder.record(event).complete is False  # answered, and the check kept
    recorder.flush()  # the database answers again: reads may try again at once
    again = recorder.record(event)  # a new connection, without a restart
    assert (again.complete, again.count) == (True, 2)


def test_the_flush_interval_is_a_setting_the_recorder_follows(demo: Demo, tmp_path: Path) -> None:
    """``OCOP_SCAN_FLUSH_SECONDS``: what a worker killed outright may lose (docs/operations.md)."""
    assert Settings.load(tmp_path, {"OCOP_KEY_PASSPHRASE": "x"}).scan_flush_seconds == 0.25
    env = {"OCOP_KEY_PASSPHRASE": "x", "OCOP_SCAN_FLUSH_SECONDS": "1.5"}
    assert Settings.load(tmp_path, env).scan_flush_seconds == 1.5
    for bad in ("0", "0.01", "6", "nan", "inf", "-1", "soon"):
        with pytest.raises(SettingsError, match="OCOP_SCAN_FLUSH_SECONDS"):
            Settings.load(tmp_path, {**env, "OCOP_SCAN_FLUSH_SECONDS": bad})
    settings = dataclasses.replace(demo.service.settings, scan_flush_seconds=1.5)
    service = Service.start(settings, NOW)
    try:
        assert service.recorder._flush_seconds == 1.5
    finally:
        service.close()
