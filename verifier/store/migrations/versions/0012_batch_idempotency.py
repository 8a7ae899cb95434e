"""batch orders retried with an Idempotency-Key find the batch they ordered

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as table:
        table.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        table.add_column(sa.Column("order_digest", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_batches_idempotency", "batches", ["created_by", "idempotency_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_batches_idempotency", table_name="batches")
    with op.batch_alter_table("batches") as table:
        table.drop_column("order_digest")
        table.drop_column("idempotency_key")
