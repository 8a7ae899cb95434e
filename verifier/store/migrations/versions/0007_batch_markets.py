"""where a batch is sold, scans far from it, and lifted blocks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("markets", sa.String(length=120), nullable=True))
    with op.batch_alter_table("serial_scans") as table:
        table.add_column(sa.Column("away", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("blocked_serials") as table:
        table.add_column(sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("lift_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blocked_serials") as table:
        table.drop_column("lift_reason")
        table.drop_column("lifted_at")
    with op.batch_alter_table("serial_scans") as table:
        table.drop_column("away")
    with op.batch_alter_table("batches") as table:
        table.drop_column("markets")
