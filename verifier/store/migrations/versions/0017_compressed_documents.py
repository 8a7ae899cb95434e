"""compressed_documents: the gzip and brotli forms of each signed document, made once by the
signer, so that public workers serve them without compressing them again

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 16:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compressed_documents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("gzip", sa.LargeBinary(), nullable=False),
        sa.Column("brotli", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_compressed_documents")),
    )


def downgrade() -> None:
    op.drop_table("compressed_documents")
