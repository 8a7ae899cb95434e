"""ix_products_gtin: the Digital Link resolver finds a product by its GTIN

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_products_gtin"), "products", ["gtin"])


def downgrade() -> None:
    op.drop_index(op.f("ix_products_gtin"), table_name="products")
