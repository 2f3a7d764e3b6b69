"""snapshot lookup index: each enterprise's latest snapshot before a day

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("enterprise_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enterprise_snapshots_enterprise_day", ["enterprise_id", "taken_on"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("enterprise_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_snapshots_enterprise_day")
