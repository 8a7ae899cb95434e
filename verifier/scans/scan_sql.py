"""The recorder's SQL on the scan tables, in the engine's dialect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import Engine

from verifier.store.models import UtcDateTime

_SQL = {
    "block": "SELECT serial, count, first_at, devices, places, flag, version FROM serial_scans"
    " WHERE key_index = ? AND serial >= ? AND serial < ?",
    "flushes": "SELECT version, rows FROM scan_flushes WHERE version > ? ORDER BY version",
    "prune": "DELETE FROM scan_flushes WHERE version <= ?",
    # a new or restored database (which may hold versions without the counter): start past
    # them; MAX(version) has no index, so this runs only when the counter is missing
    "start": "INSERT INTO meta (key, value) SELECT 'scan-version',"
    " CAST(COALESCE(MAX(version), 0) AS TEXT) FROM serial_scans WHERE 1 = 1"
    " ON CONFLICT (key) DO NOTHING",
    "version": "SELECT value FROM meta WHERE key = 'scan-version'",
    # the row stays locked to the commit, so flushes commit in the order of their versions
    "bump": "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)"
    " WHERE key = 'scan-version' RETURNING value",
    "mark": "INSERT INTO serial_marks (key_index, serial, kind, value) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING",
    "pattern": "UPDATE serial_scans SET devices = ?, places = ?, last_latitude = ?,"
    " last_longitude = ?, last_located_at = ?, flag = ? WHERE key_index = ? AND serial = ?",
    "markets": "SELECT markets FROM batches WHERE key_index = ? AND first_serial <= ?"
    " AND last_serial >= ? AND markets IS NOT NULL",
    "away": "UPDATE serial_scans SET away = ? WHERE key_index = ? AND serial = ?",
    "forget_marks": "DELETE FROM serial_marks WHERE key_index = ? AND serial = ?",
    "clear": "UPDATE serial_scans SET devices = 0, places = 0, last_latitude = NULL,"
    " last_longitude = NULL, last_located_at = NULL, flag = NULL, away = ?, version = ?"
    " WHERE key_index = ? AND serial = ? AND (flag IS NOT NULL OR away = ?)",
}
# per dialect: the new aggregates of the serials a flush changed, as one JSON text, built by
# the database from the serials' keys (one parameter: no row crosses into Python); first_at
# is the same naive UTC text on both
_FLUSH = {
    "sqlite": "INSERT INTO scan_flushes (version, rows) SELECT ?, json_group_array("
    "json_array(s.key_index, s.serial, s.count, s.first_at, s.devices, s.places, s.flag,"
    " s.version)) FROM json_each(?) AS j JOIN serial_scans AS s"
    " ON s.key_index = json_extract(j.value, '$[0]') AND s.serial = json_extract(j.value, '$[1]')",
    "postgresql": "INSERT INTO scan_flushes (version, rows) SELECT ?, COALESCE(json_agg("
    "json_build_array(s.key_index, s.serial, s.count, to_char(s.first_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD HH24:MI:SS.US'), s.devices, s.places, s.flag, s.version)), '[]')::text"
    " FROM jsonb_array_elements(?::jsonb) AS j JOIN serial_scans AS s"
    " ON s.key_index = (j.value ->> 0)::int AND s.serial = (j.value ->> 1)::bigint",
}
# written out for a run of rows: see execute_rows
_INSERT = (
    "INSERT INTO scans (at, key_index, serial, verdict, role, device_id, location, token_id)"
    " VALUES {}",
    "(?, ?, ?, ?, ?, ?, ?, ?)",
)
_UPSERT = (
    "INSERT INTO serial_scans (key_index, serial, count, first_at, last_at, version) VALUES {}"
    " ON CONFLICT (key_index, serial) DO UPDATE"
    " SET count = serial_scans.count + excluded.count,"
    " first_at = CASE WHEN excluded.first_at < serial_scans.first_at"
    " THEN excluded.first_at ELSE serial_scans.first_at END,"
    " last_at = CASE WHEN excluded.last_at > serial_scans.last_at"
    " THEN excluded.last_at ELSE serial_scans.last_at END, version = excluded.version",
    "(?, ?, ?, ?, ?, ?)",
)
_ROWS = 64  # rows per statement in the flush
_MARK_COUNTS = (
    "SELECT key_index, serial, kind, COUNT(*) FROM serial_marks WHERE {} GROUP BY key_index,"
    " serial, kind"
)
_LAST_POINTS = (
    "SELECT key_index, serial, last_latitude, last_longitude, last_located_at, flag"
    " FROM serial_scans WHERE {}"
)


class _Statements(dict[int, str]):
    """The statement for each number of parameters, made on first use."""

    def __init__(self, make: Callable[[int], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, count: int) -> str:
        statement = self[count] = self._make(count)
        return statement


def _joined(template: str, item: str, joint: str = ", ") -> Callable[[int], str]:
    """Return the maker of ``template`` with ``n`` copies of ``item`` joined by ``joint``."""

    def make(n: int) -> str:
        return template.format(joint.join([item] * n))

    return make


def execute_rows(connection: Any, statements: _Statements, rows: list[tuple[Any, ...]]) -> None:
    """Execute a multi-row statement for ``rows``: runs of ``_ROWS`` rows, then the rest in
    runs of powers of two, so that few distinct statements are prepared. A run is one step
    for SQLite, which releases the GIL once where ``executemany`` releases it for every row
    (under load each release hands the GIL to the request thread and back), and one round
    trip for PostgreSQL."""
    start, size = 0, _ROWS
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        run = rows[start : start + size]
        connection.exec_driver_sql(statements[size], tuple(chain.from_iterable(run)))
        start += size


def _sqlite_time(moment: datetime) -> str:
    """Return ``moment`` as the ORM's UtcDateTime keeps it on SQLite, naive UTC text (made
    directly: the flush makes one per scan, and SQLAlchemy's processor is twice as slow)."""
    t = moment.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest way here
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond
    )  # fmt: skip


def stored_time(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite keeps UTC timestamps as text without the zone
        return datetime.fromisoformat(value + "+00:00")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def statements(engine: Engine) -> dict[str, Any]:
    """Return the recorder's statements in ``engine``'s dialect, by name."""
    # written for sqlite3's qmark parameters; psycopg takes the format style
    qmark = engine.dialect.paramstyle == "qmark"

    def styled(sql: str) -> str:
        return sql if qmark else sql.replace("?", "%s")

    sql: dict[str, Any] = {k: styled(v) for k, v in _SQL.items()}
    sql["flush"] = styled(_FLUSH[engine.dialect.name])
    pair = styled("(key_index = ? AND serial = ?)")
    for name, template in (("mark_counts", _MARK_COUNTS), ("last_points", _LAST_POINTS)):
        sql[name] = _Statements(_joined(template, pair, " OR "))
    for name, (template, item) in (("insert", _INSERT), ("upsert", _UPSERT)):
        sql[name] = _Statements(_joined(template, styled(item)))
    return sql


def time_binder(engine: Engine) -> Callable[[datetime], Any]:
    """Return the function that makes a time a parameter of ``engine``'s statements."""
    # stored as the ORM stores them, so that both paths read and compare alike
    time_type = UtcDateTime().dialect_impl(engine.dialect)
    return (
        _sqlite_time
        if engine.dialect.name == "sqlite"
        else time_type.bind_processor(engine.dialect) or (lambda t: t)
    )
