"""The Alembic migrations build exactly the schema the models describe, on SQLite and on
PostgreSQL: a column or an index added to a model without its migration (or the other way
round) fails here instead of in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from verifier.store.database import make_engine, migrate
from verifier.store.models import Base


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url, writer=True)
    try:
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
