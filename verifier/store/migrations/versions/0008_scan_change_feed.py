"""serial_scans.version: the flush that last changed a serial, so every worker can follow
the changes the others make

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("serial_scans") as table:
        table.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
        table.create_index("ix_serial_scans_version", ["version"])


def downgrade() -> None:
    with op.batch_alter_table("serial_scans") as table:
        table.drop_index("ix_serial_scans_version")
        table.drop_column("version")
