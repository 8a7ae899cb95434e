"""lots and batch_lots: production lots declared by producers (traceability, Circular
02/2024/TT-BKHCN) and the batches that label them; producers.gln

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("producers") as batch:
        batch.add_column(sa.Column("gln", sa.String(length=13), nullable=True))
    op.create_table(
        "lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(length=20), nullable=False),
        sa.Column("produced_on", sa.Date(), nullable=False),
        sa.Column("best_before", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("quantity_unit", sa.String(length=16), nullable=True),
        sa.Column("standards", sa.JSON(), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_lots_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("product_id", "lot_number", name=op.f("uq_lots_product_id")),
    )
    op.create_index(op.f("ix_lots_product_id"), "lots", ["product_id"])
    op.create_index(op.f("ix_lots_updated_at"), "lots", ["updated_at"])
    op.create_table(
        "batch_lots",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_batch_lots_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_batch_lots_lot_id_lots")),
        sa.PrimaryKeyConstraint("batch_id", "lot_id", name=op.f("pk_batch_lots")),
    )
    op.create_index(op.f("ix_batch_lots_lot_id"), "batch_lots", ["lot_id"])


def downgrade() -> None:
    op.drop_table("batch_lots")
    op.drop_table("lots")
    with op.batch_alter_table("producers") as batch:
        batch.drop_column("gln")
