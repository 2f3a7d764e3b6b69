"""case workflow: stage times and deadlines, assignee, paused clock, case reports and history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STAGE_TIMES = (
    "registered_at",
    "dispatched_at",
    "accepted_at",
    "arrived_at",
    "handled_at",
    "verified_at",
    "evaluated_at",
    "supervised_at",
    "escalated_at",
    "parked_at",
    "register_due_at",
    "dispatch_due_at",
    "arrive_due_at",
    "handle_due_at",
    "verify_due_at",
    "close_due_at",
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "case_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("target", sa.String(length=40), nullable=True),
        sa.Column("action_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_history_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_history")),
        sa.UniqueConstraint("case_id", "action_key", name="uq_case_history_action_key"),
    )
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_history_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_history_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reports_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reports")),
        sa.UniqueConstraint("source", "source_id", name="uq_case_reports_source_ref"),
    )
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_reports_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_en", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("priority", sa.String(length=8), server_default="normal", nullable=False)
        )
        batch_op.add_column(
            sa.Column("centre", sa.String(length=16), server_default="street", nullable=False)
        )
        batch_op.add_column(sa.Column("department", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("assignee", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("parked_from", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("paused_remaining_s", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("dispatch_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rework_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("self_handled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
        for name in STAGE_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "routing",
            existing_type=sa.String(length=16),
            type_=sa.String(length=24),
            existing_nullable=True,
        )
        batch_op.create_index(batch_op.f("ix_cases_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_department"), ["department"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_department"))
        batch_op.drop_index(batch_op.f("ix_cases_assignee"))
        batch_op.alter_column(
            "routing",
            existing_type=sa.String(length=24),
            type_=sa.String(length=16),
            existing_nullable=True,
        )
        for name in reversed(STAGE_TIMES):
            batch_op.drop_column(name)
        for name in (
            "satisfaction",
            "self_handled",
            "rework_count",
            "dispatch_count",
            "paused_remaining_s",
            "parked_from",
            "assignee",
            "department",
            "centre",
            "priority",
            "title_en",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("case_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reports_case_id"))
    op.drop_table("case_reports")
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_history_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_history_at"))
    op.drop_table("case_history")
