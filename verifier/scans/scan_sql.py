"""The recorder's SQL on the scan tables, in the engine's dialect: :class:`ScanSql`.

Each statement is named and written once, with named parameters; SQLAlchemy renders it in the
dialect's positional form (``?`` for sqlite3, ``%s`` for psycopg), so statements take their
parameters as a tuple in the order they appear. The one statement the two databases write
differently, the change feed's record of a flush, is written once in each dialect's own SQL.

The change feed: each flush takes the next value of the ``scan-version`` counter (``bump``),
stamps the aggregates it changes with it, records their new values in one ``scan_flushes`` row
(``publish``) and commits in the order of the versions; a worker reads the records past the
last version it saw (``flushes``); old records are dropped (``prune``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Dialect

from verifier.store.models import UtcDateTime

__all__ = ["ROWS_PER_STATEMENT", "ManyRows", "ScanSql", "execute_rows", "stored_time"]

ROWS_PER_STATEMENT = 64  # rows per statement in the flush

# --- the change feed ---
# a new or restored database (which may hold versions without the counter): start past them;
# MAX(version) has no index, so this runs only when the counter is missing
_START = (
    "INSERT INTO meta (key, value) SELECT 'scan-version', CAST(COALESCE(MAX(version), 0) AS TEXT)"
    " FROM serial_scans WHERE 1 = 1 ON CONFLICT (key) DO NOTHING"
)
_VERSION = "SELECT value FROM meta WHERE key = 'scan-version'"
# the row stays locked to the commit, so flushes commit in the order of their versions
_BUMP = (
    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)"
    " WHERE key = 'scan-version' RETURNING value"
)
# the new aggregates of the serials a flush changed, as one JSON text, built by the database
# from the serials' keys (one parameter: no row crosses into Python); first_at is the same
# naive UTC text on both
_PUBLISH_SQLITE = (
    "INSERT INTO scan_flushes (version, rows) SELECT :version, json_group_array(json_array("
    "s.key_index, s.serial, s.count, s.first_at, s.devices, s.places, s.flag, s.version))"
    " FROM json_each(:keys) AS j JOIN serial_scans AS s"
    " ON s.key_index = json_extract(j.value, '$[0]') AND s.serial = json_extract(j.value, '$[1]')"
)
_PUBLISH_POSTGRESQL = (
    "INSERT INTO scan_flushes (version, rows) SELECT :version, COALESCE(json_agg(json_build_array("
    "s.key_index, s.serial, s.count, to_char(s.first_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD HH24:MI:SS.US'), s.devices, s.places, s.flag, s.version)), '[]')::text"
    " FROM jsonb_array_elements(CAST(:keys AS jsonb)) AS j JOIN serial_scans AS s"
    " ON s.key_index = (j.value ->> 0)::int AND s.serial = (j.value ->> 1)::bigint"
)
_FLUSHES = "SELECT version, rows FROM scan_flushes WHERE version > :seen ORDER BY version"
_PRUNE = "DELETE FROM scan_flushes WHERE version <= :oldest"

# --- the aggregates and the events ---
_BLOCK = (
    "SELECT serial, count, first_at, devices, places, flag, version FROM serial_scans"
    " WHERE key_index = :key_index AND serial >= :first AND serial < :end"
)
# templates written out for a run of rows (see execute_rows), and the row
_INSERT = (
    "INSERT INTO scans (at, key_index, serial, verdict, role, device_id, location, token_id)"
    " VALUES {}",
    "(:at, :key_index, :serial, :verdict, :role, :device_id, :location, :token_id)",
)
_UPSERT = (
    "INSERT INTO serial_scans (key_index, serial, count, first_at, last_at, version) VALUES {}"
    " ON CONFLICT (key_index, serial) DO UPDATE"
    " SET count = serial_scans.count + excluded.count,"
    " first_at = CASE WHEN excluded.first_at < serial_scans.first_at"
    " THEN excluded.first_at ELSE serial_scans.first_at END,"
    " last_at = CASE WHEN excluded.last_at > serial_scans.last_at"
    " THEN excluded.last_at ELSE serial_scans.last_at END, version = excluded.version",
    "(:key_index, :serial, :count, :first_at, :last_at, :version)",
)

# --- what the scans say of copying (see clone_marks) ---
_MARK = (
    "INSERT INTO serial_marks (key_index, serial, kind, value)"
    " VALUES (:key_index, :serial, :kind, :value) ON CONFLICT DO NOTHING"
)
_SERIAL = "(key_index = :key_index AND serial = :serial)"  # one serial of a ManyRows query
_MARK_COUNTS = (
    "SELECT key_index, serial, kind, COUNT(*) FROM serial_marks WHERE {}"
    " GROUP BY key_index, serial, kind"
)
_LAST_POINTS = (
    "SELECT key_index, serial, last_latitude, last_longitude, last_located_at, flag"
    " FROM serial_scans WHERE {}"
)
_PATTERN = (
    "UPDATE serial_scans SET devices = :devices, places = :places, last_latitude = :latitude,"
    " last_longitude = :longitude, last_located_at = :located_at, flag = :flag"
    " WHERE key_index = :key_index AND serial = :serial"
)
_MARKETS = (
    "SELECT markets FROM batches WHERE key_index = :key_index AND first_serial <= :serial"
    " AND last_serial >= :serial AND markets IS NOT NULL"
)
_AWAY = "UPDATE serial_scans SET away = :away WHERE key_index = :key_index AND serial = :serial"
_CLEAR = (
    "UPDATE serial_scans SET devices = 0, places = 0, last_latitude = NULL, last_longitude = NULL,"
    " last_located_at = NULL, flag = NULL, away = :not_away, version = :version"
    " WHERE key_index = :key_index AND serial = :serial AND (flag IS NOT NULL OR away = :away)"
)
_FORGET_MARKS = "DELETE FROM serial_marks WHERE key_index = :key_index AND serial = :serial"


class ManyRows(dict[int, str]):
    """A statement for any number of rows (or of serials): ``template`` with ``n`` copies of
    ``item`` joined by ``joint``, made for each ``n`` on first use."""

    def __init__(self, template: str, item: str, joint: str = ", ") -> None:
        super().__init__()
        self._template, self._item, self._joint = template, item, joint

    def __missing__(self, count: int) -> str:
        statement = self[count] = self._template.format(self._joint.join([self._item] * count))
        return statement


@dataclass(frozen=True, slots=True)
class ScanSql:
    """The recorder's statements in one dialect, and its form of a time. Build with
    :meth:`for_dialect`."""

    start: str
    version: str
    bump: str
    publish: str
    flushes: str
    prune: str
    block: str
    insert: ManyRows
    upsert: ManyRows
    mark: str
    mark_counts: ManyRows
    last_points: ManyRows
    pattern: str
    markets: str
    away: str
    clear: str
    forget_marks: str
    #: A time as a parameter, in the form the ORM stores it, so that both paths compare alike.
    bind_time: Callable[[datetime], Any]

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> ScanSql:
        """Return the statements rendered for ``dialect`` (SQLite or PostgreSQL). Raises
        ``KeyError`` for another dialect."""
        publish = {"sqlite": _PUBLISH_SQLITE, "postgresql": _PUBLISH_POSTGRESQL}[dialect.name]
        # sqlite3's dialect renders ``?``; psycopg's renders ``%(name)s`` unless asked for
        # ``%s`` (every DefaultDialect takes a paramstyle)
        positional = dialect if dialect.positional else type(dialect)(paramstyle="format")  # type: ignore[call-arg]

        def form(sql: str) -> str:
            return str(text(sql).compile(dialect=positional))

        serial = form(_SERIAL)
        time_type = UtcDateTime().dialect_impl(dialect)
        return cls(
            start=form(_START),
            version=form(_VERSION),
            bump=form(_BUMP),
            publish=form(publish),
            flushes=form(_FLUSHES),
            prune=form(_PRUNE),
            block=form(_BLOCK),
            insert=ManyRows(_INSERT[0], form(_INSERT[1])),
            upsert=ManyRows(_UPSERT[0], form(_UPSERT[1])),
            mark=form(_MARK),
            mark_counts=ManyRows(_MARK_COUNTS, serial, " OR "),
            last_points=ManyRows(_LAST_POINTS, serial, " OR "),
            pattern=form(_PATTERN),
            markets=form(_MARKETS),
            away=form(_AWAY),
            clear=form(_CLEAR),
            forget_marks=form(_FORGET_MARKS),
            bind_time=(
                _sqlite_time
                if dialect.name == "sqlite"
                else time_type.bind_processor(dialect) or (lambda t: t)
            ),
        )


def execute_rows(connection: Any, statement: ManyRows, rows: list[tuple[Any, ...]]) -> None:
    """Execute a multi-row statement for ``rows``: runs of :data:`ROWS_PER_STATEMENT` rows,
    then the rest in runs of powers of two, so that few distinct statements are prepared. A
    run is one step for SQLite, which releases the GIL once where ``executemany`` releases it
    for every row (under load each release hands the GIL to the request thread and back), and
    one round trip for PostgreSQL."""
    start, size = 0, ROWS_PER_STATEMENT
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        run = rows[start : start + size]
        connection.exec_driver_sql(statement[size], tuple(chain.from_iterable(run)))
        start += size


def _sqlite_time(moment: datetime) -> str:
    """Return ``moment`` as the ORM's UtcDateTime keeps it on SQLite, naive UTC text (made
    directly: the flush makes one per scan, and SQLAlchemy's processor is slower)."""
    t = moment.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest way here
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond
    )  # fmt: skip


def stored_time(value: datetime | str) -> datetime:
    """Return a stored time as an aware UTC datetime (SQLite and the change feed give naive
    UTC text; PostgreSQL's driver a datetime)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value if value.tzinfo else value.replace(tzinfo=UTC)
