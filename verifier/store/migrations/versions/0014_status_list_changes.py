"""changed_version of blocked serials and batches, for status list changes (docs/stamp-format.md
section 7.5); the status list's version becomes the registry's version

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))


def _read(key: str) -> int:
    value = op.get_bind().execute(sa.select(_meta.c.value).where(_meta.c.key == key)).scalar()
    return 0 if value is None else int(value)


def upgrade() -> None:
    for name in ("blocked_serials", "batches"):
        with op.batch_alter_table(name) as table:
            table.add_column(
                sa.Column("changed_version", sa.Integer(), nullable=False, server_default="0")
            )
        op.create_index(op.f(f"ix_{name}_changed_version"), name, ["changed_version"])
    # Phones hold status lists numbered by the old counter: the registry's version, which
    # numbers them from now on, starts above it so that no phone sees a rollback.
    registry, status = _read("registry-version"), _read("status-list-version")
    if status > registry:
        op.execute(_meta.delete().where(_meta.c.key == "registry-version"))
        op.execute(_meta.insert().values(key="registry-version", value=str(status)))
    op.execute(_meta.delete().where(_meta.c.key == "status-list-version"))


def downgrade() -> None:
    for name in ("blocked_serials", "batches"):
        op.drop_index(op.f(f"ix_{name}_changed_version"), table_name=name)
        with op.batch_alter_table(name) as table:
            table.drop_column("changed_version")
