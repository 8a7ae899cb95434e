"""Scan recording: events reach the database through the driver-level flush exactly as the ORM
would have stored them, and the per-serial aggregate counts every scan once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import NOW, Demo
from verifier.cli import main
from verifier.db import make_engine, migrate, session_factory, sqlite_url
from verifier.models import Scan, SerialScans
from verifier.scans import BatchedRecorder, ScanEvent, ScanRecorder, ScanSummary


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
                select(func.cast(Scan.at, Scan.verdict.type)).where(Scan.serial == 5151)
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


def test_concurrent_requests_share_one_read_and_count_every_scan(demo: Demo) -> None:
    recorder = demo.service.recorder
    recorder.record(ScanEvent(NOW, (1, 7070), "genuine", "public"))
    recorder.flush()  # one stored scan of 7070
    batched = BatchedRecorder(recorder)
    reads: list[int] = []
    original = recorder.stored_many

    def counting(serials: Collection[tuple[int, int]]) -> dict[Any, Any]:
        reads.append(len(serials))
        return original(serials)

    recorder.stored_many = counting  # type: ignore[method-assign]

    async def burst() -> list[ScanSummary]:
        events = [ScanEvent(NOW, (1, s), "genuine", "public") for s in (7070, 7070, 7071, 7072)]
        return await asyncio.gather(*(batched.record(e) for e in events))

    summaries = asyncio.run(burst())
    assert reads == [3]  # four requests, three serials, one query
    assert [s.count for s in summaries] == [2, 3, 1, 1]
    assert all(s.first_at == NOW for s in summaries)


def test_the_batched_read_uses_the_primary_key_regression(tmp_path: Path) -> None:
    """Regression: written as (key_index, serial) IN (VALUES ...), SQLite scanned the whole
    serial_scans table on every request, and the service slowed down as scans accumulated."""
    engine = make_engine(sqlite_url(tmp_path), writer=True)
    migrate(engine)
    recorder = ScanRecorder(session_factory(engine))
    try:
        statement = recorder._sql["read_many"][3]
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, (1, 1, 1, 2, 1, 3)
            ).all()
        details = " | ".join(row[-1] for row in plan)
        assert "SCAN serial_scans" not in details
        assert "USING INDEX" in details
        assert recorder.stored_many([(1, 1), (1, 2), (1, 3)]) == {}
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
