"""per-serial phones, places and last located scan, for clone detection

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serial_scans") as table:
        table.add_column(sa.Column("devices", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("places", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("last_latitude", sa.Float(), nullable=True))
        table.add_column(sa.Column("last_longitude", sa.Float(), nullable=True))
        table.add_column(sa.Column("last_located_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("flag", sa.String(length=32), nullable=True))
    op.create_table(
        "serial_marks",
        sa.Column("key_index", sa.Integer(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "key_index", "serial", "kind", "value", name=op.f("pk_serial_marks")
        ),
    )


def downgrade() -> None:
    op.drop_table("serial_marks")
    with op.batch_alter_table("serial_scans") as table:
        for column in (
            "flag",
            "last_located_at",
            "last_longitude",
            "last_latitude",
            "places",
            "devices",
        ):
            table.drop_column(column)
