"""enterprise records: insured staff, yearly snapshots, and dated signs, lawsuits and visits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insured_staff", sa.Integer(), nullable=True))
    op.create_table(
        "enterprise_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("managers", sa.JSON(), nullable=True),
        sa.Column("annual_tax_wan", sa.Float(), nullable=True),
        sa.Column("insured_staff", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enterprise_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_snapshots_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enterprise_snapshots_taken_on"), ["taken_on"], unique=False
        )
    op.create_table(
        "enterprise_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=24), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enterprise_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_events_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enterprise_events_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enterprise_events_happened_on"), ["happened_on"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("enterprise_events")
    op.drop_table("enterprise_snapshots")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("insured_staff")
