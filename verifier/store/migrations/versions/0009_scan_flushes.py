"""scan_flushes: each flush's changed aggregates in one row, replacing the index on
serial_scans.version (every scan moved an entry of that index: a large share of the flush)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_flushes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_scan_flushes")),
    )
    with op.batch_alter_table("serial_scans") as table:
        table.drop_index("ix_serial_scans_version")


def downgrade() -> None:
    with op.batch_alter_table("serial_scans") as table:
        table.create_index("ix_serial_scans_version", ["version"])
    op.drop_table("scan_flushes")
