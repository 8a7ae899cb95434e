"""Database engine and schema: an SQLite file by default, PostgreSQL when configured."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(data_dir: Path) -> str:
    """Return the URL of the default database file in ``data_dir``."""
    return f"sqlite:///{(data_dir / 'ocop.db').resolve()}"


CONNECT_TIMEOUT_SECONDS = 3


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """Return an engine for ``url``. SQLite gets WAL mode, a busy timeout and foreign keys;
    a ``writer`` engine on SQLite opens every transaction with BEGIN IMMEDIATE, so concurrent
    writers queue on the lock instead of failing when their snapshot went stale."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False, "isolation_level": None},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

        return engine
    # a database out of reach fails a connection in seconds (503 to retry), not a TCP timeout
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def probe(engine: Engine) -> str | None:
    """Ask the database for nothing (``SELECT 1``) on a connection of ``engine``'s pool.
    Returns ``None`` when it answered, else the error's type name (the database could not be
    reached, or refused the connection)."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # whatever the driver raises: what matters is it did not answer
        return type(exc).__name__
    return None


def _use_wal(cursor: Any) -> None:
    """Switch the database file to WAL (a lasting property of the file). The switch needs the
    file to itself and does not wait on the busy timeout, so workers opening a new database
    together retry it (regression: one of them failed with "database is locked")."""
    for attempt in range(100):
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            time.sleep(0.01 * (attempt + 1))
    raise sqlite3.OperationalError("could not switch the database to WAL mode")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session maker used everywhere (objects stay readable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


MIGRATION_LOCK = 0x0C0B5EED  # the PostgreSQL advisory lock that makes workers take turns


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision. Workers starting together take turns
    (an advisory lock on PostgreSQL; BEGIN IMMEDIATE on SQLite's writer engine)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
