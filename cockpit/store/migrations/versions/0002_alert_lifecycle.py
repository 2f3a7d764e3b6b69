"""alert lifecycle: English title, routing, who acknowledged, one open alert per condition

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_en", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("routing", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("open_key", sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_open_key"), ["open_key"], unique=True)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_open_key"))
        batch_op.drop_column("open_key")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("routing")
        batch_op.drop_column("title_en")
