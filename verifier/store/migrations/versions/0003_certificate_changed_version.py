"""certificate changed_version, for incremental registry snapshots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as table:
        table.add_column(
            sa.Column("changed_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(op.f("ix_certificates_changed_version"), "certificates", ["changed_version"])


def downgrade() -> None:
    op.drop_index(op.f("ix_certificates_changed_version"), table_name="certificates")
    with op.batch_alter_table("certificates") as table:
        table.drop_column("changed_version")
