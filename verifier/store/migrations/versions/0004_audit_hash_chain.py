"""audit log hash chain

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:30:00
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from verifier.store.audit_chain import GENESIS, HEAD_KEY, entry_hash

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as table:
        table.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        table.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    # chain the entries already written, in the order they were written
    log = sa.table(
        "audit_log",
        *(sa.column(name) for name in ("id", "sequence", "actor", "action", "entity",
                                         "entity_id", "previous_hash", "hash")),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("details", sa.JSON()),
    )  # fmt: skip
    connection = op.get_bind()
    previous, sequence = GENESIS, 0
    for row in connection.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        sequence += 1
        at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=UTC)  # SQLite: naive
        digest = entry_hash(sequence, at, row["actor"], row["action"], row["entity"],
                            row["entity_id"], row["details"], previous)  # fmt: skip
        connection.execute(
            log.update().where(log.c.id == row["id"])
            .values(sequence=sequence, previous_hash=previous, hash=digest)
        )  # fmt: skip
        previous = digest
    if sequence:
        meta = sa.table("meta", sa.column("key"), sa.column("value"))
        connection.execute(meta.insert().values(key=HEAD_KEY, value=f"{sequence}:{previous}"))
    with op.batch_alter_table("audit_log") as table:
        table.alter_column("sequence", existing_type=sa.Integer(), nullable=False)
        table.alter_column("previous_hash", existing_type=sa.String(length=64), nullable=False)
        table.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        table.create_unique_constraint(op.f("uq_audit_log_sequence"), ["sequence"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as table:
        table.drop_constraint(op.f("uq_audit_log_sequence"), type_="unique")
        table.drop_column("hash")
        table.drop_column("previous_hash")
        table.drop_column("sequence")
    op.execute("DELETE FROM meta WHERE key = 'audit_head'")
