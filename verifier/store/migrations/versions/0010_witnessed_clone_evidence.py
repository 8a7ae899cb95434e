"""Clone evidence from witnesses only: the phones, places and flags that anonymous checks
counted are forgotten (anyone could make them up, so they flagged genuine stamps on demand);
the counts of checks, the raw events and the authority's blocks stay

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM serial_marks"))
    op.execute(
        sa.text(
            "UPDATE serial_scans SET devices = 0, places = 0, last_latitude = NULL,"
            " last_longitude = NULL, last_located_at = NULL, flag = NULL, away = :no"
        ).bindparams(no=False)
    )
    op.execute(sa.text("DELETE FROM scan_flushes"))  # workers read their blocks afresh


def downgrade() -> None:
    """Nothing to undo: the forgotten evidence was not evidence."""
