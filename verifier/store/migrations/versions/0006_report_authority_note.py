"""the authority's note on an inspector report

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as table:
        table.add_column(
            sa.Column("authority_note", sa.String(length=2000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("reports") as table:
        table.drop_column("authority_note")
