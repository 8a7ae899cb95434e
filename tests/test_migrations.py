"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL: a column or an index added to a model without its migration (or the other way
round) fails here instead of in production."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select

from tests.conftest import NOW
from verifier.cli.demo import create_demo
from verifier.lists.registry_index import current_version
from verifier.store.database import MIGRATIONS, make_engine, migrate, session_factory
from verifier.store.models import Base, Lot


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url, writer=True)
    try:
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_lots_recorded_before_their_changed_version_reach_every_snapshot_holder(
    database_url: str, tmp_path: Path
) -> None:
    """Migration 0019 counts the lots already recorded as changed by one new registry version:
    the snapshot is signed again with them, and its changes since any earlier version carry
    them (docs/stamp-format.md section 7.6)."""
    create_demo(tmp_path / "data", b"demo", NOW, database_url=database_url)  # one lot
    engine = make_engine(database_url, writer=True)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0018")
        with session_factory(engine)() as session:
            before = current_version(session)
        migrate(engine)
        with session_factory(engine)() as session:
            after = current_version(session)
            changed = set(session.scalars(select(Lot.changed_version)))
    finally:
        engine.dispose()
    assert after == before + 1
    assert changed == {after}
