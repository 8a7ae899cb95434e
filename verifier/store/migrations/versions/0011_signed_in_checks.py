"""scans.token_id: which signed-in caller made a check, so that an inspector blocks only a
serial it checked itself; a partial index holds the signed-in checks only

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SIGNED_IN = sa.text("token_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("scans") as table:
        table.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_scans_signed_in_checks",
        "scans",
        ["token_id", "key_index", "serial"],
        postgresql_where=_SIGNED_IN,
        sqlite_where=_SIGNED_IN,
    )


def downgrade() -> None:
    op.drop_index("ix_scans_signed_in_checks", table_name="scans")
    with op.batch_alter_table("scans") as table:
        table.drop_column("token_id")
