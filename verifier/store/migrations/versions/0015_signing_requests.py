"""signing_requests and signed_codes: the public role asks the signer for a batch's signed
codes through the database, and streams them as the signer stores them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("first_serial", sa.BigInteger(), nullable=False),
        sa.Column("last_serial", sa.BigInteger(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=9), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_signing_requests_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_signing_requests_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_requests")),
    )
    op.create_index(op.f("ix_signing_requests_batch_id"), "signing_requests", ["batch_id"])
    op.create_index(op.f("ix_signing_requests_token_id"), "signing_requests", ["token_id"])
    op.create_index(op.f("ix_signing_requests_state"), "signing_requests", ["state"])
    op.create_table(
        "signed_codes",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("first_serial", sa.BigInteger(), nullable=False),
        sa.Column("digits", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["signing_requests.id"],
            name=op.f("fk_signed_codes_request_id_signing_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "first_serial", name=op.f("pk_signed_codes")),
    )


def downgrade() -> None:
    op.drop_table("signed_codes")
    op.drop_table("signing_requests")
