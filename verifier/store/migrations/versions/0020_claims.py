"""claims: a batch's PIN secret, the stamps confirmed under their PIN, wrong PINs per stamp

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("claim_secret", sa.LargeBinary(32), nullable=True))
    op.create_table(
        "stamp_claims",
        sa.Column("key_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("serial", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_province", sa.String(2), nullable=True),
        sa.Column("first_channel", sa.String(8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_province", sa.String(2), nullable=True),
        sa.PrimaryKeyConstraint("key_index", "serial", name=op.f("pk_stamp_claims")),
    )
    op.create_index(op.f("ix_stamp_claims_first_at"), "stamp_claims", ["first_at"])
    op.create_table(
        "claim_locks",
        sa.Column("key_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("serial", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_index", "serial", name=op.f("pk_claim_locks")),
    )


def downgrade() -> None:
    op.drop_table("claim_locks")
    op.drop_index(op.f("ix_stamp_claims_first_at"), table_name="stamp_claims")
    op.drop_table("stamp_claims")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch would copy the table and
    # drop the old one, which the foreign keys to batches forbid
    op.drop_column("batches", "claim_secret")
