"""lots.changed_version, for the lot summaries of the registry snapshot and its changes
(docs/stamp-format.md section 7.6); the lots already recorded count as changed by one new
registry version, so that every holder of a snapshot made before is sent them

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
_lots = sa.table("lots", sa.column("id", sa.Integer), sa.column("changed_version", sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table("lots") as table:
        table.add_column(
            sa.Column("changed_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(op.f("ix_lots_changed_version"), "lots", ["changed_version"])
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(_lots)).scalar():
        held = bind.execute(
            sa.select(_meta.c.value).where(_meta.c.key == "registry-version")
        ).scalar()
        version = (0 if held is None else int(held)) + 1
        op.execute(_meta.delete().where(_meta.c.key == "registry-version"))
        op.execute(_meta.insert().values(key="registry-version", value=str(version)))
        op.execute(_lots.update().values(changed_version=version))


def downgrade() -> None:
    op.drop_index(op.f("ix_lots_changed_version"), table_name="lots")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch would copy the table and
    # drop the old one, which the foreign keys of batch_lots forbid once a lot is linked
    op.drop_column("lots", "changed_version")
